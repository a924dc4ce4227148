package console_test

import (
	"strings"
	"testing"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// The officer's case list and case page, the citizen's own cases, and
// another department's officer refused the case page.
func TestCasePages(t *testing.T) {
	h := hubtest.Start(t)
	waitLibrary(t, h)
	if r := h.Do("POST", "/api/v1/lookups", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity,
		"case_number": "PAGE-CASE-1", "purpose": "社会保障卡申领"}); r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	if r := h.Do("PATCH", "/api/v1/cases/PAGE-CASE-1", "gsc-system", map[string]string{"state": "accepted"}); r.Status != 200 {
		t.Fatalf("accept: %d %s", r.Status, r.Body)
	}

	officer := newClient(t, h.URL)
	officer.signIn(h, "officer-gsc")
	code, body := officer.get("/console/cases")
	if code != 200 || !strings.Contains(body, `data-case="PAGE-CASE-1"`) || !strings.Contains(body, "已受理") || !strings.Contains(body, "社会保障卡申领") {
		t.Fatalf("case list: %d %s", code, body)
	}
	code, body = officer.get("/console/cases/PAGE-CASE-1")
	for _, want := range []string{`data-material="identity" data-source="library"`, `data-material="photo" data-source="brought"`, "一库共享获取", "申请人提交", "时限 10 个工作日"} {
		if code != 200 || !strings.Contains(body, want) {
			t.Fatalf("case page lacks %q: %d %s", want, code, body)
		}
	}
	if strings.Contains(body, lookupdemo.Citizen) {
		t.Errorf("the case page shows the ID number unmasked")
	}

	citizen := newClient(t, h.URL)
	citizen.signIn(h, "citizen-demo")
	if code, body := citizen.get("/console/cases"); code != 200 || !strings.Contains(body, `data-case="PAGE-CASE-1"`) || !strings.Contains(body, "我的办件") {
		t.Fatalf("citizen's cases: %d %s", code, body)
	}

	// The office sees the item's processing against its time limit.
	if r := h.Do("PATCH", "/api/v1/cases/PAGE-CASE-1", "gsc-system", map[string]string{"state": "approved"}); r.Status != 200 {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	office := newClient(t, h.URL)
	office.signIn(h, "catalog-admin")
	if code, body := office.get("/console/reuse"); code != 200 || !strings.Contains(body, `<tr data-item="social-security-card"><td>社会保障卡申领</td><td>10</td><td>1</td><td>1</td><td>0</td><td>1</td><td>0</td>`) {
		t.Fatalf("reuse page: %d %s", code, body)
	}

	other := newClient(t, h.URL)
	other.signIn(h, "officer-lp")
	if code, _ := other.get("/console/cases/PAGE-CASE-1"); code != 403 {
		t.Fatalf("another department's officer: %d", code)
	}
	if code, body := other.get("/console/cases"); code != 200 || strings.Contains(body, "PAGE-CASE-1") {
		t.Fatalf("another department's list: %d", code)
	}
}
