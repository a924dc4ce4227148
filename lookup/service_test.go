package lookup_test

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
	"yiku/lookup"
	"yiku/policies/mask"
	"yiku/policies/sharing"
	"yiku/serviceitem"
)

const applicant = "431302198506159913"

type items map[string]serviceitem.Item

func (it items) Get(_ context.Context, code string) (serviceitem.Item, error) {
	if i, ok := it[code]; ok {
		return i, nil
	}
	return serviceitem.Item{}, fault.NotFoundf("service_item_not_found", "no item %s", code)
}

type directory map[string]catalog.Resource

func (d directory) Resource(_ context.Context, id string) (catalog.Resource, error) {
	if r, ok := d[id]; ok {
		return r, nil
	}
	return catalog.Resource{}, fault.NotFoundf("resource_not_found", "no resource %s", id)
}

func (d directory) Validator(context.Context, string, int) (catalog.RecordValidator, error) {
	return nil, errors.New("not used by lookups")
}

// gate allows the resources it has a plan for and refuses the others.
type gate map[string]*mask.Plan

func (g gate) Decide(_ context.Context, req sharing.ReadRequest) (sharing.Decision, error) {
	if req.Action != sharing.ActionLookup || req.Purpose == "" || req.CaseNumber == "" {
		return sharing.Decision{}, errors.New("lookup asked the gate without action, purpose or case number")
	}
	if p, ok := g[req.Resource.ID]; ok {
		return sharing.Decision{Allowed: true, Basis: "grant:g-" + req.Resource.ID, Plan: p}, nil
	}
	return sharing.Decision{Basis: "no_grant"}, fault.Forbiddenf("no_grant", "needs an approved share request")
}

func plan(t *testing.T, granted ...string) *mask.Plan {
	t.Helper()
	p, err := mask.NewPlan([]mask.Field{{Name: "id_number", Rule: mask.RuleIDNumber, Sensitive: true}, {Name: "name", Rule: mask.RuleName, Sensitive: true},
		{Name: "registration_type"}, {Name: "insured_status"}, {Name: "status"}, {Name: "valid_until"}}, granted, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestLookupReadsTheLibraryOnceForAllMaterials: the gate is asked per
// material, the library once for every material the gate allowed, and
// each material gets its answer and audit event in the item's order.
func TestLookupReadsTheLibraryOnceForAllMaterials(t *testing.T) {
	item := serviceitem.Item{Code: "demo-item", Name: "演示事项", ApplicantType: serviceitem.ApplicantPerson, Materials: []serviceitem.Material{
		{Code: "m-population", Name: "户籍", Resource: "population"},
		{Code: "m-social", Name: "社保", Resource: "social-security"},
		{Code: "m-marriage", Name: "婚姻", Resource: "marriage-registration"},
		{Code: "m-licence", Name: "证照", Resource: "business-licence"},
		{Code: "m-withdrawn", Name: "已撤回", Resource: "household"},
		{Code: "m-gone", Name: "已下线", Resource: "retired-resource"},
		{Code: "m-photo", Name: "照片"},
	}}
	dir := directory{}
	for _, id := range []string{"population", "social-security", "marriage-registration", "household"} {
		dir[id] = catalog.Resource{ID: id}
	}
	dir["business-licence"] = catalog.Resource{ID: "business-licence", BaseLibrary: catalog.LibElicence}
	g := gate{"population": plan(t, "id_number", "name"), "marriage-registration": plan(t, "registration_type"),
		"business-licence": plan(t, "status", "valid_until"), "household": plan(t, "id_number")}
	var calls [][]string
	lib := lookup.LibraryFunc(func(_ context.Context, subject string, resources []string) (map[string]lookup.Record, error) {
		if subject != applicant {
			t.Errorf("library asked for subject %q", subject)
		}
		calls = append(calls, slices.Clone(resources))
		return map[string]lookup.Record{
			"population":       {Data: []byte(`{"id_number":"` + applicant + `","name":"张三","mobile":"13807381234"}`), Version: 2, Publisher: "lx-psb"},
			"business-licence": {Data: []byte(`{"status":"valid","valid_until":"2020-01-01"}`), Version: 1},
			"household":        {Deleted: true, Version: 3},
			// marriage-registration holds no record of the applicant.
		}, nil
	})
	svc := &lookup.Service{Items: items{item.Code: item}, Directory: dir, Gate: g, Library: lib,
		Now: func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) }}
	officer := identity.Principal{ID: "p1", Kind: identity.KindPerson, Role: identity.RoleOfficer, DepartmentCode: "lx-gsc"}
	res, events, err := svc.Lookup(context.Background(), officer, lookup.Request{Applicant: " " + applicant + " ", ServiceItem: item.Code, CaseNumber: "C-1", Purpose: "演示"})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{{"population", "marriage-registration", "business-licence", "household"}}
	if !slices.EqualFunc(calls, want, slices.Equal[[]string]) {
		t.Fatalf("library calls %v, want one call %v (the refused resource is not read)", calls, want)
	}
	statuses := map[string]lookup.Status{}
	reasons := map[string]string{}
	for _, m := range res.Materials {
		statuses[m.Code], reasons[m.Code] = m.Status, m.Reason
	}
	for code, st := range map[string]lookup.Status{"m-population": lookup.Supplied, "m-social": lookup.NotPermitted, "m-marriage": lookup.NotAvailable,
		"m-licence": lookup.Supplied, "m-withdrawn": lookup.NotAvailable, "m-gone": lookup.NotAvailable, "m-photo": lookup.NotAvailable} {
		if statuses[code] != st {
			t.Errorf("%s: status %s, want %s (%s)", code, statuses[code], st, reasons[code])
		}
	}
	for code, prefix := range map[string]string{"m-social": "no_grant:", "m-marriage": "no_record:", "m-withdrawn": "record_deleted:", "m-gone": "resource_gone:", "m-photo": "not_in_library:"} {
		if !strings.HasPrefix(reasons[code], prefix) {
			t.Errorf("%s: reason %q, want %s…", code, reasons[code], prefix)
		}
	}
	pop := res.Materials[0]
	var rec map[string]string
	if err := json.Unmarshal(pop.Record, &rec); err != nil {
		t.Fatal(err)
	}
	if len(rec) != 2 || rec["id_number"] != "431302********9913" || rec["name"] == "张三" || pop.Basis != "grant:g-population" || pop.Version != 2 {
		t.Errorf("population answer %+v record %v: want only id_number and name, masked", pop, rec)
	}
	if c := res.Materials[3].Certificate; c == nil || c.Validity != lookup.CertExpired {
		t.Errorf("licence past valid_until: certificate %+v, want expired", c)
	}
	if res.Summary[lookup.Supplied] != 2 || res.Summary[lookup.NotPermitted] != 1 || res.Summary[lookup.NotAvailable] != 4 {
		t.Errorf("summary %v", res.Summary)
	}
	if want := []string{"社保", "婚姻", "证照", "已撤回", "已下线", "照片"}; !slices.Equal(res.ToBring, want) {
		t.Errorf("to bring %v, want %v (the expired licence included)", res.ToBring, want)
	}
	// Events: a reuse per supplied material, a denial per refused one.
	var got []string
	for _, e := range events {
		got = append(got, e.Resource+" "+string(e.Outcome))
		if e.Action != audit.ActionReuse || e.Purpose != "演示" || e.CaseNumber != "C-1" || len(e.Subjects) != 1 || e.Subjects[0] != applicant {
			t.Errorf("event %+v", e)
		}
	}
	if want := []string{"population allowed", "social-security denied", "business-licence allowed"}; !slices.Equal(got, want) {
		t.Errorf("events %v, want %v", got, want)
	}
	if !strings.HasSuffix(events[1].Reason, "denied=no_grant") || !strings.HasSuffix(events[2].Reason, "validity=expired") {
		t.Errorf("event reasons %q, %q", events[1].Reason, events[2].Reason)
	}
}

func TestLookupFailsWholeWhenTheLibraryFails(t *testing.T) {
	item := serviceitem.Item{Code: "demo-item", ApplicantType: serviceitem.ApplicantPerson,
		Materials: []serviceitem.Material{{Code: "m", Name: "户籍", Resource: "population"}}}
	svc := &lookup.Service{Items: items{item.Code: item}, Directory: directory{"population": {ID: "population"}}, Gate: gate{"population": plan(t, "id_number")},
		Library: lookup.LibraryFunc(func(context.Context, string, []string) (map[string]lookup.Record, error) {
			return nil, errors.New("connection reset")
		})}
	_, events, err := svc.Lookup(context.Background(), identity.Principal{Role: identity.RoleSystem, DepartmentCode: "lx-gsc"},
		lookup.Request{Applicant: applicant, ServiceItem: item.Code, CaseNumber: "C-1", Purpose: "演示"})
	if err == nil || !strings.Contains(err.Error(), "connection reset") || events != nil {
		t.Fatalf("err %v, events %v: want the library's error and no events", err, events)
	}
}

// TestCertificateDetailsFollowThePlan: validity is judged on the unmasked
// record, but the licence number, status and end date reach the answer only
// when the reader's plan returns them, as the plan returns them.
func TestCertificateDetailsFollowThePlan(t *testing.T) {
	item := serviceitem.Item{Code: "licence-item", ApplicantType: serviceitem.ApplicantPerson,
		Materials: []serviceitem.Material{{Code: "m-licence", Name: "证照", Resource: "business-licence"}}}
	dir := directory{"business-licence": {ID: "business-licence", BaseLibrary: catalog.LibElicence}}
	record := `{"licence_id":"LX-EL-0001","id_number":"` + applicant + `","status":"valid","valid_until":"2020-01-01"}`
	lib := lookup.LibraryFunc(func(context.Context, string, []string) (map[string]lookup.Record, error) {
		return map[string]lookup.Record{"business-licence": {Data: []byte(record), Version: 1}}, nil
	})
	officer := identity.Principal{ID: "p1", Kind: identity.KindPerson, Role: identity.RoleOfficer, DepartmentCode: "lx-gsc"}
	cases := []struct {
		name                     string
		granted                  []string
		status, validUntil, text string
	}{
		{"narrowed grant", []string{"id_number"}, "", "", ""},
		{"status only", []string{"status"}, "valid", "", ""},
		{"status and end date", []string{"status", "valid_until"}, "valid", "2020-01-01", "2020-01-01"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			svc := &lookup.Service{Items: items{item.Code: item}, Directory: dir, Gate: gate{"business-licence": plan(t, tc.granted...)}, Library: lib,
				Now: func() time.Time { return time.Date(2026, 11, 26, 10, 0, 0, 0, time.UTC) }}
			res, _, err := svc.Lookup(context.Background(), officer, lookup.Request{Applicant: applicant, ServiceItem: item.Code, CaseNumber: "C-1", Purpose: "演示"})
			if err != nil {
				t.Fatal(err)
			}
			c := res.Materials[0].Certificate
			if c == nil || c.Validity != lookup.CertExpired {
				t.Fatalf("certificate %+v: want expired, judged on the unmasked record", c)
			}
			if c.LicenceID != "" || c.Status != tc.status || c.ValidUntil != tc.validUntil {
				t.Fatalf("certificate %+v: want status %q, valid_until %q and no licence_id (not in the plan)", c, tc.status, tc.validUntil)
			}
			body, err := json.Marshal(res)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(body), "LX-EL-0001") || (tc.text == "" && strings.Contains(string(body), "2020-01-01")) {
				t.Fatalf("answer %s shows a field the plan does not return", body)
			}
		})
	}
}
