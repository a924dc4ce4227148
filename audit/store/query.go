package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/audit"
)

// Filter selects events. Zero fields do not filter. SubjectHash is the keyed
// hash of a subject (the caller hashes what a reviewer typed).
type Filter struct {
	From, To    time.Time
	PrincipalID string
	Principal   string // principal name
	Department  string
	Resource    string
	Action      string
	Actions     []string
	Outcome     string
	Purpose     string
	CaseNumber  string
	SubjectHash string
	// Limit caps the result (0: no cap); Offset skips.
	Limit  int
	Offset int
	// Ascending orders oldest first; the default is newest first.
	Ascending bool
}

func (s *Store) where(ctx context.Context, f Filter) *gorm.DB {
	q := s.db.WithContext(ctx).Model(&eventRow{})
	if f.SubjectHash != "" {
		q = q.Where("(chain_id, seq) IN (?)", s.db.Model(&subjectRow{}).Select("chain_id, seq").Where("subject_hash = ?", f.SubjectHash))
	}
	if !f.From.IsZero() {
		q = q.Where("at_us >= ?", f.From.UnixMicro())
	}
	if !f.To.IsZero() {
		q = q.Where("at_us < ?", f.To.UnixMicro())
	}
	for col, v := range map[string]string{"principal_id": f.PrincipalID, "principal_name": f.Principal, "department": f.Department,
		"resource": f.Resource, "action": f.Action, "outcome": f.Outcome, "purpose": f.Purpose, "case_number": f.CaseNumber} {
		if v != "" {
			q = q.Where(col+" = ?", v)
		}
	}
	if len(f.Actions) > 0 {
		q = q.Where("action IN ?", f.Actions)
	}
	return q
}

// Query returns the events f selects, newest first unless f.Ascending.
func (s *Store) Query(ctx context.Context, f Filter) ([]audit.Entry, error) {
	var out []audit.Entry
	err := s.Scan(ctx, f, func(e audit.Entry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// Scan calls fn for each event f selects, in batches, without holding them all.
func (s *Store) Scan(ctx context.Context, f Filter, fn func(audit.Entry) error) error {
	order := "at_us DESC, chain_id DESC, seq DESC"
	if f.Ascending {
		order = "at_us, chain_id, seq"
	}
	const page = 1000
	done := 0
	for {
		n := page
		if f.Limit > 0 && f.Limit-done < n {
			n = f.Limit - done
		}
		if n <= 0 {
			return nil
		}
		var rows []eventRow
		if err := s.where(ctx, f).Order(order).Offset(f.Offset + done).Limit(n).Find(&rows).Error; err != nil {
			return fmt.Errorf("audit: query events: %w", err)
		}
		for _, r := range rows {
			if err := fn(r.entry()); err != nil {
				return err
			}
		}
		done += len(rows)
		if len(rows) < n {
			return nil
		}
	}
}

// Count returns how many events f selects (ignoring Limit and Offset).
func (s *Store) Count(ctx context.Context, f Filter) (int64, error) {
	var n int64
	if err := s.where(ctx, f).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("audit: count events: %w", err)
	}
	return n, nil
}
