package sqlstore_test

import (
	"context"
	"testing"
	"time"

	"yiku/fault"
	"yiku/kafkaacl"
	"yiku/kafkaacl/sqlstore"
	"yiku/storage/storagetest"
)

// Claim issues one active credential per user; a revoked one may be
// claimed again; rotation is compare-and-set on rotated_at.
func TestClaimRotateRevoke(t *testing.T) {
	ctx := context.Background()
	s := sqlstore.New(storagetest.Open(t))
	now := time.Now().UTC().Truncate(time.Microsecond)
	c := kafkaacl.Credential{User: "y-dept-a", Kind: kafkaacl.KindIngress, Owner: "a", Department: "a", State: kafkaacl.StateActive, CreatedAt: now, RotatedAt: now}
	if err := s.Claim(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.Claim(ctx, c); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("second claim: %v, want a conflict", err)
	}
	got, err := s.Get(ctx, c.User)
	if err != nil || got.State != kafkaacl.StateActive || !got.RotatedAt.Equal(now) || got.RevokedAt != nil {
		t.Fatalf("get: %+v %v", got, err)
	}
	later := now.Add(time.Second)
	if err := s.Rotated(ctx, c.User, got.RotatedAt, later); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotated(ctx, c.User, got.RotatedAt, later.Add(time.Second)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("rotation from a stale time: %v, want a conflict", err)
	}
	if err := s.SetState(ctx, c.User, kafkaacl.StateRevoked, later); err != nil {
		t.Fatal(err)
	}
	if err := s.Rotated(ctx, c.User, later, later.Add(time.Second)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("rotating a revoked credential: %v, want a conflict", err)
	}
	if l, _ := s.List(ctx, kafkaacl.StateActive); len(l) != 0 {
		t.Fatalf("active after revocation: %+v", l)
	}
	if l, _ := s.List(ctx, kafkaacl.StateRevoked); len(l) != 1 || l[0].RevokedAt == nil {
		t.Fatalf("revoked: %+v", l)
	}
	c.CreatedAt, c.RotatedAt = later, later
	if err := s.Claim(ctx, c); err != nil {
		t.Fatalf("claim after revocation: %v", err)
	}
	if got, _ := s.Get(ctx, c.User); got.State != kafkaacl.StateActive || got.RevokedAt != nil || !got.CreatedAt.Equal(later) {
		t.Fatalf("re-claimed: %+v", got)
	}
	if _, err := s.Get(ctx, "nobody"); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("get unknown: %v", err)
	}
}
