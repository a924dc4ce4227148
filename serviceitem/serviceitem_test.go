package serviceitem_test

import (
	"context"
	"strings"
	"testing"

	"yiku/catalog"
	"yiku/fault"
	"yiku/serviceitem"
)

type dir map[string]catalog.Resource

func (d dir) Resource(_ context.Context, id string) (catalog.Resource, error) {
	r, ok := d[id]
	if !ok {
		return catalog.Resource{}, fault.NotFoundf("resource_not_found", "no resource %s", id)
	}
	return r, nil
}

func (d dir) Validator(context.Context, string, int) (catalog.RecordValidator, error) {
	return nil, fault.NotFoundf("no_schema", "no schema")
}

func depts(_ context.Context, code string) error {
	if code == "lx-gsc" {
		return nil
	}
	return fault.NotFoundf("department_not_found", "no department %s", code)
}

func TestSupplies(t *testing.T) {
	res := func(share catalog.ShareType, subj catalog.SubjectType, st catalog.Status) catalog.Resource {
		return catalog.Resource{ID: "r", ShareType: share, SubjectType: subj, Status: st}
	}
	P, E := serviceitem.ApplicantPerson, serviceitem.ApplicantEntity
	cases := []struct {
		name string
		res  catalog.Resource
		t    serviceitem.ApplicantType
		ok   bool
	}{
		{"person record for a person", res(catalog.ShareUnconditional, catalog.SubjectPerson, catalog.StatusPublished), P, true},
		{"person record for an entity", res(catalog.ShareUnconditional, catalog.SubjectPerson, catalog.StatusPublished), E, false},
		{"entity record for an entity", res(catalog.ShareConditional, catalog.SubjectEntity, catalog.StatusPublished), E, true},
		{"entity record for a person", res(catalog.ShareConditional, catalog.SubjectEntity, catalog.StatusPublished), P, false},
		{"licence for either", res(catalog.ShareUnconditional, catalog.SubjectMixed, catalog.StatusDeprecated), P, true},
		{"no subjects", res(catalog.ShareUnconditional, catalog.SubjectNone, catalog.StatusPublished), P, false},
		{"not shared", res(catalog.ShareNone, catalog.SubjectPerson, catalog.StatusPublished), P, false},
		{"draft", res(catalog.ShareUnconditional, catalog.SubjectPerson, catalog.StatusDraft), P, false},
		{"retired", res(catalog.ShareUnconditional, catalog.SubjectPerson, catalog.StatusRetired), P, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := serviceitem.Supplies(tc.res, tc.t); (err == nil) != tc.ok {
				t.Fatalf("Supplies = %v, want ok %v", err, tc.ok)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	d := dir{
		"population":   {ID: "population", Code: "C-POP", ShareType: catalog.ShareUnconditional, SubjectType: catalog.SubjectPerson, Status: catalog.StatusPublished},
		"legal-entity": {ID: "legal-entity", ShareType: catalog.ShareUnconditional, SubjectType: catalog.SubjectEntity, Status: catalog.StatusPublished},
		"C-POP":        {ID: "population", ShareType: catalog.ShareUnconditional, SubjectType: catalog.SubjectPerson, Status: catalog.StatusPublished},
	}
	good := func() serviceitem.Item {
		return serviceitem.Item{Code: "card-apply", Name: " 社会保障卡申领 ", DepartmentCode: "lx-gsc", ApplicantType: serviceitem.ApplicantPerson,
			Materials: []serviceitem.Material{{Code: "identity", Name: "身份", Resource: "C-POP"}, {Code: "photo", Name: "照片"}}}
	}
	cases := []struct {
		name   string
		mutate func(*serviceitem.Item)
		field  string
	}{
		{"good", func(*serviceitem.Item) {}, ""},
		{"bad code", func(it *serviceitem.Item) { it.Code = "1abc" }, "code"},
		{"upper code", func(it *serviceitem.Item) { it.Code = "Card" }, "code"},
		{"no name", func(it *serviceitem.Item) { it.Name = "  " }, "name"},
		{"long name", func(it *serviceitem.Item) { it.Name = strings.Repeat("名", 101) }, "name"},
		{"long item code", func(it *serviceitem.Item) { it.ItemCode = strings.Repeat("1", 65) }, "item_code"},
		{"applicant type", func(it *serviceitem.Item) { it.ApplicantType = "anyone" }, "applicant_type"},
		{"no department", func(it *serviceitem.Item) { it.DepartmentCode = "" }, "department_code"},
		{"unknown department", func(it *serviceitem.Item) { it.DepartmentCode = "lx-x" }, "department_code"},
		{"no materials", func(it *serviceitem.Item) { it.Materials = nil }, "materials"},
		{"too many materials", func(it *serviceitem.Item) {
			it.Materials = make([]serviceitem.Material, serviceitem.MaxMaterials+1)
		}, "materials"},
		{"material code", func(it *serviceitem.Item) { it.Materials[1].Code = "P" }, "materials/1/code"},
		{"duplicate material", func(it *serviceitem.Item) { it.Materials[1].Code = "identity" }, "materials/1/code"},
		{"material name", func(it *serviceitem.Item) { it.Materials[0].Name = "" }, "materials/0/name"},
		{"unknown resource", func(it *serviceitem.Item) { it.Materials[0].Resource = "nope" }, "materials/0/resource"},
		{"wrong subjects", func(it *serviceitem.Item) { it.Materials[0].Resource = "legal-entity" }, "materials/0/resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it := good()
			tc.mutate(&it)
			got, err := serviceitem.Check(context.Background(), it, d, depts)
			if tc.field == "" {
				if err != nil {
					t.Fatal(err)
				}
				// Normalised: trimmed name, resource by its id, not its code.
				if got.Name != "社会保障卡申领" || got.Materials[0].Resource != "population" || got.Materials[1].FromLibrary() {
					t.Fatalf("got %+v", got)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || len(fe.Details) != 1 || fe.Details[0].Field != tc.field {
				t.Fatalf("err = %#v, want field %s", err, tc.field)
			}
		})
	}
}
