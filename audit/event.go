// Package audit is the tamper-evident audit trail: every read and write of
// data and every change to the catalog, policies or grants is appended as an
// Event, durably, before the response leaves the hub. Events are hash-chained
// and checkpoints are signed; subjects' ID numbers and credit codes are kept
// only as keyed hashes. The store offers append and query, nothing else.
package audit

import (
	"context"
	"time"
)

// Outcome is how an audited action ended.
type Outcome string

const (
	Allowed Outcome = "allowed"
	Denied  Outcome = "denied"
	Failed  Outcome = "error"
)

// Event is one audited action.
type Event struct {
	ID            string    `json:"id"`
	Time          time.Time `json:"time"`
	RequestID     string    `json:"request_id,omitempty"`
	PrincipalID   string    `json:"principal_id"`
	PrincipalName string    `json:"principal_name"`
	Department    string    `json:"department"`
	Role          string    `json:"role"`
	// Action is a stable verb such as record.publish, record.read, lookup,
	// catalog.resource.update, share.approve, grant.revoke, audit.query.
	Action   string `json:"action"`
	Resource string `json:"resource,omitempty"`
	// Subjects are the subject keys (ID numbers, credit codes) touched. The
	// recorder stores only their keyed hashes.
	Subjects   []string `json:"subjects,omitempty"`
	Fields     []string `json:"fields,omitempty"`
	Purpose    string   `json:"purpose,omitempty"`
	CaseNumber string   `json:"case_number,omitempty"`
	Outcome    Outcome  `json:"outcome"`
	Reason     string   `json:"reason,omitempty"`
	ClientAddr string   `json:"client_addr,omitempty"`
	// Count is how many records the action touched (a publish batch, a page).
	Count int `json:"count,omitempty"`
}

// Recorder appends events durably: Record returns only once the event will
// survive a crash. A caller that cannot record must not return data.
type Recorder interface {
	Record(ctx context.Context, e Event) error
}

// BatchRecorder records several events of one call atomically: all are
// durable or none is. The audit middleware uses it for a call's main event
// and the extra events its handler noted (one reuse event per material).
type BatchRecorder interface {
	Recorder
	RecordAll(ctx context.Context, events []Event) error
}

// Reuse events: a lookup that supplies a material from the library instead
// of asking the applicant records one event with this action per material.
const ActionReuse = "reuse.supply"
