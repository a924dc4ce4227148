// Package journal is the audit trail's writer: it turns Events into chained,
// hashed Entries and appends them durably, and it signs checkpoints of its
// chain's head. Each running hub instance writes its own chain (a fresh
// chain id per process), so instances never contend for a chain head and
// every chain has exactly one writer; concurrent calls within an instance
// are group-committed: while one transaction is being written, callers
// queue their events; the next transaction carries everything queued so
// far, and each caller returns once the transaction holding its events has
// committed. Callers wait on their own batch's result, never on the write
// lock, so a busy journal writes few large transactions rather than many
// small ones.
package journal

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/google/uuid"

	"yiku/audit"
)

// Appender is the storage a journal needs (package audit/store).
type Appender interface {
	Append(ctx context.Context, entries []audit.Entry) error
	Head(ctx context.Context, chain string) (int64, []byte, error)
	AddCheckpoint(ctx context.Context, c audit.Checkpoint) error
}

// firstChainer is a store that knows the chain of the trail's oldest event
// (audit/store.Store).
type firstChainer interface {
	FirstChain(ctx context.Context) (string, bool, error)
}

// Journal records events on one chain. It is safe for concurrent use.
type Journal struct {
	store   Appender
	keys    audit.Keys
	chain   string
	now     func() time.Time
	timeout time.Duration

	// qmu guards queue and flushing. While flushing is set, one goroutine
	// (the caller that found the journal idle, then a drainer it hands over
	// to) writes queued batches; everyone else only queues and waits.
	qmu      sync.Mutex
	queue    []*pending
	flushing bool

	// wmu is held by the caller currently appending; it guards the head.
	wmu  sync.Mutex
	seq  int64
	head []byte
	// checkpointed is the seq of the last checkpoint written.
	checkpointed int64
}

type pending struct {
	events []audit.Event
	done   chan error
}

var (
	_ audit.Recorder      = (*Journal)(nil)
	_ audit.BatchRecorder = (*Journal)(nil)
)

// Option adjusts a journal.
type Option func(*Journal)

// WithClock sets the clock (tests).
func WithClock(now func() time.Time) Option { return func(j *Journal) { j.now = now } }

// WithChain sets the chain id instead of a fresh one; only one process may
// ever write a chain, so this is for tests and tools.
func WithChain(id string) Option { return func(j *Journal) { j.chain = id } }

// New starts a journal writing a new chain (or the WithChain one, continuing
// from its stored head).
func New(ctx context.Context, store Appender, keys audit.Keys, opts ...Option) (*Journal, error) {
	j := &Journal{store: store, keys: keys, now: time.Now, timeout: 15 * time.Second}
	for _, o := range opts {
		o(j)
	}
	// Subjects are hashed with the suite the trail began with, whatever
	// suite new chains use, so one search finds a person across the trail.
	if fc, ok := store.(firstChainer); ok {
		first, found, err := fc.FirstChain(ctx)
		if err != nil {
			return nil, err
		}
		if found {
			if j.keys, err = keys.WithSubjectSuite(audit.ChainSuite(first).Name()); err != nil {
				return nil, err
			}
		}
	}
	if j.chain == "" {
		id, err := uuid.NewV7()
		if err != nil {
			return nil, fmt.Errorf("audit: chain id: %w", err)
		}
		j.chain = audit.ChainID(keys.Suite, id.String())
	}
	if err := j.reloadHead(ctx); err != nil {
		return nil, err
	}
	j.checkpointed = j.seq
	return j, nil
}

// Chain returns the id of the chain this journal writes.
func (j *Journal) Chain() string { return j.chain }

// PublicKey returns the key checkpoints are signed with, in the encoding of
// the journal's suite.
func (j *Journal) PublicKey() []byte { return j.keys.Checkpoint.PublicKey() }

// SubjectKey returns the key subjects are hashed with, so queries can hash
// what a reviewer types the same way.
func (j *Journal) SubjectKey() audit.SubjectKey { return j.keys.Subject }

// Record appends one event durably.
func (j *Journal) Record(ctx context.Context, e audit.Event) error {
	return j.RecordAll(ctx, []audit.Event{e})
}

// RecordAll appends events durably and atomically. It returns once they are
// committed, or with an error if they are not; events are never half
// recorded. The append is not abandoned when ctx ends (the caller may
// already have acted), but the wait for it is bounded: every transaction
// has the journal's timeout.
//
// If no transaction is in progress the caller writes its own events (and
// whatever else is queued by then) itself, and hands any events queued
// meanwhile to a drainer goroutine, so its own answer is not delayed by
// others' events. Otherwise it queues and waits for the transaction that
// carries its events.
func (j *Journal) RecordAll(ctx context.Context, events []audit.Event) error {
	if len(events) == 0 {
		return nil
	}
	for _, e := range events {
		// Checked before queueing so a malformed event never fails the
		// other callers' events that share its transaction.
		if e.Action == "" {
			return errNoAction
		}
	}
	p := &pending{events: events, done: make(chan error, 1)}
	j.qmu.Lock()
	j.queue = append(j.queue, p)
	lead := !j.flushing
	j.flushing = true
	j.qmu.Unlock()
	if lead {
		// The queue was empty when the journal was idle, so the first batch
		// taken holds p.
		if j.flushQueued() {
			go j.drain()
		}
	}
	return <-p.done
}

var errNoAction = errors.New("audit: event without action")

// flushQueued writes everything queued in one transaction and reports
// whether more was queued meanwhile; when not, it clears flushing.
func (j *Journal) flushQueued() (more bool) {
	j.qmu.Lock()
	batch := j.queue
	j.queue = nil
	j.qmu.Unlock()
	if len(batch) > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), j.timeout)
		j.wmu.Lock()
		err := j.flush(ctx, batch)
		j.wmu.Unlock()
		cancel()
		for _, b := range batch {
			b.done <- err
		}
	}
	j.qmu.Lock()
	defer j.qmu.Unlock()
	if len(j.queue) == 0 {
		j.flushing = false
		return false
	}
	return true
}

// drain writes queued batches until the queue stays empty.
func (j *Journal) drain() {
	for j.flushQueued() {
	}
}

// flush chains and appends batch; the caller holds wmu.
func (j *Journal) flush(ctx context.Context, batch []*pending) error {
	n := 0
	for _, b := range batch {
		n += len(b.events)
	}
	entries := make([]audit.Entry, 0, n)
	seq, prev := j.seq, j.head
	buf := make([]byte, 0, 512)
	for _, b := range batch {
		for _, e := range b.events {
			seq++
			en, err := j.entry(e, seq, prev)
			if err != nil {
				return err
			}
			var h [audit.HashSize]byte
			h, buf = audit.Digest(&en, buf)
			en.Hash = h[:]
			entries = append(entries, en)
			prev = en.Hash
		}
	}
	if err := j.store.Append(ctx, entries); err != nil {
		// The commit may or may not have happened (a lost connection after
		// COMMIT): take the head from the database, so the chain never forks.
		if rerr := j.reloadHead(ctx); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	j.seq, j.head = seq, prev
	return nil
}

func (j *Journal) entry(e audit.Event, seq int64, prev []byte) (audit.Entry, error) {
	if e.Action == "" {
		return audit.Entry{}, errNoAction
	}
	id := e.ID
	if id == "" {
		u, err := uuid.NewV7()
		if err != nil {
			return audit.Entry{}, fmt.Errorf("audit: event id: %w", err)
		}
		id = u.String()
	}
	at := e.Time
	if at.IsZero() {
		at = j.now()
	}
	out := e.Outcome
	if out == "" {
		out = audit.Allowed
	}
	return audit.Entry{
		Chain: j.chain, Seq: seq, ID: id, AtMicros: at.UnixMicro(), RequestID: e.RequestID,
		PrincipalID: e.PrincipalID, PrincipalName: e.PrincipalName, Department: e.Department, Role: e.Role,
		Action: e.Action, Resource: e.Resource, Subjects: audit.JoinSubjects(j.keys.Subject.HashAll(e.Subjects)),
		Fields: audit.JoinFields(e.Fields), Purpose: e.Purpose, CaseNumber: e.CaseNumber, Outcome: string(out),
		Reason: e.Reason, ClientAddr: e.ClientAddr, Count: int64(e.Count), PrevHash: prev,
	}, nil
}

func (j *Journal) reloadHead(ctx context.Context) error {
	seq, h, err := j.store.Head(ctx, j.chain)
	if err != nil {
		return err
	}
	if seq == 0 {
		h = audit.GenesisHash
	}
	j.seq, j.head = seq, h
	return nil
}

// Checkpoint signs and stores the chain's current head if it moved since the
// last checkpoint. It reports whether it wrote one.
func (j *Journal) Checkpoint(ctx context.Context) (bool, error) {
	j.wmu.Lock()
	defer j.wmu.Unlock()
	if j.seq == 0 || j.seq == j.checkpointed {
		return false, nil
	}
	c := audit.Checkpoint{Chain: j.chain, Seq: j.seq, Hash: j.head, AtMicros: j.now().UnixMicro()}
	if err := c.Sign(j.keys.Checkpoint); err != nil {
		return false, fmt.Errorf("audit: sign checkpoint: %w", err)
	}
	if err := j.store.AddCheckpoint(ctx, c); err != nil {
		return false, err
	}
	j.checkpointed = j.seq
	return true, nil
}

// Checkpointer is the background worker that checkpoints the chain every
// interval and once more when it stops, after the HTTP server has drained.
type Checkpointer struct {
	J        *Journal
	Interval time.Duration
	OnError  func(error)
}

// Name names the worker.
func (c *Checkpointer) Name() string { return "audit-checkpointer" }

// Run checkpoints until ctx ends.
func (c *Checkpointer) Run(ctx context.Context) error {
	iv := c.Interval
	if iv <= 0 {
		iv = time.Minute
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			_, err := c.J.Checkpoint(fctx)
			cancel()
			if err != nil {
				return fmt.Errorf("audit: final checkpoint: %w", err)
			}
			return ctx.Err()
		case <-t.C:
			if _, err := c.J.Checkpoint(ctx); err != nil && c.OnError != nil {
				c.OnError(err)
			}
		}
	}
}
