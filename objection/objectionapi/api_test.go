package objectionapi_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/fault"
	"yiku/hub/hubtest"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
	"yiku/objection"
)

const (
	purpose = "社会保障卡申领"
	caseNo  = "LX-SB-2025-0001"
)

type recordView struct {
	Version        int
	UnderObjection *objection.Flag `json:"under_objection"`
}

func readRecord(t *testing.T, h *hubtest.Hub, who, resource, subject string) recordView {
	t.Helper()
	q := url.Values{"purpose": {purpose}, "case_number": {caseNo}}
	r := h.Do(http.MethodGet, "/api/v1/resources/"+resource+"/records/"+subject+"?"+q.Encode(), who, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("read %s/%s: %d %s", resource, subject, r.Status, r.Body)
	}
	var out struct{ Current *recordView }
	r.JSON(t, &out)
	if out.Current == nil {
		t.Fatalf("read %s/%s: no current record", resource, subject)
	}
	return *out.Current
}

type errorBody struct {
	Error struct {
		Code    string
		Message string
	}
}

func raise(h *hubtest.Hub, who, resource, subject string, version int, fields ...string) hubtest.Response {
	return raiseFor(h, purpose, who, resource, subject, version, fields...)
}

func raiseFor(h *hubtest.Hub, purpose, who, resource, subject string, version int, fields ...string) hubtest.Response {
	return h.Do(http.MethodPost, "/api/v1/objections", who, map[string]any{
		"resource": resource, "subject": subject, "version": version, "fields": fields,
		"problem": "姓名与户籍底册不符", "evidence": "户籍底册第12页", "purpose": purpose, "case_number": caseNo})
}

func mustRaise(t *testing.T, h *hubtest.Hub, who, resource, subject string, version int, fields ...string) objection.Objection {
	t.Helper()
	r := raise(h, who, resource, subject, version, fields...)
	if r.Status != http.StatusCreated {
		t.Fatalf("raise on %s: %d %s", resource, r.Status, r.Body)
	}
	var o objection.Objection
	r.JSON(t, &o)
	return o
}

func get(t *testing.T, h *hubtest.Hub, who, id string) objection.Objection {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/objections/"+id, who, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("get %s as %s: %d %s", id, who, r.Status, r.Body)
	}
	var o objection.Objection
	r.JSON(t, &o)
	return o
}

func list(t *testing.T, h *hubtest.Hub, who, box string) []objection.Objection {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/objections/"+box, who, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("list %s as %s: %d %s", box, who, r.Status, r.Body)
	}
	var out struct{ Objections []objection.Objection }
	r.JSON(t, &out)
	return out.Objections
}

func ids(os []objection.Objection) []string {
	out := []string{}
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

func flagged(f *objection.Flag, id string) bool {
	return f != nil && slices.Contains(f.ObjectionIDs, id)
}

func history(t *testing.T, h *hubtest.Hub, who, id string) []string {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/objections/"+id+"/history", who, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("history %s: %d %s", id, r.Status, r.Body)
	}
	var out struct{ History []objection.HistoryEntry }
	r.JSON(t, &out)
	var steps []string
	for _, e := range out.History {
		steps = append(steps, e.Action)
	}
	return steps
}

func auditActions(t *testing.T, h *hubtest.Hub, action string) []audit.Event {
	t.Helper()
	r := h.Do(http.MethodGet, "/api/v1/audit/events?"+url.Values{"action": {action}, "limit": {"1000"}}.Encode(), "reviewer", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("audit query: %d %s", r.Status, r.Body)
	}
	var out struct{ Events []audit.Event }
	r.JSON(t, &out)
	return out.Events
}

// withReason counts the allowed events naming objection id.
func withReason(evs []audit.Event, id string) int {
	n := 0
	for _, e := range evs {
		if strings.Contains(e.Reason, "objection="+id) && e.Outcome == audit.Allowed {
			n++
		}
	}
	return n
}

// The whole life of an objection through the API: raised by a reader, the
// flag on every read path, corrected by a new version, rejected, withdrawn,
// escalated, refused to a reader without a grant; each step audited.
func TestObjectionLifecycle(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	ctx := context.Background()

	// A subscription of the service centre's system to the population
	// register, before anything is disputed.
	r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{"resource": "population", "purpose": purpose})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var sub struct{ ID string }
	r.JSON(t, &sub)

	cur := readRecord(t, h, "officer-gsc", "population", lookupdemo.Citizen)
	if cur.UnderObjection != nil {
		t.Fatalf("an undisputed record carries a flag: %+v", cur.UnderObjection)
	}
	before := time.Now()
	o := mustRaise(t, h, "officer-gsc", "population", lookupdemo.Citizen, cur.Version, "name")
	if o.Status != objection.StatusOpen || o.ProviderCode != "lx-psb" || o.RaiserCode != "lx-gsc" || o.RecordVersion != cur.Version ||
		!slices.Equal(o.Fields, []string{"name"}) || o.Overdue {
		t.Fatalf("raised = %+v", o)
	}
	if want := h.Calendar.Deadline(before, 5); !o.Deadline.Equal(want) && !o.Deadline.Equal(h.Calendar.Deadline(time.Now(), 5)) {
		t.Fatalf("deadline %s, want %s (5 working days)", o.Deadline, want)
	}

	// The flag on a record read, a subscription delivery and a lookup.
	if f := readRecord(t, h, "officer-gsc", "population", lookupdemo.Citizen).UnderObjection; !flagged(f, o.ID) {
		t.Fatalf("record read flag = %+v", f)
	}
	if f := readRecord(t, h, "officer-gsc", "population", lookupdemo.Citizen2).UnderObjection; f != nil {
		t.Fatalf("another record is flagged: %+v", f)
	}
	r = h.Do(http.MethodGet, "/api/v1/subscriptions/"+sub.ID+"/records?limit=100", "gsc-system", nil)
	if r.Status != http.StatusOK {
		t.Fatalf("pull: %d %s", r.Status, r.Body)
	}
	var page struct {
		Records []struct {
			Version        int
			Record         map[string]any
			UnderObjection *objection.Flag `json:"under_objection"`
		}
	}
	r.JSON(t, &page)
	flags := 0
	for _, d := range page.Records {
		if d.UnderObjection != nil {
			flags++
			if !flagged(d.UnderObjection, o.ID) || d.Version != cur.Version {
				t.Fatalf("delivery flag = %+v on version %d", d.UnderObjection, d.Version)
			}
		}
	}
	if len(page.Records) != 2 || flags != 1 {
		t.Fatalf("pull delivered %d records, %d flagged; want 2, 1", len(page.Records), flags)
	}
	lk := h.Do(http.MethodPost, "/api/v1/lookups", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen,
		"service_item": lookupdemo.ItemSocialSecurity, "case_number": caseNo, "purpose": purpose})
	if lk.Status != http.StatusOK {
		t.Fatalf("lookup: %d %s", lk.Status, lk.Body)
	}
	var res lookup.Result
	lk.JSON(t, &res)
	for _, m := range res.Materials {
		switch m.Resource {
		case "population":
			if !flagged(m.UnderObjection, o.ID) {
				t.Fatalf("lookup identity material flag = %+v", m.UnderObjection)
			}
		default:
			if m.UnderObjection != nil {
				t.Fatalf("material %s flagged: %+v", m.Code, m.UnderObjection)
			}
		}
	}

	// The queues: the provider's, the raiser's; nothing overdue yet.
	if got := ids(list(t, h, "admin-psb", "to-me")); !slices.Contains(got, o.ID) {
		t.Fatalf("provider's queue = %v", got)
	}
	if got := ids(list(t, h, "officer-gsc", "mine")); !slices.Contains(got, o.ID) {
		t.Fatalf("raiser's list = %v", got)
	}
	if got := list(t, h, "catalog-admin", "overdue"); len(got) != 0 {
		t.Fatalf("overdue = %v", ids(got))
	}
	if r := h.Do(http.MethodGet, "/api/v1/objections/"+o.ID, "admin-amr", nil); r.Status != http.StatusNotFound {
		t.Fatalf("a third department sees the objection: %d", r.Status)
	}

	// The provider corrects the record with a new version: the flag goes
	// at once, and the objection is closed, linked to that version.
	fixed := []map[string]any{{"id_number": lookupdemo.Citizen, "name": "张叁", "sex": "1", "ethnicity": "01", "birth_date": "1985-06-15",
		"domicile_division": "431302", "domicile_address": "湖南省娄底市娄星区乐坪街道东升社区12栋3单元501", "mobile": "13807381234", "marital_status": "40"}}
	if r := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", fixed); r.Status != http.StatusOK {
		t.Fatalf("publish the correction: %d %s", r.Status, r.Body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for readRecord(t, h, "officer-gsc", "population", lookupdemo.Citizen).Version == cur.Version {
		if time.Now().After(deadline) {
			t.Fatal("the correction did not reach the library")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if f := readRecord(t, h, "officer-gsc", "population", lookupdemo.Citizen).UnderObjection; f != nil {
		t.Fatalf("the corrected version is flagged: %+v", f)
	}
	closed := get(t, h, "admin-psb", o.ID)
	if closed.Status != objection.StatusCorrected || closed.CorrectedVersion != cur.Version+1 || closed.ResolvedAt == nil {
		t.Fatalf("after the correction: %+v", closed)
	}
	if steps := history(t, h, "officer-gsc", o.ID); !slices.Equal(steps, []string{"raised", "corrected"}) {
		t.Fatalf("history = %v", steps)
	}
	if r := h.Do(http.MethodPost, "/api/v1/objections/"+o.ID+"/reject", "admin-psb", map[string]string{"reason": "late"}); r.Status != http.StatusConflict {
		t.Fatalf("rejecting a closed objection: %d %s", r.Status, r.Body)
	}

	// Rejected with a reason, by the provider only.
	ss := readRecord(t, h, "officer-gsc", "social-security", lookupdemo.Citizen)
	rj := mustRaise(t, h, "officer-gsc", "social-security", lookupdemo.Citizen, ss.Version, "insured_status")
	if r := h.Do(http.MethodPost, "/api/v1/objections/"+rj.ID+"/reject", "admin-hrss", map[string]string{"reason": ""}); r.Status != http.StatusBadRequest {
		t.Fatalf("reject without a reason: %d %s", r.Status, r.Body)
	}
	if r := h.Do(http.MethodPost, "/api/v1/objections/"+rj.ID+"/reject", "officer-gsc", map[string]string{"reason": "不成立"}); r.Status != http.StatusForbidden {
		t.Fatalf("the raiser rejects: %d %s", r.Status, r.Body)
	}
	r = h.Do(http.MethodPost, "/api/v1/objections/"+rj.ID+"/reject", "admin-hrss", map[string]string{"reason": "参保状态以社保系统为准，经核实无误"})
	if r.Status != http.StatusOK {
		t.Fatalf("reject: %d %s", r.Status, r.Body)
	}
	var rejected objection.Objection
	r.JSON(t, &rejected)
	if rejected.Status != objection.StatusRejected || rejected.ResolutionReason == "" || readRecord(t, h, "officer-gsc", "social-security", lookupdemo.Citizen).UnderObjection != nil {
		t.Fatalf("rejected = %+v", rejected)
	}

	// Withdrawn by who raised it.
	cur2 := readRecord(t, h, "officer-gsc", "population", lookupdemo.Citizen2)
	wd := mustRaise(t, h, "officer-gsc", "population", lookupdemo.Citizen2, cur2.Version, "mobile")
	if r := h.Do(http.MethodPost, "/api/v1/objections/"+wd.ID+"/withdraw", "admin-psb", map[string]string{}); r.Status != http.StatusForbidden {
		t.Fatalf("the provider withdraws: %d %s", r.Status, r.Body)
	}
	if r := h.Do(http.MethodPost, "/api/v1/objections/"+wd.ID+"/withdraw", "officer-gsc", map[string]string{"reason": "误报"}); r.Status != http.StatusOK {
		t.Fatalf("withdraw: %d %s", r.Status, r.Body)
	}
	if got := get(t, h, "officer-gsc", wd.ID); got.Status != objection.StatusWithdrawn {
		t.Fatalf("withdrawn = %+v", got)
	}

	// Overdue: the sweep, run as of a month later, escalates it to the
	// e-government office's list, which shows the subject key masked.
	late := mustRaise(t, h, "officer-gsc", "population", lookupdemo.Citizen2, cur2.Version, "domicile_address")
	if err := h.Objections.Service.Sweep(ctx, time.Now().AddDate(0, 1, 0)); err != nil {
		t.Fatal(err)
	}
	over := list(t, h, "catalog-admin", "overdue")
	if len(over) != 1 || over[0].ID != late.ID || over[0].EscalatedAt == nil || over[0].Subject == lookupdemo.Citizen2 || !strings.HasSuffix(over[0].Subject, lookupdemo.Citizen2[16:]) {
		t.Fatalf("overdue list = %+v", over)
	}
	if got := ids(list(t, h, "admin-psb", "overdue")); !slices.Equal(got, []string{late.ID}) {
		t.Fatalf("provider's overdue = %v", got)
	}
	if steps := history(t, h, "reviewer", late.ID); !slices.Equal(steps, []string{"raised", "escalated"}) {
		t.Fatalf("history = %v", steps)
	}

	// No grant, no objection, and nothing learnt: the answer is the one
	// for a subject the library does not hold.
	noGrant := raise(h, "officer-lp", "social-security", lookupdemo.Citizen, ss.Version, "insured_status")
	noRecord := raise(h, "officer-lp", "social-security", "431302200001011234", 1, "insured_status")
	missing := raise(h, "officer-gsc", "social-security", "431302200001011234", 1, "insured_status")
	var e1, e2, e3 errorBody
	noGrant.JSON(t, &e1)
	noRecord.JSON(t, &e2)
	missing.JSON(t, &e3)
	if noGrant.Status != http.StatusNotFound || noRecord.Status != noGrant.Status || missing.Status != noGrant.Status ||
		e1.Error.Code != "record_not_found" || e1.Error != e2.Error || e1.Error != e3.Error {
		t.Fatalf("no grant: %d %+v; no record: %d %+v; missing: %d %+v", noGrant.Status, e1, noRecord.Status, e2, missing.Status, e3)
	}
	// A field outside the grant gets the answer of a field that does not
	// exist: market regulation holds a grant for two fields only.
	const amrPurpose = "企业职工参保核验"
	r = h.Do(http.MethodPost, "/api/v1/share-requests", "admin-amr", map[string]any{"resource_id": "social-security", "fields": []string{"id_number", "name"},
		"purposes": []string{amrPurpose}, "service_items": []string{"企业职工参保登记"}, "legal_basis": "《社会保险法》第五十九条", "valid_until": time.Now().AddDate(1, 0, 0)})
	if r.Status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	var req struct{ ID string }
	r.JSON(t, &req)
	if r := h.Do(http.MethodPost, "/api/v1/share-requests/"+req.ID+"/approve", "admin-hrss", map[string]any{}); r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	var f1, f2 errorBody
	var outside hubtest.Response
	for end := time.Now().Add(20 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// The grant reaches the gate through the policy topic.
		if outside = raiseFor(h, amrPurpose, "amr-system", "social-security", lookupdemo.Citizen, ss.Version, "insured_status"); outside.Status != http.StatusNotFound || time.Now().After(end) {
			break
		}
	}
	unknown := raiseFor(h, amrPurpose, "amr-system", "social-security", lookupdemo.Citizen, ss.Version, "no_such_field")
	outside.JSON(t, &f1)
	unknown.JSON(t, &f2)
	if outside.Status != http.StatusBadRequest || f1.Error.Code != "field_not_readable" || unknown.Status != outside.Status || f2.Error.Code != f1.Error.Code ||
		strings.ReplaceAll(f1.Error.Message, "insured_status", "no_such_field") != f2.Error.Message {
		t.Fatalf("outside the grant: %d %+v; unknown: %d %+v", outside.Status, f1, unknown.Status, f2)
	}
	if r := raiseFor(h, amrPurpose, "amr-system", "social-security", lookupdemo.Citizen, ss.Version, "name"); r.Status != http.StatusCreated {
		t.Fatalf("a granted field: %d %s", r.Status, r.Body)
	}
	if r := raise(h, "psb-system", "population", lookupdemo.Citizen, cur.Version+1, "name"); r.Status != http.StatusBadRequest {
		t.Fatalf("the provider disputes its own record: %d %s", r.Status, r.Body)
	}
	if r := raise(h, "officer-gsc", "population", lookupdemo.Citizen, cur.Version, "name"); r.Status != http.StatusConflict {
		t.Fatalf("disputing a superseded version: %d %s", r.Status, r.Body)
	}

	// Every step audited.
	raised := auditActions(t, h, "objection.raise")
	for _, id := range []string{o.ID, rj.ID, wd.ID, late.ID} {
		if withReason(raised, id) != 1 {
			t.Errorf("no raise event for %s", id)
		}
	}
	denied := 0
	for _, e := range raised {
		if e.PrincipalName == "officer-lp" && e.Outcome != audit.Allowed && e.Resource == "social-security" {
			denied++
		}
	}
	if denied != 2 {
		t.Errorf("refused raises audited: %d, want 2", denied)
	}
	for action, id := range map[string]string{"objection.correct": o.ID, "objection.reject": rj.ID, "objection.withdraw": wd.ID, "objection.escalate": late.ID} {
		if withReason(auditActions(t, h, action), id) != 1 {
			t.Errorf("no %s event for %s", action, id)
		}
	}
}

func TestRaiseValidation(t *testing.T) {
	cases := []struct {
		name string
		r    objection.Raise
		code string
	}{
		{"no resource", objection.Raise{Subject: "x", Version: 1, Fields: []string{"a"}, Problem: "p", Purpose: "p"}, "resource_required"},
		{"no subject", objection.Raise{Resource: "r", Version: 1, Fields: []string{"a"}, Problem: "p", Purpose: "p"}, "subject_required"},
		{"no version", objection.Raise{Resource: "r", Subject: "x", Fields: []string{"a"}, Problem: "p", Purpose: "p"}, "version_required"},
		{"no fields", objection.Raise{Resource: "r", Subject: "x", Version: 1, Problem: "p", Purpose: "p"}, "fields_required"},
		{"blank field", objection.Raise{Resource: "r", Subject: "x", Version: 1, Fields: []string{" "}, Problem: "p", Purpose: "p"}, "invalid_field"},
		{"no problem", objection.Raise{Resource: "r", Subject: "x", Version: 1, Fields: []string{"a"}, Purpose: "p"}, "problem_required"},
		{"long problem", objection.Raise{Resource: "r", Subject: "x", Version: 1, Fields: []string{"a"}, Problem: strings.Repeat("错", 2001), Purpose: "p"}, "invalid_problem"},
		{"no purpose", objection.Raise{Resource: "r", Subject: "x", Version: 1, Fields: []string{"a"}, Problem: "p"}, "purpose_required"},
		{"bad utf-8", objection.Raise{Resource: "r", Subject: "x", Version: 1, Fields: []string{"a"}, Problem: "\xff", Purpose: "p"}, "invalid_problem"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := objection.Check(c.r)
			if fe, ok := fault.As(err); !ok || fe.Code != c.code || fe.Kind != fault.Invalid {
				t.Fatalf("Check = %v, want %s", err, c.code)
			}
		})
	}
	got, err := objection.Check(objection.Raise{Resource: " r ", Subject: "x", Version: 2, Fields: []string{"a", " a", "b"}, Problem: "p", Purpose: "p"})
	if err != nil || got.Resource != "r" || !slices.Equal(got.Fields, []string{"a", "b"}) {
		t.Fatalf("Check = %+v, %v", got, err)
	}
}
