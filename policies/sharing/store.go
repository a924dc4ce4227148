package sharing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/fault"
	"yiku/storage"
)

// Store persists share requests, grants, their history, the data policy
// rows derived from grants and the policy version, on gorm. A state change,
// its history entry, its policy rows and the version bump commit together.
type Store struct {
	db *gorm.DB
}

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

type requestRow struct {
	ID                   string `gorm:"primaryKey"`
	ResourceID           string
	ResourceName         string
	ProviderCode         string
	RequesterCode        string
	RequestedBy          string
	Fields               []string `gorm:"serializer:json"`
	PlainFields          []string `gorm:"serializer:json"`
	Purposes             []string `gorm:"serializer:json"`
	LegalBasis           string
	ServiceItems         []string `gorm:"serializer:json"`
	ExtendToSubordinates bool
	ValidFrom            time.Time
	ValidUntil           time.Time
	Status               string
	Deadline             time.Time
	DecidedBy            string
	DecidedAt            *time.Time
	DecisionReason       string
	GrantID              string
	CreatedAt            time.Time
	UpdatedAt            time.Time
}

func (requestRow) TableName() string { return "share_requests" }

func (r requestRow) domain(now time.Time) Request {
	out := Request{
		ID: r.ID, ResourceID: r.ResourceID, ResourceName: r.ResourceName, ProviderCode: r.ProviderCode,
		RequesterCode: r.RequesterCode, RequestedBy: r.RequestedBy, Fields: r.Fields, PlainFields: r.PlainFields,
		Purposes: r.Purposes, LegalBasis: r.LegalBasis, ServiceItems: r.ServiceItems,
		ExtendToSubordinates: r.ExtendToSubordinates, ValidFrom: r.ValidFrom.UTC(), ValidUntil: r.ValidUntil.UTC(),
		Status: RequestStatus(r.Status), Deadline: r.Deadline.UTC(), DecidedBy: r.DecidedBy, DecidedAt: utcPtr(r.DecidedAt),
		DecisionReason: r.DecisionReason, GrantID: r.GrantID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	out.Overdue = out.Status == RequestPending && now.After(out.Deadline)
	return out
}

func requestRowOf(r Request) requestRow {
	return requestRow{
		ID: r.ID, ResourceID: r.ResourceID, ResourceName: r.ResourceName, ProviderCode: r.ProviderCode,
		RequesterCode: r.RequesterCode, RequestedBy: r.RequestedBy, Fields: r.Fields, PlainFields: r.PlainFields,
		Purposes: r.Purposes, LegalBasis: r.LegalBasis, ServiceItems: r.ServiceItems,
		ExtendToSubordinates: r.ExtendToSubordinates, ValidFrom: r.ValidFrom.UTC(), ValidUntil: r.ValidUntil.UTC(),
		Status: string(r.Status), Deadline: r.Deadline.UTC(), DecidedBy: r.DecidedBy, DecidedAt: utcPtr(r.DecidedAt),
		DecisionReason: r.DecisionReason, GrantID: r.GrantID, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
}

type grantRow struct {
	ID                   string `gorm:"primaryKey"`
	RequestID            string
	ResourceID           string
	ProviderCode         string
	GranteeCode          string
	ExtendToSubordinates bool
	Fields               []string `gorm:"serializer:json"`
	PlainFields          []string `gorm:"serializer:json"`
	Purposes             []string `gorm:"serializer:json"`
	ValidFrom            time.Time
	ValidUntil           time.Time
	Status               string
	ApprovedBy           string
	CreatedAt            time.Time
	EndedAt              *time.Time
	EndedBy              string
	EndReason            string
}

func (grantRow) TableName() string { return "share_grants" }

func (r grantRow) domain() Grant {
	return Grant{
		ID: r.ID, RequestID: r.RequestID, ResourceID: r.ResourceID, ProviderCode: r.ProviderCode, GranteeCode: r.GranteeCode,
		ExtendToSubordinates: r.ExtendToSubordinates, Fields: r.Fields, PlainFields: r.PlainFields, Purposes: r.Purposes,
		ValidFrom: r.ValidFrom.UTC(), ValidUntil: r.ValidUntil.UTC(), Status: GrantStatus(r.Status), ApprovedBy: r.ApprovedBy,
		CreatedAt: r.CreatedAt.UTC(), EndedAt: utcPtr(r.EndedAt), EndedBy: r.EndedBy, EndReason: r.EndReason,
	}
}

func grantRowOf(g Grant) grantRow {
	return grantRow{
		ID: g.ID, RequestID: g.RequestID, ResourceID: g.ResourceID, ProviderCode: g.ProviderCode, GranteeCode: g.GranteeCode,
		ExtendToSubordinates: g.ExtendToSubordinates, Fields: g.Fields, PlainFields: g.PlainFields, Purposes: g.Purposes,
		ValidFrom: g.ValidFrom.UTC(), ValidUntil: g.ValidUntil.UTC(), Status: string(g.Status), ApprovedBy: g.ApprovedBy,
		CreatedAt: g.CreatedAt.UTC(), EndedAt: utcPtr(g.EndedAt), EndedBy: g.EndedBy, EndReason: g.EndReason,
	}
}

type historyRow struct {
	ID              int64 `gorm:"primaryKey;autoIncrement"`
	RequestID       string
	GrantID         string
	Action          string
	FromStatus      string
	ToStatus        string
	ActorID         string
	ActorName       string
	ActorDepartment string
	Reason          string
	Detail          string
	At              time.Time
}

func (historyRow) TableName() string { return "share_history" }

func (r historyRow) domain() HistoryEntry {
	return HistoryEntry{ID: r.ID, RequestID: r.RequestID, GrantID: r.GrantID, Action: r.Action, FromStatus: r.FromStatus,
		ToStatus: r.ToStatus, ActorID: r.ActorID, ActorName: r.ActorName, ActorDepartment: r.ActorDepartment,
		Reason: r.Reason, Detail: r.Detail, At: r.At.UTC()}
}

// dataRule is a row of casbin_data_rule, in gorm-adapter's shape.
type dataRule struct {
	ID    uint `gorm:"primaryKey;autoIncrement"`
	Ptype string
	V0    string
	V1    string
	V2    string
	V3    string
	V4    string
	V5    string
}

func (dataRule) TableName() string { return dataRuleTable }

type versionRow struct {
	ID        int `gorm:"primaryKey"`
	Version   int64
	UpdatedAt time.Time
}

func (versionRow) TableName() string { return "share_policy_version" }

// Actor is who made a change, for the history.
type Actor struct {
	ID, Name, Department string
}

// system is the actor of changes nobody made by hand (expiry).
var system = Actor{ID: "system", Name: "yiku"}

func newID(prefix string) string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return prefix + hex.EncodeToString(b)
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateRequest stores a new request with its first history entry.
func (s *Store) CreateRequest(ctx context.Context, r Request, by Actor) (Request, error) {
	r.ID = newID("sr-")
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		row := requestRowOf(r)
		if err := tx.Create(&row).Error; err != nil {
			return storage.MapError(err, "share request")
		}
		return addHistory(tx, historyRow{RequestID: r.ID, Action: ActionCreated, ToStatus: string(RequestPending),
			Reason: r.LegalBasis, Detail: "purposes: " + joinList(r.Purposes)}, by, r.CreatedAt)
	})
	if err != nil {
		return Request{}, fmt.Errorf("sharing: create request: %w", err)
	}
	return r, nil
}

// Request returns one request.
func (s *Store) Request(ctx context.Context, id string, now time.Time) (Request, error) {
	var row requestRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return Request{}, storage.MapError(err, "share request "+id)
	}
	return row.domain(now), nil
}

// RequestFilter selects requests to list.
type RequestFilter struct {
	RequesterCode string
	ProviderCode  string
	Status        RequestStatus
	// OverdueAt lists pending requests whose deadline is before it.
	OverdueAt *time.Time
	Limit     int
	Offset    int
}

// Requests lists requests, newest first.
func (s *Store) Requests(ctx context.Context, f RequestFilter, now time.Time) ([]Request, error) {
	q := s.db.WithContext(ctx).Model(&requestRow{})
	if f.RequesterCode != "" {
		q = q.Where("requester_code = ?", f.RequesterCode)
	}
	if f.ProviderCode != "" {
		q = q.Where("provider_code = ?", f.ProviderCode)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.OverdueAt != nil {
		q = q.Where("status = ? AND deadline < ?", string(RequestPending), f.OverdueAt.UTC())
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit).Offset(f.Offset)
	}
	var rows []requestRow
	if err := q.Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("sharing: list requests: %w", err)
	}
	out := make([]Request, len(rows))
	for i, r := range rows {
		out[i] = r.domain(now)
	}
	return out, nil
}

// History returns the recorded changes of a request and its grant, oldest first.
func (s *Store) History(ctx context.Context, requestID string) ([]HistoryEntry, error) {
	var rows []historyRow
	if err := s.db.WithContext(ctx).Where("request_id = ?", requestID).Order("id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("sharing: history of %s: %w", requestID, err)
	}
	out := make([]HistoryEntry, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Decide moves a pending request to status, optionally creating its grant
// (with the grant's policy rows and a version bump) in the same transaction.
// It fails with Conflict if the request is no longer pending, so two
// concurrent decisions cannot both win.
func (s *Store) Decide(ctx context.Context, r Request, status RequestStatus, reason string, g *Grant, by Actor, now time.Time) (Request, error) {
	now = now.UTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		upd := map[string]any{"status": string(status), "decided_by": by.ID, "decided_at": now, "decision_reason": reason, "updated_at": now}
		if status == RequestWithdrawn {
			upd["decided_by"], upd["decided_at"] = "", nil
		}
		if g != nil {
			g.ID = newID("gr-")
			g.RequestID = r.ID
			upd["grant_id"] = g.ID
		}
		res := tx.Model(&requestRow{}).Where("id = ? AND status = ?", r.ID, string(RequestPending)).Updates(upd)
		if res.Error != nil {
			return fmt.Errorf("update request: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return fault.Conflictf("request_decided", "request %s is no longer pending", r.ID)
		}
		action := map[RequestStatus]string{RequestApproved: ActionApproved, RequestRejected: ActionRejected, RequestWithdrawn: ActionWithdrawn}[status]
		if err := addHistory(tx, historyRow{RequestID: r.ID, Action: action, FromStatus: string(RequestPending), ToStatus: string(status), Reason: reason}, by, now); err != nil {
			return err
		}
		if g == nil {
			return nil
		}
		row := grantRowOf(*g)
		if err := tx.Create(&row).Error; err != nil {
			return storage.MapError(err, "grant")
		}
		detail := fmt.Sprintf("fields: %s; plain: %s; purposes: %s; valid until %s", joinList(g.Fields), joinList(g.PlainFields), joinList(g.Purposes), g.ValidUntil.Format(time.RFC3339))
		if err := addHistory(tx, historyRow{RequestID: r.ID, GrantID: g.ID, Action: ActionGranted, ToStatus: string(GrantActive), Reason: reason, Detail: detail}, by, now); err != nil {
			return err
		}
		if rules := grantRules(*g); len(rules) > 0 {
			if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&rules).Error; err != nil {
				return fmt.Errorf("add policy rules: %w", err)
			}
		}
		return bumpVersion(tx, now)
	})
	if err != nil {
		return Request{}, fmt.Errorf("sharing: %s request %s: %w", status, r.ID, err)
	}
	return s.Request(ctx, r.ID, now)
}

// EndGrant revokes or expires an active grant, removing its policy rows and
// bumping the version. It fails with Conflict if the grant is not active.
func (s *Store) EndGrant(ctx context.Context, g Grant, status GrantStatus, reason string, by Actor, now time.Time) (Grant, error) {
	now = now.UTC()
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		return endGrant(tx, g, status, reason, by, now)
	})
	if err != nil {
		return Grant{}, fmt.Errorf("sharing: %s grant %s: %w", status, g.ID, err)
	}
	return s.Grant(ctx, g.ID)
}

func endGrant(tx *gorm.DB, g Grant, status GrantStatus, reason string, by Actor, now time.Time) error {
	res := tx.Model(&grantRow{}).Where("id = ? AND status = ?", g.ID, string(GrantActive)).
		Updates(map[string]any{"status": string(status), "ended_at": now, "ended_by": by.ID, "end_reason": reason})
	if res.Error != nil {
		return fmt.Errorf("update grant: %w", res.Error)
	}
	if res.RowsAffected != 1 {
		return fault.Conflictf("grant_ended", "grant %s is no longer active", g.ID)
	}
	action := ActionRevoked
	if status == GrantExpired {
		action = ActionExpired
	}
	if err := addHistory(tx, historyRow{RequestID: g.RequestID, GrantID: g.ID, Action: action, FromStatus: string(GrantActive), ToStatus: string(status), Reason: reason}, by, now); err != nil {
		return err
	}
	if err := tx.Where("ptype = ? AND v3 = ?", "p", g.ID).Delete(&dataRule{}).Error; err != nil {
		return fmt.Errorf("drop policy rules: %w", err)
	}
	return bumpVersion(tx, now)
}

// ExpireDue marks every active grant whose validity ended before now as
// expired. Instances may race on it: each grant is expired exactly once.
func (s *Store) ExpireDue(ctx context.Context, now time.Time) (int, error) {
	var rows []grantRow
	if err := s.db.WithContext(ctx).Where("status = ? AND valid_until <= ?", string(GrantActive), now.UTC()).Find(&rows).Error; err != nil {
		return 0, fmt.Errorf("sharing: find expired grants: %w", err)
	}
	n := 0
	for _, r := range rows {
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			return endGrant(tx, r.domain(), GrantExpired, "validity period ended", system, now.UTC())
		})
		if fault.KindOf(err) == fault.Conflict {
			continue // another instance expired it first
		}
		if err != nil {
			return n, fmt.Errorf("sharing: expire grant %s: %w", r.ID, err)
		}
		n++
	}
	return n, nil
}

// Grant returns one grant.
func (s *Store) Grant(ctx context.Context, id string) (Grant, error) {
	var row grantRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error; err != nil {
		return Grant{}, storage.MapError(err, "grant "+id)
	}
	return row.domain(), nil
}

// GrantFilter selects grants to list.
type GrantFilter struct {
	// Department lists grants this department gives or holds.
	Department string
	Status     GrantStatus
	Limit      int
	Offset     int
}

// Grants lists grants, newest first.
func (s *Store) Grants(ctx context.Context, f GrantFilter) ([]Grant, error) {
	q := s.db.WithContext(ctx).Model(&grantRow{})
	if f.Department != "" {
		q = q.Where("provider_code = ? OR grantee_code = ?", f.Department, f.Department)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit).Offset(f.Offset)
	}
	var rows []grantRow
	if err := q.Order("created_at DESC, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("sharing: list grants: %w", err)
	}
	out := make([]Grant, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Version returns the data policy version.
func (s *Store) Version(ctx context.Context) (int64, error) {
	var row versionRow
	if err := s.db.WithContext(ctx).Where("id = 1").Take(&row).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return 0, errors.New("sharing: policy version row missing; run the migrations")
		}
		return 0, fmt.Errorf("sharing: policy version: %w", err)
	}
	return row.Version, nil
}

func bumpVersion(tx *gorm.DB, now time.Time) error {
	if err := tx.Model(&versionRow{}).Where("id = 1").Updates(map[string]any{"version": gorm.Expr("version + 1"), "updated_at": now}).Error; err != nil {
		return fmt.Errorf("bump policy version: %w", err)
	}
	return nil
}

func addHistory(tx *gorm.DB, h historyRow, by Actor, at time.Time) error {
	h.ActorID, h.ActorName, h.ActorDepartment, h.At = by.ID, by.Name, by.Department, at.UTC()
	if err := tx.Create(&h).Error; err != nil {
		return fmt.Errorf("record history: %w", err)
	}
	return nil
}

func joinList(s []string) string { return strings.Join(s, ", ") }
