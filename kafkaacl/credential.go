package kafkaacl

import (
	"context"
	"time"
)

// Kind says what a credential is for.
type Kind string

// Kinds.
const (
	KindIngress Kind = "ingress"
	KindEgress  Kind = "egress"
)

// Credential states.
const (
	StateActive = "active"
	// StateRevoked: the hub no longer honours the credential; the broker
	// may still hold it until the reconciler deletes it.
	StateRevoked = "revoked"
	// StateRemoved: the broker no longer holds it either.
	StateRemoved = "removed"
)

// Credential is what the hub keeps of a SCRAM credential it issued: that
// it exists, whose it is and when it changed; never the password.
type Credential struct {
	User string `json:"username"`
	Kind Kind   `json:"kind"`
	// Owner is the department code (ingress) or subscription id (egress).
	Owner      string     `json:"owner"`
	Department string     `json:"department_code"`
	State      string     `json:"state"`
	CreatedAt  time.Time  `json:"created_at"`
	RotatedAt  time.Time  `json:"rotated_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

// Principal is the credential's Kafka principal.
func (c Credential) Principal() string { return Principal(c.User) }

// Store keeps the credential rows.
type Store interface {
	// Get returns the credential of user, a fault.NotFound error if none.
	Get(ctx context.Context, user string) (Credential, error)
	// Claim stores c as active unless an active credential of that user
	// exists (a fault.Conflict error then), so two concurrent enables
	// issue one credential.
	Claim(ctx context.Context, c Credential) error
	// Rotated moves an active credential's rotated_at from prev to now; a
	// fault.Conflict error when another rotation or a revocation came first.
	Rotated(ctx context.Context, user string, prev, now time.Time) error
	// SetState changes the credential's state (revoked_at is set on revoke).
	SetState(ctx context.Context, user, state string, at time.Time) error
	// List returns the credentials in the given states, all without states.
	List(ctx context.Context, states ...string) ([]Credential, error)
}

// Admin is the broker's side: ACL bindings and SCRAM credentials.
type Admin interface {
	// Bindings lists every ACL binding of the cluster.
	Bindings(ctx context.Context) ([]Binding, error)
	CreateBindings(ctx context.Context, bs []Binding) error
	DeleteBindings(ctx context.Context, bs []Binding) error
	// UpsertSCRAM creates or replaces a user's SCRAM-SHA-512 credential.
	UpsertSCRAM(ctx context.Context, c SCRAM) error
	// DeleteSCRAM deletes a user's SCRAM-SHA-512 credential; a user the
	// broker does not know is not an error.
	DeleteSCRAM(ctx context.Context, user string) error
	// SCRAMUsers says which of users have a SCRAM-SHA-512 credential.
	SCRAMUsers(ctx context.Context, users []string) (map[string]bool, error)
}
