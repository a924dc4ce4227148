package audit

import "context"

type traceKey struct{}

// WithTrace returns ctx carrying the trace id of the call it serves (its
// request id): a call this hub makes to another hub on its behalf passes it
// on, so both hubs' audit events of one access share it.
func WithTrace(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, traceKey{}, id)
}

// TraceOf returns the trace id WithTrace put in ctx, or "".
func TraceOf(ctx context.Context) string {
	id, _ := ctx.Value(traceKey{}).(string)
	return id
}
