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

func types(_ context.Context, code string) (serviceitem.MaterialType, error) {
	switch code {
	case "resident-id-card":
		return serviceitem.MaterialType{Code: code, Name: "居民身份证", Resource: "population"}, nil
	case "photo":
		return serviceitem.MaterialType{Code: code, Name: "照片"}, nil
	}
	return serviceitem.MaterialType{}, fault.NotFoundf("material_type_not_found", "no material type %s", code)
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
		// The service guide's elements (办事指南).
		{"guide", func(it *serviceitem.Item) {
			it.Category, it.Level, it.TimeLimitDays = serviceitem.CategoryPublic, serviceitem.LevelTownship, serviceitem.MaxTimeLimitDays
			it.LegalBasis, it.Conditions, it.Flow = "《社会保险法》", "已参保", "受理—审核—制卡"
		}, ""},
		{"category", func(it *serviceitem.Item) { it.Category = "行政许可" }, "category"},
		{"level", func(it *serviceitem.Item) { it.Level = "province" }, "level"},
		{"negative time limit", func(it *serviceitem.Item) { it.TimeLimitDays = -1 }, "time_limit_days"},
		{"long time limit", func(it *serviceitem.Item) { it.TimeLimitDays = serviceitem.MaxTimeLimitDays + 1 }, "time_limit_days"},
		{"long legal basis", func(it *serviceitem.Item) { it.LegalBasis = strings.Repeat("法", 2001) }, "legal_basis"},
		{"long conditions", func(it *serviceitem.Item) { it.Conditions = strings.Repeat("条", 2001) }, "conditions"},
		{"long flow", func(it *serviceitem.Item) { it.Flow = strings.Repeat("流", 2001) }, "flow"},
		// Material types (材料目录): the type supplies the resource.
		{"typed material", func(it *serviceitem.Item) {
			it.Materials[0] = serviceitem.Material{Code: "identity", Type: "resident-id-card", Name: "身份"}
		}, ""},
		{"typed material with its resource", func(it *serviceitem.Item) {
			it.Materials[0] = serviceitem.Material{Code: "identity", Type: "resident-id-card", Name: "身份", Resource: "population"}
		}, ""},
		{"typed material, other resource", func(it *serviceitem.Item) {
			it.Materials[0] = serviceitem.Material{Code: "identity", Type: "resident-id-card", Name: "身份", Resource: "legal-entity"}
		}, "materials/0/resource"},
		{"unknown type", func(it *serviceitem.Item) { it.Materials[1].Type = "no-such-type" }, "materials/1/type"},
		{"type for an entity", func(it *serviceitem.Item) {
			it.ApplicantType = serviceitem.ApplicantEntity
			it.Materials = []serviceitem.Material{{Code: "identity", Type: "resident-id-card"}, {Code: "photo", Name: "照片"}}
		}, "materials/0/resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it := good()
			tc.mutate(&it)
			got, err := serviceitem.Check(context.Background(), it, d, depts, types)
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

// A typed material without a name takes the type's; without a directory no
// material may name a type.
func TestCheckTypeDefaults(t *testing.T) {
	d := dir{"population": {ID: "population", ShareType: catalog.ShareUnconditional, SubjectType: catalog.SubjectPerson, Status: catalog.StatusPublished}}
	it := serviceitem.Item{Code: "card-apply", Name: "社会保障卡申领", DepartmentCode: "lx-gsc", ApplicantType: serviceitem.ApplicantPerson,
		Materials: []serviceitem.Material{{Code: "identity", Type: "resident-id-card"}}}
	got, err := serviceitem.Check(context.Background(), it, d, depts, types)
	if err != nil {
		t.Fatal(err)
	}
	if m := got.Materials[0]; m.Name != "居民身份证" || m.Resource != "population" || m.Type != "resident-id-card" {
		t.Fatalf("material = %+v", m)
	}
	if _, err := serviceitem.Check(context.Background(), it, d, depts, nil); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("without a directory: err = %v", err)
	}
}

func TestCheckType(t *testing.T) {
	d := dir{
		"population": {ID: "population", ShareType: catalog.ShareUnconditional, SubjectType: catalog.SubjectPerson, Status: catalog.StatusPublished},
		"secret":     {ID: "secret", ShareType: catalog.ShareNone, SubjectType: catalog.SubjectPerson, Status: catalog.StatusPublished},
		"draft":      {ID: "draft", ShareType: catalog.ShareUnconditional, SubjectType: catalog.SubjectPerson, Status: catalog.StatusDraft},
	}
	cases := []struct {
		name  string
		t     serviceitem.MaterialType
		field string
	}{
		{"good", serviceitem.MaterialType{Code: "resident-id-card", Name: " 居民身份证 ", Resource: "population"}, ""},
		{"brought", serviceitem.MaterialType{Code: "photo", Name: "照片"}, ""},
		{"bad code", serviceitem.MaterialType{Code: "结婚证", Name: "结婚证"}, "code"},
		{"no name", serviceitem.MaterialType{Code: "photo"}, "name"},
		{"long description", serviceitem.MaterialType{Code: "photo", Name: "照片", Description: strings.Repeat("x", 2001)}, "description"},
		{"unknown resource", serviceitem.MaterialType{Code: "photo", Name: "照片", Resource: "nope"}, "resource"},
		{"unshared resource", serviceitem.MaterialType{Code: "photo", Name: "照片", Resource: "secret"}, "resource"},
		{"draft resource", serviceitem.MaterialType{Code: "photo", Name: "照片", Resource: "draft"}, "resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := serviceitem.CheckType(context.Background(), tc.t, d)
			if tc.field == "" {
				if err != nil || strings.TrimSpace(got.Name) != got.Name {
					t.Fatalf("got %+v, %v", got, err)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Code != "invalid_material_type" || len(fe.Details) != 1 || fe.Details[0].Field != tc.field {
				t.Fatalf("err = %#v, want field %s", err, tc.field)
			}
		})
	}
}
