// Package verify proves the audit trail: it walks every chain in seq order,
// recomputes each entry's hash over its stored columns and the previous
// entry's hash, checks every signed checkpoint against the chain it names,
// and checks that the subject search index (audit_subjects) holds exactly
// the rows the verified entries' subjects imply. It reports the first broken
// link of each chain exactly — the event id, the chain and the position — so
// a reviewer can find the altered, removed or reordered row, and every index
// row that is missing, stray or dated differently. It reads the database
// directly (database/sql, pgx on PostgreSQL) inside one read-only snapshot,
// streaming rows; it holds one chain head at a time and a few sums per
// block of index rows.
package verify

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"
	"time"

	"yiku/audit"
	"yiku/cryptosuite"
)

// Kind names what is wrong at a broken link.
type Kind string

const (
	// Altered: the entry's stored columns do not hash to its stored hash.
	Altered Kind = "altered"
	// Relinked: the entry's previous-hash is not the hash of the entry
	// before it (an entry in between was removed, or entries were moved).
	Relinked Kind = "relinked"
	// Missing: seq numbers jump; the entries in between were removed.
	Missing Kind = "missing"
	// Truncated: a checkpoint names a seq past the end of its chain.
	Truncated Kind = "truncated"
	// CheckpointMismatch: the entry a checkpoint names has another hash.
	CheckpointMismatch Kind = "checkpoint_mismatch"
	// BadSignature: a checkpoint's signature does not verify.
	BadSignature Kind = "bad_signature"
	// IndexMissing: an event lists a subject hash the subject index has no
	// row for, so subject searches do not find the event.
	IndexMissing Kind = "index_missing"
	// IndexStray: a subject index row points to no event, or to an event
	// whose subjects do not include it.
	IndexStray Kind = "index_stray"
	// IndexTime: the index row of an event's subject carries another time
	// (at_us) than the event.
	IndexTime Kind = "index_time"
)

// Problem is one broken link of a chain, or one subject index row out of
// step with the chained entries.
type Problem struct {
	Kind    Kind   `json:"kind"`
	Chain   string `json:"chain"`
	Seq     int64  `json:"seq"`
	EventID string `json:"event_id,omitempty"`
	// PrevEventID is the last intact entry before the problem, if any.
	PrevEventID string `json:"prev_event_id,omitempty"`
	Detail      string `json:"detail"`
}

func (p Problem) String() string {
	s := fmt.Sprintf("%s at chain %s seq %d", p.Kind, p.Chain, p.Seq)
	if p.EventID != "" {
		s += " event " + p.EventID
	}
	if p.PrevEventID != "" {
		s += " (after event " + p.PrevEventID + ")"
	}
	return s + ": " + p.Detail
}

// Report is the outcome of a verification.
type Report struct {
	Chains      int   `json:"chains"`
	Events      int64 `json:"events"`
	Checkpoints int   `json:"checkpoints"`
	// IndexRows counts the subject index rows checked: all rows but those
	// at or after a chain's first broken link.
	IndexRows int64 `json:"index_rows"`
	// Problems lists chain problems (the first of each chain) and index
	// problems (the first MaxListedIndexProblems of them).
	Problems []Problem `json:"problems"`
	// IndexProblems counts every index problem found, listed or not.
	IndexProblems int64 `json:"index_problems"`
	// Unanchored counts entries after their chain's last checkpoint: the hash
	// chain protects them against edits, but a removal of a chain's newest
	// entries shows only once a later checkpoint covers them.
	Unanchored int64         `json:"unanchored"`
	Elapsed    time.Duration `json:"elapsed_ns"`
	// Suites counts the chains written with each cryptographic suite
	// (default: SHA-256 and Ed25519; sm: SM3 and SM2); a trail written
	// before and after a switch of suite has both.
	Suites map[cryptosuite.Name]int `json:"suites"`
}

// OK reports whether no problem was found.
func (r Report) OK() bool { return len(r.Problems) == 0 && r.IndexProblems == 0 }

// ProblemCount is how many problems were found, including index problems
// past the listed ones.
func (r Report) ProblemCount() int64 {
	n := int64(len(r.Problems))
	if r.IndexProblems > MaxListedIndexProblems {
		n += r.IndexProblems - MaxListedIndexProblems
	}
	return n
}

// Rate is events verified per second.
func (r Report) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Events) / r.Elapsed.Seconds()
}

// Options tune a verification.
type Options struct {
	// Trusted, when set, are the trusted checkpoint keys (one per suite the
	// trail was written with: audit.Keys.Trusted); otherwise each
	// checkpoint is checked against the key stored with it, which proves
	// integrity but not authorship.
	Trusted [][]byte
	// Progress, when set, is called with the number of events verified so far.
	Progress func(done int64)
}

// Count returns how many events the trail holds (for a progress bar).
func Count(ctx context.Context, db *sql.DB) (int64, error) {
	var n int64
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM audit_events`).Scan(&n); err != nil {
		return 0, fmt.Errorf("audit verify: count: %w", err)
	}
	return n, nil
}

const entryColumns = `chain_id, seq, id, at_us, request_id, principal_id, principal_name, department, role, action,
 resource, subjects, fields, purpose, case_number, outcome, reason, client_addr, count, prev_hash, hash`

const (
	selectEntries = `SELECT ` + entryColumns + ` FROM audit_events ORDER BY chain_id, seq`
	// selectEntriesIn reads one chain's entries with seq in [$2, $3].
	selectEntriesIn = `SELECT ` + entryColumns + ` FROM audit_events WHERE chain_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq`
	// selectSubjects reads the whole index in storage order: no sort.
	selectSubjects = `SELECT chain_id, seq, subject_hash, at_us FROM audit_subjects`
)

// source reads the trail inside one read-only snapshot, so the entries and
// the index rows it returns are those committed together (an append writes
// both in one statement or transaction). Strings and byte slices handed to
// callbacks may alias the driver's buffers: they are valid during the call
// only.
type source interface {
	// entries runs query (selectEntries or selectEntriesIn) and calls fn
	// for each entry, in the query's order.
	entries(ctx context.Context, query string, args []any, fn func(*audit.Entry) error) error
	// subjects calls fn for every audit_subjects row, in no set order.
	subjects(ctx context.Context, fn func(chain string, seq int64, hash string, at int64) error) error
}

// Run verifies every chain, every checkpoint and the subject index.
func Run(ctx context.Context, db *sql.DB, opt Options) (Report, error) {
	start := time.Now()
	// An intact trail reports "problems": [] in JSON, not null: readers
	// iterate over it without a nil check.
	rep := Report{Problems: []Problem{}, Suites: map[cryptosuite.Name]int{}}
	// Checkpoints are read before the snapshot: a checkpoint is written
	// after the entries it signs, so the snapshot holds all of them.
	cps, err := loadCheckpoints(ctx, db)
	if err != nil {
		return rep, err
	}
	byChain := map[string][]audit.Checkpoint{}
	for _, c := range cps {
		rep.Checkpoints++
		if !c.Verify(opt.Trusted...) {
			rep.Problems = append(rep.Problems, Problem{Kind: BadSignature, Chain: c.Chain, Seq: c.Seq,
				Detail: fmt.Sprintf("checkpoint %d's signature does not verify", c.ID)})
			continue
		}
		byChain[c.Chain] = append(byChain[c.Chain], c)
	}
	x := newIndexCheck()
	w := walker{rep: &rep, checkpoints: byChain, seen: map[string]bool{}, breaks: map[string]int64{}, index: x}
	err = readSnapshot(ctx, db, func(src source) error {
		buf := make([]byte, 0, 1024)
		err := src.entries(ctx, selectEntries, nil, func(e *audit.Entry) error {
			buf = w.step(e, buf)
			rep.Events++
			if opt.Progress != nil && rep.Events&8191 == 0 {
				opt.Progress(rep.Events)
				return ctx.Err()
			}
			return nil
		})
		if err != nil {
			return err
		}
		w.endChain()
		// Checkpoints of chains that have no entries at all.
		var orphan []string
		for chain := range byChain {
			if !w.seen[chain] {
				orphan = append(orphan, chain)
			}
		}
		sort.Strings(orphan)
		for _, chain := range orphan {
			c := byChain[chain][len(byChain[chain])-1]
			rep.Problems = append(rep.Problems, Problem{Kind: Truncated, Chain: chain, Seq: 1,
				Detail: fmt.Sprintf("a checkpoint vouches for %d entries but the chain has none", c.Seq)})
			w.breaks[chain] = 1
		}
		if opt.Progress != nil {
			opt.Progress(rep.Events)
		}
		return x.run(ctx, src, w.breaks, &rep)
	})
	if err != nil {
		return rep, err
	}
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// readSnapshot calls fn with a source on one read-only, repeatable-read
// transaction: pgx's binary protocol on PostgreSQL, database/sql otherwise.
func readSnapshot(ctx context.Context, db *sql.DB, fn func(source) error) error {
	handled, err := readPgx(ctx, db, fn)
	if handled || err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("audit verify: begin: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	return fn(sqlSource{tx})
}

// sqlSource reads through database/sql (SQLite).
type sqlSource struct{ tx *sql.Tx }

func (s sqlSource) entries(ctx context.Context, query string, args []any, fn func(*audit.Entry) error) error {
	rows, err := s.tx.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("audit verify: read events: %w", err)
	}
	defer rows.Close()
	var e audit.Entry
	for rows.Next() {
		if err := rows.Scan(&e.Chain, &e.Seq, &e.ID, &e.AtMicros, &e.RequestID, &e.PrincipalID, &e.PrincipalName,
			&e.Department, &e.Role, &e.Action, &e.Resource, &e.Subjects, &e.Fields, &e.Purpose, &e.CaseNumber,
			&e.Outcome, &e.Reason, &e.ClientAddr, &e.Count, &e.PrevHash, &e.Hash); err != nil {
			return fmt.Errorf("audit verify: scan: %w", err)
		}
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit verify: read events: %w", err)
	}
	return nil
}

func (s sqlSource) subjects(ctx context.Context, fn func(chain string, seq int64, hash string, at int64) error) error {
	rows, err := s.tx.QueryContext(ctx, selectSubjects)
	if err != nil {
		return fmt.Errorf("audit verify: read subject index: %w", err)
	}
	defer rows.Close()
	var (
		chain, hash sql.RawBytes
		seq, at     int64
	)
	for rows.Next() {
		if err := rows.Scan(&chain, &seq, &hash, &at); err != nil {
			return fmt.Errorf("audit verify: scan subject index: %w", err)
		}
		if err := fn(str(chain), seq, str(hash), at); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit verify: read subject index: %w", err)
	}
	return nil
}

// walker carries the state of the chain being walked.
type walker struct {
	rep         *Report
	checkpoints map[string][]audit.Checkpoint
	seen        map[string]bool
	// breaks holds each broken chain's first unverified seq: the index is
	// checked against the entries before it only.
	breaks map[string]int64
	index  *indexCheck

	chain    string
	next     int64
	prevHash []byte
	prevID   []byte
	broken   bool
	cps      []audit.Checkpoint // this chain's checkpoints not yet reached
	lastCP   int64
}

func (w *walker) step(e *audit.Entry, buf []byte) []byte {
	if e.Chain != w.chain || w.next == 0 {
		w.endChain()
		w.chain, w.next, w.broken = strings.Clone(e.Chain), 1, false
		w.prevHash = append(w.prevHash[:0], audit.GenesisHash...)
		w.prevID = w.prevID[:0]
		w.cps, w.lastCP = w.checkpoints[w.chain], 0
		w.seen[w.chain] = true
		w.rep.Chains++
		w.rep.Suites[audit.ChainSuite(w.chain).Name()]++
	}
	if !w.broken {
		buf = w.check(e, buf)
		if !w.broken {
			w.index.addEntry(w.chain, e)
		}
	}
	w.next = e.Seq + 1
	w.prevHash = append(w.prevHash[:0], e.Hash...)
	w.prevID = append(w.prevID[:0], e.ID...)
	return buf
}

func (w *walker) check(e *audit.Entry, buf []byte) []byte {
	var h [audit.HashSize]byte
	h, buf = audit.Digest(e, buf)
	switch {
	case e.Seq != w.next:
		w.fail(Problem{Kind: Missing, Seq: w.next, EventID: strings.Clone(e.ID),
			Detail: fmt.Sprintf("entries %d to %d are missing; the next stored entry is seq %d", w.next, e.Seq-1, e.Seq)})
	case !bytes.Equal(h[:], e.Hash):
		w.fail(Problem{Kind: Altered, Seq: e.Seq, EventID: strings.Clone(e.ID), Detail: "stored columns do not match the entry's hash"})
	case !bytes.Equal(e.PrevHash, w.prevHash):
		w.fail(Problem{Kind: Relinked, Seq: e.Seq, EventID: strings.Clone(e.ID),
			Detail: "the entry does not follow the one stored before it (previous hash " + short(e.PrevHash) + ", stored " + short(w.prevHash) + ")"})
	}
	for len(w.cps) > 0 && w.cps[0].Seq <= e.Seq {
		c := w.cps[0]
		w.cps = w.cps[1:]
		if w.broken {
			continue
		}
		if c.Seq == e.Seq && !bytes.Equal(c.Hash, e.Hash) {
			w.fail(Problem{Kind: CheckpointMismatch, Seq: e.Seq, EventID: strings.Clone(e.ID),
				Detail: fmt.Sprintf("checkpoint %d signed hash %s, the entry has %s", c.ID, short(c.Hash), short(e.Hash))})
		}
		w.lastCP = c.Seq
	}
	return buf
}

func (w *walker) fail(p Problem) {
	p.Chain = w.chain
	p.PrevEventID = string(w.prevID)
	w.rep.Problems = append(w.rep.Problems, p)
	w.broken = true
	if _, ok := w.breaks[w.chain]; !ok {
		w.breaks[w.chain] = p.Seq
	}
}

func (w *walker) endChain() {
	if w.chain == "" {
		return
	}
	last := w.next - 1
	if len(w.cps) > 0 && !w.broken {
		c := w.cps[len(w.cps)-1]
		w.fail(Problem{Kind: Truncated, Seq: last + 1,
			Detail: fmt.Sprintf("checkpoint %d vouches for %d entries; the chain ends at seq %d", c.ID, c.Seq, last)})
	}
	if last > w.lastCP {
		w.rep.Unanchored += last - w.lastCP
	}
	w.chain = ""
}

func short(b []byte) string {
	s := hex.EncodeToString(b)
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

func loadCheckpoints(ctx context.Context, db *sql.DB) ([]audit.Checkpoint, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, chain_id, seq, hash, at_us, public_key, signature FROM audit_checkpoints ORDER BY chain_id, seq, id`)
	if err != nil {
		return nil, fmt.Errorf("audit verify: read checkpoints: %w", err)
	}
	defer rows.Close()
	var out []audit.Checkpoint
	for rows.Next() {
		var c audit.Checkpoint
		var pub []byte
		if err := rows.Scan(&c.ID, &c.Chain, &c.Seq, &c.Hash, &c.AtMicros, &pub, &c.Signature); err != nil {
			return nil, fmt.Errorf("audit verify: scan checkpoint: %w", err)
		}
		c.PublicKey = pub
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("audit verify: read checkpoints: %w", err)
	}
	return out, nil
}
