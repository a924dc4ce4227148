// Package fault holds the error kinds that cross package boundaries in Yiku:
// a domain package returns a *fault.Error (or wraps one), and the HTTP layer
// turns its Kind into a status code and the one JSON error shape. It holds no
// HTTP code itself, so domain logic stays testable without gin.
package fault

import (
	"errors"
	"fmt"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

const (
	// Internal is a fault of the hub: never the client's.
	Internal Kind = iota
	// Invalid means the request or a record in it breaks a rule.
	Invalid
	// Unauthenticated means no valid credential was presented.
	Unauthenticated
	// Forbidden means the principal is known but not allowed.
	Forbidden
	// NotFound means the addressed thing does not exist (or is not visible).
	NotFound
	// Conflict means the request clashes with the current state.
	Conflict
	// Unavailable means a dependency is slow or down; retry later.
	Unavailable
	// TooLarge means the request body or batch exceeds a limit.
	TooLarge
	// RateLimited means the caller exceeded its request rate.
	RateLimited
	// MethodNotAllowed means the route exists but not with this method.
	MethodNotAllowed
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case Invalid:
		return "invalid"
	case Unauthenticated:
		return "unauthenticated"
	case Forbidden:
		return "forbidden"
	case NotFound:
		return "not_found"
	case Conflict:
		return "conflict"
	case Unavailable:
		return "unavailable"
	case TooLarge:
		return "too_large"
	case RateLimited:
		return "rate_limited"
	case MethodNotAllowed:
		return "method_not_allowed"
	default:
		return "internal"
	}
}

// Detail points at one offending place in the input: a record index in a
// batch, a JSON pointer inside it, the rule that failed and why.
type Detail struct {
	Record  *int   `json:"record,omitempty"`
	Pointer string `json:"pointer,omitempty"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason"`
}

// Error is a classified error with a stable snake_case code for clients.
type Error struct {
	Kind    Kind
	Code    string
	Message string
	Details []Detail
	// RetryAfter, in seconds, for Unavailable and RateLimited.
	RetryAfter int
	Err        error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %v", e.Message, e.Err)
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// New builds a classified error.
func New(kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...)}
}

// WithDetails returns e with details appended.
func (e *Error) WithDetails(d ...Detail) *Error {
	e.Details = append(e.Details, d...)
	return e
}

// Wrap classifies err, keeping it for errors.Is/As and logs.
func Wrap(err error, kind Kind, code, format string, args ...any) *Error {
	return &Error{Kind: kind, Code: code, Message: fmt.Sprintf(format, args...), Err: err}
}

// Sentinel errors that stores map their driver errors to.
var (
	ErrNotFound = New(NotFound, "not_found", "not found")
	ErrConflict = New(Conflict, "conflict", "already exists")
)

// As extracts the first *Error in err's chain. Errors.Is against the sentinels
// above matches by kind and code, so a store can return a fresh, more specific
// error and callers can still test for ErrNotFound.
func As(err error) (*Error, bool) {
	var fe *Error
	if errors.As(err, &fe) {
		return fe, true
	}
	return nil, false
}

// Is reports whether target is an *Error of the same kind and code.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return t.Kind == e.Kind && t.Code == e.Code
}

// KindOf returns the kind of err, Internal for unclassified errors.
func KindOf(err error) Kind {
	if fe, ok := As(err); ok {
		return fe.Kind
	}
	return Internal
}

// Invalidf is shorthand for an Invalid error.
func Invalidf(code, format string, args ...any) *Error {
	return New(Invalid, code, format, args...)
}

// NotFoundf is shorthand for a NotFound error.
func NotFoundf(code, format string, args ...any) *Error {
	return New(NotFound, code, format, args...)
}

// Forbiddenf is shorthand for a Forbidden error.
func Forbiddenf(code, format string, args ...any) *Error {
	return New(Forbidden, code, format, args...)
}

// Conflictf is shorthand for a Conflict error.
func Conflictf(code, format string, args ...any) *Error {
	return New(Conflict, code, format, args...)
}

// Index returns a pointer to i, for Detail.Record.
func Index(i int) *int { return &i }
