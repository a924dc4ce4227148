package verify

import (
	"cmp"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"hash"
	"math"
	"math/bits"
	"slices"
	"strings"

	"yiku/audit"
)

// The subject index check.
//
// audit_subjects is a search index beside the chain: its rows are not
// hashed, so the verifier proves them against the chained subjects column.
// The index must hold exactly one row (subject hash, at_us, chain, seq) per
// subject hash of every verified entry, and nothing else.
//
// Sorting the index the way the chain walk reads the entries would cost a
// sort of the whole table; instead the check reads the index once in
// storage order and compares multisets by sums. Every row implied by an
// entry, and every stored row, is mapped through HMAC-SHA256 under a key
// drawn for this run, and the tags are added (mod 2^256) per chain and
// block of 2^blockBits seqs: one sum for the implied rows, one for the
// stored rows. A block whose sums and counts agree holds the same rows;
// rows altered before the run cannot be arranged to cancel out, since
// nobody knows the key in advance (a keyed multiset hash, MSet-Add-Hash in
// Clarke et al., "Incremental Multiset Hash Functions and Their Application
// to Memory Integrity Checking", 2003). Only blocks that
// disagree are compared row by row, to name each missing, stray or
// misdated row with its event.
const (
	blockBits = 14
	// MaxListedIndexProblems caps how many index problems a report lists;
	// Report.IndexProblems counts them all.
	MaxListedIndexProblems = 1000
	// locateBudget bounds the stored index rows held in memory at once
	// while disagreeing blocks are compared row by row.
	locateBudget = 1 << 20
)

type blockKey struct {
	chain string
	block int64
}

// blockSums are the two sides of one block.
type blockSums struct {
	implied, stored   sum256
	nImplied, nStored int64
}

// sum256 is an unsigned 256-bit sum, modulo 2^256; word 0 is the most
// significant.
type sum256 [4]uint64

func (s *sum256) add(d *[sha256.Size]byte) {
	var c uint64
	for i := 3; i >= 0; i-- {
		s[i], c = bits.Add64(s[i], binary.BigEndian.Uint64(d[i*8:]), c)
	}
}

type indexCheck struct {
	mac    hash.Hash
	msg    []byte
	tagBuf [sha256.Size]byte
	blocks map[blockKey]*blockSums

	// The block last added to, on each side: rows arrive grouped by chain
	// and seq on both.
	entryKey blockKey
	entryAt  *blockSums
	rowChain string
	rowSeen  bool
	rowBreak int64
	rowBlock int64
	rowAt    *blockSums
}

func newIndexCheck() *indexCheck {
	key := make([]byte, sha256.Size)
	_, _ = rand.Read(key) // crypto/rand.Read does not fail
	return &indexCheck{mac: hmac.New(sha256.New, key), msg: make([]byte, 0, 128), blocks: map[blockKey]*blockSums{}}
}

// tag is the keyed hash of one index row. The chain is left out, as each
// chain has its own sums; seq and at_us have fixed widths, so the encoding
// is unambiguous.
func (x *indexCheck) tag(seq, at int64, subject string) *[sha256.Size]byte {
	b := binary.BigEndian.AppendUint64(x.msg[:0], uint64(seq))
	b = binary.BigEndian.AppendUint64(b, uint64(at))
	b = append(b, subject...)
	x.msg = b
	x.mac.Reset()
	x.mac.Write(b)
	x.mac.Sum(x.tagBuf[:0])
	return &x.tagBuf
}

func (x *indexCheck) block(k blockKey) *blockSums {
	b := x.blocks[k]
	if b == nil {
		b = &blockSums{}
		x.blocks[blockKey{strings.Clone(k.chain), k.block}] = b
	}
	return b
}

// addEntry adds the index rows a verified entry implies. chain is the
// walker's own copy of e.Chain.
func (x *indexCheck) addEntry(chain string, e *audit.Entry) {
	if e.Subjects == "" {
		return
	}
	k := blockKey{chain, e.Seq >> blockBits}
	if x.entryAt == nil || k != x.entryKey {
		x.entryKey, x.entryAt = k, x.block(k)
	}
	for s := e.Subjects; ; {
		h, rest, more := strings.Cut(s, " ")
		x.entryAt.implied.add(x.tag(e.Seq, e.AtMicros, h))
		x.entryAt.nImplied++
		if !more {
			return
		}
		s = rest
	}
}

// addRow adds a stored index row, unless it lies at or after its chain's
// first broken link; it reports whether the row was counted.
func (x *indexCheck) addRow(chain string, seq int64, subject string, at int64, breaks map[string]int64) bool {
	if !x.rowSeen || chain != x.rowChain {
		x.rowChain, x.rowSeen, x.rowAt = strings.Clone(chain), true, nil
		x.rowBreak = breakOf(breaks, x.rowChain)
	}
	if !checked(seq, x.rowBreak) {
		return false
	}
	if blk := seq >> blockBits; x.rowAt == nil || blk != x.rowBlock {
		x.rowBlock, x.rowAt = blk, x.block(blockKey{x.rowChain, blk})
	}
	x.rowAt.stored.add(x.tag(seq, at, subject))
	x.rowAt.nStored++
	return true
}

// breakOf is the first seq of chain that is not verified (math.MaxInt64
// for an intact chain).
func breakOf(breaks map[string]int64, chain string) int64 {
	if b, ok := breaks[chain]; ok {
		return b
	}
	return math.MaxInt64
}

// checked reports whether the index rows at seq are checked, given the
// chain's break: on a broken chain, only those of its verified entries,
// seq 1 to brk-1 (an entry stored below seq 1 breaks its chain at 1).
func checked(seq, brk int64) bool {
	return seq < brk && (seq >= 1 || brk == math.MaxInt64)
}

// run reads the stored index rows once, after the walk has added the
// implied ones and recorded where chains break, and then locates the rows
// of every block whose sides disagree.
func (x *indexCheck) run(ctx context.Context, src source, breaks map[string]int64, rep *Report) error {
	var n int64
	err := src.subjects(ctx, func(chain string, seq int64, subject string, at int64) error {
		if x.addRow(chain, seq, subject, at, breaks) {
			rep.IndexRows++
		}
		if n++; n&8191 == 0 {
			return ctx.Err()
		}
		return nil
	})
	if err != nil {
		return err
	}
	var bad []blockKey
	for k, b := range x.blocks {
		if b.implied != b.stored || b.nImplied != b.nStored {
			bad = append(bad, k)
		}
	}
	slices.SortFunc(bad, func(a, b blockKey) int {
		return cmp.Or(strings.Compare(a.chain, b.chain), cmp.Compare(a.block, b.block))
	})
	for len(bad) > 0 {
		// As many blocks as fit the budget, at least one.
		n, rows := 1, x.blocks[bad[0]].nStored
		for n < len(bad) && rows+x.blocks[bad[n]].nStored <= locateBudget {
			rows += x.blocks[bad[n]].nStored
			n++
		}
		if err := locate(ctx, src, bad[:n], breaks, rep); err != nil {
			return err
		}
		bad = bad[n:]
	}
	return nil
}

type rowKey struct {
	seq     int64
	subject string
}

// locate compares the given blocks row by row: it loads their stored rows
// (one more read of the index) and reads their entries again, in the same
// snapshot.
func locate(ctx context.Context, src source, blocks []blockKey, breaks map[string]int64, rep *Report) error {
	stored := make(map[blockKey]map[rowKey][]int64, len(blocks))
	for _, k := range blocks {
		stored[k] = map[rowKey][]int64{}
	}
	var n int64
	err := src.subjects(ctx, func(chain string, seq int64, subject string, at int64) error {
		if n++; n&8191 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		rows, ok := stored[blockKey{chain, seq >> blockBits}]
		if !ok || !checked(seq, breakOf(breaks, chain)) {
			return nil
		}
		k := rowKey{seq, strings.Clone(subject)}
		rows[k] = append(rows[k], at)
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range blocks {
		found, err := locateBlock(ctx, src, k, stored[k], breaks)
		if err != nil {
			return err
		}
		for _, p := range found {
			rep.IndexProblems++
			if rep.IndexProblems <= MaxListedIndexProblems {
				rep.Problems = append(rep.Problems, p)
			}
		}
	}
	return nil
}

// locateBlock matches one block's entries against its stored rows, taking
// each matched row out of rows; what remains points to no subject of any
// entry.
func locateBlock(ctx context.Context, src source, k blockKey, rows map[rowKey][]int64, breaks map[string]int64) ([]Problem, error) {
	// Entries below seq 1 are never verified: reading from 1 keeps them
	// out, and on an intact chain there are none.
	lo := k.block << blockBits
	hi := lo | (1<<blockBits - 1)
	lo = max(lo, 1)
	if b := breakOf(breaks, k.chain); b-1 < hi {
		hi = b - 1
	}
	type event struct {
		id, subjects string
		at           int64
	}
	var out []Problem
	events := map[int64]event{}
	err := src.entries(ctx, selectEntriesIn, []any{k.chain, lo, hi}, func(e *audit.Entry) error {
		id := strings.Clone(e.ID)
		events[e.Seq] = event{id, strings.Clone(e.Subjects), e.AtMicros}
		if e.Subjects == "" {
			return nil
		}
		n := 0
		for s := e.Subjects; ; {
			h, rest, more := strings.Cut(s, " ")
			n++
			rk := rowKey{e.Seq, h}
			ats := rows[rk]
			i := slices.Index(ats, e.AtMicros)
			switch {
			case len(ats) == 0:
				out = append(out, Problem{Kind: IndexMissing, Chain: k.chain, Seq: e.Seq, EventID: id,
					Detail: fmt.Sprintf("index row missing for event %s subject #%d (%s)", id, n, shortText(h))})
			case i < 0:
				out = append(out, Problem{Kind: IndexTime, Chain: k.chain, Seq: e.Seq, EventID: id,
					Detail: fmt.Sprintf("index row at_us differs for event %s subject #%d (%s): the row has %d, the event %d",
						id, n, shortText(h), ats[0], e.AtMicros)})
				i = 0
			}
			switch {
			case len(ats) == 1:
				delete(rows, rk)
			case len(ats) > 1:
				// A fresh key: assigning would store the aliased one.
				rows[rowKey{e.Seq, strings.Clone(h)}] = slices.Delete(slices.Clone(ats), i, i+1)
			}
			if !more {
				return nil
			}
			s = rest
		}
	})
	if err != nil {
		return nil, err
	}
	stray := make([]rowKey, 0, len(rows))
	for rk := range rows {
		stray = append(stray, rk)
	}
	slices.SortFunc(stray, func(a, b rowKey) int {
		return cmp.Or(cmp.Compare(a.seq, b.seq), strings.Compare(a.subject, b.subject))
	})
	for _, rk := range stray {
		for _, at := range rows[rk] {
			p := Problem{Kind: IndexStray, Chain: k.chain, Seq: rk.seq}
			row := fmt.Sprintf("index row (chain %s, seq %d, at_us %d) for subject %s", k.chain, rk.seq, at, shortText(rk.subject))
			ev, ok := events[rk.seq]
			switch n := slices.Index(audit.SplitList(ev.subjects, " "), rk.subject) + 1; {
			case !ok:
				p.Detail = row + " points to no event"
			case n > 0:
				p.EventID = ev.id
				p.Detail = fmt.Sprintf("%s is a second row for event %s subject #%d (the event's at_us is %d)", row, ev.id, n, ev.at)
			default:
				p.EventID = ev.id
				p.Detail = row + " points to event " + ev.id + ", whose subjects do not include it"
			}
			out = append(out, p)
		}
	}
	slices.SortStableFunc(out, func(a, b Problem) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, nil
}

// shortText abbreviates a subject hash (64 hex digits) for a report.
func shortText(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}
