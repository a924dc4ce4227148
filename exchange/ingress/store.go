package ingress

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/exchange"
	"yiku/fault"
	"yiku/storage"
	"yiku/storage/multirow"
)

// Dead-letter states.
const (
	StatusPending  = "pending"
	StatusReplayed = "replayed"
	// StatusReplaying is a pending dead letter a replay has claimed and is
	// publishing. It is stored as pending with replayed_at set to the
	// claim's time and replayed_by to its principal.
	StatusReplaying = "replaying"
)

// DeadLetter is the index entry of one refused ingress record. The record
// itself (key, value, headers) stays on the dead-letter topic at
// DLQTopic/DLQPartition/DLQOffset.
type DeadLetter struct {
	ID               string               `json:"id"`
	Department       string               `json:"department"`
	Resource         string               `json:"resource"`
	SubjectKey       string               `json:"subject_key"`
	IdempotencyKey   string               `json:"idempotency_key,omitempty"`
	Reasons          []exchange.Rejection `json:"reasons"`
	SourceTopic      string               `json:"source_topic"`
	SourcePartition  int                  `json:"source_partition"`
	SourceOffset     int64                `json:"source_offset"`
	DLQTopic         string               `json:"dlq_topic"`
	DLQPartition     int                  `json:"dlq_partition"`
	DLQOffset        int64                `json:"dlq_offset"`
	Status           string               `json:"status"`
	ReplayedRecordID string               `json:"replayed_record_id,omitempty"`
	ReplayedBy       string               `json:"replayed_by,omitempty"`
	ReplayedAt       *time.Time           `json:"replayed_at,omitempty"`
	CreatedAt        time.Time            `json:"created_at"`
}

// DeadLetterID names a dead letter by where its record was read, so the
// same refused message read twice (a redelivery) is one dead letter.
func DeadLetterID(topic string, partition int, offset int64) string {
	return fmt.Sprintf("%s:%d:%d", topic, partition, offset)
}

// Store keeps the dead-letter index and the ingress idempotency keys.
type Store struct{ db *gorm.DB }

// NewStore returns the ingress store on db.
func NewStore(db *storage.DB) *Store { return &Store{db: db.Gorm} }

type deadLetterRow struct {
	ID               string     `gorm:"column:id"`
	DepartmentCode   string     `gorm:"column:department_code"`
	ResourceID       string     `gorm:"column:resource_id"`
	SubjectKey       string     `gorm:"column:subject_key"`
	IdempotencyKey   string     `gorm:"column:idempotency_key"`
	Reasons          string     `gorm:"column:reasons"`
	SourceTopic      string     `gorm:"column:source_topic"`
	SourcePartition  int        `gorm:"column:source_partition"`
	SourceOffset     int64      `gorm:"column:source_offset"`
	DLQTopic         string     `gorm:"column:dlq_topic"`
	DLQPartition     int        `gorm:"column:dlq_partition"`
	DLQOffset        int64      `gorm:"column:dlq_offset"`
	Status           string     `gorm:"column:status"`
	ReplayedRecordID string     `gorm:"column:replayed_record_id"`
	ReplayedBy       string     `gorm:"column:replayed_by"`
	ReplayedAt       *time.Time `gorm:"column:replayed_at"`
	CreatedAt        time.Time  `gorm:"column:created_at"`
}

func (deadLetterRow) TableName() string { return "exchange_dead_letters" }

func (r deadLetterRow) domain() DeadLetter {
	d := DeadLetter{ID: r.ID, Department: r.DepartmentCode, Resource: r.ResourceID, SubjectKey: r.SubjectKey, IdempotencyKey: r.IdempotencyKey,
		SourceTopic: r.SourceTopic, SourcePartition: r.SourcePartition, SourceOffset: r.SourceOffset,
		DLQTopic: r.DLQTopic, DLQPartition: r.DLQPartition, DLQOffset: r.DLQOffset, Status: r.Status,
		ReplayedRecordID: r.ReplayedRecordID, ReplayedBy: r.ReplayedBy, ReplayedAt: r.ReplayedAt, CreatedAt: r.CreatedAt}
	if r.Status == StatusPending && r.ReplayedAt != nil {
		d.Status = StatusReplaying
	}
	if err := json.Unmarshal([]byte(r.Reasons), &d.Reasons); err != nil {
		d.Reasons = []exchange.Rejection{{Rule: "unreadable", Message: "the stored reasons could not be read"}}
	}
	return d
}

// AddDeadLetters indexes dead letters; one already indexed (the same source
// position) keeps its first entry.
func (s *Store) AddDeadLetters(ctx context.Context, dls []DeadLetter) error {
	if len(dls) == 0 {
		return nil
	}
	rows := make([][]any, len(dls))
	for i, d := range dls {
		reasons, err := json.Marshal(d.Reasons)
		if err != nil {
			return fmt.Errorf("ingress: encode reasons: %w", err)
		}
		rows[i] = []any{d.ID, d.Department, d.Resource, d.SubjectKey, d.IdempotencyKey, string(reasons), d.SourceTopic, d.SourcePartition, d.SourceOffset,
			d.DLQTopic, d.DLQPartition, d.DLQOffset, StatusPending, d.CreatedAt.UTC()}
	}
	if err := multirow.Insert(ctx, multirow.Gorm(s.db), deadLetterInsert, rows); err != nil {
		return fmt.Errorf("ingress: index %d dead letters: %w", len(rows), storage.MapError(err, "dead letter"))
	}
	return nil
}

// deadLetterInsert indexes dead letters in the order AddDeadLetters lays
// out each row's values.
var deadLetterInsert = multirow.Statement{Table: "exchange_dead_letters",
	Columns: []string{"id", "department_code", "resource_id", "subject_key", "idempotency_key", "reasons", "source_topic", "source_partition", "source_offset",
		"dlq_topic", "dlq_partition", "dlq_offset", "status", "created_at"},
	Suffix: "ON CONFLICT DO NOTHING"}

// Filter selects a department's dead letters.
type Filter struct {
	Department string
	Status     string // "" = any
	Resource   string // "" = any
	// After is the id of the last dead letter of the previous page ("" = first page).
	After string
	Limit int
}

// DeadLetters lists a department's dead letters, oldest first.
func (s *Store) DeadLetters(ctx context.Context, f Filter) ([]DeadLetter, error) {
	q := s.db.WithContext(ctx).Model(&deadLetterRow{}).Where("department_code = ?", f.Department)
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if f.Resource != "" {
		q = q.Where("resource_id = ?", f.Resource)
	}
	if f.After != "" {
		q = q.Where("id > ?", f.After)
	}
	var rows []deadLetterRow
	if err := q.Order("id").Limit(f.Limit).Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("ingress: list dead letters of %s: %w", f.Department, storage.MapError(err, "dead letter"))
	}
	out := make([]DeadLetter, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// DeadLetter returns one dead letter of department; another department's
// is not found.
func (s *Store) DeadLetter(ctx context.Context, department, id string) (DeadLetter, error) {
	var rows []deadLetterRow
	if err := s.db.WithContext(ctx).Where("id = ? AND department_code = ?", id, department).Limit(1).Find(&rows).Error; err != nil {
		return DeadLetter{}, fmt.Errorf("ingress: dead letter %s: %w", id, storage.MapError(err, "dead letter"))
	}
	if len(rows) == 0 {
		return DeadLetter{}, fault.NotFoundf("dead_letter_not_found", "no dead letter %s of department %s", id, department)
	}
	return rows[0].domain(), nil
}

// ReplayClaimLease is how long a replay's claim holds its dead letter
// before another replay may take it (the first died mid-replay).
const ReplayClaimLease = 2 * time.Minute

// ClaimReplay claims a pending dead letter for a replay by by at at, so
// that only one replay publishes it. It reports false when the dead letter
// is already replayed or another replay's claim (newer than staleBefore)
// holds it. The conditional update is the claim.
func (s *Store) ClaimReplay(ctx context.Context, department, id, by string, at, staleBefore time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Model(&deadLetterRow{}).
		Where("id = ? AND department_code = ? AND status = ? AND (replayed_at IS NULL OR replayed_at < ?)", id, department, StatusPending, staleBefore.UTC()).
		Updates(map[string]any{"replayed_by": by, "replayed_at": at.UTC()})
	if res.Error != nil {
		return false, fmt.Errorf("ingress: claim %s for replay: %w", id, storage.MapError(res.Error, "dead letter"))
	}
	return res.RowsAffected == 1, nil
}

// ReleaseReplay drops by's claim on a dead letter whose replay failed, so
// it is pending again.
func (s *Store) ReleaseReplay(ctx context.Context, department, id, by string) error {
	res := s.db.WithContext(ctx).Model(&deadLetterRow{}).
		Where("id = ? AND department_code = ? AND status = ? AND replayed_by = ?", id, department, StatusPending, by).
		Updates(map[string]any{"replayed_by": "", "replayed_at": nil})
	if res.Error != nil {
		return fmt.Errorf("ingress: release %s: %w", id, storage.MapError(res.Error, "dead letter"))
	}
	return nil
}

// MarkReplayed records that a pending dead letter was replayed as recordID.
// It reports false when the dead letter was no longer pending (replayed
// concurrently).
func (s *Store) MarkReplayed(ctx context.Context, department, id, recordID, by string, at time.Time) (bool, error) {
	at = at.UTC()
	res := s.db.WithContext(ctx).Model(&deadLetterRow{}).
		Where("id = ? AND department_code = ? AND status = ?", id, department, StatusPending).
		Updates(map[string]any{"status": StatusReplayed, "replayed_record_id": recordID, "replayed_by": by, "replayed_at": at})
	if res.Error != nil {
		return false, fmt.Errorf("ingress: mark %s replayed: %w", id, storage.MapError(res.Error, "dead letter"))
	}
	return res.RowsAffected == 1, nil
}

// SeenKeys returns, of keys, those department already sent, with the
// record id each stood for.
func (s *Store) SeenKeys(ctx context.Context, department string, keys []string) (map[string]string, error) {
	out := make(map[string]string)
	for lo := 0; lo < len(keys); lo += 500 {
		var rows []struct {
			IdemKey  string
			RecordID string
		}
		part := keys[lo:min(lo+500, len(keys))]
		if err := s.db.WithContext(ctx).Raw("SELECT idem_key, record_id FROM exchange_ingress_keys WHERE department_code = ? AND idem_key IN ?", department, part).Scan(&rows).Error; err != nil {
			return nil, fmt.Errorf("ingress: idempotency keys of %s: %w", department, storage.MapError(err, "ingress key"))
		}
		for _, r := range rows {
			out[r.IdemKey] = r.RecordID
		}
	}
	return out, nil
}

// SaveKeys remembers idempotency keys (key → record id) of department; a
// key already saved keeps its first record id.
func (s *Store) SaveKeys(ctx context.Context, department string, keys map[string]string) error {
	if len(keys) == 0 {
		return nil
	}
	now := time.Now().UTC()
	rows := make([][]any, 0, len(keys))
	for k, id := range keys {
		rows = append(rows, []any{department, k, id, now})
	}
	if err := multirow.Insert(ctx, multirow.Gorm(s.db), keyInsert, rows); err != nil {
		return fmt.Errorf("ingress: save %d idempotency keys of %s: %w", len(keys), department, storage.MapError(err, "ingress key"))
	}
	return nil
}

// keyInsert saves keys as SaveKeys lays out each row's values. A worker
// batch fits one statement; a larger set goes in several, and ON CONFLICT
// makes a retry after a partial failure harmless (as for dead letters).
var keyInsert = multirow.Statement{Table: "exchange_ingress_keys", Columns: []string{"department_code", "idem_key", "record_id", "created_at"},
	Suffix: "ON CONFLICT (department_code, idem_key) DO NOTHING"}

// PruneKeys forgets idempotency keys older than before.
func (s *Store) PruneKeys(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec("DELETE FROM exchange_ingress_keys WHERE created_at < ?", before.UTC())
	if res.Error != nil {
		return 0, fmt.Errorf("ingress: prune idempotency keys: %w", storage.MapError(res.Error, "ingress key"))
	}
	return res.RowsAffected, nil
}
