package casefileapi_test

import (
	"net/url"
	"testing"

	"yiku/audit"
	"yiku/casefile"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

func lookupCase(t *testing.T, h *hubtest.Hub, who, applicant, item, caseNo, purpose string) hubtest.Response {
	t.Helper()
	return h.Do("POST", "/api/v1/lookups", who, map[string]string{"applicant": applicant, "service_item": item, "case_number": caseNo, "purpose": purpose})
}

func getCase(t *testing.T, h *hubtest.Hub, who, number string) casefile.Case {
	t.Helper()
	r := h.Do("GET", "/api/v1/cases/"+number, who, nil)
	if r.Status != 200 {
		t.Fatalf("case %s as %s: %d %s", number, who, r.Status, r.Body)
	}
	var c casefile.Case
	r.JSON(t, &c)
	return c
}

// A lookup with a case number opens the case with its materials and their
// sources; the handling department moves it, another department is refused
// (and the refusal audited), illegal moves are 409; the applicant sees it;
// its processing time reaches the reuse statistics.
func TestCaseFromLookup(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	if r := lookupCase(t, h, "officer-gsc", lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LX-SB-2026-0001", "社会保障卡申领"); r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	c := getCase(t, h, "officer-gsc", "LX-SB-2026-0001")
	if c.State != casefile.Opened || c.Applicant != lookupdemo.Citizen || c.ServiceItem != lookupdemo.ItemSocialSecurity || c.Department != "lx-gsc" ||
		c.TimeLimitDays != 10 || len(c.Materials) != 3 {
		t.Fatalf("case = %+v", c)
	}
	want := map[string]casefile.Source{"identity": casefile.SourceLibrary, "insurance": casefile.SourceLibrary, "photo": casefile.SourceBrought}
	for _, m := range c.Materials {
		if m.Source != want[m.Code] || m.Type == "" {
			t.Errorf("material %+v, want source %s and a type", m, want[m.Code])
		}
	}
	// An expired licence is brought, not supplied, and says so.
	if r := lookupCase(t, h, "officer-gsc", lookupdemo.ExpiredEntity, lookupdemo.ItemLicenceChange, "LX-YZ-2026-0002", "营业执照变更登记"); r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	for _, m := range getCase(t, h, "gsc-system", "LX-YZ-2026-0002").Materials {
		if m.Code == "business-licence" && m.Source != casefile.SourceBrought {
			t.Errorf("expired licence: %+v", m)
		}
	}
	// The case number is the social-security case's: another applicant's
	// lookup under it is refused.
	if r := lookupCase(t, h, "officer-gsc", lookupdemo.Citizen2, lookupdemo.ItemSocialSecurity, "LX-SB-2026-0001", "社会保障卡申领"); r.Status != 409 {
		t.Fatalf("taken case number: %d %s", r.Status, r.Body)
	}

	move := func(who, state string) int {
		r := h.Do("PATCH", "/api/v1/cases/LX-SB-2026-0001", who, map[string]string{"state": state, "note": "窗口办理"})
		return r.Status
	}
	if s := move("hrss-system", "accepted"); s != 403 {
		t.Fatalf("another department: %d", s)
	}
	if s := move("gsc-system", "finished"); s != 409 {
		t.Fatalf("opened → finished: %d", s)
	}
	if s := move("gsc-system", "accepted"); s != 200 {
		t.Fatalf("accept: %d", s)
	}
	if s := move("officer-gsc", "approved"); s != 200 {
		t.Fatalf("approve: %d", s)
	}
	if s := move("admin-gsc", "finished"); s != 200 {
		t.Fatalf("finish: %d", s)
	}
	if r := h.Do("PATCH", "/api/v1/cases/LX-SB-2026-0001", "gsc-system", map[string]any{"state": "finished", "extra": 1}); r.Status != 400 {
		t.Fatalf("unknown field: %d", r.Status)
	}
	if r := h.Do("PATCH", "/api/v1/cases/NO-SUCH", "gsc-system", map[string]string{"state": "accepted"}); r.Status != 404 {
		t.Fatalf("unknown case: %d", r.Status)
	}
	c = getCase(t, h, "catalog-admin", "LX-SB-2026-0001")
	if c.State != casefile.Finished || c.AcceptedAt == nil || c.DecidedAt == nil || c.FinishedAt == nil || c.Overdue {
		t.Fatalf("finished case = %+v", c)
	}

	// The refusal is in the audit trail, with the case number.
	r := h.Do("GET", "/api/v1/audit/events?"+url.Values{"case_number": {"LX-SB-2026-0001"}, "limit": {"1000"}}.Encode(), "reviewer", nil)
	var evs struct {
		Events []audit.Event `json:"events"`
	}
	r.JSON(t, &evs)
	denied, moved := 0, 0
	for _, e := range evs.Events {
		if e.Action != "case.transition" {
			continue
		}
		if e.Outcome == audit.Denied && e.Department == "lx-hrss" {
			denied++
		}
		if e.Outcome == audit.Allowed {
			moved++
		}
	}
	if denied != 1 || moved != 3 {
		t.Fatalf("case.transition events: %d denied, %d allowed in %+v", denied, moved, evs.Events)
	}

	// Views: the department, the citizen, another department.
	var list struct {
		Cases []casefile.Case `json:"cases"`
		Total int             `json:"total"`
	}
	h.Do("GET", "/api/v1/cases?state=finished", "officer-gsc", nil).JSON(t, &list)
	if list.Total != 1 || list.Cases[0].Number != "LX-SB-2026-0001" {
		t.Fatalf("finished cases: %+v", list)
	}
	list.Cases = nil
	h.Do("GET", "/api/v1/cases", "citizen-demo", nil).JSON(t, &list)
	if list.Total != 1 || list.Cases[0].Applicant != lookupdemo.Citizen {
		t.Fatalf("citizen's cases: %+v", list)
	}
	if r := h.Do("GET", "/api/v1/cases/LX-YZ-2026-0002", "citizen-demo", nil); r.Status != 403 {
		t.Fatalf("another applicant's case for the citizen: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/cases/LX-SB-2026-0001", "hrss-system", nil); r.Status != 403 {
		t.Fatalf("another department reads: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/cases?department=lx-gsc", "hrss-system", nil); r.Status != 403 {
		t.Fatalf("another department lists: %d", r.Status)
	}
	if r := h.Do("GET", "/api/v1/cases?state=closed", "officer-gsc", nil); r.Status != 400 {
		t.Fatalf("bad state: %d", r.Status)
	}

	// Processing times in the reuse statistics.
	var stats struct {
		Processing []casefile.ItemTimes `json:"processing"`
	}
	r = h.Do("GET", "/api/v1/stats/reuse", "catalog-admin", nil)
	if r.Status != 200 {
		t.Fatalf("stats: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &stats)
	got := map[string]casefile.ItemTimes{}
	for _, it := range stats.Processing {
		got[it.ServiceItem] = it
	}
	ss := got[lookupdemo.ItemSocialSecurity]
	if ss.Opened != 1 || ss.Decided != 1 || ss.Finished != 1 || ss.WithinLimit != 1 || ss.TimeLimitDays != 10 || ss.MedianDays == nil || *ss.MedianDays != 0 {
		t.Fatalf("social security processing: %+v", ss)
	}
	if lc := got[lookupdemo.ItemLicenceChange]; lc.Opened != 1 || lc.Decided != 0 || lc.MedianDays != nil {
		t.Fatalf("licence change processing: %+v", lc)
	}
}
