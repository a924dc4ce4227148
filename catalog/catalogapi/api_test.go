package catalogapi_test

import (
	"encoding/csv"
	"net/http"
	"strings"
	"testing"

	"yiku/catalog"
	"yiku/httpapi"
	"yiku/hub/hubtest"
)

const base = "/api/v1/catalog"

func marriageBody(id string) map[string]any {
	return map[string]any{
		"id": id, "name": "婚姻登记（接口测试）", "class_code": "312009", "provider_code": "lx-civil",
		"summary": "婚姻登记记录", "share_type": "conditional", "share_conditions": "经民政局审核同意",
		"update_cycle": "daily", "base_library": "department", "subject_type": "natural_person", "subject_key": "id_number",
		"fields": []map[string]any{
			{"name": "id_number", "title": "公民身份号码", "data_type": "C", "sensitivity": "sensitive", "mask": "id_number"},
			{"name": "name", "title": "姓名", "data_type": "C", "sensitivity": "sensitive", "mask": "name"},
			{"name": "registration_date", "title": "登记日期", "data_type": "D"},
		},
		"schema": map[string]any{
			"type": "object", "required": []string{"id_number", "name"},
			"properties": map[string]any{
				"id_number":         map[string]any{"type": "string", "format": "cn-resident-id"},
				"name":              map[string]any{"type": "string"},
				"registration_date": map[string]any{"type": "string", "format": "date"},
			},
		},
	}
}

func schemaWithPhone(required bool) map[string]any {
	req := []string{"id_number", "name"}
	if required {
		req = append(req, "phone")
	}
	return map[string]any{
		"type": "object", "required": req,
		"properties": map[string]any{
			"id_number":         map[string]any{"type": "string", "format": "cn-resident-id"},
			"name":              map[string]any{"type": "string"},
			"registration_date": map[string]any{"type": "string", "format": "date"},
			"phone":             map[string]any{"type": "string", "pattern": "^1[3-9][0-9]{9}$"},
		},
	}
}

func fieldsWithPhone() []map[string]any {
	f := marriageBody("x")["fields"].([]map[string]any)
	return append(f, map[string]any{"name": "phone", "title": "联系电话", "data_type": "C", "sensitivity": "sensitive", "mask": "mobile"})
}

func expect(t *testing.T, r hubtest.Response, status int) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d: %s", r.Status, status, r.Body)
	}
}

func errorOf(t *testing.T, r hubtest.Response) httpapi.ErrorPayload {
	t.Helper()
	var b httpapi.ErrorBody
	r.JSON(t, &b)
	return b.Error
}

func TestRegisterVersionPublishListExport(t *testing.T) {
	h := hubtest.Start(t)
	const id = "marriage-api"

	// Register with schema v1 as the civil affairs department's admin.
	resp := h.Do("POST", base+"/resources", "admin-civil", marriageBody(id))
	expect(t, resp, http.StatusCreated)
	var r catalog.Resource
	resp.JSON(t, &r)
	if r.Code != "312009/000001" || r.Status != catalog.StatusDraft || r.LatestVersion != 1 || r.ProviderName == "" {
		t.Fatalf("registered: %+v", r)
	}
	if resp.Header.Get("Location") != base+"/resources/"+id {
		t.Errorf("location %q", resp.Header.Get("Location"))
	}

	// An incompatible v2 is refused with explanations.
	resp = h.Do("POST", base+"/resources/"+id+"/versions", "admin-civil", map[string]any{"schema": schemaWithPhone(true), "fields": fieldsWithPhone()})
	expect(t, resp, http.StatusConflict)
	e := errorOf(t, resp)
	if e.Code != "incompatible_schema" || len(e.Details) == 0 || e.Details[0].Pointer != "/properties/phone" || !strings.Contains(e.Details[0].Reason, "required") {
		t.Fatalf("incompatible v2: %+v", e)
	}
	t.Logf("refused v2: %s — %s %s", e.Message, e.Details[0].Pointer, e.Details[0].Reason)

	// The dry run gives the same verdict; under NONE anything goes, and
	// under FORWARD the new property breaks v1's closed readers.
	resp = h.Do("POST", base+"/resources/"+id+"/compatibility", "admin-civil", map[string]any{"schema": schemaWithPhone(true), "fields": fieldsWithPhone()})
	expect(t, resp, http.StatusOK)
	var rep catalog.Report
	resp.JSON(t, &rep)
	if rep.Compatible || rep.Mode != "BACKWARD" || len(rep.Issues) == 0 || len(rep.Against) != 1 {
		t.Fatalf("dry run: %+v", rep)
	}
	resp = h.Do("POST", base+"/resources/"+id+"/compatibility", "catalog-admin", map[string]any{"schema": schemaWithPhone(true), "fields": fieldsWithPhone(), "mode": "none"})
	expect(t, resp, http.StatusOK)
	resp.JSON(t, &rep)
	if !rep.Compatible || rep.Mode != "NONE" {
		t.Fatalf("dry run none: %+v", rep)
	}
	resp = h.Do("POST", base+"/resources/"+id+"/compatibility", "catalog-admin", map[string]any{"schema": schemaWithPhone(false), "fields": fieldsWithPhone(), "mode": "FORWARD"})
	expect(t, resp, http.StatusOK)
	resp.JSON(t, &rep)
	if rep.Compatible || len(rep.Issues) != 1 || rep.Issues[0].Direction != "forward" || rep.Issues[0].Pointer != "/properties/phone" {
		t.Fatalf("dry run forward: %+v", rep)
	}

	// A compatible v2 (optional field in a closed model) is accepted.
	resp = h.Do("POST", base+"/resources/"+id+"/versions", "admin-civil", map[string]any{"schema": schemaWithPhone(false), "fields": fieldsWithPhone()})
	expect(t, resp, http.StatusCreated)
	var v catalog.SchemaVersion
	resp.JSON(t, &v)
	if v.Version != 2 || !strings.HasPrefix(v.Fingerprint, "sha256:") || !strings.Contains(string(v.Schema), `"additionalProperties":false`) {
		t.Fatalf("v2: %+v", v)
	}
	// The same schema again is the same version.
	resp = h.Do("POST", base+"/resources/"+id+"/versions", "admin-civil", map[string]any{"schema": schemaWithPhone(false)})
	expect(t, resp, http.StatusOK)

	resp = h.Do("GET", base+"/resources/"+id+"/versions", "officer-gsc", nil)
	expect(t, resp, http.StatusOK)
	var vs struct{ Versions []catalog.SchemaVersion }
	resp.JSON(t, &vs)
	if len(vs.Versions) != 2 {
		t.Fatalf("versions: %d", len(vs.Versions))
	}
	expect(t, h.Do("GET", base+"/resources/"+id+"/versions/latest", "officer-gsc", nil), http.StatusOK)
	expect(t, h.Do("GET", base+"/resources/"+id+"/versions/9", "officer-gsc", nil), http.StatusNotFound)

	// Publish it, then find it by filters and in the exports.
	resp = h.Do("POST", base+"/resources/"+id+"/lifecycle", "admin-civil", map[string]any{"status": "published", "reason": "上线"})
	expect(t, resp, http.StatusOK)
	resp.JSON(t, &r)
	if r.Status != catalog.StatusPublished || r.PublishDate == "" {
		t.Fatalf("published: %+v", r)
	}
	resp = h.Do("GET", base+"/resources?provider=lx-civil&status=published&limit=1&offset=0", "officer-gsc", nil)
	expect(t, resp, http.StatusOK)
	var page struct {
		Resources []catalog.Resource
		Total     int
	}
	resp.JSON(t, &page)
	if page.Total != 2 || len(page.Resources) != 1 {
		t.Fatalf("page: total %d, %d items", page.Total, len(page.Resources))
	}
	resp = h.Do("GET", base+"/resources?q=接口测试", "psb-system", nil)
	expect(t, resp, http.StatusOK)
	resp.JSON(t, &page)
	if page.Total != 1 || page.Resources[0].ID != id {
		t.Fatalf("keyword: %+v", page)
	}
	expect(t, h.Do("GET", base+"/resources?status=nope", "officer-gsc", nil), http.StatusBadRequest)

	resp = h.Do("GET", base+"/export", "reviewer", nil)
	expect(t, resp, http.StatusOK)
	var exp struct{ Resources []catalog.Resource }
	resp.JSON(t, &exp)
	if len(exp.Resources) != 9 {
		t.Fatalf("export json: %d resources", len(exp.Resources))
	}
	resp = h.Do("GET", base+"/export?format=csv", "reviewer", nil)
	expect(t, resp, http.StatusOK)
	rows, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(string(resp.Body), "\ufeff"))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 10 || rows[0][0] != "信息资源分类" || rows[0][2] != "信息资源代码" {
		t.Fatalf("export csv: %d rows, header %v", len(rows), rows[0])
	}
	found := false
	for _, row := range rows[1:] {
		if row[2] == "312009/000001" && row[8] == "2 有条件共享" && strings.Contains(row[7], "phone 联系电话 (C)") {
			found = true
		}
	}
	if !found {
		t.Fatalf("csv lacks the resource: %v", rows)
	}
	expect(t, h.Do("GET", base+"/export?format=xml", "reviewer", nil), http.StatusBadRequest)

	// History: create, schema v2, publish.
	resp = h.Do("GET", base+"/resources/"+id+"/changes", "officer-gsc", nil)
	expect(t, resp, http.StatusOK)
	var ch struct{ Changes []catalog.Change }
	resp.JSON(t, &ch)
	if len(ch.Changes) != 3 || ch.Changes[2].Action != "status.published" || ch.Changes[2].PrincipalName != "admin-civil" || ch.Changes[2].Reason != "上线" {
		t.Fatalf("changes: %+v", ch.Changes)
	}
}

func TestOwnershipAndRules(t *testing.T) {
	h := hubtest.Start(t)
	body := marriageBody("marriage-owned")
	expect(t, h.Do("POST", base+"/resources", "admin-civil", body), http.StatusCreated)

	// Another department's admin may read but not change it.
	expect(t, h.Do("GET", base+"/resources/marriage-owned", "admin-amr", nil), http.StatusOK)
	upd := marriageBody("marriage-owned")
	delete(upd, "schema")
	upd["summary"] = "改过的摘要"
	resp := h.Do("PUT", base+"/resources/marriage-owned", "admin-amr", upd)
	expect(t, resp, http.StatusForbidden)
	if e := errorOf(t, resp); e.Code != "not_resource_owner" {
		t.Fatalf("foreign edit: %+v", e)
	}
	expect(t, h.Do("POST", base+"/resources/marriage-owned/lifecycle", "admin-amr", map[string]any{"status": "retired"}), http.StatusForbidden)
	expect(t, h.Do("PUT", base+"/resources/population", "admin-civil", upd), http.StatusForbidden)
	// Registering for another department is refused too.
	other := marriageBody("amr-by-civil")
	other["provider_code"] = "lx-amr"
	expect(t, h.Do("POST", base+"/resources", "admin-civil", other), http.StatusForbidden)
	// Roles without catalog management are stopped by the API policy.
	expect(t, h.Do("POST", base+"/resources", "officer-gsc", marriageBody("by-officer")), http.StatusForbidden)
	expect(t, h.Do("POST", base+"/resources", "psb-system", marriageBody("by-system")), http.StatusForbidden)
	// The owner and the catalog admin may.
	resp = h.Do("PUT", base+"/resources/marriage-owned", "admin-civil", upd)
	expect(t, resp, http.StatusOK)
	upd["summary"] = "目录管理员改过的摘要"
	expect(t, h.Do("PUT", base+"/resources/marriage-owned", "catalog-admin", upd), http.StatusOK)

	// Rules of the directory, through the API.
	cases := []struct {
		name   string
		change func(map[string]any)
		status int
		rule   string
	}{
		{"not shared without legal basis", func(b map[string]any) { b["share_type"] = "not_shared" }, 400, catalog.RuleLegalBasisRequired},
		{"conditional without conditions", func(b map[string]any) { b["share_conditions"] = "" }, 400, catalog.RuleConditionsRequired},
		{"field missing from schema", func(b map[string]any) {
			b["fields"] = append(b["fields"].([]map[string]any), map[string]any{"name": "phone", "title": "电话", "data_type": "C"})
		}, 400, catalog.RuleFieldNotInSchema},
		{"subject key without its format", func(b map[string]any) { b["subject_type"] = "legal_person" }, 400, catalog.RuleSubjectKeyFormat},
		{"bad id", func(b map[string]any) { b["id"] = "Bad_ID" }, 400, catalog.RuleIDFormat},
		{"unknown provider", func(b map[string]any) { b["provider_code"] = "lx-nowhere" }, 0, ""},
	}
	for i, c := range cases {
		b := marriageBody("rule-case-" + string(rune('a'+i)))
		c.change(b)
		resp := h.Do("POST", base+"/resources", "catalog-admin", b)
		if c.status == 0 {
			if resp.Status != http.StatusBadRequest {
				t.Errorf("%s: status %d: %s", c.name, resp.Status, resp.Body)
			}
			continue
		}
		if resp.Status != c.status {
			t.Errorf("%s: status %d: %s", c.name, resp.Status, resp.Body)
			continue
		}
		e := errorOf(t, resp)
		ok := false
		for _, d := range e.Details {
			ok = ok || d.Rule == c.rule
		}
		if !ok {
			t.Errorf("%s: no rule %s in %+v", c.name, c.rule, e)
		}
	}
	// Remote references are refused.
	b := marriageBody("remote-ref")
	b["schema"].(map[string]any)["properties"].(map[string]any)["name"] = map[string]any{"$ref": "https://example.com/name.json"}
	resp = h.Do("POST", base+"/resources", "catalog-admin", b)
	expect(t, resp, http.StatusBadRequest)
	if e := errorOf(t, resp); e.Code != "remote_ref" {
		t.Fatalf("remote ref: %+v", e)
	}
	// Duplicate IDs conflict; unknown JSON fields are refused.
	expect(t, h.Do("POST", base+"/resources", "catalog-admin", marriageBody("marriage-owned")), http.StatusConflict)
	bad := marriageBody("unknown-field")
	bad["colour"] = "blue"
	expect(t, h.Do("POST", base+"/resources", "catalog-admin", bad), http.StatusBadRequest)
	expect(t, h.Do("GET", base+"/resources/no-such-thing", "officer-gsc", nil), http.StatusNotFound)
}
