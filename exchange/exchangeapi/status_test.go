package exchangeapi_test

import (
	"net/http"
	"strings"
	"testing"

	"yiku/hub/hubtest"
)

// TestStatusShowsOnlyWhatTheCallerMaySee: a department sees its own and
// the unconditionally shared resources in the exchange status; the
// e-government office sees every resource.
func TestStatusShowsOnlyWhatTheCallerMaySee(t *testing.T) {
	h := hubtest.Start(t)
	resources := func(principal string) map[string]bool {
		t.Helper()
		r := h.Do(http.MethodGet, "/api/v1/exchange/status", principal, nil)
		if r.Status != http.StatusOK {
			t.Fatalf("status as %s: %d %s", principal, r.Status, r.Body)
		}
		var st struct {
			Resources []struct{ Resource string } `json:"resources"`
		}
		r.JSON(t, &st)
		out := map[string]bool{}
		for _, x := range st.Resources {
			out[x.Resource] = true
		}
		return out
	}
	all := resources("catalog-admin")
	// Resources appear once records were published to them (the demo seeds these).
	for _, want := range []string{"population", "marriage-registration", "social-security", "enterprise-credit"} {
		if !all[want] {
			t.Fatalf("catalog admin does not see %s: %v", want, all)
		}
	}
	hrss := resources("hrss-system")
	if !hrss["social-security"] || !hrss["population"] {
		t.Fatalf("hrss misses its own or an unconditional resource: %v", hrss)
	}
	for _, hidden := range []string{"marriage-registration", "enterprise-credit"} {
		if hrss[hidden] {
			t.Fatalf("hrss sees %s, which is another department's and not unconditionally shared", hidden)
		}
	}
	// The service centre holds demo grants for marriage registration.
	if gsc := resources("gsc-system"); !gsc["marriage-registration"] || gsc["enterprise-credit"] != gscHasCredit(t, h) {
		t.Fatalf("granted resources not shown as the gate says: %v", gsc)
	}
	if civil := resources("civil-system"); !civil["marriage-registration"] {
		t.Fatalf("the provider does not see its own conditional resource: %v", civil)
	}
}

// gscHasCredit asks the sharing API whether the service centre may read
// enterprise credit (the demo grants it for a service item).
func gscHasCredit(t *testing.T, h *hubtest.Hub) bool {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/access", "gsc-system", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("access: %d %s", r.Status, r.Body)
	}
	return strings.Contains(string(r.Body), `"resource_id":"enterprise-credit"`)
}
