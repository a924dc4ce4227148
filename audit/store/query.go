package store

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/audit"
)

// Key is an event's place in the trail's order: time, then chain, then seq.
// (chain, seq) is the primary key, so no two events share a key, and rows
// are never updated, so an event's key never changes: walking the order by
// key ("the rows after this one") neither repeats nor skips an event that
// was stored when the walk started, however many events arrive meanwhile.
type Key struct {
	AtMicros int64
	Chain    string
	Seq      int64
}

// KeyOf returns e's place in the order.
func KeyOf(e audit.Entry) Key { return Key{AtMicros: e.AtMicros, Chain: e.Chain, Seq: e.Seq} }

// Filter selects events. Zero fields do not filter. SubjectHash is the keyed
// hash of a subject (the caller hashes what a reviewer typed).
type Filter struct {
	From, To    time.Time
	PrincipalID string
	Principal   string // principal name
	Department  string
	// DepartmentResources, with Department, also selects the events on
	// these resources (the department's own) whoever made them.
	DepartmentResources []string
	Resource            string
	Action              string
	Actions             []string
	Outcome             string
	Purpose             string
	CaseNumber          string
	SubjectHash         string
	// After starts the result after this key, in the result's order (for
	// newest first: events older than it). Paging by the last key of the
	// previous page is stable while events are appended; nil starts at the
	// first event.
	After *Key
	// Limit caps the result (0: no cap). Offset skips that many events
	// first; it is kept for offset paging, which shifts when events arrive
	// within the window: page with After instead.
	Limit  int
	Offset int
	// Ascending orders oldest first; the default is newest first.
	Ascending bool
}

// defaultPage is how many rows Scan reads per query.
const defaultPage = 1000

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
	switch {
	case f.Department != "" && len(f.DepartmentResources) > 0:
		q = q.Where("(department = ? OR resource IN ?)", f.Department, f.DepartmentResources)
	case f.Department != "":
		q = q.Where("department = ?", f.Department)
	}
	for col, v := range map[string]string{"principal_id": f.PrincipalID, "principal_name": f.Principal,
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

// after narrows q to the rows past k in the order. The comparison is spelt
// out rather than written as a row value so that its leading at_us bound can
// use the time index on both PostgreSQL and SQLite; chain_id compares with
// the column's collation, as ORDER BY sorts it.
func after(q *gorm.DB, k Key, ascending bool) *gorm.DB {
	if ascending {
		return q.Where("at_us >= ? AND (at_us > ? OR chain_id > ? OR (chain_id = ? AND seq > ?))", k.AtMicros, k.AtMicros, k.Chain, k.Chain, k.Seq)
	}
	return q.Where("at_us <= ? AND (at_us < ? OR chain_id < ? OR (chain_id = ? AND seq < ?))", k.AtMicros, k.AtMicros, k.Chain, k.Chain, k.Seq)
}

// Query returns the events f selects, newest first unless f.Ascending.
// It holds them all, so a bounded f.Limit is read with one query (a page
// of the reviewer API asks for one event more than it shows).
func (s *Store) Query(ctx context.Context, f Filter) ([]audit.Entry, error) {
	var out []audit.Entry
	err := s.scan(ctx, f, max(f.Limit, s.pageSize()), func(e audit.Entry) error {
		out = append(out, e)
		return nil
	})
	return out, err
}

// Scan calls fn for each event f selects, in batches, without holding them
// all. Each batch continues after the previous batch's last key, so a scan
// running while events are appended sees every event that was stored when it
// started exactly once.
func (s *Store) Scan(ctx context.Context, f Filter, fn func(audit.Entry) error) error {
	return s.scan(ctx, f, s.pageSize(), fn)
}

func (s *Store) pageSize() int {
	if s.page <= 0 {
		return defaultPage
	}
	return s.page
}

func (s *Store) scan(ctx context.Context, f Filter, page int, fn func(audit.Entry) error) error {
	order := "at_us DESC, chain_id DESC, seq DESC"
	if f.Ascending {
		order = "at_us, chain_id, seq"
	}
	from, offset := f.After, f.Offset
	done := 0
	for {
		n := page
		if f.Limit > 0 && f.Limit-done < n {
			n = f.Limit - done
		}
		if n <= 0 {
			return nil
		}
		q := s.where(ctx, f)
		if from != nil {
			q = after(q, *from, f.Ascending)
		}
		if offset > 0 {
			q = q.Offset(offset)
		}
		var rows []eventRow
		if err := q.Order(order).Limit(n).Find(&rows).Error; err != nil {
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
		last := rows[len(rows)-1]
		from, offset = &Key{AtMicros: last.AtUs, Chain: last.ChainID, Seq: last.Seq}, 0
	}
}

// Count returns how many events f selects (ignoring After, Limit and Offset).
func (s *Store) Count(ctx context.Context, f Filter) (int64, error) {
	var n int64
	if err := s.where(ctx, f).Count(&n).Error; err != nil {
		return 0, fmt.Errorf("audit: count events: %w", err)
	}
	return n, nil
}
