package lookupapi_test

import (
	"strings"
	"testing"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
	"yiku/serviceitem"
)

// The material directory through the API: the demo types are listed, the
// catalog admin creates and replaces a type, an item's typed material takes
// the type's resource (and follows a change of it), and others may not
// write.
func TestMaterialTypes(t *testing.T) {
	h := hubtest.Start(t)
	var list struct {
		Types []serviceitem.MaterialType `json:"material_types"`
	}
	h.Do("GET", "/api/v1/material-types", "citizen-demo", nil).JSON(t, &list)
	if len(list.Types) != len(lookupdemo.MaterialTypes()) {
		t.Fatalf("types = %d, want %d", len(list.Types), len(lookupdemo.MaterialTypes()))
	}
	var mt serviceitem.MaterialType
	h.Do("GET", "/api/v1/material-types/marriage-certificate", "officer-gsc", nil).JSON(t, &mt)
	if mt.Name != "结婚证" || mt.Resource != "" {
		t.Fatalf("marriage-certificate = %+v", mt)
	}
	// Demo items name types; their materials keep their resources.
	var it serviceitem.Item
	h.Do("GET", "/api/v1/service-items/"+lookupdemo.ItemMarriage, "officer-gsc", nil).JSON(t, &it)
	if it.Category != serviceitem.CategoryConfirmation || it.TimeLimitDays != 1 || it.Materials[0].Type != "resident-id-card" || it.Materials[0].Resource != "population" {
		t.Fatalf("marriage item = %+v", it)
	}

	if r := h.Do("PUT", "/api/v1/material-types/birth-certificate", "catalog-admin", map[string]string{"name": "出生医学证明"}); r.Status != 201 {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	body := map[string]any{"code": "birth-registration", "name": "出生登记", "department_code": "lx-gsc", "applicant_type": "natural_person",
		"category": "public_service", "level": "township", "time_limit_days": 5,
		"materials": []map[string]string{{"code": "birth", "type": "birth-certificate"}, {"code": "id", "type": "resident-id-card"}}}
	r := h.Do("POST", "/api/v1/service-items", "catalog-admin", body)
	if r.Status != 201 {
		t.Fatalf("item: %d %s", r.Status, r.Body)
	}
	it = serviceitem.Item{}
	r.JSON(t, &it)
	if it.Materials[0].Name != "出生医学证明" || it.Materials[0].FromLibrary() || it.Materials[1].Resource != "population" || it.Level != serviceitem.LevelTownship {
		t.Fatalf("item = %+v", it)
	}
	// The type now comes from the population library: the item follows.
	if r := h.Do("PUT", "/api/v1/material-types/birth-certificate", "catalog-admin", map[string]string{"name": "出生医学证明", "resource": "population"}); r.Status != 200 {
		t.Fatalf("replace: %d %s", r.Status, r.Body)
	}
	it = serviceitem.Item{}
	h.Do("GET", "/api/v1/service-items/birth-registration", "officer-gsc", nil).JSON(t, &it)
	if it.Materials[0].Resource != "population" {
		t.Fatalf("after the type changed: %+v", it.Materials[0])
	}
	var byType struct {
		Items []serviceitem.Item `json:"service_items"`
	}
	h.Do("GET", "/api/v1/service-items?type=birth-certificate", "officer-gsc", nil).JSON(t, &byType)
	if len(byType.Items) != 1 || byType.Items[0].Code != "birth-registration" {
		t.Fatalf("by type: %+v", byType.Items)
	}

	for _, tc := range []struct {
		who    string
		body   any
		status int
		code   string
	}{
		{"catalog-admin", map[string]string{"name": ""}, 400, "invalid_material_type"},
		{"catalog-admin", map[string]string{"name": "x", "resource": "no-such"}, 400, "invalid_material_type"},
		{"catalog-admin", map[string]string{"name": "x", "code": "other"}, 400, "invalid_material_type"},
		{"admin-gsc", map[string]string{"name": "x"}, 403, ""},
		{"officer-gsc", map[string]string{"name": "x"}, 403, ""},
	} {
		r := h.Do("PUT", "/api/v1/material-types/some-type", tc.who, tc.body)
		if r.Status != tc.status || !strings.Contains(string(r.Body), tc.code) {
			t.Errorf("%s %v: %d %s", tc.who, tc.body, r.Status, r.Body)
		}
	}
	if r := h.Do("GET", "/api/v1/material-types/no-such", "officer-gsc", nil); r.Status != 404 {
		t.Fatalf("unknown type: %d", r.Status)
	}
	bad := body
	bad["code"], bad["category"] = "bad-guide", "行政许可"
	if r := h.Do("POST", "/api/v1/service-items", "catalog-admin", bad); r.Status != 400 {
		t.Fatalf("bad category: %d %s", r.Status, r.Body)
	}
}
