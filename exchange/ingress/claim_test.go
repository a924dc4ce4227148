package ingress_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"yiku/exchange"
	"yiku/exchange/ingress"
	"yiku/storage/storagetest"
)

// TestConcurrentReplaysClaimADeadLetterOnce: of several replays of one
// dead letter started at once, one claims it; a failed replay's release
// makes it pending again; a claim past its lease may be taken over; a
// replayed dead letter is claimed by none.
func TestConcurrentReplaysClaimADeadLetterOnce(t *testing.T) {
	st := ingress.NewStore(storagetest.Open(t))
	ctx := context.Background()
	at := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	stale := at.Add(-ingress.ReplayClaimLease)
	dl := ingress.DeadLetter{ID: "dl-1", Department: "lx-psb", Resource: "population", Reasons: []exchange.Rejection{{Rule: "format"}},
		SourceTopic: "t.ingress.lx-psb", DLQTopic: "t.dlq.lx-psb", CreatedAt: at}
	if err := st.AddDeadLetters(ctx, []ingress.DeadLetter{dl}); err != nil {
		t.Fatal(err)
	}
	claims := func(n int, now, staleBefore time.Time) int {
		t.Helper()
		var (
			wg  sync.WaitGroup
			mu  sync.Mutex
			won int
		)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := st.ClaimReplay(ctx, "lx-psb", "dl-1", "replayer-"+string(rune('a'+i)), now, staleBefore)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					won++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		return won
	}
	if won := claims(6, at, stale); won != 1 {
		t.Fatalf("%d concurrent replays claimed the dead letter, want 1", won)
	}
	got, err := st.DeadLetter(ctx, "lx-psb", "dl-1")
	if err != nil || got.Status != ingress.StatusReplaying {
		t.Fatalf("claimed dead letter %+v %v: want status replaying", got, err)
	}
	if ok, _ := st.ClaimReplay(ctx, "lx-psb", "dl-1", "other", at, stale); ok {
		t.Fatal("a held claim was taken")
	}
	// The claim's holder fails and releases it: pending again.
	if err := st.ReleaseReplay(ctx, "lx-psb", "dl-1", got.ReplayedBy); err != nil {
		t.Fatal(err)
	}
	if got, _ := st.DeadLetter(ctx, "lx-psb", "dl-1"); got.Status != ingress.StatusPending {
		t.Fatalf("released dead letter status %s, want pending", got.Status)
	}
	// A claim whose replay died lapses after the lease: one retry takes it.
	if ok, _ := st.ClaimReplay(ctx, "lx-psb", "dl-1", "dies", at, stale); !ok {
		t.Fatal("a pending dead letter was not claimed")
	}
	later := at.Add(ingress.ReplayClaimLease + time.Second)
	if won := claims(4, later, later.Add(-ingress.ReplayClaimLease)); won != 1 {
		t.Fatalf("%d replays took over a lapsed claim, want 1", won)
	}
	if ok, err := st.MarkReplayed(ctx, "lx-psb", "dl-1", "rec-1", "psb-system", later); err != nil || !ok {
		t.Fatalf("mark replayed: %v %v", ok, err)
	}
	if won := claims(3, later.Add(time.Hour), later.Add(time.Hour)); won != 0 {
		t.Fatalf("%d replays claimed a replayed dead letter", won)
	}
}
