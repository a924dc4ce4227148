// Package store keeps the audit trail in the database (PostgreSQL or
// SQLite, through gorm): it appends chained entries with their subject index
// rows and signed checkpoints, and answers reviewers' queries. It offers
// append and query, nothing else; the tables' triggers refuse UPDATE and
// DELETE. Hashing and chaining happen in package journal.
package store

import (
	"context"
	"fmt"

	"gorm.io/gorm"

	"yiku/audit"
	"yiku/storage"
)

// Store is the audit trail's persistence.
type Store struct {
	db *gorm.DB
	// page is how many rows Scan reads per query (0: defaultPage); tests
	// set it small to cross page boundaries with few events.
	page int
}

// New returns a store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type eventRow struct {
	ChainID       string `gorm:"primaryKey"`
	Seq           int64  `gorm:"primaryKey;autoIncrement:false"`
	ID            string
	AtUs          int64
	RequestID     string
	PrincipalID   string
	PrincipalName string
	Department    string
	Role          string
	Action        string
	Resource      string
	Subjects      string
	Fields        string
	Purpose       string
	CaseNumber    string
	Outcome       string
	Reason        string
	ClientAddr    string
	Count         int64
	PrevHash      []byte
	Hash          []byte
}

func (eventRow) TableName() string { return "audit_events" }

func (r eventRow) entry() audit.Entry {
	return audit.Entry{Chain: r.ChainID, Seq: r.Seq, ID: r.ID, AtMicros: r.AtUs, RequestID: r.RequestID, PrincipalID: r.PrincipalID,
		PrincipalName: r.PrincipalName, Department: r.Department, Role: r.Role, Action: r.Action, Resource: r.Resource,
		Subjects: r.Subjects, Fields: r.Fields, Purpose: r.Purpose, CaseNumber: r.CaseNumber, Outcome: r.Outcome,
		Reason: r.Reason, ClientAddr: r.ClientAddr, Count: r.Count, PrevHash: r.PrevHash, Hash: r.Hash}
}

type subjectRow struct {
	SubjectHash string
	AtUs        int64
	ChainID     string
	Seq         int64
}

func (subjectRow) TableName() string { return "audit_subjects" }

type checkpointRow struct {
	ID        int64 `gorm:"primaryKey;autoIncrement"`
	ChainID   string
	Seq       int64
	Hash      []byte
	AtUs      int64
	PublicKey []byte
	Signature []byte
}

func (checkpointRow) TableName() string { return "audit_checkpoints" }

// Append stores entries and their subject index rows in one transaction:
// when it returns nil, all of them are durable; otherwise none is.
func (s *Store) Append(ctx context.Context, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	err := s.appendRows(ctx, entries)
	if err != nil {
		return fmt.Errorf("audit: append %d events: %w", len(entries), storage.MapError(err, "audit event"))
	}
	return nil
}

// Head returns the last entry's seq and hash of chain (0 and nil when the
// chain is empty).
func (s *Store) Head(ctx context.Context, chain string) (int64, []byte, error) {
	var rows []eventRow
	err := s.db.WithContext(ctx).Select("seq", "hash").Where("chain_id = ?", chain).Order("seq DESC").Limit(1).Find(&rows).Error
	if err != nil {
		return 0, nil, fmt.Errorf("audit: head of %s: %w", chain, err)
	}
	if len(rows) == 0 {
		return 0, nil, nil
	}
	return rows[0].Seq, rows[0].Hash, nil
}

// FirstChain returns the chain of the trail's oldest event, and false when
// the trail is empty.
func (s *Store) FirstChain(ctx context.Context) (string, bool, error) {
	var chains []string
	err := s.db.WithContext(ctx).Model(&eventRow{}).Order("at_us, chain_id, seq").Limit(1).Pluck("chain_id", &chains).Error
	if err != nil {
		return "", false, fmt.Errorf("audit: first chain: %w", err)
	}
	if len(chains) == 0 {
		return "", false, nil
	}
	return chains[0], true, nil
}

// AddCheckpoint stores a signed checkpoint.
func (s *Store) AddCheckpoint(ctx context.Context, c audit.Checkpoint) error {
	row := checkpointRow{ChainID: c.Chain, Seq: c.Seq, Hash: c.Hash, AtUs: c.AtMicros, PublicKey: c.PublicKey, Signature: c.Signature}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return fmt.Errorf("audit: checkpoint %s@%d: %w", c.Chain, c.Seq, err)
	}
	return nil
}

// Checkpoints lists every checkpoint, by chain and seq.
func (s *Store) Checkpoints(ctx context.Context) ([]audit.Checkpoint, error) {
	var rows []checkpointRow
	if err := s.db.WithContext(ctx).Order("chain_id, seq, id").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("audit: checkpoints: %w", err)
	}
	out := make([]audit.Checkpoint, len(rows))
	for i, r := range rows {
		out[i] = audit.Checkpoint{ID: r.ID, Chain: r.ChainID, Seq: r.Seq, Hash: r.Hash, AtMicros: r.AtUs, PublicKey: r.PublicKey, Signature: r.Signature}
	}
	return out, nil
}

// Event returns the event with id and the latest checkpoint of its chain
// (nil when the chain has none); ok is false when no event has that id.
func (s *Store) Event(ctx context.Context, id string) (e audit.Entry, cp *audit.Checkpoint, ok bool, err error) {
	var rows []eventRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Limit(1).Find(&rows).Error; err != nil {
		return e, nil, false, fmt.Errorf("audit: event %s: %w", id, err)
	}
	if len(rows) == 0 {
		return e, nil, false, nil
	}
	e = rows[0].entry()
	var cps []checkpointRow
	if err := s.db.WithContext(ctx).Where("chain_id = ?", e.Chain).Order("seq DESC, id DESC").Limit(1).Find(&cps).Error; err != nil {
		return e, nil, false, fmt.Errorf("audit: checkpoint of %s: %w", e.Chain, err)
	}
	if len(cps) > 0 {
		r := cps[0]
		cp = &audit.Checkpoint{ID: r.ID, Chain: r.ChainID, Seq: r.Seq, Hash: r.Hash, AtMicros: r.AtUs, PublicKey: r.PublicKey, Signature: r.Signature}
	}
	return e, cp, true, nil
}
