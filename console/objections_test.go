package console_test

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// The objection and supervision pages over HTTP: the API's errors come
// back on the form (a field's beside it, the record's as the form's
// alert), the steps redirect to the objection, and what the API refuses is
// the console's 403 or error page.
func TestObjectionAndSupervisionPages(t *testing.T) {
	h := hubtest.Start(t)
	h.WaitDemoLibrary(t)

	officer := newClient(t, h.URL)
	page := officer.signIn(h, "officer-gsc")
	q := url.Values{"purpose": {"社会保障卡申领"}, "case_number": {"OBJ-CASE-2"}}
	var rec struct {
		Current struct{ Version int } `json:"current"`
	}
	h.Do("GET", "/api/v1/resources/population/records/"+lookupdemo.Citizen+"?"+q.Encode(), "officer-gsc", nil).JSON(t, &rec)
	raise := func(version int, fields ...string) (int, string) {
		return officer.post("/console/objections", url.Values{"csrf": {csrf(t, page)}, "material": {"居民身份信息"}, "resource": {"population"},
			"subject": {lookupdemo.Citizen}, "version": {strconv.Itoa(version)}, "purpose": {"社会保障卡申领"}, "case_number": {"OBJ-CASE-2"},
			"offered": {"name", "sex"}, "fields": fields, "problem": {"姓名与户籍底册不符"}})
	}

	// The lookup result offers the form on every supplied record.
	code, body := officer.post("/console/lookup", url.Values{"csrf": {csrf(t, page)}, "applicant": {lookupdemo.Citizen},
		"service_item": {lookupdemo.ItemSocialSecurity}, "case_number": {"OBJ-CASE-2"}, "purpose": {lookupdemo.ItemSocialSecurity + "::社会保障卡申领"}})
	if code != http.StatusOK || !strings.Contains(body, `class="form raise-objection"`) || !strings.Contains(body, `name="version" value="`+strconv.Itoa(rec.Current.Version)+`"`) {
		t.Fatalf("lookup result: %d, raise form with version %d present: %v", code, rec.Current.Version, strings.Contains(body, "raise-objection"))
	}
	// Not the current version: the API's 409 is the form's alert.
	code, body = raise(rec.Current.Version+5, "name")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `class="alert"`) || !strings.Contains(body, "current") {
		t.Fatalf("stale version: %d %.600s", code, body)
	}
	// A field the officer may not read: beside the fields.
	code, body = raise(rec.Current.Version, "no_such_field")
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `fieldset class="has-error"`) || strings.Contains(body, `class="alert"`) {
		t.Fatalf("unreadable field: %d %.600s", code, body)
	}
	code, body = raise(rec.Current.Version, "name")
	if code != http.StatusOK || !strings.Contains(body, `data-status="open"`) || !strings.Contains(body, "疑义已提出") {
		t.Fatalf("raise: %d %.600s", code, body)
	}
	var mine struct {
		Objections []struct{ ID string } `json:"objections"`
	}
	h.Do("GET", "/api/v1/objections/mine", "officer-gsc", nil).JSON(t, &mine)
	if len(mine.Objections) != 1 {
		t.Fatalf("raised %d objections", len(mine.Objections))
	}
	id := mine.Objections[0].ID

	// The raiser withdraws it; the provider can then no longer reject it.
	code, body = officer.post("/console/objections/"+id+"/withdraw", url.Values{"csrf": {csrf(t, page)}, "reason": {"已核实无误"}})
	if code != http.StatusOK || !strings.Contains(body, `data-status="withdrawn"`) || !strings.Contains(body, `data-step="withdrawn"`) {
		t.Fatalf("withdraw: %d %.600s", code, body)
	}
	admin := newClient(t, h.URL)
	apage := admin.signIn(h, "admin-psb")
	code, body = admin.post("/console/objections/"+id+"/reject", url.Values{"csrf": {csrf(t, apage)}, "reason": {"无误"}})
	if code != http.StatusUnprocessableEntity || !strings.Contains(body, `class="alert"`) {
		t.Fatalf("reject a withdrawn objection: %d %.600s", code, body)
	}

	// What the API refuses is the console's 403 or error page.
	citizen := newClient(t, h.URL)
	citizen.signIn(h, "citizen-demo")
	for _, tc := range []struct {
		c    *client
		path string
		want int
	}{
		{citizen, "/console/objections", http.StatusForbidden},
		{citizen, "/console/supervision/reports", http.StatusForbidden},
		{admin, "/console/supervision/freshness?provider=lx-hrss", http.StatusForbidden},
		{officer, "/console/objections/" + id, http.StatusOK},
		{admin, "/console/supervision/reports/export?period=2026-11&format=pdf", http.StatusBadRequest},
		{admin, "/console/supervision/reports?period=2026-13", http.StatusUnprocessableEntity},
	} {
		if code, body := tc.c.get(tc.path); code != tc.want {
			t.Errorf("%s: %d, want %d: %.300s", tc.path, code, tc.want, body)
		}
	}
	// The report's downloads carry the API's file.
	office := newClient(t, h.URL)
	office.signIn(h, "catalog-admin")
	code, body = office.get("/console/supervision/reports/export?period=2026-11&format=csv")
	if code != http.StatusOK || !strings.Contains(office.header.Get("Content-Disposition"), "assessment-2026-11.csv") || !strings.Contains(body, "lx-psb") {
		t.Fatalf("csv download: %d %s %.300s", code, office.header.Get("Content-Disposition"), body)
	}
}
