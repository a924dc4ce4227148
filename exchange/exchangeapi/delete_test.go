package exchangeapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"yiku/hub/hubtest"
)

// TestDeleteFollowsTheResourceLifecycle: a retired resource refuses
// deletions as it refuses records, and only the provider may delete.
func TestDeleteFollowsTheResourceLifecycle(t *testing.T) {
	h := hubtest.Start(t)
	const path = "/api/v1/resources/population/records/431302198506159913?reason=" + "duplicate"
	if r := h.Do(http.MethodDelete, path, "amr-system", nil); r.Status != http.StatusForbidden || !strings.Contains(string(r.Body), "not_provider") {
		t.Fatalf("foreign delete: %d %s", r.Status, r.Body)
	}
	for _, status := range []string{"deprecated", "retired"} {
		r := h.Do(http.MethodPost, "/api/v1/catalog/resources/population/lifecycle", "admin-psb", map[string]any{"status": status, "reason": "test of the lifecycle"})
		if r.Status != http.StatusOK {
			t.Fatalf("to %s: %d %s", status, r.Status, r.Body)
		}
	}
	// The catalog caches resources for up to 2 s; wait for the retirement.
	var r hubtest.Response
	for i := 0; i < 40; i++ {
		r = h.Do(http.MethodDelete, path, "psb-system", nil)
		if r.Status == http.StatusConflict {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "resource_not_published") {
		t.Fatalf("delete on a retired resource: %d %s", r.Status, r.Body)
	}
}
