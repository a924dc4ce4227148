package subscription

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"yiku/storage/storagetest"
)

// TestLeaseOneInstanceAtATime: of instances racing for a subscription one
// holds the lease; Deliverable hides it from the others until it is
// released or expires; cursor updates are compare-and-set under the lease,
// so an instance whose lease was taken over cannot move a cursor back.
func TestLeaseOneInstanceAtATime(t *testing.T) {
	ctx := context.Background()
	st := NewStore(storagetest.Open(t))
	now := time.Now().UTC().Truncate(time.Second)
	sub := Subscription{ID: "sub-lease", DepartmentCode: "lx-gsc", PrincipalID: "p1", ResourceID: "social-security", Purpose: "p",
		Status: StatusActive, WebhookURL: "https://hook.lx.gov.cn/", PushState: PushActive, EgressTopic: "t.egress.sub-lease",
		PushCursor: 10, EgressCursor: 10, CreatedAt: now, UpdatedAt: now}
	if err := st.Create(ctx, sub); err != nil {
		t.Fatal(err)
	}

	// Eight instances race; exactly one wins.
	var (
		mu      sync.Mutex
		winners []string
		wg      sync.WaitGroup
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			owner := "instance-" + string(rune('a'+i))
			if _, ok, err := st.Claim(ctx, sub.ID, owner, now, time.Minute); err != nil {
				t.Error(err)
			} else if ok {
				mu.Lock()
				winners = append(winners, owner)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d instances hold the lease: %v", len(winners), winners)
	}
	a := winners[0]
	if due, err := st.Deliverable(ctx, now.Add(time.Second)); err != nil || len(due) != 0 {
		t.Fatalf("leased subscription listed as deliverable: %v %v", due, err)
	}

	// The holder advances the cursor; a stale from-cursor is refused.
	if err := st.PushDelivered(ctx, sub.ID, a, 10, 20); err != nil {
		t.Fatal(err)
	}
	if err := st.PushDelivered(ctx, sub.ID, a, 10, 15); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("stale cursor update: %v, want ErrLeaseLost", err)
	}

	// After expiry another instance takes over; the first can no longer write.
	later := now.Add(2 * time.Minute)
	got, ok, err := st.Claim(ctx, sub.ID, "instance-late", later, time.Minute)
	if err != nil || !ok {
		t.Fatalf("claim after expiry: %v %v", ok, err)
	}
	if got.PushCursor != 20 || got.EgressCursor != 10 {
		t.Fatalf("claimed with cursors %d/%d, want 20/10", got.PushCursor, got.EgressCursor)
	}
	for name, err := range map[string]error{
		"push":   st.PushDelivered(ctx, sub.ID, a, 20, 30),
		"failed": st.PushFailed(ctx, sub.ID, a, 20, 1, later, false, "timeout"),
		"egress": st.EgressDelivered(ctx, sub.ID, a, 10, 30),
	} {
		if !errors.Is(err, ErrLeaseLost) {
			t.Fatalf("%s by the expired holder: %v, want ErrLeaseLost", name, err)
		}
	}
	if err := st.EgressDelivered(ctx, sub.ID, "instance-late", 10, 25); err != nil {
		t.Fatal(err)
	}
	if err := st.Release(ctx, sub.ID, a); err != nil { // not a's to release
		t.Fatal(err)
	}
	if _, ok, _ := st.Claim(ctx, sub.ID, "instance-other", later, time.Minute); ok {
		t.Fatal("lease taken while held")
	}
	if err := st.Release(ctx, sub.ID, "instance-late"); err != nil {
		t.Fatal(err)
	}
	due, err := st.Deliverable(ctx, later)
	if err != nil || len(due) != 1 || due[0].PushCursor != 20 || due[0].EgressCursor != 25 {
		t.Fatalf("after release: %+v %v", due, err)
	}
	// A cancelled subscription cannot be claimed.
	if err := st.SetStatus(ctx, sub.ID, StatusCancelled); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := st.Claim(ctx, sub.ID, "instance-other", later, time.Minute); ok {
		t.Fatal("cancelled subscription claimed")
	}
}
