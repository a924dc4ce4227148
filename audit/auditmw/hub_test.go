package auditmw_test

import (
	"testing"

	"yiku/hub/hubtest"
)

// TestHubRecordsEveryCall checks the wiring: the running hub records each
// /api/v1 call, including denials and failed authentication is not reached.
func TestHubRecordsEveryCall(t *testing.T) {
	h := hubtest.Start(t)
	count := func(where string, args ...any) int64 {
		var n int64
		if err := h.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE `+where, args...).Scan(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	if r := h.Do("GET", "/api/v1/me", "officer-gsc", nil); r.Status != 200 {
		t.Fatalf("me: %d %s", r.Status, r.Body)
	}
	if n := count(`action = ? AND principal_name = ? AND outcome = 'allowed' AND chain_id = ?`, "GET /api/v1/me", "officer-gsc", h.Audit.Chain()); n != 1 {
		t.Fatalf("me events = %d, want 1", n)
	}
	// A route the citizen may not call: denied and recorded.
	if r := h.Do("GET", "/api/v1/admin/principals", "citizen-demo", nil); r.Status != 403 {
		t.Fatalf("citizen principals: %d %s", r.Status, r.Body)
	}
	if n := count(`principal_name = ? AND outcome = 'denied'`, "citizen-demo"); n != 1 {
		t.Fatalf("denied events = %d, want 1", n)
	}
	// No credential: no principal to attribute, so nothing is recorded and nothing served.
	if r := h.Do("GET", "/api/v1/me", "", nil); r.Status != 401 {
		t.Fatalf("anonymous: %d", r.Status)
	}
	if n := count(`principal_id = ''`); n != 0 {
		t.Fatalf("anonymous events = %d", n)
	}
}
