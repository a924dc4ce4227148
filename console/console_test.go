package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/hub/hubtest"
	"yiku/identity"
	"yiku/lookup/lookupdemo"
)

// client is a browser-like HTTP client with a cookie jar.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
	// last answer's headers
	header http.Header
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar}}
}

func (c *client) do(req *http.Request) (int, string) {
	c.t.Helper()
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	c.header = res.Header
	return res.StatusCode, string(b)
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	return c.do(req)
}

func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token in page: %.300s", page)
	}
	return m[1]
}

// signIn signs c in with secret and returns the page it lands on.
func (c *client) signInSecret(secret string) (int, string) {
	c.t.Helper()
	_, page := c.get("/console/sign-in")
	return c.post("/console/sign-in", url.Values{"csrf": {csrf(c.t, page)}, "credential": {secret}})
}

func (c *client) signIn(h *hubtest.Hub, principal string) string {
	c.t.Helper()
	code, body := c.signInSecret(h.Secret(principal))
	if code != http.StatusOK {
		c.t.Fatalf("sign in as %s: %d %.500s", principal, code, body)
	}
	return body
}

// events returns the audit events recorded since from, read as the reviewer through the API.
func events(t testing.TB, h *hubtest.Hub, q url.Values) []audit.Event {
	t.Helper()
	q.Set("limit", "1000")
	r := h.Do("GET", "/api/v1/audit/events?"+q.Encode(), "reviewer", nil)
	if r.Status != 200 {
		t.Fatalf("audit query: %d %s", r.Status, r.Body)
	}
	var out struct {
		Events []audit.Event `json:"events"`
	}
	r.JSON(t, &out)
	return out.Events
}

func TestSignInSessionAndHeaders(t *testing.T) {
	h := hubtest.Start(t)
	c := newClient(t, h.URL)

	// / and /console lead to the console; without a session, to sign-in.
	code, page := c.get("/")
	if code != 200 || !strings.Contains(page, `action="/console/sign-in"`) || !strings.Contains(page, `<html lang="zh-CN">`) {
		t.Fatalf("/ → %d %.300s", code, page)
	}
	for name, want := range map[string]string{
		"Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'",
		"X-Frame-Options":         "DENY",
		"X-Content-Type-Options":  "nosniff",
		"Cache-Control":           "no-store",
	} {
		if got := c.header.Get(name); !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", name, got, want)
		}
	}
	if !strings.Contains(c.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Errorf("CSP without frame-ancestors: %s", c.header.Get("Content-Security-Policy"))
	}

	// The session cookie is HttpOnly and SameSite=Strict.
	_, page = c.get("/console/sign-in")
	req, _ := http.NewRequest(http.MethodPost, h.URL+"/console/sign-in", strings.NewReader(url.Values{"csrf": {csrf(t, page)}, "credential": {h.Secret("officer-gsc")}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := (&http.Client{Jar: c.hc.Jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/console/lookup" {
		t.Fatalf("sign-in: %d → %s", res.StatusCode, res.Header.Get("Location"))
	}
	var session *http.Cookie
	for _, ck := range res.Cookies() {
		if ck.Name == "yiku_session" {
			session = ck
		}
	}
	if session == nil || !session.HttpOnly || session.SameSite != http.SameSiteStrictMode || session.Secure || len(session.Value) < 40 {
		t.Fatalf("session cookie = %+v", session)
	}
	code, page = c.get("/console/lookup")
	if code != 200 || !strings.Contains(page, "政务服务中心窗口审批员 王芳") {
		t.Fatalf("lookup page: %d %.300s", code, page)
	}

	// A form without the CSRF token is refused, and so is one with a wrong token.
	code, page = c.post("/console/lookup", url.Values{"applicant": {lookupdemo.Citizen}})
	if code != http.StatusForbidden || !strings.Contains(page, "CSRF") {
		t.Fatalf("CSRF-less post: %d %.300s", code, page)
	}
	code, _ = c.post("/console/sign-out", url.Values{"csrf": {"x" + strings.Repeat("a", 42)}})
	if code != http.StatusForbidden {
		t.Fatalf("wrong-token sign-out: %d", code)
	}

	// English is selectable.
	_, page = c.get("/console/lookup")
	code, page = c.post("/console/lang", url.Values{"csrf": {csrf(t, page)}, "lang": {"en"}, "next": {"/console/lookup"}})
	if code != 200 || !strings.Contains(page, "Material lookup") || !strings.Contains(page, `<html lang="en">`) {
		t.Fatalf("english: %d %.400s", code, page)
	}

	// A page of another role answers the 403 page, and the API's refusal is audited.
	code, page = c.get("/console/audit")
	if code != http.StatusForbidden || !strings.Contains(page, `data-status="403"`) {
		t.Fatalf("officer on audit page: %d %.300s", code, page)
	}

	// Sign-out ends the session on the server.
	code, _ = c.post("/console/sign-out", url.Values{"csrf": {csrf(t, page)}})
	if code != 200 {
		t.Fatalf("sign-out: %d", code)
	}
	// The old cookie no longer works even if a copy was kept.
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(h.URL)
	jar.SetCookies(u, []*http.Cookie{{Name: "yiku_session", Value: session.Value, Path: "/"}})
	stale := &client{t: t, base: h.URL, hc: &http.Client{Jar: jar}}
	if _, page := stale.get("/console/lookup"); !strings.Contains(page, `action="/console/sign-in"`) {
		t.Fatalf("a signed-out session still works: %.300s", page)
	}

	// Sign-in and sign-out are in the audit trail.
	got := events(t, h, url.Values{"action": {"console.sign_in"}})
	if len(got) != 1 || got[0].PrincipalName != "officer-gsc" || got[0].Outcome != audit.Allowed || got[0].ClientAddr == "" {
		t.Fatalf("sign-in events = %+v", got)
	}
	if got := events(t, h, url.Values{"action": {"console.sign_out"}}); len(got) != 1 || got[0].PrincipalName != "officer-gsc" {
		t.Fatalf("sign-out events = %+v", got)
	}
	if got := events(t, h, url.Values{"principal": {"officer-gsc"}, "outcome": {"denied"}, "action": {"GET /api/v1/audit/events"}}); len(got) == 0 {
		// The refused call is audited under the API's own action name.
		all := events(t, h, url.Values{"principal": {"officer-gsc"}, "outcome": {"denied"}})
		if len(all) == 0 {
			t.Fatalf("the refused audit page left no denied event")
		}
	}
}

func TestSignInFailuresAreLimitedAndAudited(t *testing.T) {
	h := hubtest.Start(t)
	c := newClient(t, h.URL)
	for i := 0; i < 5; i++ {
		code, page := c.signInSecret("yk_bogus_" + strings.Repeat("0", 48))
		if code != http.StatusUnauthorized || !strings.Contains(page, "凭据无效") || !strings.Contains(page, `aria-invalid="true"`) {
			t.Fatalf("bad sign-in %d: %d %.300s", i, code, page)
		}
	}
	// The sixth failure in a row waits, even with a good credential.
	code, page := c.signInSecret(h.Secret("reviewer"))
	if code != http.StatusTooManyRequests || !strings.Contains(page, "登录失败次数过多") {
		t.Fatalf("after five failures: %d %.300s", code, page)
	}
	got := events(t, h, url.Values{"action": {"console.sign_in"}, "outcome": {"denied"}})
	reasons := map[string]int{}
	for _, e := range got {
		reasons[e.Reason]++
		if e.ClientAddr == "" || e.PrincipalID != "" {
			t.Errorf("failed sign-in event = %+v", e)
		}
	}
	if reasons["invalid_credential"] != 5 || reasons["rate_limited"] != 1 {
		t.Fatalf("failed sign-in events by reason = %v", reasons)
	}
}

func TestDisabledPrincipalSessionEnds(t *testing.T) {
	h := hubtest.Start(t)
	c := newClient(t, h.URL)
	c.signIn(h, "officer-lp")
	var ps struct {
		Principals []struct{ ID, Name string } `json:"principals"`
	}
	h.Do("GET", "/api/v1/admin/principals", "catalog-admin", nil).JSON(t, &ps)
	id := ""
	for _, p := range ps.Principals {
		if p.Name == "officer-lp" {
			id = p.ID
		}
	}
	if r := h.Do("POST", "/api/v1/admin/principals/"+id+"/disable", "catalog-admin", nil); r.Status >= 300 {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if _, page := c.get("/console/lookup"); !strings.Contains(page, `action="/console/sign-in"`) {
		t.Fatalf("a disabled principal's session still opens pages: %.300s", page)
	}
}

// comparable is an audit event without what differs between any two calls
// (id, time, request id).
func comparable(e audit.Event) audit.Event {
	e.ID, e.Time, e.RequestID = "", time.Time{}, ""
	return e
}

// TestConsoleReadsAuditedLikeAPI opens each main page in the console and
// makes the equivalent API calls with the same credential, and checks that
// both leave the same audit events (action, resource, subjects' hashes,
// fields, purpose, case number, outcome, reason, principal, client).
func TestConsoleReadsAuditedLikeAPI(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	lookupForm := url.Values{"applicant": {lookupdemo.Citizen}, "service_item": {lookupdemo.ItemSocialSecurity},
		"case_number": {"SAME-CASE-1"}, "purpose": {lookupdemo.ItemSocialSecurity + "::社会保障卡申领"}}
	lookupBody := map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity, "case_number": "SAME-CASE-1", "purpose": "社会保障卡申领"}
	type apiCall struct {
		method, path string
		body         any
	}
	// An event to open: the reviewer's own query leaves one.
	events(t, h, url.Values{})
	anEvent := events(t, h, url.Values{"action": {"audit.query"}})[0].ID
	// An objection of the service centre's officer to a population record.
	obj := raiseObjection(t, h, "officer-gsc", "population", lookupdemo.Citizen, "name")
	cases := []struct {
		who  string
		page string
		form url.Values // POST the page's form when set
		api  []apiCall
	}{
		{"officer-gsc", "/console/lookup", nil, []apiCall{{"GET", "/api/v1/service-items?limit=1000", nil}, {"GET", "/api/v1/access", nil}}},
		{"officer-gsc", "/console/lookup", lookupForm, []apiCall{{"GET", "/api/v1/service-items?limit=1000", nil}, {"GET", "/api/v1/access", nil}, {"POST", "/api/v1/lookups", lookupBody}}},
		{"citizen-demo", "/console/my-data", nil, []apiCall{{"GET", "/api/v1/my-data-access", nil}, {"GET", "/api/v1/catalog/departments", nil}}},
		{"officer-gsc", "/console/cases?state=opened", nil, []apiCall{{"GET", "/api/v1/cases?limit=100&state=opened", nil}}},
		{"officer-gsc", "/console/cases/SAME-CASE-1", nil, []apiCall{{"GET", "/api/v1/cases/SAME-CASE-1", nil}}},
		{"citizen-demo", "/console/cases", nil, []apiCall{{"GET", "/api/v1/cases?limit=100", nil}}},
		{"reviewer", "/console/audit?subject=" + lookupdemo.Citizen + "&outcome=allowed", nil, []apiCall{{"GET", "/api/v1/audit/events?limit=50&outcome=allowed&subject=" + lookupdemo.Citizen, nil}}},
		{"reviewer", "/console/anomalies", nil, []apiCall{{"GET", "/api/v1/audit/anomalies", nil}}},
		{"reviewer", "/console/audit/events/" + anEvent, nil, []apiCall{{"GET", "/api/v1/audit/events/" + anEvent, nil}}},
		{"admin-hrss", "/console/share-requests", nil, []apiCall{{"GET", "/api/v1/share-requests/to-me?limit=200", nil}, {"GET", "/api/v1/share-requests/mine?limit=200", nil}}},
		{"admin-gsc", "/console/access", nil, []apiCall{{"GET", "/api/v1/access", nil}}},
		{"catalog-admin", "/console/resources?share_type=conditional", nil, []apiCall{{"GET", "/api/v1/catalog/resources?limit=200&share_type=conditional", nil}}},
		{"catalog-admin", "/console/departments", nil, []apiCall{{"GET", "/api/v1/catalog/departments", nil}}},
		{"catalog-admin", "/console/reuse", nil, []apiCall{{"GET", "/api/v1/stats/reuse", nil}, {"GET", "/api/v1/catalog/departments", nil}}},
		{"catalog-admin", "/console/share-requests", nil, []apiCall{{"GET", "/api/v1/share-requests/all?limit=51", nil}}},
		{"catalog-admin", "/console/resources/population", nil, []apiCall{{"GET", "/api/v1/catalog/resources/population", nil}, {"GET", "/api/v1/catalog/resources/population/versions", nil}}},
		{"catalog-admin", "/console/principals", nil, []apiCall{{"GET", "/api/v1/admin/principals", nil}, {"GET", "/api/v1/catalog/departments", nil}}},
		{"admin-psb", "/console/exchange", nil, []apiCall{{"GET", "/api/v1/exchange/status", nil}, {"GET", "/api/v1/dead-letters?limit=100", nil}}},
		{"admin-psb", "/console/objections", nil, []apiCall{{"GET", "/api/v1/objections/to-me?limit=200", nil}, {"GET", "/api/v1/objections/mine?limit=200", nil}}},
		{"officer-gsc", "/console/objections?status=open", nil, []apiCall{{"GET", "/api/v1/objections/to-me?limit=200&status=open", nil}, {"GET", "/api/v1/objections/mine?limit=200&status=open", nil}}},
		{"admin-psb", "/console/objections/" + obj, nil, []apiCall{{"GET", "/api/v1/objections/" + obj, nil}, {"GET", "/api/v1/objections/" + obj + "/history", nil}}},
		{"catalog-admin", "/console/objections", nil, []apiCall{{"GET", "/api/v1/objections/overdue?limit=200", nil}}},
		{"catalog-admin", "/console/supervision/freshness?stale=true", nil, []apiCall{{"GET", "/api/v1/supervision/freshness?stale=true", nil}}},
		{"admin-psb", "/console/supervision/freshness", nil, []apiCall{{"GET", "/api/v1/supervision/freshness", nil}}},
		{"catalog-admin", "/console/supervision/reports?period=2026-11", nil, []apiCall{{"GET", "/api/v1/supervision/reports?period=2026-11", nil}}},
		{"admin-psb", "/console/supervision/reports?period=2026-11", nil, []apiCall{{"GET", "/api/v1/supervision/reports?period=2026-11", nil}}},
		{"catalog-admin", "/console/supervision/reports/export?period=2026-11&format=xlsx", nil, []apiCall{{"GET", "/api/v1/supervision/reports?format=xlsx&period=2026-11", nil}}},
	}
	byRequest := func(id string) []audit.Event {
		var out []audit.Event
		for _, e := range events(t, h, url.Values{}) {
			if e.RequestID == id {
				out = append(out, comparable(e))
			}
		}
		sort.Slice(out, func(i, j int) bool { return out[i].Action+out[i].Resource < out[j].Action+out[j].Resource })
		return out
	}
	for i, tc := range cases {
		c := newClient(t, h.URL)
		c.signIn(h, tc.who)
		code, page := c.get(tc.page)
		if tc.form != nil {
			tc.form.Set("csrf", csrf(t, page))
			code, page = c.post(tc.page, tc.form)
		}
		if code != 200 {
			t.Fatalf("%s %s: %d %.400s", tc.who, tc.page, code, page)
		}
		consoleID := c.header.Get("X-Request-ID")
		apiID := "api-equivalent-" + string(rune('a'+i))
		for _, call := range tc.api {
			if r := h.Do(call.method, call.path, tc.who, call.body, "X-Request-ID", apiID); r.Status >= 300 {
				t.Fatalf("%s %s: %d %s", call.method, call.path, r.Status, r.Body)
			}
		}
		got, want := byRequest(consoleID), byRequest(apiID)
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%s: console left %d events, the API %d:\n%+v\n%+v", tc.page, len(got), len(want), got, want)
		}
		for j := range got {
			g, w := got[j], want[j]
			// The reviewer's own search finds one more event (the
			// console's search) when run second; the count is the only
			// difference the order of the two calls makes.
			if g.Action == "audit.query" {
				g.Count, w.Count = 0, 0
			}
			if g.Action == "audit.anomalies" {
				g.Count, w.Count = 0, 0
			}
			if !sameEvent(g, w) {
				t.Errorf("%s event %d:\nconsole %+v\napi     %+v", tc.page, j, g, w)
			}
		}
	}
}

func sameEvent(a, b audit.Event) bool {
	return a.Action == b.Action && a.Resource == b.Resource && strings.Join(a.Subjects, ",") == strings.Join(b.Subjects, ",") &&
		strings.Join(a.Fields, ",") == strings.Join(b.Fields, ",") && a.Purpose == b.Purpose && a.CaseNumber == b.CaseNumber &&
		a.Outcome == b.Outcome && a.Reason == b.Reason && a.PrincipalID == b.PrincipalID && a.PrincipalName == b.PrincipalName &&
		a.Department == b.Department && a.Role == b.Role && a.ClientAddr == b.ClientAddr && a.Count == b.Count
}

// TestConsoleExpiresKey: a department admin sets a key's expiry from the
// principal page: CSRF is required, an unreadable time, a past time and a
// later expiry are shown beside the key's field, a time in China Standard
// Time is stored as that instant, an empty field expires the key now and it
// stops working; the console's call is audited like the API's.
func TestConsoleExpiresKey(t *testing.T) {
	h := hubtest.Start(t)
	sys, err := h.Auth.Store().PrincipalByName(t.Context(), "psb-system")
	if err != nil {
		t.Fatal(err)
	}
	issue := func() identity.IssuedKey {
		t.Helper()
		r := h.Do("POST", "/api/v1/admin/principals/"+sys.ID+"/api-keys", "admin-psb", map[string]string{"expires_in": "720h"})
		if r.Status != http.StatusCreated {
			t.Fatalf("issue: %d %s", r.Status, r.Body)
		}
		var k identity.IssuedKey
		r.JSON(t, &k)
		return k
	}
	stored := func(id string) identity.APIKey {
		t.Helper()
		k, err := h.Auth.APIKey(t.Context(), id)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	k, other := issue(), issue()
	c := newClient(t, h.URL)
	c.signIn(h, "admin-psb")
	pagePath := "/console/principals/" + sys.ID
	code, page := c.get(pagePath)
	if code != 200 || !strings.Contains(page, `data-key="`+k.ID+`" data-state="active"`) || !strings.Contains(page, `id="x-`+k.ID+`" name="at"`) {
		t.Fatalf("principal page: %d %.1500s", code, page)
	}
	token := csrf(t, page)
	expirePath := pagePath + "/api-keys/" + k.ID + "/expire"
	cst := time.FixedZone("CST", 8*3600)
	local := func(d time.Duration) string { return time.Now().Add(d).In(cst).Format("2006-01-02T15:04") }
	refusals := []struct {
		name, at, want string
	}{
		{"unreadable", "明天", "请填写日期和时间"},
		{"an hour ago", local(-time.Hour), "到期时间不能早于现在"},
		{"after the key's expiry", local(1000 * time.Hour), "不能晚于密钥现有的到期时间"},
	}
	for _, r := range refusals {
		code, page := c.post(expirePath, url.Values{"csrf": {token}, "at": {r.at}})
		errShown := regexp.MustCompile(`<p class="error" id="x-` + k.ID + `-error">([^<]*)</p>`).FindStringSubmatch(page)
		if code != http.StatusUnprocessableEntity || errShown == nil || !strings.Contains(errShown[1], r.want) || !strings.Contains(page, `value="`+r.at+`"`) {
			t.Fatalf("%s: %d, field error %q, want %q beside the key's field and the value kept\n%.2000s", r.name, code, errShown, r.want, page)
		}
		if strings.Contains(page, `id="x-`+other.ID+`-error"`) {
			t.Fatalf("%s: the error is also shown beside another key", r.name)
		}
	}
	if code, _ := c.post(expirePath, url.Values{"at": {""}}); code != http.StatusForbidden {
		t.Fatalf("without the CSRF token: %d", code)
	}
	if got := stored(k.ID); got.ExpiresAt == nil || got.ExpiresAt.Sub(got.CreatedAt) != 720*time.Hour {
		t.Fatalf("a refused expiry changed the key: %+v", got)
	}

	// Two hours ahead, typed in China Standard Time.
	at := local(2 * time.Hour)
	code, page = c.post(expirePath, url.Values{"csrf": {token}, "at": {at}})
	if code != 200 || !strings.Contains(page, "已设置密钥到期时间") {
		t.Fatalf("expire in 2h: %d %.1500s", code, page)
	}
	want, _ := time.ParseInLocation("2006-01-02T15:04", at, cst)
	if got := stored(k.ID); got.ExpiresAt == nil || !got.ExpiresAt.Equal(want) {
		t.Fatalf("stored expiry %v, want %v", got.ExpiresAt, want)
	}
	if r := h.DoSecret("GET", "/api/v1/me", k.Secret, nil); r.Status != 200 {
		t.Fatalf("a key expiring in 2h: %d", r.Status)
	}

	// Now (empty field), without following the redirect so the answer's
	// request id is the call's; then the same through the API on the other key.
	c.hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if code, _ := c.post(expirePath, url.Values{"csrf": {token}, "at": {""}}); code != http.StatusSeeOther {
		t.Fatalf("expire now: %d", code)
	}
	consoleID := c.header.Get("X-Request-ID")
	c.hc.CheckRedirect = nil
	if r := h.DoSecret("GET", "/api/v1/me", k.Secret, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("an expired key: %d", r.Status)
	}
	if r := h.Do("POST", "/api/v1/admin/api-keys/"+other.ID+"/expire", "admin-psb", map[string]string{}, "X-Request-ID", "api-expire"); r.Status != 200 {
		t.Fatalf("api expire: %d %s", r.Status, r.Body)
	}
	var got, api []audit.Event
	for _, e := range events(t, h, url.Values{"action": {"apikey.expire"}}) {
		switch e.RequestID {
		case consoleID:
			got = append(got, comparable(e))
		case "api-expire":
			api = append(api, comparable(e))
		}
	}
	if len(got) != 1 || len(api) != 1 || got[0].Reason != "api key "+k.ID+" of psb-system" || api[0].Reason != "api key "+other.ID+" of psb-system" {
		t.Fatalf("expiry events: console %+v, api %+v", got, api)
	}
	got[0].Reason = api[0].Reason
	if !sameEvent(got[0], api[0]) {
		t.Fatalf("console %+v\napi     %+v", got[0], api[0])
	}
	_, page = c.get(pagePath)
	for _, id := range []string{k.ID, other.ID} {
		row := regexp.MustCompile(`(?s)<tr data-key="` + id + `" data-state="(\w+)">.*?</tr>`).FindStringSubmatch(page)
		if row == nil || row[1] != "expired" || !strings.Contains(row[0], "已到期") || strings.Contains(row[0], "/expire") {
			t.Fatalf("key %s after expiry: %q", id, row)
		}
	}

	// Another department's admin can neither see nor expire the key.
	amr := newClient(t, h.URL)
	amrPage := amr.signIn(h, "admin-amr")
	if code, _ := amr.get(pagePath); code != http.StatusNotFound {
		t.Fatalf("another department's principal page: %d", code)
	}
	third := issue()
	if code, _ := amr.post(pagePath+"/api-keys/"+third.ID+"/expire", url.Values{"csrf": {csrf(t, amrPage)}, "at": {""}}); code != http.StatusForbidden {
		t.Fatalf("another department's admin expires a key: %d", code)
	}
	if got := stored(third.ID); got.State(time.Now()) != identity.KeyActive {
		t.Fatalf("a key another department's admin tried to expire: %+v", got)
	}
}

// raiseObjection raises, through the API as who, an objection to the
// current version of a record who may read, and returns its id.
func raiseObjection(t testing.TB, h *hubtest.Hub, who, resource, subject string, fields ...string) string {
	t.Helper()
	q := url.Values{"purpose": {"社会保障卡申领"}, "case_number": {"OBJ-CASE-1"}}
	r := h.Do("GET", "/api/v1/resources/"+resource+"/records/"+subject+"?"+q.Encode(), who, nil)
	if r.Status != 200 {
		t.Fatalf("read %s/%s: %d %s", resource, subject, r.Status, r.Body)
	}
	var rec struct {
		Current struct{ Version int } `json:"current"`
	}
	r.JSON(t, &rec)
	r = h.Do("POST", "/api/v1/objections", who, map[string]any{"resource": resource, "subject": subject, "version": rec.Current.Version,
		"fields": fields, "problem": "姓名与户籍底册不符", "purpose": "社会保障卡申领", "case_number": "OBJ-CASE-1"})
	if r.Status != 201 {
		t.Fatalf("raise: %d %s", r.Status, r.Body)
	}
	var o struct{ ID string }
	r.JSON(t, &o)
	return o.ID
}
