package console_test

import (
	"net/url"
	"regexp"
	"strings"
	"testing"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// The officer's case list and case page, the citizen's own cases, and
// another department's officer refused the case page.
func TestCasePages(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
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

// The case page's state form: the handling department's officer sees the
// moves the case allows from its state and makes them; a move it no
// longer allows comes back beside the form; an officer of the department
// that only looked the case up sees no form and is refused when sending one.
func TestCaseStateForm(t *testing.T) {
	h := hubtest.Start(t)
	if r := h.Do("POST", "/api/v1/lookups", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity,
		"case_number": "STATE-CASE-1", "purpose": "社会保障卡申领"}); r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	officer := newClient(t, h.URL)
	officer.signIn(h, "officer-gsc")
	code, page := officer.get("/console/cases/STATE-CASE-1")
	if code != 200 || !strings.Contains(page, `form method="post" action="/console/cases/STATE-CASE-1/state"`) {
		t.Fatalf("case page: %d %.2000s", code, page)
	}
	if moves := radios(page); moves != "accepted,rejected" {
		t.Fatalf("moves offered from opened: %q", moves)
	}
	rev := regexp.MustCompile(`name="revision" value="(\d+)"`).FindStringSubmatch(page)
	if rev == nil {
		t.Fatalf("no revision in the state form: %.2000s", page)
	}
	// Without the CSRF token: refused, the case unchanged.
	if code, _ := officer.post("/console/cases/STATE-CASE-1/state", url.Values{"state": {"accepted"}}); code != 403 {
		t.Fatalf("csrf-less move: %d", code)
	}
	// No state chosen: the error beside the field.
	if code, body := officer.post("/console/cases/STATE-CASE-1/state", url.Values{"csrf": {csrf(t, page)}}); code != 422 || !strings.Contains(body, `id="move-state-error"`) {
		t.Fatalf("no state: %d %.2000s", code, body)
	}
	code, page = officer.post("/console/cases/STATE-CASE-1/state", url.Values{"csrf": {csrf(t, page)}, "revision": {rev[1]}, "state": {"accepted"}, "note": {"材料齐全，予以受理"}})
	if code != 200 || !strings.Contains(page, `id="case-state">已受理`) || !strings.Contains(page, "办件状态已变更") || !strings.Contains(page, "材料齐全，予以受理") {
		t.Fatalf("accept: %d %.2000s", code, page)
	}
	if moves := radios(page); moves != "approved,rejected" {
		t.Fatalf("moves offered from accepted: %q", moves)
	}
	// A form shown before that move (its revision): 409 above the form,
	// though rejecting is allowed from accepted too.
	code, body := officer.post("/console/cases/STATE-CASE-1/state", url.Values{"csrf": {csrf(t, page)}, "revision": {rev[1]}, "state": {"rejected"}})
	if code != 409 || !strings.Contains(body, "办件刚被他人修改") || !strings.Contains(body, `id="case-state">已受理`) {
		t.Fatalf("stale form: %d %.2000s", code, body)
	}
	rev = regexp.MustCompile(`name="revision" value="(\d+)"`).FindStringSubmatch(page)
	// A move the state does not allow: 409 above the form.
	code, body = officer.post("/console/cases/STATE-CASE-1/state", url.Values{"csrf": {csrf(t, page)}, "revision": {rev[1]}, "state": {"finished"}})
	if code != 409 || !strings.Contains(body, "办件当前状态不允许此变更") {
		t.Fatalf("finished from accepted: %d %.2000s", code, body)
	}
	// A note too long for the API: its field error beside the note.
	code, body = officer.post("/console/cases/STATE-CASE-1/state", url.Values{"csrf": {csrf(t, page)}, "revision": {rev[1]}, "state": {"approved"}, "note": {strings.Repeat("长", 501)}})
	if code != 422 || !strings.Contains(body, `id="move-note-error"`) {
		t.Fatalf("long note: %d %.2000s", code, body)
	}

	// The street's officer opens a case of an item the service centre
	// handles: it sees the case, without the form, and may not move it.
	if r := h.Do("POST", "/api/v1/lookups", "officer-lp", map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity,
		"case_number": "STATE-CASE-LP", "purpose": "社会保障卡申领"}); r.Status != 200 {
		t.Fatalf("lookup by officer-lp: %d %s", r.Status, r.Body)
	}
	other := newClient(t, h.URL)
	other.signIn(h, "officer-lp")
	code, page = other.get("/console/cases/STATE-CASE-LP")
	if code != 200 || strings.Contains(page, "/state\"") {
		t.Fatalf("officer-lp's case page: %d (form shown: %v)", code, strings.Contains(page, "/state\""))
	}
	if code, body := other.post("/console/cases/STATE-CASE-LP/state", url.Values{"csrf": {csrf(t, page)}, "revision": {"1"}, "state": {"accepted"}}); code != 403 || !strings.Contains(body, `data-status="403"`) {
		t.Fatalf("officer-lp moving: %d %.1000s", code, body)
	}
}

var radioRe = regexp.MustCompile(`type="radio" id="move-[a-z]+" name="state" value="([a-z]+)"`)

// radios lists the state form's offered moves.
func radios(page string) string {
	var out []string
	for _, m := range radioRe.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return strings.Join(out, ",")
}
