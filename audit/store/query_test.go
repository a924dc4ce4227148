package store_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/audittest"
	"yiku/audit/journal"
	"yiku/audit/store"
	"yiku/storage/storagetest"
)

// trail is a store with two chains, as two hub instances write them, holding
// n seeded events three to a millisecond (so keys tie on time across
// chains); tests add rounds of late events while they page.
type trail struct {
	st     *store.Store
	chains [2]*journal.Journal
	base   time.Time
	seeded []string
}

const action = "record.read"

func newTrail(t *testing.T, n int) *trail {
	t.Helper()
	db := storagetest.Open(t)
	ctx := context.Background()
	k := audittest.Keys(t)
	tr := &trail{st: store.New(db.Gorm), base: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}
	var batches [2][]audit.Event
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("seed-%04d", i)
		tr.seeded = append(tr.seeded, id)
		batches[i%2] = append(batches[i%2], audit.Event{ID: id, Action: action, Time: tr.base.Add(time.Duration(i/3) * time.Millisecond)})
	}
	for c := range tr.chains {
		j, err := journal.New(ctx, tr.st, k)
		if err != nil {
			t.Fatal(err)
		}
		if err := j.RecordAll(ctx, batches[c]); err != nil {
			t.Fatal(err)
		}
		tr.chains[c] = j
	}
	return tr
}

// appendRound adds round i: on chain i%2, one event stamped now and one
// stamped back inside the seeded window (the position moving through the
// window with i), both selected by the tests' filter. Both shift offset
// paging; neither may shift a walk by key.
func (tr *trail) appendRound(i int) error {
	back := tr.base.Add(time.Duration(i%len(tr.seeded)/3)*time.Millisecond + 500*time.Microsecond)
	evs := []audit.Event{{ID: fmt.Sprintf("late-new-%d", i), Action: action}, {ID: fmt.Sprintf("late-back-%d", i), Action: action, Time: back}}
	if err := tr.chains[i%2].RecordAll(context.Background(), evs); err != nil {
		return err
	}
	return nil
}

// checkOnce fails unless every seeded event appears exactly once and no
// event appears twice.
func (tr *trail) checkOnce(t *testing.T, got []audit.Entry, ascending bool) {
	t.Helper()
	seen := map[string]int{}
	for i, e := range got {
		seen[e.ID]++
		if seen[e.ID] == 2 {
			t.Errorf("event %s appears twice", e.ID)
		}
		if i > 0 {
			prev, cur := store.KeyOf(got[i-1]), store.KeyOf(e)
			if less(prev, cur) != ascending || prev == cur {
				t.Errorf("event %d %+v out of order after %+v", i, cur, prev)
			}
		}
	}
	for _, id := range tr.seeded {
		if seen[id] != 1 {
			t.Errorf("seeded event %s appears %d times", id, seen[id])
		}
	}
}

func less(a, b store.Key) bool {
	if a.AtMicros != b.AtMicros {
		return a.AtMicros < b.AtMicros
	}
	if a.Chain != b.Chain {
		return a.Chain < b.Chain
	}
	return a.Seq < b.Seq
}

// TestPagingByKeyWhileEventsArrive: a reviewer pages newest first with a
// small limit, each page starting after the previous page's last key, while
// both chains keep appending; every event of the window appears once.
//
// Two rounds are appended between pages (not by a free-running appender: a
// walk newest first meets the backdated events below its cursor, and an
// appender faster than the walk, as under the race detector on a loaded
// machine, would keep it from ever reaching the oldest event).
func TestPagingByKeyWhileEventsArrive(t *testing.T) {
	tr := newTrail(t, 150)
	ctx := context.Background()

	f := store.Filter{From: tr.base, Action: action, Limit: 7}
	var got []audit.Entry
	round := 0
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("paging does not end")
		}
		page, err := tr.st.Query(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, page...)
		if len(page) < f.Limit {
			break
		}
		k := store.KeyOf(page[len(page)-1])
		f.After = &k
		for n := 0; n < 2; n, round = n+1, round+1 {
			if err := tr.appendRound(round); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
	}
	tr.checkOnce(t, got, false)
}

// TestScanCrossesPagesWhileEventsArrive: an export scans oldest first in
// internal pages smaller than the window while both chains keep appending,
// also inside the window; every seeded event appears once. A round is
// appended after every internal page's worth of events, from the scan's
// own callback, so the events arriving ahead of the scan cannot outrun it.
func TestScanCrossesPagesWhileEventsArrive(t *testing.T) {
	tr := newTrail(t, 150)
	tr.st.SetPageSize(4)
	ctx := context.Background()

	var got []audit.Entry
	round := 0
	end := time.Now()
	err := tr.st.Scan(ctx, store.Filter{From: tr.base, To: end, Action: action, Ascending: true}, func(e audit.Entry) error {
		got = append(got, e)
		if len(got)%4 == 0 {
			round++
			return tr.appendRound(round)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tr.checkOnce(t, got, true)
	for _, e := range got {
		if e.AtMicros >= end.UnixMicro() {
			t.Fatalf("event %s at %d is past the window's end %d", e.ID, e.AtMicros, end.UnixMicro())
		}
	}
}

// TestAfterAndOffset: After resumes strictly after a key in either order,
// breaking ties on time by chain and seq; Offset still skips, and Count
// ignores both.
func TestAfterAndOffset(t *testing.T) {
	tr := newTrail(t, 30)
	ctx := context.Background()
	all, err := tr.st.Query(ctx, store.Filter{Action: action, Ascending: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 30 {
		t.Fatalf("%d events, want 30", len(all))
	}
	tr.checkOnce(t, all, true)
	for _, i := range []int{0, 1, 2, 14, 28} {
		k := store.KeyOf(all[i])
		up, err := tr.st.Query(ctx, store.Filter{Action: action, Ascending: true, After: &k})
		if err != nil {
			t.Fatal(err)
		}
		if len(up) != len(all)-i-1 || up[0].ID != all[i+1].ID {
			t.Errorf("after #%d ascending: %d events from %v", i, len(up), up[0].ID)
		}
		down, err := tr.st.Query(ctx, store.Filter{Action: action, After: &k})
		if err != nil {
			t.Fatal(err)
		}
		if len(down) != i || (i > 0 && down[0].ID != all[i-1].ID) {
			t.Errorf("after #%d descending: %d events", i, len(down))
		}
	}
	skip, err := tr.st.Query(ctx, store.Filter{Action: action, Ascending: true, Offset: 10, Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(skip) != 5 || skip[0].ID != all[10].ID {
		t.Errorf("offset 10: %d events from %v", len(skip), skip)
	}
	k := store.KeyOf(all[5])
	if n, err := tr.st.Count(ctx, store.Filter{Action: action, After: &k, Offset: 3}); err != nil || n != 30 {
		t.Errorf("count = %d, %v", n, err)
	}
}
