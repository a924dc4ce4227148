// Package adapters holds the contract every department-side connector
// shares: a Source yields batches of flat records with the position after
// each batch, a Sink writes a batch and reports the records it refused, and
// both are registered by name with a documented config spec so that an
// adapter.yaml can name them. It holds no connector itself (package
// adapters/connectors), no pipeline loop (adapters/runtime) and no HTTP
// client (adapters/client).
package adapters

import (
	"context"
	"errors"
	"fmt"
)

// Record is one flat record: field name to a JSON-compatible value.
type Record map[string]any

// Message is one record read from a source.
type Message struct {
	Record Record
	// Deleted marks a tombstone: the source says the record is gone.
	Deleted bool
	// Origin says where the record came from (file:line, table:id) for the
	// reject file and logs.
	Origin string
	// Err is set when the source could read the row but not parse it (a CSV
	// line with the wrong number of columns, malformed JSON). Such messages
	// go straight to the reject file.
	Err error
}

// Batch is a run of messages a source hands over at once.
type Batch struct {
	Messages []Message
	// From is the source position before the batch and To the position
	// after it. Both are opaque strings the source alone understands; the
	// runtime persists To once the batch is written and derives the batch's
	// idempotency key from From and To, so a batch re-read after a crash
	// carries the same key.
	From, To string
	// Ack, if set, is called after To is persisted (a file source moves the
	// finished file aside, a subscription source acknowledges its cursor).
	Ack func(ctx context.Context) error
}

// Source reads records from a department system or the hub.
type Source interface {
	// Connect opens the source and positions it after from ("" = start).
	Connect(ctx context.Context, from string) error
	// Read returns the next batch of at most max messages. It returns
	// ErrNoData when nothing is available right now.
	Read(ctx context.Context, max int) (Batch, error)
	Close() error
}

// Upstream is a source that reads what the hub makes visible
// asynchronously: a hub subscription reads the hub's library, which the
// hub fills from Kafka a moment after a publish is acknowledged. CaughtUp
// reports whether everything published to the hub so far is visible to the
// source. A one-shot run (--once) asks it before taking "no data" as
// drained, so a receiving pipeline run together with the pipelines that
// publish what it receives sees all of it.
type Upstream interface {
	CaughtUp(ctx context.Context) (bool, error)
}

// Downstream is a sink whose records the hub takes in asynchronously: the
// hub_kafka sink produces to the department's Kafka ingress topic, and the
// hub validates and routes the records a moment after Write returned.
// Ingested reports whether the hub has handled everything the department
// sent to it so far (routed it to the resource topics, where the library's
// lag takes over, or refused it to the dead letters). A one-shot run asks
// it, once the sink's pipeline has ended (after Close), before asking an
// Upstream whether it caught up: records still in the ingress are not yet
// in the library's lag.
type Downstream interface {
	Ingested(ctx context.Context) (bool, error)
}

// Sink writes records to the hub or a department system.
type Sink interface {
	Connect(ctx context.Context) error
	// Write writes the batch's messages; key is the batch's idempotency key.
	// Records refused one by one are reported in Result.Rejected and do not
	// fail the call; an error means nothing can be assumed written and the
	// batch is retried (unless the error is Permanent).
	Write(ctx context.Context, msgs []Message, key string) (Result, error)
	Close() error
}

// Result is what a sink did with a batch.
type Result struct {
	Written  int
	Rejected []Rejection
}

// Rejection is one record a sink (or the mapping) refused, with why.
type Rejection struct {
	// Index is the message's index in the batch written.
	Index   int      `json:"index"`
	Reasons []Reason `json:"reasons"`
}

// Reason is one rule a record broke, in the hub's terms.
type Reason struct {
	Pointer string `json:"pointer,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Message string `json:"message"`
}

// Named errors of the connector lifecycle.
var (
	// ErrNoData means the source has nothing to read right now; the runtime
	// waits its poll interval (or, in a one-shot run, stops the pipeline).
	ErrNoData = errors.New("adapters: no data available")
	// ErrSettling is ErrNoData while the source holds input that becomes
	// readable shortly (a dropped file still within its settle time): a
	// one-shot run waits for it instead of stopping.
	ErrSettling = fmt.Errorf("%w: input is still settling", ErrNoData)
	// ErrNotConnected means Read or Write was called before Connect.
	ErrNotConnected = errors.New("adapters: not connected")
)

// PermanentError marks a failure retrying cannot fix (a refused
// credential, an unknown resource, a table that does not exist): the
// runtime stops the pipeline instead of backing off.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError (nil stays nil).
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &PermanentError{Err: err}
}

// IsPermanent reports whether err is marked permanent.
func IsPermanent(err error) bool {
	var pe *PermanentError
	return errors.As(err, &pe)
}

// FieldError is a config setting a connector refuses; the config loader
// turns Field (a key of the connector's block, dotted for nested keys) into
// the line of the adapter.yaml it came from.
type FieldError struct {
	Field   string
	Problem string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Problem) }

// Fieldf builds a FieldError.
func Fieldf(field, format string, args ...any) error {
	return &FieldError{Field: field, Problem: fmt.Sprintf(format, args...)}
}
