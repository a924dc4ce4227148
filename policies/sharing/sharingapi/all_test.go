package sharingapi_test

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	"yiku/catalog/seed"
	"yiku/fault"
	"yiku/hub/hubtest"
	"yiku/policies/sharing"
)

// TestAllShareRequests: every department's requests, for the e-government
// office and reviewers only, paged, filtered by status, each saying whether
// it is overdue by the rule the overdue list uses.
func TestAllShareRequests(t *testing.T) {
	h := hubtest.Start(t)
	apply := func(fields ...string) sharing.Request {
		t.Helper()
		r := h.Do(http.MethodPost, "/api/v1/share-requests", "admin-hrss", map[string]any{
			"resource_id": seed.MarriageRegistration, "fields": fields,
			"purposes": []string{purpose}, "legal_basis": "《婚姻登记条例》",
			"service_items": []string{"生育登记"}, "valid_until": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339),
		})
		if r.Status != http.StatusCreated {
			t.Fatalf("apply: %d %s", r.Status, r.Body)
		}
		var req sharing.Request
		r.JSON(t, &req)
		return req
	}
	late, onTime := apply("id_number"), apply("name")
	// The provider's decision time has run out for one of them.
	if err := h.DB.Gorm.Exec("UPDATE share_requests SET deadline = ? WHERE id = ?", time.Now().Add(-time.Hour).UTC(), late.ID).Error; err != nil {
		t.Fatal(err)
	}

	type page struct{ Requests []sharing.Request }
	list := func(as, query string) (page, hubtest.Response) {
		r := h.Do(http.MethodGet, "/api/v1/share-requests/all"+query, as, nil)
		var p page
		if r.Status == http.StatusOK {
			r.JSON(t, &p)
		}
		return p, r
	}
	overdueIDs := func(p page) map[string]bool {
		out := map[string]bool{}
		for _, r := range p.Requests {
			if r.Overdue {
				out[r.ID] = true
			}
		}
		return out
	}

	// The overdue list and the overdue flags of the full list agree.
	var od page
	h.Do(http.MethodGet, "/api/v1/share-requests/overdue", "catalog-admin", nil).JSON(t, &od)
	if len(od.Requests) != 1 || od.Requests[0].ID != late.ID {
		t.Fatalf("overdue list %+v, want only %s", od.Requests, late.ID)
	}
	for _, as := range []string{"catalog-admin", "reviewer"} {
		p, r := list(as, "")
		if r.Status != http.StatusOK {
			t.Fatalf("%s: %d %s", as, r.Status, r.Body)
		}
		seen := map[string]bool{}
		for _, x := range p.Requests {
			seen[x.ID] = true
		}
		if !seen[late.ID] || !seen[onTime.ID] {
			t.Fatalf("%s: list %+v lacks %s or %s", as, p.Requests, late.ID, onTime.ID)
		}
		if got := overdueIDs(p); len(got) != 1 || !got[late.ID] {
			t.Fatalf("%s: overdue flags %v, want only %s", as, got, late.ID)
		}
	}

	// Paging: one at a time walks the same list (demo requests included),
	// then a page past the end is empty.
	full, _ := list("catalog-admin", "?limit=1000")
	for i := range full.Requests {
		p, r := list("catalog-admin", "?limit=1&offset="+strconv.Itoa(i))
		if r.Status != http.StatusOK || len(p.Requests) != 1 || p.Requests[0].ID != full.Requests[i].ID {
			t.Fatalf("page %d: %d %+v, want %s", i, r.Status, p.Requests, full.Requests[i].ID)
		}
	}
	if p, r := list("catalog-admin", "?offset="+strconv.Itoa(len(full.Requests))); r.Status != http.StatusOK || len(p.Requests) != 0 {
		t.Fatalf("past the end: %d %s", r.Status, r.Body)
	}

	// The status filter.
	if r := h.Do(http.MethodPost, "/api/v1/share-requests/"+onTime.ID+"/withdraw", "admin-hrss", map[string]any{"reason": "不再需要"}); r.Status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	status := func(want sharing.RequestStatus) map[string]bool {
		p, r := list("reviewer", "?status="+string(want))
		if r.Status != http.StatusOK {
			t.Fatalf("status=%s: %d %s", want, r.Status, r.Body)
		}
		ids := map[string]bool{}
		for _, x := range p.Requests {
			if x.Status != want {
				t.Fatalf("status=%s lists %s in %s", want, x.ID, x.Status)
			}
			ids[x.ID] = x.Overdue
		}
		return ids
	}
	if w := status(sharing.RequestWithdrawn); len(w) != 1 || w[onTime.ID] {
		t.Fatalf("withdrawn: %v, want only %s, not overdue", w, onTime.ID)
	}
	if p := status(sharing.RequestPending); !p[late.ID] {
		t.Fatalf("pending: %v, want %s overdue", p, late.ID)
	}

	// Everyone else is refused; bad input is a 400 in the one error shape.
	for _, as := range []string{"admin-hrss", "admin-civil", "officer-gsc", "hrss-system", "citizen-demo"} {
		if _, r := list(as, ""); r.Status != http.StatusForbidden {
			t.Fatalf("%s: %d %s, want 403", as, r.Status, r.Body)
		}
	}
	for _, q := range []string{"?limit=0", "?limit=1001", "?limit=x", "?offset=-1", "?offset=" + strconv.Itoa(1_000_001), "?status=lost"} {
		_, r := list("catalog-admin", q)
		if r.Status != http.StatusBadRequest {
			t.Fatalf("%s: %d %s, want 400", q, r.Status, r.Body)
		}
		errorCode(t, r)
	}
}

// TestAllShareRequestsServiceRule: the service refuses the full list to a
// department admin even if the API policy let the call through.
func TestAllShareRequestsServiceRule(t *testing.T) {
	h := hubtest.Start(t)
	svc := &sharing.Service{Store: sharing.NewStore(h.DB.Gorm)}
	if _, err := svc.List(t.Context(), principal(t, h, "admin-hrss"), sharing.BoxAll, "", 10, 0); err == nil {
		t.Fatal("a department admin listed every department's requests")
	} else if fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("a department admin: %v, want forbidden", err)
	}
	if _, err := svc.List(t.Context(), principal(t, h, "reviewer"), sharing.BoxAll, "", 10, 0); err != nil {
		t.Fatal(err)
	}
}
