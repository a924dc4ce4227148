package identity_test

import (
	"context"
	"testing"
	"time"

	"yiku/cryptosuite"
	"yiku/fault"
	"yiku/identity"
)

func TestNewExpiry(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	later := now.Add(24 * time.Hour)
	past := now.Add(-time.Hour)
	open := identity.APIKey{ID: "k1"}
	expiring := identity.APIKey{ID: "k2", ExpiresAt: &later}
	tests := []struct {
		name string
		key  identity.APIKey
		at   time.Time
		want time.Time
		kind fault.Kind
		code string // empty: allowed, with want
	}{
		{name: "no expiry yet, none given: now", key: open, want: now},
		{name: "no expiry yet, a time ahead", key: open, at: now.Add(time.Hour), want: now.Add(time.Hour)},
		{name: "no expiry yet, far ahead", key: open, at: now.AddDate(5, 0, 0), want: now.AddDate(5, 0, 0)},
		{name: "within the clock tolerance before now: now", key: open, at: now.Add(-30 * time.Second), want: now},
		{name: "exactly the tolerance before now: now", key: open, at: now.Add(-identity.ExpiryTolerance), want: now},
		{name: "beyond the tolerance in the past", key: open, at: now.Add(-identity.ExpiryTolerance - time.Second), kind: fault.Invalid, code: "expiry_in_past"},
		{name: "shorten an expiring key", key: expiring, at: now.Add(time.Hour), want: now.Add(time.Hour)},
		{name: "expire an expiring key now", key: expiring, want: now},
		{name: "keep the same expiry", key: expiring, at: later, want: later},
		{name: "extend an expiring key", key: expiring, at: later.Add(time.Second), kind: fault.Conflict, code: "expiry_extension"},
		{name: "a time in another zone is the same instant", key: expiring, at: later.In(time.FixedZone("CST", 8*3600)), want: later},
		{name: "a revoked key", key: identity.APIKey{ID: "k3", RevokedAt: &past}, kind: fault.Conflict, code: "api_key_revoked"},
		{name: "a revoked key, even to shorten it", key: identity.APIKey{ID: "k3", ExpiresAt: &later, RevokedAt: &past}, at: now.Add(time.Hour), kind: fault.Conflict, code: "api_key_revoked"},
		{name: "an expired key", key: identity.APIKey{ID: "k4", ExpiresAt: &past}, kind: fault.Conflict, code: "api_key_expired"},
		{name: "a key expiring this instant", key: identity.APIKey{ID: "k5", ExpiresAt: &now}, kind: fault.Conflict, code: "api_key_expired"},
		{name: "sub-microsecond parts are dropped", key: open, at: now.Add(time.Hour + 1500*time.Nanosecond), want: now.Add(time.Hour + time.Microsecond)},
	}
	for _, tt := range tests {
		got, err := tt.key.NewExpiry(tt.at, now)
		if tt.code == "" {
			if err != nil || !got.Equal(tt.want) {
				t.Errorf("%s: %v, %v; want %v", tt.name, got, err, tt.want)
			}
			continue
		}
		fe, ok := fault.As(err)
		if !ok || fe.Kind != tt.kind || fe.Code != tt.code {
			t.Errorf("%s: %v, %v; want %s %s", tt.name, got, err, tt.kind, tt.code)
		}
	}
}

// TestExpireAPIKey: an expiry set on a key is stored, only brought forward,
// and the key stops authenticating from it on.
func TestExpireAPIKey(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	sys, err := s.CreatePrincipal(ctx, identity.Principal{Name: "egov-system", Kind: identity.KindSystem, Role: identity.RoleSystem, DepartmentCode: "egov"})
	if err != nil {
		t.Fatal(err)
	}
	a := identity.NewAuthenticator(s, cryptosuite.Must(cryptosuite.Default), nil, time.Hour)
	k, err := a.IssueAPIKey(ctx, sys.ID, "exchange", 48*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Authenticate(ctx, k.Secret); err != nil {
		t.Fatalf("a new key is refused: %v", err)
	}
	soon := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	got, err := a.ExpireAPIKey(ctx, k.ID, soon)
	if err != nil || got.ExpiresAt == nil || !got.ExpiresAt.Equal(soon) {
		t.Fatalf("shorten to %v: %+v, %v", soon, got, err)
	}
	stored, err := a.APIKey(ctx, k.ID)
	if err != nil || stored.ExpiresAt == nil || !stored.ExpiresAt.Equal(soon) {
		t.Fatalf("stored expiry %+v, %v; want %v", stored, err, soon)
	}
	if _, err := a.ExpireAPIKey(ctx, k.ID, soon.Add(time.Hour)); fault.KindOf(err) != fault.Conflict {
		t.Fatalf("extend: %v, want a conflict", err)
	}
	if _, err := a.Authenticate(ctx, k.Secret); err != nil {
		t.Fatalf("a key expiring in two hours is refused: %v", err)
	}
	if _, err := a.ExpireAPIKey(ctx, k.ID, time.Time{}); err != nil {
		t.Fatalf("expire now: %v", err)
	}
	if _, err := a.Authenticate(ctx, k.Secret); fault.KindOf(err) != fault.Unauthenticated {
		t.Fatalf("an expired key authenticates: %v", err)
	}
	if _, err := a.ExpireAPIKey(ctx, k.ID, time.Time{}); codeOf(err) != "api_key_expired" {
		t.Fatalf("expire an expired key: %v", err)
	}
	if _, err := a.ExpireAPIKey(ctx, "nosuchkey", time.Time{}); fault.KindOf(err) != fault.NotFound {
		t.Fatalf("unknown key: %v", err)
	}

	// A key without expiry, then revoked.
	k2, err := a.IssueAPIKey(ctx, sys.ID, "", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.RevokeAPIKey(ctx, k2.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ExpireAPIKey(ctx, k2.ID, time.Time{}); codeOf(err) != "api_key_revoked" {
		t.Fatalf("expire a revoked key: %v", err)
	}
}

func codeOf(err error) string {
	if fe, ok := fault.As(err); ok {
		return fe.Code
	}
	return ""
}

func TestKeyState(t *testing.T) {
	now := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	later, past := now.Add(time.Hour), now.Add(-time.Hour)
	tests := []struct {
		key  identity.APIKey
		want identity.KeyState
	}{
		{identity.APIKey{}, identity.KeyActive},
		{identity.APIKey{ExpiresAt: &later}, identity.KeyActive},
		{identity.APIKey{ExpiresAt: &now}, identity.KeyExpired},
		{identity.APIKey{ExpiresAt: &past}, identity.KeyExpired},
		{identity.APIKey{RevokedAt: &past}, identity.KeyRevoked},
		{identity.APIKey{ExpiresAt: &past, RevokedAt: &past}, identity.KeyRevoked},
	}
	for i, tt := range tests {
		if got := tt.key.State(now); got != tt.want {
			t.Errorf("%d: %s, want %s", i, got, tt.want)
		}
	}
}
