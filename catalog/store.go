package catalog

import (
	"context"
	"encoding/json"
	"time"

	"yiku/identity"
)

// SchemaVersion is one published, immutable JSON Schema of a resource.
type SchemaVersion struct {
	ResourceID string `json:"resource_id"`
	Version    int    `json:"version"`
	// Fingerprint is "sha256:" + hex of the canonical schema.
	Fingerprint string          `json:"fingerprint"`
	Schema      json.RawMessage `json:"schema"`
	// Fields are the resource's fields (信息项) as they were when this
	// version was registered.
	Fields    []Field   `json:"fields"`
	CreatedBy string    `json:"created_by"`
	CreatedAt time.Time `json:"created_at"`
}

// Change is one entry of a resource's metadata history: who changed what,
// when, and why.
type Change struct {
	ResourceID     string    `json:"resource_id"`
	Revision       int       `json:"revision"`
	Action         string    `json:"action"`
	PrincipalID    string    `json:"principal_id"`
	PrincipalName  string    `json:"principal_name"`
	DepartmentCode string    `json:"department_code"`
	Elements       []Element `json:"elements,omitempty"`
	Reason         string    `json:"reason,omitempty"`
	At             time.Time `json:"at"`
}

// Element is one metadata element a change touched, with its values before
// and after (absent on creation).
type Element struct {
	Name string          `json:"name"`
	Old  json.RawMessage `json:"old,omitempty"`
	New  json.RawMessage `json:"new,omitempty"`
}

// Change actions.
const (
	ActionCreate         = "create"
	ActionUpdate         = "update"
	ActionSchemaRegister = "schema.register"
	ActionTransition     = "status"
)

// Filter selects resources in a listing. Empty strings match everything;
// Keyword matches the ID, code, name or summary.
type Filter struct {
	Provider    string
	BaseLibrary string
	ShareType   string
	Status      string
	Keyword     string
	// Limit 0 means no limit.
	Limit  int
	Offset int
}

// Store keeps resources, their schema versions and their change history.
// Implementations map driver errors to fault kinds.
type Store interface {
	// Create stores a new resource with its first change (and, if not nil,
	// its schema version 1), assigning its sequence and catalog code
	// (class code "/" sequence). An existing ID is a fault Conflict.
	Create(ctx context.Context, r Resource, c Change, v *SchemaVersion) (Resource, error)
	// Save writes r (revision r.Revision, previously r.Revision-1) with its
	// change and, if not nil, a new schema version, all or nothing. A
	// concurrent change of the same resource is a fault Conflict.
	Save(ctx context.Context, r Resource, c Change, v *SchemaVersion) error
	// Resource returns the resource with this ID or catalog code.
	Resource(ctx context.Context, idOrCode string) (Resource, error)
	// Resources lists resources matching f, ordered by code, with the total
	// number of matches.
	Resources(ctx context.Context, f Filter) ([]Resource, int, error)
	// Versions lists a resource's schema versions, oldest first.
	Versions(ctx context.Context, id string) ([]SchemaVersion, error)
	// Version returns one schema version.
	Version(ctx context.Context, id string, version int) (SchemaVersion, error)
	// Changes lists a resource's change history, oldest first.
	Changes(ctx context.Context, id string) ([]Change, error)
	// MissingCodes returns those of codes no resource has.
	MissingCodes(ctx context.Context, codes []string) ([]string, error)
}

// Departments is what the catalog reads about provider departments.
type Departments interface {
	Department(ctx context.Context, code string) (identity.Department, error)
	Departments(ctx context.Context) ([]identity.Department, error)
}
