package objection

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"

	"gorm.io/gorm"

	"yiku/fault"
	"yiku/storage"
)

// Store persists objections and their history on gorm. A change and its
// history entry commit together.
type Store struct {
	db *gorm.DB
}

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

type row struct {
	ID               string `gorm:"primaryKey"`
	ResourceID       string
	SubjectKey       string
	RecordVersion    int
	Fields           []string `gorm:"serializer:json"`
	Problem          string
	Evidence         string
	ProviderCode     string
	RaiserCode       string
	RaisedBy         string
	RaisedByName     string
	Status           string
	Deadline         time.Time
	EscalatedAt      *time.Time
	ResolvedBy       string
	ResolvedAt       *time.Time
	ResolutionReason string
	CorrectedVersion int
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

func (row) TableName() string { return "objections" }

type historyRow struct {
	ID          int64 `gorm:"primaryKey;autoIncrement"`
	ObjectionID string
	Action      string
	ActorID     string
	ActorName   string
	Department  string
	Reason      string
	Version     int
	At          time.Time
}

func (historyRow) TableName() string { return "objection_history" }

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func (r row) domain(now time.Time) Objection {
	o := Objection{ID: r.ID, Resource: r.ResourceID, Subject: r.SubjectKey, RecordVersion: r.RecordVersion, Fields: r.Fields,
		Problem: r.Problem, Evidence: r.Evidence, ProviderCode: r.ProviderCode, RaiserCode: r.RaiserCode, RaisedBy: r.RaisedBy,
		RaisedByName: r.RaisedByName, Status: Status(r.Status), Deadline: r.Deadline.UTC(), EscalatedAt: utcPtr(r.EscalatedAt),
		ResolvedBy: r.ResolvedBy, ResolvedAt: utcPtr(r.ResolvedAt), ResolutionReason: r.ResolutionReason,
		CorrectedVersion: r.CorrectedVersion, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	o.Overdue = o.Status == StatusOpen && now.After(o.Deadline)
	if o.Fields == nil {
		o.Fields = []string{}
	}
	return o
}

func newID() string {
	b := make([]byte, 10)
	_, _ = rand.Read(b)
	return "obj-" + hex.EncodeToString(b)
}

// Create stores a new open objection and its first history entry.
func (s *Store) Create(ctx context.Context, o Objection, by Actor) (Objection, error) {
	o.ID = newID()
	r := row{ID: o.ID, ResourceID: o.Resource, SubjectKey: o.Subject, RecordVersion: o.RecordVersion, Fields: o.Fields,
		Problem: o.Problem, Evidence: o.Evidence, ProviderCode: o.ProviderCode, RaiserCode: o.RaiserCode, RaisedBy: o.RaisedBy,
		RaisedByName: o.RaisedByName, Status: string(StatusOpen), Deadline: o.Deadline.UTC(),
		CreatedAt: o.CreatedAt.UTC(), UpdatedAt: o.CreatedAt.UTC()}
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return tx.Create(&historyRow{ObjectionID: o.ID, Action: StepRaised, ActorID: by.ID, ActorName: by.Name,
			Department: by.Department, Version: o.RecordVersion, At: o.CreatedAt.UTC()}).Error
	})
	if err != nil {
		return Objection{}, storage.MapError(err, "objection")
	}
	return r.domain(o.CreatedAt), nil
}

// Get returns one objection.
func (s *Store) Get(ctx context.Context, id string, now time.Time) (Objection, error) {
	var rs []row
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rs).Error; err != nil {
		return Objection{}, storage.MapError(err, "objection")
	}
	if len(rs) == 0 {
		return Objection{}, fault.NotFoundf("not_found", "objection %s not found", id)
	}
	return rs[0].domain(now), nil
}

// errNotOpen is returned by close when the objection was no longer open.
var errNotOpen = errors.New("objection: not open")

// Close moves an open objection to status, with who resolved it, when,
// why and (for a correction) the correcting version, and records the
// step. It returns errNotOpen when another step closed it first.
func (s *Store) Close(ctx context.Context, id string, status Status, by Actor, at time.Time, reason string, version int) error {
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&row{}).Where("id = ? AND status = ?", id, string(StatusOpen)).Updates(map[string]any{
			"status": string(status), "resolved_by": by.ID, "resolved_at": at.UTC(), "resolution_reason": reason,
			"corrected_version": version, "updated_at": at.UTC()})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			return errNotOpen
		}
		return tx.Create(&historyRow{ObjectionID: id, Action: stepOf(status), ActorID: by.ID, ActorName: by.Name,
			Department: by.Department, Reason: reason, Version: version, At: at.UTC()}).Error
	})
	if errors.Is(err, errNotOpen) {
		return err
	}
	if err != nil {
		return storage.MapError(err, "objection "+id)
	}
	return nil
}

func stepOf(s Status) string {
	switch s {
	case StatusCorrected:
		return StepCorrected
	case StatusRejected:
		return StepRejected
	case StatusWithdrawn:
		return StepWithdrawn
	}
	return string(s)
}

// History returns an objection's steps, oldest first.
func (s *Store) History(ctx context.Context, id string) ([]HistoryEntry, error) {
	var rs []historyRow
	if err := s.db.WithContext(ctx).Where("objection_id = ?", id).Order("id").Find(&rs).Error; err != nil {
		return nil, storage.MapError(err, "objection")
	}
	out := make([]HistoryEntry, len(rs))
	for i, r := range rs {
		out[i] = HistoryEntry{At: r.At.UTC(), Action: r.Action, ActorID: r.ActorID, ActorName: r.ActorName,
			Department: r.Department, Reason: r.Reason, Version: r.Version}
	}
	return out, nil
}

// Filter selects objections for a list.
type Filter struct {
	Raiser   string // raiser department
	Provider string // provider department
	Status   Status
	// OverdueAt lists open objections whose deadline is before it, or
	// that the sweep escalated.
	OverdueAt *time.Time
	Limit     int
	Offset    int
}

// List returns objections matching f, newest first.
func (s *Store) List(ctx context.Context, f Filter, now time.Time) ([]Objection, error) {
	q := s.db.WithContext(ctx).Model(&row{})
	if f.Raiser != "" {
		q = q.Where("raiser_code = ?", f.Raiser)
	}
	if f.Provider != "" {
		q = q.Where("provider_code = ?", f.Provider)
	}
	if f.Status != "" {
		q = q.Where("status = ?", string(f.Status))
	}
	if f.OverdueAt != nil {
		q = q.Where("status = ? AND (deadline < ? OR escalated_at IS NOT NULL)", string(StatusOpen), f.OverdueAt.UTC())
	}
	var rs []row
	if err := q.Order("created_at DESC, id").Limit(f.Limit).Offset(f.Offset).Find(&rs).Error; err != nil {
		return nil, storage.MapError(err, "objection")
	}
	out := make([]Objection, len(rs))
	for i, r := range rs {
		out[i] = r.domain(now)
	}
	return out, nil
}

// OpenFor returns the open objections of the given records, by record: one
// query on the partial index of open objections, whatever the number of
// keys.
func (s *Store) OpenFor(ctx context.Context, keys []Key) (map[Key][]Open, error) {
	if len(keys) == 0 {
		return nil, nil
	}
	want := make(map[Key]bool, len(keys))
	var resources, subjects []string
	seenR, seenS := map[string]bool{}, map[string]bool{}
	for _, k := range keys {
		want[k] = true
		if !seenR[k.Resource] {
			seenR[k.Resource] = true
			resources = append(resources, k.Resource)
		}
		if !seenS[k.Subject] {
			seenS[k.Subject] = true
			subjects = append(subjects, k.Subject)
		}
	}
	var rs []struct {
		ID            string
		ResourceID    string
		SubjectKey    string
		RecordVersion int
	}
	err := s.db.WithContext(ctx).Raw("SELECT id, resource_id, subject_key, record_version FROM objections WHERE status = 'open' AND resource_id IN ? AND subject_key IN ? ORDER BY created_at, id",
		resources, subjects).Scan(&rs).Error
	if err != nil {
		return nil, storage.MapError(err, "objection")
	}
	var out map[Key][]Open
	for _, r := range rs {
		k := Key{Resource: r.ResourceID, Subject: r.SubjectKey}
		if !want[k] {
			continue
		}
		if out == nil {
			out = map[Key][]Open{}
		}
		out[k] = append(out[k], Open{ID: r.ID, Version: r.RecordVersion})
	}
	return out, nil
}

// Disputed is an open objection's record: the version it disputes.
type Disputed struct {
	ID            string
	ResourceID    string
	SubjectKey    string
	RecordVersion int
}

// OpenRecords lists up to limit open objections, after skipping offset,
// with the record each disputes, oldest first (the sweep compares them
// with the library's current versions through the library store, which
// alone knows how a subject is keyed there).
func (s *Store) OpenRecords(ctx context.Context, offset, limit int) ([]Disputed, error) {
	var out []Disputed
	err := s.db.WithContext(ctx).Raw("SELECT id, resource_id, subject_key, record_version FROM objections WHERE status = 'open' ORDER BY created_at, id LIMIT ? OFFSET ?", limit, offset).Scan(&out).Error
	if err != nil {
		return nil, storage.MapError(err, "objection")
	}
	return out, nil
}

// Escalate marks open objections past their deadline at now as escalated
// and records the step; it returns those it marked.
func (s *Store) Escalate(ctx context.Context, now time.Time, limit int) ([]Objection, error) {
	var rs []row
	err := s.db.WithContext(ctx).Where("status = ? AND deadline < ? AND escalated_at IS NULL", string(StatusOpen), now.UTC()).
		Order("deadline").Limit(limit).Find(&rs).Error
	if err != nil {
		return nil, storage.MapError(err, "objection")
	}
	var out []Objection
	for _, r := range rs {
		marked := false
		err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
			res := tx.Model(&row{}).Where("id = ? AND status = ? AND escalated_at IS NULL", r.ID, string(StatusOpen)).
				Updates(map[string]any{"escalated_at": now.UTC(), "updated_at": now.UTC()})
			if res.Error != nil || res.RowsAffected == 0 {
				return res.Error
			}
			marked = true
			return tx.Create(&historyRow{ObjectionID: r.ID, Action: StepEscalated, Reason: "deadline passed: " + r.Deadline.UTC().Format(time.RFC3339),
				Version: r.RecordVersion, At: now.UTC()}).Error
		})
		if err != nil {
			return out, storage.MapError(err, "objection "+r.ID)
		}
		if marked {
			at := now.UTC()
			r.EscalatedAt = &at
			out = append(out, r.domain(now))
		}
	}
	return out, nil
}
