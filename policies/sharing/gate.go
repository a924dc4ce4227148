// Package sharing is need-to-share access: share requests (共享申请) and
// their approval, grants with fields, purposes and validity, the Casbin data
// policies derived from them, and the Gate that every data read, lookup and
// subscription asks before any library data leaves the hub.
package sharing

import (
	"context"
	"time"

	"yiku/catalog"
	"yiku/identity"
	"yiku/policies/mask"
)

// Action is what a reader wants to do with a resource's data.
type Action string

const (
	ActionRead      Action = "read"      // record lookups by subject key
	ActionSubscribe Action = "subscribe" // subscriptions and their deliveries
	ActionLookup    Action = "lookup"    // reuse lookups for service items
)

// ReadRequest is one question to the gate.
type ReadRequest struct {
	Principal identity.Principal
	Resource  catalog.Resource
	Action    Action
	// Purpose (事由) is required for every read; CaseNumber (办件编号) for
	// every read by a person.
	Purpose    string
	CaseNumber string
}

// Decision is the gate's answer. When Allowed, Plan projects and masks each
// record to exactly what the reader may see.
type Decision struct {
	Allowed bool
	// Basis says why: "provider", "unconditional" or "grant:<id>"; for a
	// denial, the reason.
	Basis     string
	GrantID   string
	Plan      *mask.Plan
	ExpiresAt *time.Time

	recordKey []byte // see RecordID
}

// Gate decides data reads. A missing purpose or case number is a fault
// Invalid error; a denial is a fault Forbidden error carrying the reason, so
// callers can return it as is. Infrastructure failures are other errors.
type Gate interface {
	Decide(ctx context.Context, req ReadRequest) (Decision, error)
}
