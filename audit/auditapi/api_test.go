package auditapi_test

import (
	"context"
	"encoding/csv"
	"maps"
	"net/url"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/auditapi"
	"yiku/hub/hubtest"
	"yiku/schemas"
)

func residentID(t *testing.T, body17 string) string {
	t.Helper()
	c, err := schemas.ResidentIDCheckChar(body17)
	if err != nil {
		t.Fatal(err)
	}
	return body17 + string(c)
}

type eventsBody struct {
	Events []audit.Event `json:"events"`
	Total  int           `json:"total"`
}

func TestReviewerFindsEveryAccessToASubject(t *testing.T) {
	h := hubtest.Start(t)
	id := residentID(t, "43130219850312002")
	other := residentID(t, "43130219900101003")
	read := func(who, subject, caseNo string) {
		q := url.Values{"purpose": {"营业执照变更登记"}, "case_number": {caseNo}}
		h.Do("GET", "/api/v1/resources/population/records/"+subject+"?"+q.Encode(), who, nil)
	}
	read("officer-gsc", id, "LX-2025-0001")
	read("officer-lp", id, "LX-2025-0002")
	read("officer-gsc", other, "LX-2025-0003")

	// The reviewer types the ID number (lower-case x is fine); the hub hashes it.
	q := "/api/v1/audit/events?" + url.Values{"subject": {strings.ToLower(id)}, "reason": {"复核"}}.Encode()
	r := h.Do("GET", q, "reviewer", nil)
	if r.Status != 200 {
		t.Fatalf("query: %d %s", r.Status, r.Body)
	}
	var got eventsBody
	r.JSON(t, &got)
	if got.Total != 2 || len(got.Events) != 2 {
		t.Fatalf("events for subject = %+v", got)
	}
	seen := map[string]string{}
	for _, e := range got.Events {
		seen[e.PrincipalName] = e.CaseNumber
		if e.Action != "record.read" || e.Resource != "population" || e.Purpose != "营业执照变更登记" || len(e.Subjects) != 1 || e.Subjects[0] == id {
			t.Errorf("event = %+v", e)
		}
	}
	if seen["officer-gsc"] != "LX-2025-0001" || seen["officer-lp"] != "LX-2025-0002" {
		t.Fatalf("accesses = %v", seen)
	}
	if strings.Contains(string(r.Body), id) {
		t.Fatal("the response holds the plain ID number")
	}

	// The reviewer's own query is in the trail, with the subject it searched.
	r = h.Do("GET", "/api/v1/audit/events?action=audit.query&principal=reviewer", "reviewer", nil)
	r.JSON(t, &got)
	if got.Total != 1 || got.Events[0].Purpose != "复核" || len(got.Events[0].Subjects) != 1 {
		t.Fatalf("reviewer's query not audited: %+v", got)
	}

	// Only reviewers query; a denied attempt is recorded.
	if r := h.Do("GET", "/api/v1/audit/events", "officer-gsc", nil); r.Status != 403 {
		t.Fatalf("officer query: %d", r.Status)
	}
	r = h.Do("GET", "/api/v1/audit/events?outcome=denied&principal=officer-gsc&action="+url.QueryEscape("GET /api/v1/audit/events"), "reviewer", nil)
	r.JSON(t, &got)
	if got.Total != 1 {
		t.Fatalf("denied query not audited: %+v", got)
	}

	// CSV export of the subject's trail: the two reads and the reviewer's
	// first query, which searched for this subject.
	r = h.Do("GET", "/api/v1/audit/events?format=csv&"+url.Values{"subject": {id}}.Encode(), "reviewer", nil)
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("csv: %d %s", r.Status, r.Header)
	}
	recs, err := csv.NewReader(strings.NewReader(string(r.Body))).ReadAll()
	if err != nil || len(recs) != 1+3 || recs[0][0] != "id" {
		t.Fatalf("csv rows = %v (%v)", recs, err)
	}
	r = h.Do("GET", "/api/v1/audit/events?format=ndjson&"+url.Values{"subject": {id}}.Encode(), "reviewer", nil)
	// … and now the CSV export too.
	if r.Status != 200 || strings.Count(string(r.Body), "\n") != 4 {
		t.Fatalf("ndjson: %d %s", r.Status, r.Body)
	}

	// The citizen view, through a reviewer acting on the citizen's request.
	var report struct {
		Accesses []auditapi.Access `json:"accesses"`
	}
	r = h.Do("GET", "/api/v1/my-data-access?"+url.Values{"subject": {id}, "case_number": {"REQ-7"}}.Encode(), "reviewer", nil)
	if r.Status != 200 {
		t.Fatalf("my-data-access: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &report)
	if len(report.Accesses) != 2 {
		t.Fatalf("accesses = %+v", report.Accesses)
	}
	for _, a := range report.Accesses {
		if a.Department == "" || a.Purpose == "" || a.CaseNumber == "" {
			t.Errorf("access = %+v", a)
		}
	}
	if r := h.Do("GET", "/api/v1/my-data-access?subject="+id, "reviewer", nil); r.Status != 400 {
		t.Fatalf("reviewer without the request reference: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/my-data-access?subject=123", "reviewer", nil); r.Status != 400 {
		t.Fatalf("bad subject: %d", r.Status)
	}
}

func TestQueryValidation(t *testing.T) {
	h := hubtest.Start(t)
	for _, q := range []string{"from=yesterday", "outcome=maybe", "format=xml", "limit=0", "from=2025-02-01&to=2025-01-01", "subject=43130219850312002X"} {
		if r := h.Do("GET", "/api/v1/audit/events?"+q, "reviewer", nil); r.Status != 400 {
			t.Errorf("%s: %d %s", q, r.Status, r.Body)
		}
	}
	for _, path := range []string{"/api/v1/audit/anomalies", "/api/v1/stats/reuse"} {
		if r := h.Do("GET", path, "reviewer", nil); r.Status != 200 {
			t.Errorf("%s: %d %s", path, r.Status, r.Body)
		}
	}
	if r := h.Do("GET", "/api/v1/stats/reuse", "catalog-admin", nil); r.Status != 200 {
		t.Errorf("stats for the e-government office: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/audit/anomalies", "catalog-admin", nil); r.Status != 403 {
		t.Errorf("anomalies for a non-reviewer: %d", r.Status)
	}
}

// TestReuseStatsOfADepartmentAdminAreItsOwn: a department admin reads its
// own department's reuse statistics only; reviewers and catalog admins
// read every department's.
func TestReuseStatsOfADepartmentAdminAreItsOwn(t *testing.T) {
	h := hubtest.Start(t)
	now := time.Now().UTC()
	var events []audit.Event
	for _, dept := range []string{"lx-gsc", "lx-gsc", "lx-hrss"} {
		events = append(events, audit.Event{Time: now, PrincipalID: "p-" + dept, Department: dept, Role: "officer", Action: audit.ActionReuse,
			Resource: "population", Outcome: audit.Allowed, Reason: audit.ReuseReason("item-a", "m-a"), Count: 1})
	}
	if err := h.Audit.RecordAll(context.Background(), events); err != nil {
		t.Fatal(err)
	}
	type body struct {
		Stats audit.ReuseStats `json:"stats"`
	}
	departments := func(r hubtest.Response) map[string]int {
		t.Helper()
		var b body
		r.JSON(t, &b)
		got := map[string]int{}
		for _, c := range b.Stats.ByDepartment {
			got[c.Key] = int(c.Count)
		}
		return got
	}
	cases := []struct {
		name, principal, query string
		status                 int
		want                   map[string]int
	}{
		{"admin, own by default", "admin-gsc", "", 200, map[string]int{"lx-gsc": 2}},
		{"admin, own named", "admin-gsc", "?department=lx-gsc", 200, map[string]int{"lx-gsc": 2}},
		{"admin, another department", "admin-gsc", "?department=lx-hrss", 403, nil},
		{"other admin", "admin-hrss", "", 200, map[string]int{"lx-hrss": 1}},
		{"reviewer, all", "reviewer", "", 200, map[string]int{"lx-gsc": 2, "lx-hrss": 1}},
		{"catalog admin, one", "catalog-admin", "?department=lx-hrss", 200, map[string]int{"lx-hrss": 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Do("GET", "/api/v1/stats/reuse"+tc.query, tc.principal, nil)
			if r.Status != tc.status {
				t.Fatalf("%d %s, want %d", r.Status, r.Body, tc.status)
			}
			if tc.status != 200 {
				if !strings.Contains(string(r.Body), "department_mismatch") {
					t.Fatalf("body %s, want department_mismatch", r.Body)
				}
				return
			}
			if got := departments(r); !maps.Equal(got, tc.want) {
				t.Fatalf("by department %v, want %v", got, tc.want)
			}
		})
	}
}
