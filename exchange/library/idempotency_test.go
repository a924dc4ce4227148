package library_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/storage/storagetest"
)

// TestIdempotencyKeyIsReservedBeforeItsBatch: a key is claimed once; while
// its request runs others see it pending, then its response; a failed
// request frees it; a reservation past its lease is taken over once.
func TestIdempotencyKeyIsReservedBeforeItsBatch(t *testing.T) {
	st := library.NewStore(storagetest.Open(t))
	ctx := context.Background()
	now := time.Date(2026, 11, 26, 9, 30, 0, 0, time.UTC)
	stale := now.Add(-exchange.IdempotencyLease)
	const scope = "lx-psb/population"

	reserve := func(key, hash string, at time.Time) (exchange.IdempotentEntry, bool) {
		t.Helper()
		e, claimed, err := st.ReserveIdempotencyKey(ctx, scope, key, hash, at, at.Add(-exchange.IdempotencyLease))
		if err != nil {
			t.Fatal(err)
		}
		return e, claimed
	}
	if _, claimed := reserve("k1", "h1", now); !claimed {
		t.Fatal("a new key was not claimed")
	}
	if e, claimed := reserve("k1", "h1", now); claimed || !e.Pending || e.RequestHash != "h1" {
		t.Fatalf("second reservation: claimed %v entry %+v, want the first's pending reservation", claimed, e)
	}
	if e, claimed := reserve("k1", "h2", now); claimed || e.RequestHash != "h1" {
		t.Fatalf("other batch: claimed %v entry %+v", claimed, e)
	}
	if err := st.CompleteIdempotencyKey(ctx, scope, "k1", "h1", []byte(`{"accepted":1}`)); err != nil {
		t.Fatal(err)
	}
	if e, claimed := reserve("k1", "h1", now.Add(time.Hour)); claimed || e.Pending || string(e.Response) != `{"accepted":1}` {
		t.Fatalf("after completion: claimed %v entry %+v, want the stored response", claimed, e)
	}
	// A completed key is not released.
	if err := st.ReleaseIdempotencyKey(ctx, scope, "k1", "h1"); err != nil {
		t.Fatal(err)
	}
	if e, _ := reserve("k1", "h1", now); e.Pending {
		t.Fatalf("release dropped a completed key: %+v", e)
	}

	// A failed request releases its key; the retry claims it.
	reserve("k2", "h1", now)
	if err := st.ReleaseIdempotencyKey(ctx, scope, "k2", "h1"); err != nil {
		t.Fatal(err)
	}
	if _, claimed := reserve("k2", "h1", now); !claimed {
		t.Fatal("a released key was not claimed again")
	}

	// A reservation older than the lease is taken over by one retry only.
	reserve("k3", "h1", stale.Add(-time.Second))
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed int
	)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, c, err := st.ReserveIdempotencyKey(ctx, scope, "k3", "h1", now, stale)
			if err != nil {
				t.Error(err)
			}
			if c {
				mu.Lock()
				claimed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if claimed != 1 {
		t.Fatalf("%d retries took over a lapsed reservation, want 1", claimed)
	}
}
