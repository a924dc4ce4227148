package journal_test

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/audittest"
	"yiku/audit/journal"
	"yiku/audit/store"
	"yiku/audit/verify"
	"yiku/storage/storagetest"
)

func TestConcurrentRecordsFormOneIntactChain(t *testing.T) {
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	ctx := context.Background()
	j, err := journal.New(ctx, store.New(db.Gorm), k)
	if err != nil {
		t.Fatal(err)
	}
	const workers, each = 8, 40
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < each; i++ {
				evs := []audit.Event{{Action: "lookup", Subjects: []string{"43130219900101001x"}, Outcome: audit.Allowed},
					{Action: audit.ActionReuse, Resource: fmt.Sprintf("r%d", i)}}
				errs <- j.RecordAll(ctx, evs)
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := j.Checkpoint(ctx); err != nil || !ok {
		t.Fatalf("checkpoint: %v %v", ok, err)
	}
	rep, err := verify.Run(ctx, db.SQL(), verify.Options{Trusted: [][]byte{j.PublicKey()}})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Events != workers*each*2 || rep.Unanchored != 0 {
		t.Fatalf("report = %+v", rep)
	}
	// Subjects are stored only as keyed hashes, the same for "x" and "X".
	var plain int64
	db.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE subjects LIKE '%4313021990%'`).Scan(&plain)
	if plain != 0 {
		t.Fatalf("%d rows hold a plain ID number", plain)
	}
	var indexed int64
	db.Gorm.Raw(`SELECT count(*) FROM audit_subjects WHERE subject_hash = ?`, k.Subject.Hash("43130219900101001X")).Scan(&indexed)
	if indexed != workers*each {
		t.Fatalf("subject index rows = %d, want %d", indexed, workers*each)
	}
}

func TestANewJournalContinuesAStoredChain(t *testing.T) {
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	ctx := context.Background()
	j1, err := journal.New(ctx, store.New(db.Gorm), k)
	if err != nil {
		t.Fatal(err)
	}
	if err := j1.Record(ctx, audit.Event{Action: "a"}); err != nil {
		t.Fatal(err)
	}
	j2, err := journal.New(ctx, store.New(db.Gorm), k, journal.WithChain(j1.Chain()))
	if err != nil {
		t.Fatal(err)
	}
	if err := j2.Record(ctx, audit.Event{Action: "b"}); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(ctx, db.SQL(), verify.Options{})
	if err != nil || !rep.OK() || rep.Chains != 1 || rep.Events != 2 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	if err := j2.Record(ctx, audit.Event{}); err == nil {
		t.Fatal("an event without action was recorded")
	}
}

// A group larger than one INSERT statement holds (500 events, 1,000 subject
// rows) is still appended whole and chains intact.
func TestALargeGroupIsAppendedWhole(t *testing.T) {
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	ctx := context.Background()
	j, err := journal.New(ctx, store.New(db.Gorm), k)
	if err != nil {
		t.Fatal(err)
	}
	const n = 1203
	evs := make([]audit.Event, n)
	for i := range evs {
		evs[i] = audit.Event{Action: audit.ActionReuse, Resource: "population", Count: i,
			Subjects: []string{"431302198506159913", fmt.Sprintf("9143130200000%05d", i)}}
	}
	if err := j.RecordAll(ctx, evs); err != nil {
		t.Fatal(err)
	}
	if err := j.RecordAll(ctx, []audit.Event{{Action: "after"}, {Action: ""}}); err == nil {
		t.Fatal("a group holding an event without action was recorded")
	}
	if err := j.Record(ctx, audit.Event{Action: "after"}); err != nil {
		t.Fatal(err)
	}
	rep, err := verify.Run(ctx, db.SQL(), verify.Options{})
	if err != nil || !rep.OK() || rep.Events != n+1 {
		t.Fatalf("report = %+v, %v", rep, err)
	}
	var subjects int64
	db.Gorm.Raw(`SELECT count(*) FROM audit_subjects`).Scan(&subjects)
	if subjects != 2*n {
		t.Fatalf("subject rows = %d, want %d", subjects, 2*n)
	}
}

// slowStore is an in-memory Appender whose appends take a while, like a
// database round trip under load.
type slowStore struct {
	mu      sync.Mutex
	delay   time.Duration
	appends int
	entries []audit.Entry
}

func (s *slowStore) Append(_ context.Context, entries []audit.Entry) error {
	time.Sleep(s.delay)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.appends++
	s.entries = append(s.entries, entries...)
	return nil
}

func (s *slowStore) Head(context.Context, string) (int64, []byte, error) { return 0, nil, nil }

func (s *slowStore) AddCheckpoint(context.Context, audit.Checkpoint) error { return nil }

// While one transaction is being written, concurrent callers' events queue
// and go out together in the next one: 64 callers arriving during a slow
// append need a handful of transactions, not 64.
func TestConcurrentCallersShareTransactions(t *testing.T) {
	st := &slowStore{delay: 20 * time.Millisecond}
	ctx := context.Background()
	j, err := journal.New(ctx, st, audittest.Keys(t))
	if err != nil {
		t.Fatal(err)
	}
	const callers = 64
	var wg sync.WaitGroup
	errs := make(chan error, callers)
	for i := 0; i < callers; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			errs <- j.RecordAll(ctx, []audit.Event{{Action: audit.ActionLookup, Count: i}, {Action: audit.ActionReuse, Count: i}})
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(st.entries) != 2*callers {
		t.Fatalf("%d entries stored, want %d", len(st.entries), 2*callers)
	}
	if st.appends > 8 {
		t.Fatalf("%d transactions for %d concurrent callers: the group commit does not group", st.appends, callers)
	}
	prev := audit.GenesisHash
	for i, e := range st.entries {
		if e.Seq != int64(i+1) || !bytes.Equal(e.PrevHash, prev) {
			t.Fatalf("entry %d: seq %d, chained to %x, want seq %d after %x", i, e.Seq, e.PrevHash, i+1, prev)
		}
		// A caller's two events are adjacent and in order.
		if i%2 == 1 && (e.Count != st.entries[i-1].Count || e.Action != audit.ActionReuse) {
			t.Fatalf("entries %d and %d are not one caller's pair: %+v / %+v", i-1, i, st.entries[i-1], e)
		}
		prev = e.Hash
	}
	t.Logf("%d callers, %d transactions", callers, st.appends)
}
