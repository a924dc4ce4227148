package supervision

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"gorm.io/gorm"

	"yiku/audit"
	"yiku/storage"
)

// Store reads what the assessment needs from the other parts' tables:
// the library, share requests, objections and the audit trail. It writes
// nothing.
type Store struct {
	db *gorm.DB
}

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

// timeOf reads a timestamp column whatever the driver returns for an
// expression (SQLite gives text for MAX of a DATETIME column).
func timeOf(v any) (time.Time, bool) {
	switch t := v.(type) {
	case time.Time:
		return t, true
	case string:
		return parseTime(t)
	case []byte:
		return parseTime(string(t))
	}
	return time.Time{}, false
}

func parseTime(s string) (time.Time, bool) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// LastPublish returns, per resource, when its newest version published
// before asOf was published.
func (s *Store) LastPublish(ctx context.Context, asOf time.Time) (map[string]time.Time, error) {
	rows, err := s.db.WithContext(ctx).Raw("SELECT resource_id, MAX(published_at) FROM library_history WHERE published_at < ? GROUP BY resource_id", asOf.UTC()).Rows()
	if err != nil {
		return nil, storage.MapError(err, "supervision: last publishes")
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var at any
		if err := rows.Scan(&id, &at); err != nil {
			return nil, fmt.Errorf("supervision: last publishes: %w", err)
		}
		if t, ok := timeOf(at); ok {
			out[id] = t.UTC()
		}
	}
	return out, rows.Err()
}

// LibraryRecords counts the current (not deleted) records per resource.
func (s *Store) LibraryRecords(ctx context.Context) (map[string]int64, error) {
	var rs []struct {
		ResourceID string
		N          int64
	}
	if err := s.db.WithContext(ctx).Raw("SELECT resource_id, COUNT(*) AS n FROM library_records WHERE deleted = ? GROUP BY resource_id", false).Scan(&rs).Error; err != nil {
		return nil, storage.MapError(err, "supervision: library records")
	}
	out := make(map[string]int64, len(rs))
	for _, r := range rs {
		out[r.ResourceID] = r.N
	}
	return out, nil
}

// Deadlined is a share request or an objection as the assessment sees it.
type Deadlined struct {
	Provider  string
	Status    string
	CreatedAt time.Time
	Deadline  time.Time
	DecidedAt *time.Time
}

func (s *Store) deadlined(ctx context.Context, query string, args ...any) ([]Deadlined, error) {
	rows, err := s.db.WithContext(ctx).Raw(query, args...).Rows()
	if err != nil {
		return nil, storage.MapError(err, "supervision")
	}
	defer rows.Close()
	var out []Deadlined
	for rows.Next() {
		var d Deadlined
		var created, deadline, decided any
		if err := rows.Scan(&d.Provider, &d.Status, &created, &deadline, &decided); err != nil {
			return nil, fmt.Errorf("supervision: %w", err)
		}
		d.CreatedAt, _ = timeOf(created)
		d.Deadline, _ = timeOf(deadline)
		if t, ok := timeOf(decided); ok {
			t = t.UTC()
			d.DecidedAt = &t
		}
		d.CreatedAt, d.Deadline = d.CreatedAt.UTC(), d.Deadline.UTC()
		out = append(out, d)
	}
	return out, rows.Err()
}

// Requests returns the share requests due in [from, to) or decided then.
func (s *Store) Requests(ctx context.Context, from, to time.Time) ([]Deadlined, error) {
	return s.deadlined(ctx, "SELECT provider_code, status, created_at, deadline, decided_at FROM share_requests WHERE (deadline >= ? AND deadline < ?) OR (decided_at >= ? AND decided_at < ?)",
		from.UTC(), to.UTC(), from.UTC(), to.UTC())
}

// Objections returns the objections due in [from, to).
func (s *Store) Objections(ctx context.Context, from, to time.Time) ([]Deadlined, error) {
	return s.deadlined(ctx, "SELECT provider_code, status, created_at, deadline, resolved_at FROM objections WHERE deadline >= ? AND deadline < ?", from.UTC(), to.UTC())
}

// Audit actions the assessment counts.
const (
	actionPublish    = "record.publish"
	actionDeadLetter = "record.deadletter"
	actionRead       = "record.read"
	actionReuse      = audit.ActionReuse  // one per lookup material supplied
	actionLookup     = audit.ActionLookup // one per lookup
)

// Tally is what the audit trail of one period says per department.
type Tally struct {
	// By the department's own principals.
	Accepted, Rejected int64 // records published and refused
	Lookups            int64 // allowed or denied lookups
	LookupMaterials    int64 // materials the lookups asked for (from the library or not)
	LookupSupplied     int64 // of which the library supplied
	// By other departments' principals, of this department's resources.
	MaterialsSupplied int64 // lookup materials supplied (reuse events)
	ReadsServed       int64 // record reads allowed
}

// AuditTally streams the period's audit events of the counted actions once
// and tallies them per department; provider maps a resource to its
// providing department. Memory is bounded by the number of departments,
// not of events.
func (s *Store) AuditTally(ctx context.Context, from, to time.Time, provider map[string]string) (map[string]*Tally, int64, error) {
	rows, err := s.db.WithContext(ctx).Raw("SELECT department, action, resource, outcome, count, reason FROM audit_events WHERE at_us >= ? AND at_us < ? AND action IN ?",
		from.UnixMicro(), to.UnixMicro(), []string{actionPublish, actionDeadLetter, actionRead, actionReuse, actionLookup}).Rows()
	if err != nil {
		return nil, 0, storage.MapError(err, "supervision: audit events")
	}
	defer rows.Close()
	out := map[string]*Tally{}
	at := func(dept string) *Tally {
		t := out[dept]
		if t == nil {
			t = &Tally{}
			out[dept] = t
		}
		return t
	}
	var (
		n                                       int64
		dept, action, resource, outcome, reason string
		count                                   int64
	)
	for rows.Next() {
		if err := rows.Scan(&dept, &action, &resource, &outcome, &count, &reason); err != nil {
			return nil, n, fmt.Errorf("supervision: audit events: %w", err)
		}
		n++
		allowed := outcome == "allowed"
		switch action {
		case actionPublish:
			if allowed {
				at(dept).Accepted += count
			}
			if r, ok := reasonInt(reason, "rejected"); ok {
				at(dept).Rejected += r
			}
		case actionDeadLetter:
			at(dept).Rejected += count
		case actionLookup:
			t := at(dept)
			t.Lookups++
			sup, _ := reasonInt(reason, "supplied")
			na, _ := reasonInt(reason, "not_available")
			np, _ := reasonInt(reason, "not_permitted")
			t.LookupSupplied += sup
			t.LookupMaterials += sup + na + np
		case actionReuse:
			if p := provider[resource]; allowed && p != "" && p != dept {
				at(p).MaterialsSupplied++
			}
		case actionRead:
			if p := provider[resource]; allowed && p != "" && p != dept {
				at(p).ReadsServed++
			}
		}
	}
	return out, n, rows.Err()
}

// reasonInt reads key=N from an audit reason made of space-separated
// key=value words.
func reasonInt(reason, key string) (int64, bool) {
	for len(reason) > 0 {
		word := reason
		if i := strings.IndexByte(reason, ' '); i >= 0 {
			word, reason = reason[:i], reason[i+1:]
		} else {
			reason = ""
		}
		if len(word) > len(key) && word[len(key)] == '=' && word[:len(key)] == key {
			n, err := strconv.ParseInt(word[len(key)+1:], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}
