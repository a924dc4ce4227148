// Package federation links Yiku hubs of different levels (纵向共享): a district
// hub peers with its city hub over mutual TLS with pinned certificates
// (package federation/peer), publishes the directory entries its departments
// mark for upward sharing into the city's directory and shows the city's
// shareable entries read-only, carries its departments' share requests for
// city resources to the city hub, where they are decided and enforced, and
// asks the city hub on an officer's behalf during a lookup. Each hub audits
// what it did in its own trail, linked by one trace id (the district call's
// request id). docs/federation.md describes the model.
package federation

import (
	"encoding/json"
	"regexp"
	"time"

	"yiku/catalog"
	"yiku/fault"
	"yiku/federation/peer"
)

// Direction says which way a peering points from this hub.
type Direction string

const (
	// Upstream: this hub joined the peer (a district's link to its city).
	Upstream Direction = "upstream"
	// Downstream: the peer joined this hub (the city's link to a district).
	Downstream Direction = "downstream"
)

// Status is one side's state of a peering.
type Status string

const (
	StatusRequested Status = "requested" // upstream side: asked, not yet approved there
	StatusPending   Status = "pending"   // downstream side: waiting for this office's approval
	StatusActive    Status = "active"
	StatusSuspended Status = "suspended"
	StatusEnded     Status = "ended"
)

// Peering is this hub's side of its link with another hub.
type Peering struct {
	ID        string     `json:"id"`
	Direction Direction  `json:"direction"`
	PeerHub   string     `json:"peer_hub"`
	PeerName  string     `json:"peer_name,omitempty"`
	PeerLevel peer.Level `json:"peer_level"`
	URL       string     `json:"url,omitempty"`
	// Fingerprint is the SHA-256 of the peer's certificate, pinned here.
	Fingerprint string `json:"fingerprint"`
	Status      Status `json:"status"`
	// PeerStatus is what the other side last reported of its own state.
	PeerStatus  Status    `json:"peer_status,omitempty"`
	RequestedBy string    `json:"requested_by,omitempty"`
	DecidedBy   string    `json:"decided_by,omitempty"`
	Reason      string    `json:"reason,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
}

// Open reports whether traffic may flow: both sides active.
func (p Peering) Open() bool { return p.Status == StatusActive && p.PeerStatus == StatusActive }

// Self is this hub as its peers know it.
type Self struct {
	Hub   string     `json:"hub"`
	Name  string     `json:"name"`
	Level peer.Level `json:"level"`
}

var hubID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,11}$`)

// CheckHub validates a hub id: 2-12 lower-case letters, digits or '-' (a
// division code such as 431302 fits).
func CheckHub(id string) error {
	if !hubID.MatchString(id) {
		return fault.Invalidf("invalid_hub", "hub id %q: 2-12 lower-case letters, digits or '-', starting with a letter or digit", id).
			WithDetails(fault.Detail{Field: "hub", Pointer: "/hub", Reason: "2-12 of a-z 0-9 -"})
	}
	return nil
}

// Entry is a directory entry of another hub shown here read-only.
type Entry struct {
	PeeringID      string     `json:"peering_id"`
	ResourceID     string     `json:"resource_id"`
	OriginHub      string     `json:"origin_hub"`
	OriginLevel    peer.Level `json:"origin_level"`
	OriginDept     string     `json:"origin_department"`
	OriginDeptName string     `json:"origin_department_name,omitempty"`
	Revision       int        `json:"revision"`
	// Status is the resource's status at its origin, or retired once the
	// origin stopped sharing it.
	Status   catalog.Status   `json:"status"`
	Resource catalog.Resource `json:"resource"`
	// Topic is the origin's records topic of the resource (downstream
	// entries only).
	Topic     string    `json:"topic,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Published is one entry as the origin sends it.
type Published struct {
	Resource       catalog.Resource `json:"resource"`
	OriginDeptName string           `json:"origin_department_name,omitempty"`
	// Schema is the resource's latest published JSON Schema and Topic its
	// records topic, sent upward so the upstream hub can apply the records
	// MirrorMaker copies (downstream entries only).
	Schema json.RawMessage `json:"schema,omitempty"`
	Topic  string          `json:"topic,omitempty"`
}

// Mark is a resource marked for upward sharing and what of it the upstream
// hub last received.
type Mark struct {
	ResourceID   string         `json:"resource_id"`
	Department   string         `json:"department"`
	Marked       bool           `json:"marked"`
	MarkedBy     string         `json:"marked_by"`
	SentRevision int            `json:"sent_revision"`
	SentStatus   catalog.Status `json:"sent_status,omitempty"`
	UpdatedAt    time.Time      `json:"updated_at"`
}

// Cross-level share request states at the requesting hub.
const (
	ShareWaiting  = "waiting"  // filed here, not yet delivered upstream
	ShareRefused  = "refused"  // the upstream hub refused to take it
	SharePending  = "pending"  // delivered, waiting for the provider there
	ShareApproved = "approved" // decided there: a grant enforced there
	ShareRejected = "rejected"
)

// ShareApplication is what a department asks the upstream hub for.
type ShareApplication struct {
	ResourceID   string    `json:"resource_id"`
	Fields       []string  `json:"fields"`
	PlainFields  []string  `json:"plain_fields,omitempty"`
	Purposes     []string  `json:"purposes"`
	LegalBasis   string    `json:"legal_basis"`
	ServiceItems []string  `json:"service_items"`
	ValidUntil   time.Time `json:"valid_until"`
}

// ShareRequest is a cross-level share request as the requesting hub keeps it.
type ShareRequest struct {
	ID            string           `json:"id"`
	PeeringID     string           `json:"peering_id"`
	ResourceID    string           `json:"resource_id"`
	RequesterCode string           `json:"requester_code"`
	RequestedBy   string           `json:"requested_by"`
	Application   ShareApplication `json:"application"`
	Status        string           `json:"status"`
	RemoteID      string           `json:"remote_id,omitempty"`
	GrantID       string           `json:"grant_id,omitempty"`
	Reason        string           `json:"reason,omitempty"`
	CreatedAt     time.Time        `json:"created_at"`
	UpdatedAt     time.Time        `json:"updated_at"`
}

// RemoteShare is a share request carried to the upstream hub.
type RemoteShare struct {
	ID             string           `json:"id"`
	Department     string           `json:"department"`
	DepartmentName string           `json:"department_name"`
	RequestedBy    string           `json:"requested_by"`
	Application    ShareApplication `json:"application"`
}

// RemoteShareState is the upstream hub's answer about a carried request.
type RemoteShareState struct {
	RemoteID string `json:"remote_id"`
	Status   string `json:"status"`
	GrantID  string `json:"grant_id,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// RemoteLookup asks the upstream hub for the records of one subject on an
// officer's behalf.
type RemoteLookup struct {
	Subject        string   `json:"subject"`
	Resources      []string `json:"resources"`
	Purpose        string   `json:"purpose"`
	CaseNumber     string   `json:"case_number"`
	ServiceItem    string   `json:"service_item"`
	Officer        string   `json:"officer"`
	OfficerName    string   `json:"officer_name"`
	Department     string   `json:"department"`
	DepartmentName string   `json:"department_name"`
}

// RemoteMaterial is the upstream hub's answer for one resource.
type RemoteMaterial struct {
	Resource    string          `json:"resource"`
	Status      string          `json:"status"` // supplied, not_available, not_permitted
	Reason      string          `json:"reason,omitempty"`
	Record      json.RawMessage `json:"record,omitempty"`
	Fields      []string        `json:"fields,omitempty"`
	Basis       string          `json:"basis,omitempty"`
	Version     int             `json:"version,omitempty"`
	Publisher   string          `json:"publisher,omitempty"`
	PublishedAt *time.Time      `json:"published_at,omitempty"`
}

// TraceHeader carries the trace id that links both hubs' audit events of
// one access.
const TraceHeader = "X-Yiku-Trace-Id"
