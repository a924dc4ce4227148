package lookupapi_test

import (
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"yiku/audit"
	"yiku/hub/hubtest"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
	"yiku/serviceitem"
)

func doLookup(t testing.TB, h *hubtest.Hub, who, applicant, item, caseNo, purpose string) (lookup.Result, hubtest.Response) {
	t.Helper()
	r := h.Do("POST", "/api/v1/lookups", who, map[string]string{"applicant": applicant, "service_item": item, "case_number": caseNo, "purpose": purpose})
	var res lookup.Result
	if r.Status == 200 {
		r.JSON(t, &res)
	}
	return res, r
}

func material(t testing.TB, res lookup.Result, code string) lookup.MaterialResult {
	t.Helper()
	for _, m := range res.Materials {
		if m.Code == code {
			return m
		}
	}
	t.Fatalf("no material %s in %+v", code, res)
	return lookup.MaterialResult{}
}

type eventsBody struct {
	Events []audit.Event `json:"events"`
	Total  int           `json:"total"`
}

func events(t testing.TB, h *hubtest.Hub, q url.Values) eventsBody {
	t.Helper()
	q.Set("limit", "1000")
	r := h.Do("GET", "/api/v1/audit/events?"+q.Encode(), "reviewer", nil)
	if r.Status != 200 {
		t.Fatalf("audit query: %d %s", r.Status, r.Body)
	}
	var out eventsBody
	r.JSON(t, &out)
	return out
}

func TestLookupSuppliesTwoOfThreeMaterials(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	// A lower-case check character and spaces are normalised.
	res, r := doLookup(t, h, "officer-gsc", " "+lookupdemo.Citizen+" ", lookupdemo.ItemSocialSecurity, "LX-SB-2025-0001", "社会保障卡申领")
	if r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	if res.Applicant != lookupdemo.Citizen || res.Summary[lookup.Supplied] != 2 || res.Summary[lookup.NotAvailable] != 1 || len(res.ToBring) != 1 || res.ToBring[0] != "近期免冠彩色证件照" {
		t.Fatalf("result = %+v", res)
	}
	id := material(t, res, "identity")
	var person map[string]any
	if err := json.Unmarshal(id.Record, &person); err != nil {
		t.Fatal(err)
	}
	if id.Status != lookup.Supplied || id.Basis != "unconditional" || person["id_number"] == lookupdemo.Citizen || person["name"] == "张三" || person["sex"] != "1" {
		t.Fatalf("identity material not masked as the catalog says: %+v %v", id, person)
	}
	// The masked ID number hides exactly the birth date: the lookup must
	// not hand it back beside it.
	if person["birth_date"] != "***" || strings.Contains(string(id.Record), "19850615") || strings.Contains(string(id.Record), "1985-06-15") {
		t.Fatalf("identity material gives back the ID number's hidden digits: %s", id.Record)
	}
	ins := material(t, res, "insurance")
	if ins.Status != lookup.Supplied || !strings.HasPrefix(ins.Basis, "grant:") || !strings.Contains(string(ins.Record), `"insured_status":"active"`) {
		t.Fatalf("insurance material: %+v %s", ins, ins.Record)
	}
	if m := material(t, res, "photo"); m.Status != lookup.NotAvailable || m.Record != nil || !strings.HasPrefix(m.Reason, "not_in_library") {
		t.Fatalf("photo material: %+v", m)
	}
	if strings.Contains(string(id.Record), lookupdemo.Citizen) || strings.Contains(string(ins.Record), lookupdemo.Citizen) {
		t.Fatal("a supplied record holds the plain ID number")
	}

	// One lookup event and one reuse event per supplied material, with the
	// applicant as a hashed subject and the purpose and case number.
	got := events(t, h, url.Values{"subject": {lookupdemo.Citizen}, "case_number": {"LX-SB-2025-0001"}})
	byAction := map[string][]audit.Event{}
	for _, e := range got.Events {
		byAction[e.Action] = append(byAction[e.Action], e)
		if e.PrincipalName != "officer-gsc" || e.Department != "lx-gsc" || e.Purpose != "社会保障卡申领" || e.Outcome != audit.Allowed || len(e.Subjects) != 1 || e.Subjects[0] == lookupdemo.Citizen {
			t.Errorf("event = %+v", e)
		}
	}
	if len(byAction[audit.ActionLookup]) != 1 || len(byAction[audit.ActionReuse]) != 2 || got.Total != 3 {
		t.Fatalf("events = %+v", got.Events)
	}
	main := byAction[audit.ActionLookup][0]
	if main.Count != 2 || !strings.Contains(main.Reason, "item=social-security-card") || len(main.Fields) == 0 {
		t.Fatalf("lookup event = %+v", main)
	}
	resources := map[string]bool{}
	for _, e := range byAction[audit.ActionReuse] {
		item, mat := audit.ParseReuseReason(e.Reason)
		if item != lookupdemo.ItemSocialSecurity || (mat != "identity" && mat != "insurance") || len(e.Fields) == 0 || e.RequestID != main.RequestID {
			t.Errorf("reuse event = %+v", e)
		}
		resources[e.Resource] = true
	}
	if !resources["population"] || !resources["social-security"] {
		t.Fatalf("reuse resources = %v", resources)
	}

	// The reuse statistics count them.
	r = h.Do("GET", "/api/v1/stats/reuse", "reviewer", nil)
	var st struct {
		Stats audit.ReuseStats `json:"stats"`
	}
	r.JSON(t, &st)
	if st.Stats.Supplied != 2 || st.Stats.Lookups != 1 || len(st.Stats.ByServiceItem) != 1 || st.Stats.ByServiceItem[0].Key != lookupdemo.ItemSocialSecurity {
		t.Fatalf("stats = %+v", st.Stats)
	}
}

func TestCertificatesReportedWithTheirValidity(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	cases := []struct {
		applicant string
		validity  string
		supplied  int
		toBring   int
	}{
		{lookupdemo.Entity, lookup.CertValid, 3, 1},
		{lookupdemo.ExpiredEntity, lookup.CertExpired, 3, 2},
		{strings.ToLower(lookupdemo.RevokedEntity), lookup.CertRevoked, 2, 3}, // no credit record: not available
	}
	for i, tc := range cases {
		res, r := doLookup(t, h, "officer-gsc", tc.applicant, lookupdemo.ItemLicenceChange, "LX-YZ-2025-000"+string(rune('1'+i)), "营业执照变更登记")
		if r.Status != 200 {
			t.Fatalf("%s: %d %s", tc.applicant, r.Status, r.Body)
		}
		lic := material(t, res, "business-licence")
		if lic.Status != lookup.Supplied || lic.Certificate == nil || lic.Certificate.Validity != tc.validity || lic.Certificate.LicenceID == "" {
			t.Fatalf("%s licence = %+v", tc.applicant, lic)
		}
		if res.Summary[lookup.Supplied] != tc.supplied || len(res.ToBring) != tc.toBring {
			t.Fatalf("%s: summary %v, to bring %v", tc.applicant, res.Summary, res.ToBring)
		}
		if tc.validity != lookup.CertValid && !strings.Contains(strings.Join(res.ToBring, ","), "营业执照") {
			t.Fatalf("%s: an invalid licence must be brought: %v", tc.applicant, res.ToBring)
		}
	}
	// The reuse event of the expired licence says so.
	got := events(t, h, url.Values{"subject": {lookupdemo.ExpiredEntity}, "action": {audit.ActionReuse}, "resource": {"business-licence"}})
	if got.Total != 1 || !strings.Contains(got.Events[0].Reason, "validity=expired") {
		t.Fatalf("events = %+v", got)
	}
}

func TestLookupWithoutGrantIsRefusedAndAudited(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	// The street service centre (lx-gsc-lp) has no grant of its own for
	// social insurance records: the population record is supplied (an
	// unconditional resource), the insurance record is refused.
	res, r := doLookup(t, h, "officer-lp", lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LP-2025-0042", "社会保障卡申领")
	if r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	ins := material(t, res, "insurance")
	if ins.Status != lookup.NotPermitted || ins.Record != nil || ins.Reason == "" {
		t.Fatalf("insurance = %+v", ins)
	}
	if res.Summary[lookup.Supplied] != 1 || res.Summary[lookup.NotPermitted] != 1 || res.Summary[lookup.NotAvailable] != 1 {
		t.Fatalf("summary = %v", res.Summary)
	}
	got := events(t, h, url.Values{"principal": {"officer-lp"}, "outcome": {"denied"}})
	if got.Total != 1 {
		t.Fatalf("denials = %+v", got)
	}
	d := got.Events[0]
	if d.Action != audit.ActionReuse || d.Resource != "social-security" || d.CaseNumber != "LP-2025-0042" || d.Purpose != "社会保障卡申领" || !strings.Contains(d.Reason, "denied=") || len(d.Subjects) != 1 {
		t.Fatalf("denial event = %+v", d)
	}
	type stats struct {
		Stats audit.ReuseStats `json:"stats"`
	}
	var st stats
	// A lookup refused one material of several counts as denied.
	h.Do("GET", "/api/v1/stats/reuse", "reviewer", nil).JSON(t, &st)
	if st.Stats.LookupsDenied != 1 || st.Stats.Lookups != 1 || st.Stats.Supplied != 1 {
		t.Fatalf("stats after a partly refused lookup = %+v", st.Stats)
	}

	// An item whose only library material is refused: the lookup as a whole
	// is denied, and counted as such.
	item := map[string]any{"code": "credit-check-only", "name": "信用核查", "department_code": "lx-gsc", "applicant_type": "legal_person",
		"materials": []map[string]string{{"code": "credit", "name": "企业信用信息", "resource": "enterprise-credit"}}}
	if r := h.Do("POST", "/api/v1/service-items", "catalog-admin", item); r.Status != 201 {
		t.Fatalf("create item: %d %s", r.Status, r.Body)
	}
	res, r = doLookup(t, h, "officer-lp", lookupdemo.Entity, "credit-check-only", "LP-2025-0043", "信用核查")
	if r.Status != 200 || res.Summary[lookup.NotPermitted] != 1 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	got = events(t, h, url.Values{"principal": {"officer-lp"}, "action": {audit.ActionLookup}, "outcome": {"denied"}})
	if got.Total != 1 || got.Events[0].CaseNumber != "LP-2025-0043" {
		t.Fatalf("denied lookups = %+v", got)
	}
	st = stats{}
	h.Do("GET", "/api/v1/stats/reuse", "reviewer", nil).JSON(t, &st)
	if st.Stats.LookupsDenied != 2 || st.Stats.Lookups != 2 || st.Stats.Supplied != 1 {
		t.Fatalf("stats = %+v", st.Stats)
	}
	// The service centre itself, with its grant but a purpose the grant
	// does not name, is refused too.
	res, _ = doLookup(t, h, "officer-gsc", lookupdemo.Citizen, lookupdemo.ItemSocialSecurity, "LX-2025-0044", "人才引进审核")
	if m := material(t, res, "insurance"); m.Status != lookup.NotPermitted || !strings.HasPrefix(m.Reason, "purpose_not_granted") {
		t.Fatalf("insurance with another purpose = %+v", m)
	}
}

func TestReviewerAndCitizenSeeEveryLookup(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)
	for i, who := range []string{"officer-gsc", "officer-lp", "gsc-system"} {
		if _, r := doLookup(t, h, who, lookupdemo.Citizen, lookupdemo.ItemMarriage, "JH-2025-000"+string(rune('1'+i)), "结婚登记"); r.Status != 200 {
			t.Fatalf("%s: %d %s", who, r.Status, r.Body)
		}
	}
	// Someone else's lookup is not this citizen's business.
	doLookup(t, h, "officer-gsc", lookupdemo.Citizen2, lookupdemo.ItemMarriage, "JH-2025-0099", "结婚登记")

	got := events(t, h, url.Values{"subject": {lookupdemo.Citizen}})
	cases := map[string]bool{}
	for _, e := range got.Events {
		if e.Action == audit.ActionLookup {
			cases[e.CaseNumber] = true
		}
		if e.CaseNumber == "JH-2025-0099" {
			t.Fatalf("another applicant's lookup found: %+v", e)
		}
	}
	if len(cases) != 3 {
		t.Fatalf("lookups found for the subject: %v (%+v)", cases, got.Events)
	}

	r := h.Do("GET", "/api/v1/my-data-access", "citizen-demo", nil)
	if r.Status != 200 {
		t.Fatalf("my-data-access: %d %s", r.Status, r.Body)
	}
	var report struct {
		Accesses []struct {
			Department string `json:"department"`
			Action     string `json:"action"`
			Resource   string `json:"resource"`
			Purpose    string `json:"purpose"`
			CaseNumber string `json:"case_number"`
			Outcome    string `json:"outcome"`
		} `json:"accesses"`
	}
	r.JSON(t, &report)
	depts := map[string]bool{}
	for _, a := range report.Accesses {
		if a.Purpose != "结婚登记" || a.CaseNumber == "" || a.CaseNumber == "JH-2025-0099" {
			t.Errorf("access = %+v", a)
		}
		depts[a.Department] = true
	}
	// 3 lookups; officer-gsc and gsc-system got population and marriage
	// records (2 reuse events each), officer-lp population only and a refusal.
	if len(report.Accesses) != 3+2+2+2 || !depts["lx-gsc"] || !depts["lx-gsc-lp"] {
		t.Fatalf("accesses = %+v", report.Accesses)
	}
	if strings.Contains(string(r.Body), lookupdemo.Citizen) {
		t.Fatal("the report repeats the ID number")
	}
}

func TestLookupValidation(t *testing.T) {
	h := hubtest.Start(t)
	cases := []struct {
		name   string
		who    string
		body   string
		status int
		code   string
	}{
		{"bad id", "officer-gsc", `{"applicant":"431302198506159912","service_item":"social-security-card","case_number":"1","purpose":"社会保障卡申领"}`, 400, "invalid_applicant"},
		{"no case", "officer-gsc", `{"applicant":"431302198506159913","service_item":"social-security-card","purpose":"社会保障卡申领"}`, 400, "case_number_required"},
		{"no purpose", "gsc-system", `{"applicant":"431302198506159913","service_item":"social-security-card","case_number":"1"}`, 400, "purpose_required"},
		{"unknown field", "officer-gsc", `{"applicant":"431302198506159913","service_item":"social-security-card","case_number":"1","purpose":"x","extra":1}`, 400, "invalid_json"},
		{"unknown item", "officer-gsc", `{"applicant":"431302198506159913","service_item":"no-such-item","case_number":"1","purpose":"x"}`, 404, "service_item_not_found"},
		{"wrong applicant type", "officer-gsc", `{"applicant":"91431302D99002018R","service_item":"social-security-card","case_number":"1","purpose":"x"}`, 400, "applicant_type_mismatch"},
		{"reviewer may not", "reviewer", `{"applicant":"431302198506159913","service_item":"social-security-card","case_number":"1","purpose":"x"}`, 403, ""},
		{"citizen may not", "citizen-demo", `{"applicant":"431302198506159913","service_item":"social-security-card","case_number":"1","purpose":"x"}`, 403, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := h.Do("POST", "/api/v1/lookups", tc.who, tc.body)
			if r.Status != tc.status || !strings.Contains(string(r.Body), tc.code) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
}

func TestServiceItemsAPI(t *testing.T) {
	h := hubtest.Start(t)
	r := h.Do("GET", "/api/v1/service-items", "citizen-demo", nil)
	var list struct {
		Items []serviceitem.Item `json:"service_items"`
	}
	r.JSON(t, &list)
	if r.Status != 200 || len(list.Items) != 3 {
		t.Fatalf("list: %d %s", r.Status, r.Body)
	}
	r = h.Do("GET", "/api/v1/service-items?resource=population", "officer-gsc", nil)
	r.JSON(t, &list)
	if len(list.Items) != 2 {
		t.Fatalf("items using population: %+v", list.Items)
	}

	item := map[string]any{"code": "talent-subsidy", "name": "人才补贴申领", "department_code": "lx-hrss", "applicant_type": "natural_person",
		"materials": []map[string]string{{"code": "identity", "name": "身份信息", "resource": "population"}, {"code": "degree", "name": "学历证书"}}}
	if r := h.Do("POST", "/api/v1/service-items", "officer-gsc", item); r.Status != 403 {
		t.Fatalf("officer create: %d", r.Status)
	}
	r = h.Do("POST", "/api/v1/service-items", "catalog-admin", item)
	var it serviceitem.Item
	r.JSON(t, &it)
	if r.Status != 201 || it.Revision != 1 || len(it.Materials) != 2 || it.Materials[1].Resource != "" {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/api/v1/service-items", "catalog-admin", item); r.Status != 409 {
		t.Fatalf("duplicate: %d %s", r.Status, r.Body)
	}
	item["materials"] = []map[string]string{{"code": "identity", "name": "身份信息", "resource": "population"}, {"code": "insurance", "name": "参保信息", "resource": "social-security"}}
	item["revision"] = 1
	r = h.Do("PUT", "/api/v1/service-items/talent-subsidy", "catalog-admin", item)
	r.JSON(t, &it)
	if r.Status != 200 || it.Revision != 2 || it.Materials[1].Code != "insurance" {
		t.Fatalf("update: %d %s", r.Status, r.Body)
	}
	if r := h.Do("PUT", "/api/v1/service-items/talent-subsidy", "catalog-admin", item); r.Status != 409 || !strings.Contains(string(r.Body), "revision_mismatch") {
		t.Fatalf("stale update: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/api/v1/service-items/talent-subsidy", "reviewer", nil); r.Status != 200 {
		t.Fatalf("get: %d", r.Status)
	}
	if r := h.Do("DELETE", "/api/v1/service-items/talent-subsidy", "catalog-admin", nil); r.Status != 204 {
		t.Fatalf("delete: %d %s", r.Status, r.Body)
	}
	if r := h.Do("GET", "/api/v1/service-items/talent-subsidy", "officer-gsc", nil); r.Status != 404 {
		t.Fatalf("get deleted: %d", r.Status)
	}
	// Management is audited.
	got := events(t, h, url.Values{"principal": {"catalog-admin"}})
	actions := map[string]int{}
	for _, e := range got.Events {
		actions[e.Action]++
	}
	if actions["service_item.create"] != 2 || actions["service_item.update"] != 2 || actions["service_item.delete"] != 1 {
		t.Fatalf("management events = %v", actions)
	}

	bad := []struct {
		name, reason string
		mutate       func(m map[string]any)
	}{
		{"unknown resource", "no resource", func(m map[string]any) {
			m["materials"] = []map[string]string{{"code": "x1", "name": "x", "resource": "no-such"}}
		}},
		{"not shared", "not shared", func(m map[string]any) {
			m["materials"] = []map[string]string{{"code": "x1", "name": "x", "resource": "psb-case-records"}}
		}},
		{"subject type", "legal_person subjects", func(m map[string]any) {
			m["materials"] = []map[string]string{{"code": "x1", "name": "x", "resource": "legal-entity"}}
		}},
		{"duplicate material", "duplicate", func(m map[string]any) {
			m["materials"] = []map[string]string{{"code": "x1", "name": "x"}, {"code": "x1", "name": "y"}}
		}},
		{"no department", "no such department", func(m map[string]any) { m["department_code"] = "lx-nowhere" }},
		{"bad code", "lower-case", func(m map[string]any) { m["code"] = "Bad Code" }},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			m := map[string]any{"code": "bad-item", "name": "x", "department_code": "lx-gsc", "applicant_type": "natural_person",
				"materials": []map[string]string{{"code": "x1", "name": "x"}}}
			tc.mutate(m)
			r := h.Do("POST", "/api/v1/service-items", "catalog-admin", m)
			if r.Status != 400 || !strings.Contains(string(r.Body), tc.reason) {
				t.Fatalf("%d %s", r.Status, r.Body)
			}
		})
	}
}
