// Package auditmw is the HTTP side of the audit trail's promise that no data
// leaves the hub without a durable audit event: a gin middleware that holds
// each /api/v1 response in a buffer, runs the handler, records the call's
// event (and any extra events the handler noted) through an
// audit.BatchRecorder, and only then releases the response. If recording
// fails, the buffered response is discarded and the client gets a 503.
package auditmw

import (
	"bytes"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/audit"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/inputtext"
)

// New returns the middleware. It must run after authentication (it reads the
// principal) and before authorization (so denials are recorded too).
func New(rec audit.BatchRecorder, log *slog.Logger) gin.HandlerFunc {
	if log == nil {
		log = slog.Default()
	}
	return func(c *gin.Context) {
		orig := c.Writer
		bw := &bufferedWriter{ResponseWriter: orig, status: http.StatusOK}
		c.Writer = bw
		start := time.Now().UTC()
		panicked := true
		// A handler streaming a large body commits first: its events are
		// recorded then, and the body passes unbuffered.
		committed := false
		httpapi.SetCommitter(c, func(status int) error {
			if committed {
				return nil
			}
			if err := rec.RecordAll(c.Request.Context(), Events(c, start, status)); err != nil {
				log.Error("audit: record failed; response withheld", "request_id", httpapi.RequestID(c), "route", c.FullPath(), "err", err)
				fe := fault.Wrap(err, fault.Unavailable, "audit_unavailable", "the audit trail is unavailable, so no data can be released; retry later")
				fe.RetryAfter = 5
				return fe
			}
			committed = true
			c.Writer = orig
			orig.WriteHeader(status)
			return nil
		})
		defer func() {
			if !panicked || committed {
				return
			}
			// A panicking handler: record the failure, drop whatever it
			// buffered, and let the recovery middleware answer.
			c.Writer = orig
			events := Events(c, start, http.StatusInternalServerError)
			events[0].Outcome, events[0].Reason = audit.Failed, "panic"
			if err := rec.RecordAll(c.Request.Context(), events); err != nil {
				log.Error("audit: recording a failed call failed", "request_id", httpapi.RequestID(c), "err", err)
			}
		}()
		c.Next()
		panicked = false
		c.Writer = orig
		if committed {
			return
		}

		status := bw.status
		if !bw.wrote && len(c.Errors) > 0 {
			// The error responder (outside this middleware) will write it.
			status = statusOfErr(c.Errors[0].Err)
		}
		if err := rec.RecordAll(c.Request.Context(), Events(c, start, status)); err != nil {
			log.Error("audit: record failed; response withheld", "request_id", httpapi.RequestID(c), "route", c.FullPath(), "err", err)
			c.Errors = c.Errors[:0]
			bw.discard(orig)
			fe := fault.Wrap(err, fault.Unavailable, "audit_unavailable", "the audit trail is unavailable, so no data can be released; retry later")
			fe.RetryAfter = 5
			httpapi.Fail(c, fe)
			return
		}
		bw.release()
	}
}

func statusOfErr(err error) int {
	if fe, ok := fault.As(err); ok {
		return httpapi.StatusOf(fe.Kind)
	}
	return http.StatusInternalServerError
}

// Events builds the call's main event from the principal, the route, the
// status and the handler's note, followed by the note's extra events with
// the call's context filled in where they left it empty.
func Events(c *gin.Context, at time.Time, status int) []audit.Event {
	p := httpapi.MustPrincipal(c)
	note, _ := httpapi.NoteOf(c)
	if note == nil {
		note = &httpapi.AuditNote{}
	}
	route := c.FullPath()
	if route == "" {
		route = c.Request.URL.Path
	}
	e := audit.Event{
		Time: at, RequestID: httpapi.RequestID(c), PrincipalID: p.ID, PrincipalName: p.Name,
		Department: p.DepartmentCode, Role: string(p.Role), Action: note.Action, Resource: note.Resource,
		Subjects: note.Subjects, Fields: note.Fields, Purpose: note.Purpose, CaseNumber: note.CaseNumber,
		Outcome: note.Outcome, Reason: note.Reason, ClientAddr: clientAddr(c), Count: note.Count,
	}
	if e.Action == "" {
		e.Action = c.Request.Method + " " + route
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeOf(status)
	}
	if e.Reason == "" && len(c.Errors) > 0 {
		e.Reason = reasonOf(c.Errors[0].Err)
	}
	e = storable(e)
	out := make([]audit.Event, 0, 1+len(note.Extra))
	out = append(out, e)
	for _, x := range note.Extra {
		if x.Time.IsZero() {
			x.Time = at
		}
		if x.RequestID == "" {
			x.RequestID = e.RequestID
		}
		if x.PrincipalID == "" {
			x.PrincipalID, x.PrincipalName, x.Department, x.Role = e.PrincipalID, e.PrincipalName, e.Department, e.Role
		}
		if x.Purpose == "" {
			x.Purpose = e.Purpose
		}
		if x.CaseNumber == "" {
			x.CaseNumber = e.CaseNumber
		}
		if x.ClientAddr == "" {
			x.ClientAddr = e.ClientAddr
		}
		if x.Outcome == "" {
			x.Outcome = e.Outcome
		}
		out = append(out, storable(x))
	}
	return out
}

// storable escapes control characters and invalid UTF-8 in the texts a
// client may have supplied: a refused request is audited with what it
// sent, and a NUL in a case number must not make the trail refuse the
// event (and the hub every later answer).
func storable(e audit.Event) audit.Event {
	e.Resource, e.Purpose, e.CaseNumber, e.Reason = inputtext.Storable(e.Resource), inputtext.Storable(e.Purpose), inputtext.Storable(e.CaseNumber), inputtext.Storable(e.Reason)
	var fields []string // a copy: the handler's note may share its slice
	for i, f := range e.Fields {
		if s := inputtext.Storable(f); s != f {
			if fields == nil {
				fields = slices.Clone(e.Fields)
			}
			fields[i] = s
		}
	}
	if fields != nil {
		e.Fields = fields
	}
	return e
}

// OutcomeOf maps a response status to an audit outcome.
func OutcomeOf(status int) audit.Outcome {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return audit.Denied
	case status >= 400:
		return audit.Failed
	default:
		return audit.Allowed
	}
}

func reasonOf(err error) string {
	if fe, ok := fault.As(err); ok {
		if fe.Kind == fault.Internal {
			return "internal"
		}
		return fe.Code + ": " + fe.Message
	}
	return "internal"
}

// clientAddr is the client address gin derives, with the connection's peer
// when they differ, so a forwarded address never hides who connected.
func clientAddr(c *gin.Context) string {
	ip, remote := c.ClientIP(), c.RemoteIP()
	if ip == remote || remote == "" {
		return ip
	}
	return fmt.Sprintf("%s via %s", ip, remote)
}

// bufferedWriter holds status and body until release. Headers go to the
// real header map (nothing is sent before WriteHeaderNow on the original).
type bufferedWriter struct {
	gin.ResponseWriter
	status int
	wrote  bool
	buf    bytes.Buffer
}

func (w *bufferedWriter) WriteHeader(code int) {
	if code > 0 && !w.wrote {
		w.status = code
	}
}

func (w *bufferedWriter) WriteHeaderNow() { w.wrote = true }

func (w *bufferedWriter) Write(b []byte) (int, error) {
	w.wrote = true
	return w.buf.Write(b)
}

func (w *bufferedWriter) WriteString(s string) (int, error) {
	w.wrote = true
	return w.buf.WriteString(s)
}

func (w *bufferedWriter) Status() int { return w.status }

func (w *bufferedWriter) Size() int {
	if !w.wrote {
		return -1
	}
	return w.buf.Len()
}

func (w *bufferedWriter) Written() bool { return w.wrote }

// Flush is a no-op: nothing leaves before the audit event is durable.
func (w *bufferedWriter) Flush() {}

func (w *bufferedWriter) release() {
	// A status without a body (c.Status(204)) must still reach the client.
	w.ResponseWriter.WriteHeader(w.status)
	if !w.wrote {
		return
	}
	w.ResponseWriter.WriteHeaderNow()
	_, _ = w.ResponseWriter.Write(w.buf.Bytes())
}

// discard drops the held response and the headers the handler set.
func (w *bufferedWriter) discard(orig gin.ResponseWriter) {
	h := orig.Header()
	for k := range h {
		if k != httpapi.HeaderRequestID {
			delete(h, k)
		}
	}
	w.buf.Reset()
	w.wrote = false
}
