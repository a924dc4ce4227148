// Package objection holds data objections (疑义校核, 国发〔2016〕51号): a
// principal that may read a shared record disputes fields of one version
// of it; the provider's department corrects the record (a newer version
// closes the objection and is linked to it) or rejects the objection with
// a reason, within a number of working days on the hub's calendar; the
// raiser may withdraw it; an objection past its deadline is escalated to
// the e-government office. While an objection is open, reads of the
// record carry a flag naming it (Flags).
//
// It holds the rules, the store and the sweep that closes corrected and
// escalates overdue objections; the HTTP routes are objectionapi's.
package objection

import (
	"context"
	"time"
)

// Status is where an objection stands.
type Status string

const (
	StatusOpen      Status = "open"
	StatusCorrected Status = "corrected" // a newer version of the record closed it
	StatusRejected  Status = "rejected"  // the provider rejected it with a reason
	StatusWithdrawn Status = "withdrawn" // the raiser withdrew it
)

// Steps of an objection's history (and the verbs of its audit events,
// prefixed "objection.").
const (
	StepRaised    = "raised"
	StepCorrected = "corrected"
	StepRejected  = "rejected"
	StepWithdrawn = "withdrawn"
	StepEscalated = "escalated"
)

// Objection is one objection to one version of a record.
type Objection struct {
	ID            string   `json:"id"`
	Resource      string   `json:"resource"`
	Subject       string   `json:"subject"`
	RecordVersion int      `json:"record_version"`
	Fields        []string `json:"fields"`
	Problem       string   `json:"problem"`
	Evidence      string   `json:"evidence,omitempty"`
	ProviderCode  string   `json:"provider"`
	RaiserCode    string   `json:"raiser_department"`
	RaisedBy      string   `json:"raised_by"`
	RaisedByName  string   `json:"raised_by_name,omitempty"`
	Status        Status   `json:"status"`
	// Deadline is the end of the last working day the provider has.
	Deadline time.Time `json:"deadline"`
	// Overdue: open past its deadline. EscalatedAt is when the sweep put it
	// on the e-government office's list.
	Overdue          bool       `json:"overdue"`
	EscalatedAt      *time.Time `json:"escalated_at,omitempty"`
	ResolvedBy       string     `json:"resolved_by,omitempty"`
	ResolvedAt       *time.Time `json:"resolved_at,omitempty"`
	ResolutionReason string     `json:"resolution_reason,omitempty"`
	// CorrectedVersion is the record version that closed a corrected
	// objection.
	CorrectedVersion int       `json:"corrected_version,omitempty"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// HistoryEntry is one step of an objection.
type HistoryEntry struct {
	At         time.Time `json:"at"`
	Action     string    `json:"action"`
	ActorID    string    `json:"actor_id,omitempty"`
	ActorName  string    `json:"actor_name,omitempty"`
	Department string    `json:"department,omitempty"`
	Reason     string    `json:"reason,omitempty"`
	Version    int       `json:"version,omitempty"`
}

// Actor is who took a step.
type Actor struct {
	ID, Name, Department string
}

// Key names one record: a resource and a subject key.
type Key struct {
	Resource string
	Subject  string
}

// Open is an open objection as reads see it.
type Open struct {
	ID      string
	Version int
}

// Flag marks a record read, delivery or lookup answer whose record is
// under open objection.
type Flag struct {
	ObjectionIDs []string `json:"objection_ids"`
}

// FlagOf returns the flag for a delivered version of a record with the
// given open objections, nil when none applies: an objection disputes the
// version it was raised against and those before it; a newer version is
// the correction and carries no flag, even before the sweep closes the
// objection.
func FlagOf(open []Open, version int) *Flag {
	var f *Flag
	for _, o := range open {
		if version <= o.Version {
			if f == nil {
				f = &Flag{}
			}
			f.ObjectionIDs = append(f.ObjectionIDs, o.ID)
		}
	}
	return f
}

// Flags answers, for many records at once, which are under open
// objection; every read path (record reads, subscription deliveries,
// lookups) asks it once per answer. *Service implements it.
type Flags interface {
	OpenFor(ctx context.Context, keys []Key) (map[Key][]Open, error)
}
