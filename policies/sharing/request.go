package sharing

import (
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
)

// RequestStatus is where a share request is in its life.
type RequestStatus string

const (
	RequestPending   RequestStatus = "pending"
	RequestApproved  RequestStatus = "approved"
	RequestRejected  RequestStatus = "rejected"
	RequestWithdrawn RequestStatus = "withdrawn"
)

// GrantStatus is where a grant is in its life. A grant whose validity has
// ended counts as expired at decision time, even before the sweeper has
// written the expired status.
type GrantStatus string

const (
	GrantActive  GrantStatus = "active"
	GrantRevoked GrantStatus = "revoked"
	GrantExpired GrantStatus = "expired"
)

// Limits on what a request may carry.
const (
	maxText      = 500 // purposes, legal basis, service items, reasons
	maxPurposes  = 10
	maxItems     = 20
	maxValidity  = 5 * 366 * 24 * time.Hour
	minValidity  = time.Hour
	maxCaseNoLen = 64
)

// Request is a share request (共享申请).
type Request struct {
	ID            string `json:"id"`
	ResourceID    string `json:"resource_id"`
	ResourceName  string `json:"resource_name"`
	ProviderCode  string `json:"provider_code"`
	RequesterCode string `json:"requester_code"`
	RequestedBy   string `json:"requested_by"`
	// Fields asked for; PlainFields among them asked for in plain text
	// (unmasked), which the legal basis must justify.
	Fields               []string      `json:"fields"`
	PlainFields          []string      `json:"plain_fields"`
	Purposes             []string      `json:"purposes"`
	LegalBasis           string        `json:"legal_basis"`
	ServiceItems         []string      `json:"service_items"`
	ExtendToSubordinates bool          `json:"extend_to_subordinates"`
	ValidFrom            time.Time     `json:"valid_from"`
	ValidUntil           time.Time     `json:"valid_until"`
	Status               RequestStatus `json:"status"`
	// Deadline is when the provider's answer is due: ShareDecisionDays
	// working days after the day the request was made.
	Deadline       time.Time  `json:"deadline"`
	Overdue        bool       `json:"overdue"`
	DecidedBy      string     `json:"decided_by,omitempty"`
	DecidedAt      *time.Time `json:"decided_at,omitempty"`
	DecisionReason string     `json:"decision_reason,omitempty"`
	GrantID        string     `json:"grant_id,omitempty"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	// Warnings say what granting the asked fields as they are would
	// withhold (WarningDerivableIdentifier); filled when the request is
	// made and when it is read, not stored.
	Warnings []Warning `json:"warnings,omitempty"`
}

// Grant is an approved request in force: department × resource × fields ×
// purposes × validity.
type Grant struct {
	ID                   string      `json:"id"`
	RequestID            string      `json:"request_id"`
	ResourceID           string      `json:"resource_id"`
	ProviderCode         string      `json:"provider_code"`
	GranteeCode          string      `json:"grantee_code"`
	ExtendToSubordinates bool        `json:"extend_to_subordinates"`
	Fields               []string    `json:"fields"`
	PlainFields          []string    `json:"plain_fields"`
	Purposes             []string    `json:"purposes"`
	ValidFrom            time.Time   `json:"valid_from"`
	ValidUntil           time.Time   `json:"valid_until"`
	Status               GrantStatus `json:"status"`
	ApprovedBy           string      `json:"approved_by"`
	CreatedAt            time.Time   `json:"created_at"`
	EndedAt              *time.Time  `json:"ended_at,omitempty"`
	EndedBy              string      `json:"ended_by,omitempty"`
	EndReason            string      `json:"end_reason,omitempty"`
}

// StatusAt is the grant's status at now: an active grant past its validity
// is expired.
func (g Grant) StatusAt(now time.Time) GrantStatus {
	if g.Status == GrantActive && !now.Before(g.ValidUntil) {
		return GrantExpired
	}
	return g.Status
}

// HasPurpose reports whether purpose is one of the grant's purposes.
func (g Grant) HasPurpose(purpose string) bool { return slices.Contains(g.Purposes, purpose) }

// HistoryEntry is one recorded state change of a request or grant.
type HistoryEntry struct {
	ID              int64     `json:"id"`
	RequestID       string    `json:"request_id"`
	GrantID         string    `json:"grant_id,omitempty"`
	Action          string    `json:"action"`
	FromStatus      string    `json:"from_status,omitempty"`
	ToStatus        string    `json:"to_status"`
	ActorID         string    `json:"actor_id"`
	ActorName       string    `json:"actor_name,omitempty"`
	ActorDepartment string    `json:"actor_department,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	Detail          string    `json:"detail,omitempty"`
	At              time.Time `json:"at"`
}

// History actions.
const (
	ActionCreated   = "created"
	ActionApproved  = "approved"
	ActionRejected  = "rejected"
	ActionWithdrawn = "withdrawn"
	ActionGranted   = "granted"
	ActionRevoked   = "revoked"
	ActionExpired   = "expired"
)

// Application is what a department asks for.
type Application struct {
	ResourceID           string
	Fields               []string
	PlainFields          []string
	Purposes             []string
	LegalBasis           string
	ServiceItems         []string
	ExtendToSubordinates bool
	ValidFrom            *time.Time
	ValidUntil           time.Time
}

// Approval is the provider's answer: it may narrow the request (fewer
// fields, fewer plain fields, fewer purposes, a shorter period, no
// extension to subordinate units), never widen it. Empty lists and a nil
// ValidUntil keep what was asked.
type Approval struct {
	Fields               []string
	PlainFields          []string
	Purposes             []string
	ValidUntil           *time.Time
	ExtendToSubordinates *bool
	Reason               string
}

// NewRequest checks an application by principal p against the resource and
// returns the pending request it makes. deadline computes the answer's due
// time from the creation time.
func NewRequest(p identity.Principal, res catalog.Resource, app Application, now time.Time, deadline func(time.Time) time.Time) (Request, error) {
	if p.Role != identity.RoleDeptAdmin {
		return Request{}, fault.Forbiddenf("not_department_admin", "share requests are made by a department administrator, not a %s", p.Role)
	}
	if res.ShareType == catalog.ShareNone {
		return Request{}, fault.Forbiddenf("not_shared", "resource %s is not shared (不予共享); only its provider reads it", res.ID)
	}
	if res.ProviderCode == p.DepartmentCode {
		return Request{}, fault.Invalidf("own_resource", "resource %s belongs to your department; no request is needed", res.ID)
	}
	if !res.Status.AcceptsRecords() {
		return Request{}, fault.Conflictf("resource_not_published", "resource %s is %s; requests are accepted for published resources", res.ID, res.Status)
	}
	fields, err := fieldList(res, "fields", app.Fields, true)
	if err != nil {
		return Request{}, err
	}
	plain, err := fieldList(res, "plain_fields", app.PlainFields, false)
	if err != nil {
		return Request{}, err
	}
	if err := subset("plain_fields", plain, fields); err != nil {
		return Request{}, err
	}
	purposes, err := textList("purposes", app.Purposes, maxPurposes, true)
	if err != nil {
		return Request{}, err
	}
	for _, p := range purposes {
		if utf8.RuneCountInString(p) > maxPurposeLen {
			return Request{}, invalidField("purposes", "a purpose is at most 100 characters")
		}
	}
	items, err := textList("service_items", app.ServiceItems, maxItems, true)
	if err != nil {
		return Request{}, err
	}
	basis, err := text("legal_basis", app.LegalBasis, true)
	if err != nil {
		return Request{}, err
	}
	now = now.UTC().Truncate(time.Second)
	from := now
	if app.ValidFrom != nil {
		from = app.ValidFrom.UTC().Truncate(time.Second)
		if from.Before(now.Add(-time.Minute)) {
			return Request{}, invalidField("valid_from", "must not be in the past")
		}
	}
	until := app.ValidUntil.UTC().Truncate(time.Second)
	if app.ValidUntil.IsZero() {
		return Request{}, invalidField("valid_until", "required")
	}
	if d := until.Sub(from); d < minValidity || d > maxValidity {
		return Request{}, invalidField("valid_until", "the validity period must be from one hour to five years")
	}
	return Request{
		ResourceID: res.ID, ResourceName: res.Name, ProviderCode: res.ProviderCode,
		RequesterCode: p.DepartmentCode, RequestedBy: p.ID,
		Fields: fields, PlainFields: plain, Purposes: purposes, LegalBasis: basis, ServiceItems: items,
		ExtendToSubordinates: app.ExtendToSubordinates, ValidFrom: from, ValidUntil: until,
		Status: RequestPending, Deadline: deadline(now), CreatedAt: now, UpdatedAt: now,
	}, nil
}

// Approve checks the provider's answer to r and returns the grant it makes.
func Approve(r Request, a Approval, actor identity.Principal, now time.Time) (Grant, error) {
	if err := mayDecide(r, actor); err != nil {
		return Grant{}, err
	}
	fields := r.Fields
	if len(a.Fields) > 0 {
		fields = dedupe(a.Fields)
		if err := subset("fields", fields, r.Fields); err != nil {
			return Grant{}, err
		}
	}
	plain := intersect(r.PlainFields, fields)
	if a.PlainFields != nil {
		plain = dedupe(a.PlainFields)
		if err := subset("plain_fields", plain, r.PlainFields); err != nil {
			return Grant{}, err
		}
		if err := subset("plain_fields", plain, fields); err != nil {
			return Grant{}, err
		}
	}
	purposes := r.Purposes
	if len(a.Purposes) > 0 {
		var err error
		if purposes, err = textList("purposes", a.Purposes, maxPurposes, true); err != nil {
			return Grant{}, err
		}
		if err := subset("purposes", purposes, r.Purposes); err != nil {
			return Grant{}, err
		}
	}
	now = now.UTC().Truncate(time.Second)
	until := r.ValidUntil
	if a.ValidUntil != nil {
		u := a.ValidUntil.UTC().Truncate(time.Second)
		if u.After(r.ValidUntil) {
			return Grant{}, invalidField("valid_until", "an approval may shorten the requested period, not extend it")
		}
		until = u
	}
	from := r.ValidFrom
	if from.Before(now) {
		from = now
	}
	if !until.After(from) {
		return Grant{}, invalidField("valid_until", "the validity period would already be over")
	}
	extend := r.ExtendToSubordinates
	if a.ExtendToSubordinates != nil {
		if *a.ExtendToSubordinates && !r.ExtendToSubordinates {
			return Grant{}, invalidField("extend_to_subordinates", "the request did not ask for subordinate units")
		}
		extend = *a.ExtendToSubordinates
	}
	if _, err := text("reason", a.Reason, false); err != nil {
		return Grant{}, err
	}
	return Grant{
		RequestID: r.ID, ResourceID: r.ResourceID, ProviderCode: r.ProviderCode, GranteeCode: r.RequesterCode,
		ExtendToSubordinates: extend, Fields: fields, PlainFields: plain, Purposes: purposes,
		ValidFrom: from, ValidUntil: until, Status: GrantActive, ApprovedBy: actor.ID, CreatedAt: now,
	}, nil
}

// CheckReject checks that actor may reject r with reason.
func CheckReject(r Request, actor identity.Principal, reason string) (string, error) {
	if err := mayDecide(r, actor); err != nil {
		return "", err
	}
	return text("reason", reason, true)
}

// CheckWithdraw checks that actor may withdraw r.
func CheckWithdraw(r Request, actor identity.Principal, reason string) (string, error) {
	if actor.DepartmentCode != r.RequesterCode {
		return "", fault.Forbiddenf("not_requester", "only the requesting department %s may withdraw request %s", r.RequesterCode, r.ID)
	}
	if r.Status != RequestPending {
		return "", fault.Conflictf("request_decided", "request %s is %s; only a pending request can be withdrawn", r.ID, r.Status)
	}
	return text("reason", reason, false)
}

// CheckRevoke checks that actor may revoke g with reason at now.
func CheckRevoke(g Grant, actor identity.Principal, reason string, now time.Time) (string, error) {
	if actor.DepartmentCode != g.ProviderCode || actor.Role != identity.RoleDeptAdmin {
		return "", fault.Forbiddenf("not_provider_admin", "only an administrator of the providing department %s may revoke grant %s", g.ProviderCode, g.ID)
	}
	if st := g.StatusAt(now); st != GrantActive {
		return "", fault.Conflictf("grant_ended", "grant %s is already %s", g.ID, st)
	}
	return text("reason", reason, true)
}

func mayDecide(r Request, actor identity.Principal) error {
	if actor.DepartmentCode != r.ProviderCode || actor.Role != identity.RoleDeptAdmin {
		return fault.Forbiddenf("not_provider_admin", "only an administrator of the providing department %s may decide request %s", r.ProviderCode, r.ID)
	}
	if r.Status != RequestPending {
		return fault.Conflictf("request_decided", "request %s is already %s", r.ID, r.Status)
	}
	return nil
}

func invalidField(field, reason string) error {
	return fault.Invalidf("invalid_share_request", "%s: %s", field, reason).WithDetails(fault.Detail{Field: field, Reason: reason})
}

// fieldList checks names are fields of res and returns them without repeats.
func fieldList(res catalog.Resource, name string, in []string, required bool) ([]string, error) {
	if len(in) == 0 {
		if required {
			return nil, invalidField(name, "name at least one field of the resource")
		}
		return []string{}, nil
	}
	out := dedupe(in)
	for _, f := range out {
		if _, ok := res.Field(f); !ok {
			return nil, invalidField(name, "resource "+res.ID+" has no field "+quote(f))
		}
	}
	return out, nil
}

func subset(name string, sub, of []string) error {
	for _, s := range sub {
		if !slices.Contains(of, s) {
			return invalidField(name, quote(s)+" was not requested")
		}
	}
	return nil
}

func intersect(a, b []string) []string {
	out := []string{}
	for _, s := range a {
		if slices.Contains(b, s) {
			out = append(out, s)
		}
	}
	return out
}

func dedupe(in []string) []string {
	out := make([]string, 0, len(in))
	for _, s := range in {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

func textList(name string, in []string, max int, required bool) ([]string, error) {
	if len(in) == 0 && required {
		return nil, invalidField(name, "at least one is required")
	}
	if len(in) > max {
		return nil, invalidField(name, "too many entries")
	}
	out := make([]string, 0, len(in))
	for _, s := range in {
		t, err := text(name, s, true)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func text(name, s string, required bool) (string, error) {
	t := strings.TrimSpace(s)
	switch {
	case t == "" && required:
		return "", invalidField(name, "required")
	case !utf8.ValidString(t):
		return "", invalidField(name, "not valid UTF-8")
	case utf8.RuneCountInString(t) > maxText:
		return "", invalidField(name, "longer than 500 characters")
	case strings.ContainsFunc(t, func(r rune) bool { return r < 0x20 && r != '\n' && r != '\t' }):
		return "", invalidField(name, "contains control characters")
	}
	return t, nil
}

func quote(s string) string { return "\"" + s + "\"" }
