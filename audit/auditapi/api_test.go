package auditapi_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/auditapi"
	"yiku/audit/audittest"
	"yiku/audit/journal"
	auditstore "yiku/audit/store"
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
	Events     []audit.Event `json:"events"`
	Total      int           `json:"total"`
	Limit      int           `json:"limit"`
	Offset     int           `json:"offset"`
	NextCursor string        `json:"next_cursor"`
}

type errorBody struct {
	Error struct {
		Code      string `json:"code"`
		Message   string `json:"message"`
		RequestID string `json:"request_id"`
		Details   []struct {
			Field  string `json:"field"`
			Reason string `json:"reason"`
		} `json:"details"`
	} `json:"error"`
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

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
	// A cursor the hub did not issue is refused with the one error shape.
	for _, cur := range []string{"%%%", "not base64!", b64("2.1700000000000000.1.chain"), b64("1.x.1.chain"), b64("1.1700000000000000.0.chain"),
		b64("1.1700000000000000.1."), b64("1.1700000000000000"), strings.Repeat("A", 600)} {
		r := h.Do("GET", "/api/v1/audit/events?"+url.Values{"cursor": {cur}}.Encode(), "reviewer", nil)
		var e errorBody
		r.JSON(t, &e)
		if r.Status != 400 || e.Error.Code != "invalid_cursor" || e.Error.Message == "" || e.Error.RequestID == "" ||
			len(e.Error.Details) != 1 || e.Error.Details[0].Field != "cursor" || e.Error.Details[0].Reason == "" {
			t.Errorf("cursor %q: %d %s", cur, r.Status, r.Body)
		}
	}
	r := h.Do("GET", "/api/v1/audit/events?offset=3&cursor="+b64("1.1700000000000000.1.chain"), "reviewer", nil)
	var e errorBody
	r.JSON(t, &e)
	if r.Status != 400 || e.Error.Code != "invalid_query" || len(e.Error.Details) != 1 || e.Error.Details[0].Field != "offset" {
		t.Errorf("cursor with offset: %d %s", r.Status, r.Body)
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
// own department's reuse statistics only (the materials it was supplied and
// its records supplied to others); reviewers and catalog admins read every
// department's.
func TestReuseStatsOfADepartmentAdminAreItsOwn(t *testing.T) {
	h := hubtest.Start(t)
	now := time.Now().UTC()
	var events []audit.Event
	// population is lx-psb's resource, social-security lx-hrss's.
	for _, e := range []struct{ dept, resource string }{{"lx-gsc", "population"}, {"lx-gsc", "population"}, {"lx-hrss", "population"}, {"lx-gsc", "social-security"}} {
		events = append(events, audit.Event{Time: now, PrincipalID: "p-" + e.dept, Department: e.dept, Role: "officer", Action: audit.ActionReuse,
			Resource: e.resource, Outcome: audit.Allowed, Reason: audit.ReuseReason("item-a", "m-a"), Count: 1})
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
		{"admin, own by default", "admin-gsc", "", 200, map[string]int{"lx-gsc": 3}},
		{"admin, own named", "admin-gsc", "?department=lx-gsc", 200, map[string]int{"lx-gsc": 3}},
		{"admin, another department", "admin-gsc", "?department=lx-hrss", 403, nil},
		{"admin, supplied and supplying", "admin-hrss", "", 200, map[string]int{"lx-hrss": 1, "lx-gsc": 1}},
		{"admin, supplying only", "admin-psb", "", 200, map[string]int{"lx-gsc": 2, "lx-hrss": 1}},
		{"reviewer, all", "reviewer", "", 200, map[string]int{"lx-gsc": 3, "lx-hrss": 1}},
		{"catalog admin, one", "catalog-admin", "?department=lx-hrss", 200, map[string]int{"lx-hrss": 1, "lx-gsc": 1}},
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

// window is a stretch of the trail seeded an hour ago, three events to a
// millisecond, alternately on the hub's chain and on a second chain (as a
// second hub instance writes it), so that keys tie on time across chains.
type window struct {
	h      *hubtest.Hub
	chains [2]audit.BatchRecorder
	action string
	base   time.Time
	seeded []string
	added  atomic.Int64
}

func seedWindow(t *testing.T, h *hubtest.Hub, action string, n int) *window {
	t.Helper()
	ctx := context.Background()
	other, err := journal.New(ctx, auditstore.New(h.DB.Gorm), audittest.Keys(t))
	if err != nil {
		t.Fatal(err)
	}
	w := &window{h: h, chains: [2]audit.BatchRecorder{h.Audit, other}, action: action, base: time.Now().Add(-time.Hour).Truncate(time.Millisecond)}
	var batches [2][]audit.Event
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("%s-%05d", action, i)
		w.seeded = append(w.seeded, id)
		batches[i%2] = append(batches[i%2], audit.Event{ID: id, Action: action, Department: "lx-gsc", Outcome: audit.Allowed,
			Time: w.base.Add(time.Duration(i/3) * time.Millisecond)})
	}
	for c, b := range batches {
		if err := w.chains[c].RecordAll(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	return w
}

// appendRound adds round i on chain i%2: one event stamped now and one
// stamped back inside the window (moving through it with i).
func (w *window) appendRound(i int) error {
	back := w.base.Add(time.Duration(i%len(w.seeded)/3)*time.Millisecond + 500*time.Microsecond)
	evs := []audit.Event{{ID: fmt.Sprintf("%s-new-%d", w.action, i), Action: w.action},
		{ID: fmt.Sprintf("%s-back-%d", w.action, i), Action: w.action, Time: back}}
	if err := w.chains[i%2].RecordAll(context.Background(), evs); err != nil {
		return err
	}
	w.added.Add(1)
	return nil
}

// appendWhile keeps adding events of the window's action on both chains
// until stop is closed: each round one stamped now and one stamped back
// inside the window. Either would shift offset paging.
func (w *window) appendWhile(t *testing.T, stop <-chan struct{}) (wait func()) {
	t.Helper()
	errs := make(chan error, 1)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(time.Millisecond):
			}
			if err := w.appendRound(i); err != nil {
				errs <- err
				return
			}
		}
	}()
	return func() {
		wg.Wait()
		select {
		case err := <-errs:
			t.Fatalf("append: %v", err)
		default:
		}
	}
}

// checkOnce fails unless every seeded event is in ids exactly once and no
// id repeats.
func (w *window) checkOnce(t *testing.T, what string, ids []string) {
	t.Helper()
	seen := map[string]int{}
	for _, id := range ids {
		if seen[id]++; seen[id] == 2 {
			t.Errorf("%s: event %s appears twice", what, id)
		}
	}
	for _, id := range w.seeded {
		if seen[id] != 1 {
			t.Errorf("%s: seeded event %s appears %d times", what, id, seen[id])
		}
	}
}

// TestPagingByCursorWhileEventsArrive: a reviewer follows next_cursor with a
// small limit while two instances keep appending events the filter selects,
// newer than the first page and inside the window; every event of the window
// appears exactly once, newest first, and the last page has no next_cursor.
// Two rounds are appended between pages rather than by a free-running
// appender, which on a slow machine could add events below the cursor faster
// than the walk consumes them.
func TestPagingByCursorWhileEventsArrive(t *testing.T) {
	h := hubtest.Start(t)
	w := seedWindow(t, h, "paging.probe", 120)

	q := url.Values{"action": {w.action}, "limit": {"7"}}
	var ids []string
	var last time.Time
	round := 0
	for pages := 0; ; pages++ {
		if pages > 500 {
			t.Fatal("paging does not end")
		}
		r := h.Do("GET", "/api/v1/audit/events?"+q.Encode(), "reviewer", nil)
		if r.Status != 200 {
			t.Fatalf("page %d: %d %s", pages, r.Status, r.Body)
		}
		var b eventsBody
		r.JSON(t, &b)
		if b.Limit != 7 || b.Total < len(w.seeded) {
			t.Fatalf("page %d: limit %d, total %d", pages, b.Limit, b.Total)
		}
		for _, e := range b.Events {
			if !last.IsZero() && e.Time.After(last) {
				t.Errorf("event %s at %s comes after one at %s: not newest first", e.ID, e.Time, last)
			}
			last = e.Time
			ids = append(ids, e.ID)
		}
		if b.NextCursor == "" {
			if len(b.Events) > 7 {
				t.Fatalf("last page holds %d events", len(b.Events))
			}
			break
		}
		if len(b.Events) != 7 {
			t.Fatalf("page %d holds %d events and a next_cursor", pages, len(b.Events))
		}
		q.Set("cursor", b.NextCursor)
		for n := 0; n < 2; n, round = n+1, round+1 {
			if err := w.appendRound(round); err != nil {
				t.Fatalf("append: %v", err)
			}
		}
	}
	w.checkOnce(t, "cursor paging", ids)

	// Offset paging still answers, with a cursor to continue from.
	r := h.Do("GET", "/api/v1/audit/events?"+url.Values{"action": {w.action}, "limit": {"5"}, "offset": {"5"}}.Encode(), "reviewer", nil)
	var b eventsBody
	r.JSON(t, &b)
	if r.Status != 200 || len(b.Events) != 5 || b.Offset != 5 || b.NextCursor == "" {
		t.Fatalf("offset paging: %d %s", r.Status, r.Body)
	}
}

// TestExportLargerThanAPageHasEachEventOnce: an export of a window larger
// than the store reads per query (1,000), while two instances keep
// appending inside the window, holds each event of the window once, in CSV
// and in NDJSON.
func TestExportLargerThanAPageHasEachEventOnce(t *testing.T) {
	h := hubtest.Start(t)
	w := seedWindow(t, h, "export.probe", 2500)
	stop := make(chan struct{})
	wait := w.appendWhile(t, stop)
	defer func() { close(stop); wait() }()

	for _, format := range []string{"csv", "ndjson"} {
		r := h.Do("GET", "/api/v1/audit/events?"+url.Values{"format": {format}, "action": {w.action}}.Encode(), "reviewer", nil)
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", format, r.Status, r.Body)
		}
		var ids []string
		if format == "csv" {
			recs, err := csv.NewReader(bytes.NewReader(r.Body)).ReadAll()
			if err != nil || len(recs) < 1 || recs[0][0] != "id" {
				t.Fatalf("csv: %v", err)
			}
			for _, rec := range recs[1:] {
				ids = append(ids, rec[0])
			}
		} else {
			sc := bufio.NewScanner(bytes.NewReader(r.Body))
			for sc.Scan() {
				var e audit.Event
				if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
					t.Fatalf("ndjson line %q: %v", sc.Text(), err)
				}
				ids = append(ids, e.ID)
			}
		}
		w.checkOnce(t, format, ids)
	}
}
