package subscription

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"yiku/audit"
	"yiku/catalog"
	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/fault"
	"yiku/identity"
	"yiku/kafkaacl"
	"yiku/objection"
	"yiku/policies/sharing"
)

// Subscription is one department's standing order for a resource's records.
type Subscription struct {
	ID             string     `json:"id"`
	DepartmentCode string     `json:"department_code"`
	PrincipalID    string     `json:"principal_id"`
	ResourceID     string     `json:"resource"`
	Purpose        string     `json:"purpose"`
	CaseNumber     string     `json:"case_number,omitempty"`
	FilterField    string     `json:"filter_field,omitempty"`
	FilterPrefix   string     `json:"filter_prefix,omitempty"`
	Status         string     `json:"status"`
	PullCursor     int64      `json:"pull_cursor"`
	WebhookURL     string     `json:"webhook_url,omitempty"`
	PushCursor     int64      `json:"push_cursor"`
	PushState      string     `json:"push_state"`
	PushAttempts   int        `json:"push_attempts"`
	PushNextAt     *time.Time `json:"push_next_at,omitempty"`
	PushLastError  string     `json:"push_last_error,omitempty"`
	EgressTopic    string     `json:"egress_topic,omitempty"`
	EgressCursor   int64      `json:"egress_cursor"`
	StoppedReason  string     `json:"stopped_reason,omitempty"`
	// LeasedBy is the hub instance delivering the subscription's webhook
	// and egress batches until LeaseUntil.
	LeasedBy   string     `json:"-"`
	LeaseUntil *time.Time `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	UpdatedAt  time.Time  `json:"updated_at"`
}

// Statuses and push states.
const (
	StatusActive    = "active"
	StatusCancelled = "cancelled"

	PushNone     = "none"
	PushActive   = "active"
	PushRetrying = "retrying"
	PushParked   = "parked"
)

// Library is what delivery reads from the library.
type Library interface {
	After(ctx context.Context, resource string, seq int64, limit int) ([]library.Row, error)
	MaxSeq(ctx context.Context, resource string) (int64, error)
	// History returns every version of a subject, oldest first; a
	// deletion is delivered with the version before it.
	History(ctx context.Context, resource, subject string) ([]library.Row, error)
	// Plain is a row's record with its encrypted fields opened (a
	// delivery is an authorised read: the gate decided before Collect).
	Plain(ctx context.Context, r library.Row) ([]byte, error)
}

// Principals looks up the principal a subscription acts for.
type Principals interface {
	Principal(ctx context.Context, id string) (identity.Principal, error)
}

// Service manages subscriptions and serves pull deliveries.
type Service struct {
	store      *Store
	lib        Library
	dir        catalog.Directory
	gate       sharing.Gate
	principals Principals
	topics     exchange.Topics
	secret     []byte
	webhooks   WebhookPolicy
	now        func() time.Time
	// Objections flags deliveries whose record is under open objection
	// (nil: no flags).
	Objections objection.Flags
	// Kafka issues and revokes egress subscriptions' Kafka credentials;
	// nil issues none.
	Kafka KafkaCredentials
}

// KafkaCredentials gives each Kafka-egress subscription its own Kafka
// principal (kafkaacl.Service).
type KafkaCredentials interface {
	// IssueEgress issues the subscription's credentials before it is
	// stored; the password is in the Login only.
	IssueEgress(ctx context.Context, subscription, department string) (kafkaacl.Login, error)
	// RevokeEgress deletes them and their ACLs when it is cancelled.
	RevokeEgress(ctx context.Context, subscription string) error
}

// NewService builds the service. principals looks up the principal a
// subscription was created by (pull stops when it is disabled); secret is
// the hub's key material, from which each subscription's webhook signing
// key is derived; webhooks decides which webhook URLs are accepted.
func NewService(store *Store, lib Library, dir catalog.Directory, gate sharing.Gate, principals Principals, topics exchange.Topics, secret []byte, webhooks WebhookPolicy) *Service {
	return &Service{store: store, lib: lib, dir: dir, gate: gate, principals: principals, topics: topics, secret: secret, webhooks: webhooks, now: time.Now}
}

// CreateRequest is the body of a new subscription.
type CreateRequest struct {
	Resource   string  `json:"resource"`
	Purpose    string  `json:"purpose"`
	CaseNumber string  `json:"case_number,omitempty"`
	Filter     *Filter `json:"filter,omitempty"`
	WebhookURL string  `json:"webhook_url,omitempty"`
	Egress     bool    `json:"egress,omitempty"`
	// Start is "beginning" (default: every record the library holds) or
	// "now" (only records applied from now on).
	Start string `json:"start,omitempty"`
}

// Filter keeps records whose Field (a string field) starts with Prefix,
// e.g. {"field":"domicile_division","prefix":"431302001"}.
type Filter struct {
	Field  string `json:"field"`
	Prefix string `json:"prefix"`
}

// Created is a new subscription with its webhook signing key and, for
// Kafka egress, its Kafka login, both shown once.
type Created struct {
	Subscription
	WebhookSecret string          `json:"webhook_secret,omitempty"`
	Kafka         *kafkaacl.Login `json:"kafka,omitempty"`
}

// Create subscribes p's department to a resource after the Gate allows it.
func (s *Service) Create(ctx context.Context, p identity.Principal, req CreateRequest) (Created, error) {
	res, err := s.dir.Resource(ctx, req.Resource)
	if err != nil {
		return Created{}, err
	}
	id := exchange.ResourceID(res, req.Resource)
	dec, err := s.decide(ctx, p, res, req.Purpose, req.CaseNumber)
	if err != nil {
		return Created{}, err
	}
	sub := Subscription{
		ID: newID(), DepartmentCode: p.DepartmentCode, PrincipalID: p.ID, ResourceID: id,
		Purpose: req.Purpose, CaseNumber: req.CaseNumber, Status: StatusActive, PushState: PushNone,
	}
	if req.Filter != nil {
		f, ok := res.Field(req.Filter.Field)
		if !ok {
			return Created{}, fault.Invalidf("invalid_filter", "resource %s has no field %q", id, req.Filter.Field).
				WithDetails(fault.Detail{Field: "filter.field", Reason: "not a field of the resource"})
		}
		if req.Filter.Prefix == "" || len(req.Filter.Prefix) > 100 {
			return Created{}, fault.Invalidf("invalid_filter", "filter prefix must be 1 to 100 characters").
				WithDetails(fault.Detail{Field: "filter.prefix", Reason: "1 to 100 characters"})
		}
		if reason := filterRefusal(f.Name, dec); reason != "" {
			return Created{}, fault.Invalidf("invalid_filter", "cannot filter %s on %q: %s", id, f.Name, reason).
				WithDetails(fault.Detail{Field: "filter.field", Reason: reason})
		}
		sub.FilterField, sub.FilterPrefix = f.Name, req.Filter.Prefix
	}
	if req.WebhookURL != "" {
		if err := s.webhooks.CheckURL(ctx, req.WebhookURL); err != nil {
			return Created{}, err
		}
		sub.WebhookURL, sub.PushState = req.WebhookURL, PushActive
	}
	if req.Egress {
		sub.EgressTopic = s.topics.Egress(sub.ID)
	}
	switch req.Start {
	case "", "beginning":
	case "now":
		seq, err := s.lib.MaxSeq(ctx, id)
		if err != nil {
			return Created{}, err
		}
		sub.PullCursor, sub.PushCursor, sub.EgressCursor = seq, seq, seq
	default:
		return Created{}, fault.Invalidf("invalid_start", "start must be beginning or now").WithDetails(fault.Detail{Field: "start", Reason: "beginning or now"})
	}
	now := s.now().UTC()
	sub.CreatedAt, sub.UpdatedAt = now, now
	out := Created{Subscription: sub}
	if sub.EgressTopic != "" && s.Kafka != nil {
		// Issued first: if storing the subscription fails, the
		// reconciler revokes credentials whose subscription is missing.
		login, err := s.Kafka.IssueEgress(ctx, sub.ID, sub.DepartmentCode)
		if err != nil {
			return Created{}, err
		}
		out.Kafka = &login
	}
	if err := s.store.Create(ctx, sub); err != nil {
		return Created{}, err
	}
	if sub.WebhookURL != "" {
		out.WebhookSecret = hex.EncodeToString(WebhookKey(s.secret, sub.ID))
	}
	return out, nil
}

// Get returns a subscription of p's department.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Subscription, error) {
	sub, err := s.store.Get(ctx, id)
	if err != nil {
		return Subscription{}, err
	}
	if sub.DepartmentCode != p.DepartmentCode {
		return Subscription{}, fault.NotFoundf("subscription_not_found", "no subscription %s", id)
	}
	return sub, nil
}

// List returns p's department's subscriptions.
func (s *Service) List(ctx context.Context, p identity.Principal) ([]Subscription, error) {
	return s.store.ByDepartment(ctx, p.DepartmentCode)
}

// Cancel ends a subscription: no mode delivers from it again.
func (s *Service) Cancel(ctx context.Context, p identity.Principal, id string) (Subscription, error) {
	sub, err := s.Get(ctx, p, id)
	if err != nil {
		return Subscription{}, err
	}
	if err := s.store.SetStatus(ctx, sub.ID, StatusCancelled); err != nil {
		return Subscription{}, err
	}
	if sub.EgressTopic != "" && s.Kafka != nil {
		// The read ACLs go now; should this fail, the Kafka ACL
		// reconciler revokes a cancelled subscription's credentials.
		_ = s.Kafka.RevokeEgress(ctx, sub.ID)
	}
	return s.store.Get(ctx, sub.ID)
}

// KafkaEgress lists the Kafka-egress subscriptions for the Kafka ACL
// reconciler: cancelled ones lose their credentials, and one is readable
// only while it would be delivered to (its principal enabled, the gate
// allowing it, its filter on plain fields), so a revoked grant takes the
// Kafka read away as it stops delivery.
func (s *Service) KafkaEgress(ctx context.Context) ([]kafkaacl.Subscription, error) {
	subs, err := s.store.WithEgress(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]kafkaacl.Subscription, 0, len(subs))
	for _, sub := range subs {
		ks := kafkaacl.Subscription{ID: sub.ID, Cancelled: sub.Status != StatusActive}
		if !ks.Cancelled {
			ok, err := s.readable(ctx, sub)
			if err != nil {
				return nil, err
			}
			ks.Readable = ok
		}
		out = append(out, ks)
	}
	return out, nil
}

// readable asks what delivery asks before every egress batch.
func (s *Service) readable(ctx context.Context, sub Subscription) (bool, error) {
	p, err := s.principals.Principal(ctx, sub.PrincipalID)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("subscription %s: principal: %w", sub.ID, err)
	}
	if p.DisabledAt != nil {
		return false, nil
	}
	res, err := s.dir.Resource(ctx, sub.ResourceID)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("subscription %s: resource: %w", sub.ID, err)
	}
	dec, err := Decide(ctx, s.gate, p, res, sub.Purpose, sub.CaseNumber)
	if k := fault.KindOf(err); err != nil && (k == fault.Forbidden || k == fault.Invalid) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("subscription %s: gate: %w", sub.ID, err)
	}
	return CheckFilter(sub, dec) == nil, nil
}

// ResumePush takes a parked (or retrying) webhook back into delivery now.
func (s *Service) ResumePush(ctx context.Context, p identity.Principal, id string) (Subscription, error) {
	sub, err := s.Get(ctx, p, id)
	if err != nil {
		return Subscription{}, err
	}
	if sub.WebhookURL == "" {
		return Subscription{}, fault.Conflictf("no_webhook", "subscription %s has no webhook", id)
	}
	if err := s.store.ResumePush(ctx, sub.ID); err != nil {
		return Subscription{}, err
	}
	return s.store.Get(ctx, sub.ID)
}

// Delivery is one record version as a subscriber receives it.
type Delivery struct {
	Seq      int64           `json:"seq"`
	Resource string          `json:"resource"`
	RecordID string          `json:"record_id"`
	Version  int             `json:"version"`
	Deleted  bool            `json:"deleted,omitempty"`
	Reason   string          `json:"delete_reason,omitempty"`
	Record   json.RawMessage `json:"record"`
	// PublishedAt is when the provider published it.
	PublishedAt time.Time `json:"published_at"`
	// UnderObjection names the open objections disputing this version.
	UnderObjection *objection.Flag `json:"under_objection,omitempty"`
}

// Page is one pull of a subscription.
type Page struct {
	Subscription string     `json:"subscription"`
	Records      []Delivery `json:"records"`
	// NextCursor acknowledges this page (POST …/ack); it is the current
	// cursor when the page is empty.
	NextCursor string `json:"next_cursor"`
	// Fields are the fields the records carry and how they are masked.
	Fields []string `json:"fields"`
	// Subjects are the subject keys delivered (for the audit trail only).
	Subjects []string `json:"-"`
}

// Pull returns up to limit records after cursor ("" = the acknowledged
// cursor). It does not move the cursor. A subscription belongs to the
// principal that created it, as for webhook and egress delivery: once
// that principal is disabled, no one pulls from it (another principal of
// the department subscribes anew, under its own name in the audit trail).
// The Gate is asked for the caller, who receives the records.
func (s *Service) Pull(ctx context.Context, p identity.Principal, id, cursor string, limit int) (Page, error) {
	sub, err := s.Get(ctx, p, id)
	if err != nil {
		return Page{}, err
	}
	if sub.Status != StatusActive {
		return Page{}, fault.Conflictf("subscription_cancelled", "subscription %s is cancelled", id)
	}
	if err := s.checkOwner(ctx, sub); err != nil {
		return Page{}, err
	}
	from := sub.PullCursor
	if cursor != "" {
		c, err := strconv.ParseInt(cursor, 10, 64)
		if err != nil || c < 0 {
			return Page{}, fault.Invalidf("invalid_cursor", "cursor %q is not one this hub issued", cursor).WithDetails(fault.Detail{Field: "cursor", Reason: "not a cursor"})
		}
		from = c
	}
	res, err := s.dir.Resource(ctx, sub.ResourceID)
	if err != nil {
		return Page{}, err
	}
	dec, err := s.decide(ctx, p, res, sub.Purpose, sub.CaseNumber)
	if err != nil {
		return Page{}, err
	}
	batch, err := Collect(ctx, s.lib, sub, res, dec, from, limit)
	if err != nil {
		return Page{}, err
	}
	if err := FlagObjections(ctx, s.Objections, &batch); err != nil {
		return Page{}, err
	}
	return Page{Subscription: sub.ID, Records: batch.Deliveries, NextCursor: strconv.FormatInt(batch.Next, 10), Fields: batch.Fields, Subjects: batch.Subjects}, nil
}

// Ack moves the pull cursor to cursor. Acknowledging an older cursor than
// the stored one is a no-op, so a late retry cannot rewind delivery.
func (s *Service) Ack(ctx context.Context, p identity.Principal, id, cursor string) (Subscription, error) {
	sub, err := s.Get(ctx, p, id)
	if err != nil {
		return Subscription{}, err
	}
	c, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || c < 0 {
		return Subscription{}, fault.Invalidf("invalid_cursor", "cursor %q is not one this hub issued", cursor).WithDetails(fault.Detail{Field: "cursor", Reason: "not a cursor"})
	}
	max, err := s.lib.MaxSeq(ctx, sub.ResourceID)
	if err != nil {
		return Subscription{}, err
	}
	if c > max {
		return Subscription{}, fault.Invalidf("invalid_cursor", "cursor %q is ahead of the library", cursor).WithDetails(fault.Detail{Field: "cursor", Reason: "ahead of the library"})
	}
	if err := s.store.AdvancePull(ctx, sub.ID, c); err != nil {
		return Subscription{}, err
	}
	return s.store.Get(ctx, sub.ID)
}

// reasonOwnerDisabled is the stopped_reason of a subscription whose
// creating principal was disabled (or removed).
const reasonOwnerDisabled = "the subscribing principal is disabled"

// checkOwner refuses a subscription whose creating principal is disabled
// or gone, and records why on the subscription.
func (s *Service) checkOwner(ctx context.Context, sub Subscription) error {
	owner, err := s.principals.Principal(ctx, sub.PrincipalID)
	if err != nil && fault.KindOf(err) != fault.NotFound {
		return fmt.Errorf("subscription %s: principal %s: %w", sub.ID, sub.PrincipalID, err)
	}
	if err == nil && owner.DisabledAt == nil {
		return nil
	}
	if sub.StoppedReason != reasonOwnerDisabled {
		if err := s.store.Stopped(ctx, sub.ID, reasonOwnerDisabled); err != nil {
			return err
		}
	}
	return fault.Forbiddenf("subscription_principal_disabled", "subscription %s was created by principal %s, which is disabled; subscribe again as an active principal", sub.ID, sub.PrincipalID)
}

func (s *Service) decide(ctx context.Context, p identity.Principal, res catalog.Resource, purpose, caseNo string) (sharing.Decision, error) {
	return Decide(ctx, s.gate, p, res, purpose, caseNo)
}

// Decide asks the gate for a subscription read and insists on a plan.
func Decide(ctx context.Context, gate sharing.Gate, p identity.Principal, res catalog.Resource, purpose, caseNo string) (sharing.Decision, error) {
	dec, err := gate.Decide(ctx, sharing.ReadRequest{Principal: p, Resource: res, Action: sharing.ActionSubscribe, Purpose: purpose, CaseNumber: caseNo})
	if err != nil {
		return sharing.Decision{}, err
	}
	if !dec.Allowed {
		return sharing.Decision{}, fault.Forbiddenf("not_shared", "no right to receive %s: %s", res.ID, dec.Basis)
	}
	if dec.Plan == nil {
		return sharing.Decision{}, fmt.Errorf("subscription: gate allowed %s without a plan", res.ID)
	}
	return dec, nil
}

// CheckFilter refuses a subscription whose filter field the decision does
// not return in plain text. The filter compares the stored (unmasked)
// value, so filtering on a field the reader may not see, or sees only
// masked, would reveal it through which records arrive. A grant narrowed
// after the subscription was created stops delivery with this error.
func CheckFilter(sub Subscription, dec sharing.Decision) error {
	if sub.FilterField == "" {
		return nil
	}
	if reason := filterRefusal(sub.FilterField, dec); reason != "" {
		return fault.Forbiddenf("filter_not_permitted", "subscription %s filters on %q, %s: delivery is held until the grant returns it plain", sub.ID, sub.FilterField, reason)
	}
	return nil
}

// filterRefusal says why the decision does not let its reader filter on
// field, or "" when the field is returned plain.
func filterRefusal(field string, dec sharing.Decision) string {
	if dec.Plan == nil {
		return "no field is granted to the reader"
	}
	for _, f := range dec.Plan.Fields() {
		if f.Name == field {
			if f.Masked {
				return "the field is granted only masked (" + f.Rule.String() + ")"
			}
			return ""
		}
	}
	return "the field is not granted to the reader"
}

// Batch is a run of deliveries ready to send.
type Batch struct {
	Deliveries []Delivery
	Fields     []string
	Subjects   []string
	// Next is the cursor after this batch (the last seq scanned).
	Next int64
}

// Collect reads up to limit deliverable records after from, applying the
// subscription's filter and the decision's plan. Filtered-out records
// advance the cursor without being delivered.
func Collect(ctx context.Context, lib Library, sub Subscription, res catalog.Resource, dec sharing.Decision, from int64, limit int) (Batch, error) {
	if err := CheckFilter(sub, dec); err != nil {
		return Batch{}, err
	}
	b := Batch{Next: from, Deliveries: []Delivery{}}
	for _, f := range dec.Plan.Fields() {
		b.Fields = append(b.Fields, f.Name)
	}
	// Scan at most a few pages of filtered-out records per call.
	for scans := 0; scans < 10 && len(b.Deliveries) < limit; scans++ {
		rows, err := lib.After(ctx, sub.ResourceID, b.Next, limit-len(b.Deliveries))
		if err != nil {
			return Batch{}, err
		}
		for _, r := range rows {
			b.Next = r.Seq
			src, err := lib.Plain(ctx, r)
			if err != nil {
				return Batch{}, fmt.Errorf("subscription: %s seq %d: %w", sub.ResourceID, r.Seq, err)
			}
			if !matches(sub, r, src) {
				continue
			}
			if r.Deleted {
				if src, err = deletedRecord(ctx, lib, res, r); err != nil {
					return Batch{}, err
				}
			}
			masked, err := dec.Plan.ApplyJSON(src)
			if err != nil {
				return Batch{}, fmt.Errorf("subscription: mask %s seq %d: %w", sub.ResourceID, r.Seq, err)
			}
			b.Deliveries = append(b.Deliveries, Delivery{Seq: r.Seq, Resource: r.ResourceID, RecordID: dec.RecordID(r.RecordID), Version: r.Version,
				Deleted: r.Deleted, Reason: r.DeleteReason, Record: masked, PublishedAt: r.PublishedAt})
			b.Subjects = append(b.Subjects, r.SubjectKey)
		}
		if len(rows) == 0 {
			break
		}
	}
	return b, nil
}

// FlagObjections marks the batch's deliveries whose record is under open
// objection, with one question to flags for the whole batch.
func FlagObjections(ctx context.Context, flags objection.Flags, b *Batch) error {
	if flags == nil || len(b.Deliveries) == 0 {
		return nil
	}
	keys := make([]objection.Key, len(b.Deliveries))
	for i, d := range b.Deliveries {
		keys[i] = objection.Key{Resource: d.Resource, Subject: b.Subjects[i]}
	}
	open, err := flags.OpenFor(ctx, keys)
	if err != nil {
		return fmt.Errorf("subscription: objections: %w", err)
	}
	for i := range b.Deliveries {
		b.Deliveries[i].UnderObjection = objection.FlagOf(open[keys[i]], b.Deliveries[i].Version)
	}
	return nil
}

// deletedRecord is what a deletion delivers: the subject's last version
// before it, so that a subscriber keeping the records in a table keyed on
// another field (a licence number rather than the holder's ID number) can
// find the row to remove. The plan masks it like any delivery, so the
// subscriber learns nothing it was not entitled to receive. A subject
// deleted without an earlier version delivers its subject key alone.
func deletedRecord(ctx context.Context, lib Library, res catalog.Resource, r library.Row) ([]byte, error) {
	versions, err := lib.History(ctx, r.ResourceID, r.SubjectKey)
	if err != nil && fault.KindOf(err) != fault.NotFound {
		return nil, fmt.Errorf("subscription: versions before deletion seq %d: %w", r.Seq, err)
	}
	for i := len(versions) - 1; i >= 0; i-- {
		if v := versions[i]; v.Seq < r.Seq && !v.Deleted && v.Data != nil {
			return lib.Plain(ctx, v)
		}
	}
	key, err := json.Marshal(map[string]string{res.SubjectKey: r.SubjectKey})
	if err != nil {
		return nil, fmt.Errorf("subscription: deletion of seq %d: %w", r.Seq, err)
	}
	return key, nil
}

// matches applies the subscription's filter to the row r whose plaintext
// record is data.
func matches(sub Subscription, r library.Row, data []byte) bool {
	if sub.FilterField == "" {
		return true
	}
	if r.Deleted {
		// A deletion carries no fields to filter on; subscribers learn of
		// every deletion of a subject they may have received.
		return true
	}
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(data, &rec); err != nil {
		return false
	}
	var v string
	if err := json.Unmarshal(rec[sub.FilterField], &v); err != nil {
		return false
	}
	return strings.HasPrefix(v, sub.FilterPrefix)
}

// WebhookKey derives a subscription's webhook signing key from the hub secret.
func WebhookKey(secret []byte, subscription string) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("yiku webhook v1\x00" + subscription))
	return m.Sum(nil)
}

// Sign returns the X-Yiku-Signature value for body sent at t:
// "t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>." + body)>".
func Sign(key []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, key)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Verify checks a signature header against body, refusing signatures older
// than tolerance; receivers use it (and the tests do).
func Verify(key []byte, header string, body []byte, now time.Time, tolerance time.Duration) bool {
	var ts, sig string
	for _, part := range strings.Split(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return false
	}
	want := Sign(key, time.Unix(sec, 0), body)
	return hmac.Equal([]byte(want), []byte("t="+ts+",v1="+sig))
}

// auditEvent describes a push or egress delivery for the audit trail.
func auditEvent(sub Subscription, p identity.Principal, action string, b Batch) audit.Event {
	return audit.Event{
		Time: time.Now().UTC(), PrincipalID: p.ID, PrincipalName: p.Name, Department: p.DepartmentCode, Role: string(p.Role),
		Action: action, Resource: sub.ResourceID, Subjects: b.Subjects, Fields: b.Fields, Purpose: sub.Purpose,
		CaseNumber: sub.CaseNumber, Outcome: audit.Allowed, Count: len(b.Deliveries), Reason: "subscription " + sub.ID,
	}
}
