package lookupapi_test

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"yiku/audit"
	auditstore "yiku/audit/store"
	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// TestEveryDataReadLeavesOneEvent calls every endpoint that reads data (the
// library's records, subscriptions, lookups, the audit trail and its
// reports, the catalog, service items, grants) and checks that each call
// left exactly one event of its own (a lookup: one lookup event, plus one
// reuse event per supplied material) with the right principal, action,
// resource, hashed subjects, purpose, case number and outcome.
func TestEveryDataReadLeavesOneEvent(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	key := h.Audit.SubjectKey()
	hashOf := func(ids ...string) []string { return key.HashAll(ids) }

	r := h.Do("POST", "/api/v1/subscriptions", "gsc-system", map[string]string{"resource": "population", "purpose": "社会保障卡申领"})
	if r.Status != 201 {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var sub struct {
		ID string `json:"id"`
	}
	r.JSON(t, &sub)

	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "?" + v.Encode()
	}
	type want struct {
		principal, action, resource string
		subjects                    []string
		purpose, caseNumber         string
		outcome                     audit.Outcome
		extra                       int // further events of the call (reuse events)
	}
	calls := []struct {
		name, method, path, who string
		body                    any
		status                  int
		want                    want
	}{
		{"record read", "GET", "/api/v1/resources/population/records/" + lookupdemo.Citizen + q("purpose", "社会保障卡申领", "case_number", "C-1"), "officer-gsc", nil, 200,
			want{"officer-gsc", "record.read", "population", hashOf(lookupdemo.Citizen), "社会保障卡申领", "C-1", audit.Allowed, 0}},
		{"record read refused", "GET", "/api/v1/resources/social-security/records/" + lookupdemo.Citizen + q("purpose", "社会保障卡申领", "case_number", "C-2"), "officer-lp", nil, 403,
			want{"officer-lp", "record.read", "social-security", hashOf(lookupdemo.Citizen), "社会保障卡申领", "C-2", audit.Denied, 0}},
		{"record history", "GET", "/api/v1/resources/legal-entity/records/" + lookupdemo.Entity + q("purpose", "营业执照变更登记", "case_number", "C-3", "history", "true"), "officer-gsc", nil, 200,
			want{"officer-gsc", "record.read", "legal-entity", hashOf(lookupdemo.Entity), "营业执照变更登记", "C-3", audit.Allowed, 0}},
		{"subscription pull", "GET", "/api/v1/subscriptions/" + sub.ID + "/records", "gsc-system", nil, 200,
			want{"gsc-system", "record.deliver.pull", "population", hashOf(lookupdemo.Citizen, lookupdemo.Citizen2), "社会保障卡申领", "", audit.Allowed, 0}},
		{"lookup", "POST", "/api/v1/lookups", "officer-gsc",
			map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity, "case_number": "C-4", "purpose": "社会保障卡申领"}, 200,
			want{"officer-gsc", audit.ActionLookup, "", hashOf(lookupdemo.Citizen), "社会保障卡申领", "C-4", audit.Allowed, 2}},
		{"lookup by a system", "POST", "/api/v1/lookups", "gsc-system",
			map[string]string{"applicant": lookupdemo.Entity, "service_item": lookupdemo.ItemLicenceChange, "case_number": "C-5", "purpose": "营业执照变更登记"}, 200,
			want{"gsc-system", audit.ActionLookup, "", hashOf(lookupdemo.Entity), "营业执照变更登记", "C-5", audit.Allowed, 3}},
		{"audit query", "GET", "/api/v1/audit/events" + q("subject", lookupdemo.Citizen, "reason", "投诉核查"), "reviewer", nil, 200,
			want{"reviewer", "audit.query", "", hashOf(lookupdemo.Citizen), "投诉核查", "", audit.Allowed, 0}},
		{"audit export", "GET", "/api/v1/audit/events" + q("format", "ndjson", "action", "lookup"), "reviewer", nil, 200,
			want{"reviewer", "audit.export", "", nil, "", "", audit.Allowed, 0}},
		{"anomalies", "GET", "/api/v1/audit/anomalies", "reviewer", nil, 200,
			want{"reviewer", "audit.anomalies", "", nil, "", "", audit.Allowed, 0}},
		{"citizen's own report", "GET", "/api/v1/my-data-access", "citizen-demo", nil, 200,
			want{"citizen-demo", "audit.data_access_report", "", nil, "", "", audit.Allowed, 0}},
		{"report on a citizen's request", "GET", "/api/v1/my-data-access" + q("subject", lookupdemo.Citizen, "case_number", "REQ-1"), "reviewer", nil, 200,
			want{"reviewer", "audit.data_access_report", "", hashOf(lookupdemo.Citizen), "citizen data-access request", "REQ-1", audit.Allowed, 0}},
		{"reuse statistics", "GET", "/api/v1/stats/reuse", "catalog-admin", nil, 200,
			want{"catalog-admin", "stats.reuse", "", nil, "", "", audit.Allowed, 0}},
		{"catalog list", "GET", "/api/v1/catalog/resources", "officer-gsc", nil, 200,
			want{"officer-gsc", "", "", nil, "", "", audit.Allowed, 0}},
		{"catalog resource", "GET", "/api/v1/catalog/resources/population", "gsc-system", nil, 200,
			want{"gsc-system", "", "", nil, "", "", audit.Allowed, 0}},
		{"service items", "GET", "/api/v1/service-items", "citizen-demo", nil, 200,
			want{"citizen-demo", "service_item.list", "", nil, "", "", audit.Allowed, 0}},
		{"service item", "GET", "/api/v1/service-items/" + lookupdemo.ItemMarriage, "officer-lp", nil, 200,
			want{"officer-lp", "service_item.read", "", nil, "", "", audit.Allowed, 0}},
		{"grants", "GET", "/api/v1/grants", "officer-gsc", nil, 200,
			want{"officer-gsc", "", "", nil, "", "", audit.Allowed, 0}},
		{"exchange status", "GET", "/api/v1/exchange/status", "reviewer", nil, 200,
			want{"reviewer", "", "", nil, "", "", audit.Allowed, 0}},
		{"lookup not allowed", "POST", "/api/v1/lookups", "reviewer",
			map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity, "case_number": "C-6", "purpose": "x"}, 403,
			want{"reviewer", "", "", nil, "", "", audit.Denied, 0}},
	}
	ids := make([]string, len(calls))
	for i, c := range calls {
		r := h.Do(c.method, c.path, c.who, c.body)
		if r.Status != c.status {
			t.Fatalf("%s: %d %s", c.name, r.Status, r.Body)
		}
		ids[i] = r.Header.Get(httpapi.HeaderRequestID)
		if ids[i] == "" {
			t.Fatalf("%s: no request id", c.name)
		}
	}

	byRequest := map[string][]audit.Event{}
	err := auditstore.New(h.DB.Gorm).Scan(context.Background(), auditstore.Filter{Ascending: true}, func(e audit.Entry) error {
		ev := e.Event()
		byRequest[ev.RequestID] = append(byRequest[ev.RequestID], ev)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			evs := byRequest[ids[i]]
			if len(evs) != 1+c.want.extra {
				t.Fatalf("%d events, want %d: %+v", len(evs), 1+c.want.extra, evs)
			}
			var main audit.Event
			n := 0
			for _, e := range evs {
				if e.Action != audit.ActionReuse {
					main = e
					n++
				} else if e.PrincipalName != c.want.principal || e.CaseNumber != c.want.caseNumber || e.Resource == "" || e.Outcome != audit.Allowed {
					t.Errorf("reuse event = %+v", e)
				}
			}
			if n != 1 {
				t.Fatalf("%d main events: %+v", n, evs)
			}
			w := c.want
			if w.action == "" {
				w.action = c.method + " " + routeOf(c.path)
			}
			slices.Sort(main.Subjects)
			slices.Sort(w.subjects)
			if main.PrincipalName != w.principal || main.Action != w.action || main.Resource != w.resource || !slices.Equal(main.Subjects, w.subjects) ||
				main.Purpose != w.purpose || main.CaseNumber != w.caseNumber || main.Outcome != w.outcome || main.Department == "" || main.Role == "" || main.ClientAddr == "" {
				t.Fatalf("event  %+v\nwant   %+v", main, w)
			}
		})
	}
}

// routeOf maps the paths above to their gin routes, for the default action.
func routeOf(path string) string {
	path, _, _ = strings.Cut(path, "?")
	if path == "/api/v1/catalog/resources/population" {
		return "/api/v1/catalog/resources/:id"
	}
	return path
}
