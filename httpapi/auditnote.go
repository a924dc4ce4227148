package httpapi

import (
	"github.com/gin-gonic/gin"

	"yiku/audit"
)

const ctxAuditNote = "yiku.audit_note"

// AuditNote is what a handler tells the audit trail about its call: the
// audit middleware (installed through Deps.Audit) records one event per
// /api/v1 call from the principal, the route, the outcome and this note,
// durably, before the response leaves the hub. Handlers fill in what only
// they know — subjects touched, fields returned, purpose, case number.
type AuditNote struct {
	// Action overrides the default action name ("METHOD /route").
	Action     string
	Resource   string
	Subjects   []string
	Fields     []string
	Purpose    string
	CaseNumber string
	Count      int
	Reason     string
	// Outcome overrides the outcome derived from the status code.
	Outcome audit.Outcome
	// Extra are further events the call produced (e.g. one reuse event per
	// material a lookup supplied); they are recorded with the main event.
	Extra []audit.Event
}

// Note returns the call's audit note, creating it on first use.
func Note(c *gin.Context) *AuditNote {
	if v, ok := c.Get(ctxAuditNote); ok {
		if n, ok := v.(*AuditNote); ok {
			return n
		}
	}
	n := &AuditNote{}
	c.Set(ctxAuditNote, n)
	return n
}

// NoteOf returns the call's audit note if a handler made one.
func NoteOf(c *gin.Context) (*AuditNote, bool) {
	v, ok := c.Get(ctxAuditNote)
	if !ok {
		return nil, false
	}
	n, ok := v.(*AuditNote)
	return n, ok
}

const ctxAuditCommit = "yiku.audit_commit"

// SetCommitter is for the audit middleware: commit records the call's
// events now, with status, and lets the rest of the response through
// unbuffered.
func SetCommitter(c *gin.Context, commit func(status int) error) { c.Set(ctxAuditCommit, commit) }

// Commit makes the call's audit events durable before the handler streams
// a large body (a file download): after it, what the handler writes goes to
// the client at once instead of being held until the end. Set the note
// first; a later change to it is not recorded. Without the audit
// middleware it does nothing.
func Commit(c *gin.Context, status int) error {
	if v, ok := c.Get(ctxAuditCommit); ok {
		if f, ok := v.(func(int) error); ok {
			return f(status)
		}
	}
	return nil
}
