package catalog_test

import (
	"encoding/json"
	"strings"
	"testing"

	"yiku/catalog"
	"yiku/fault"
)

func validResource() catalog.Resource {
	return catalog.Resource{
		ID: "population-test", Name: "人口基础信息", ClassCode: "101001", Summary: "户籍人口基础信息", ProviderCode: "lx-psb",
		ShareType: catalog.ShareUnconditional, UpdateCycle: "daily", BaseLibrary: catalog.LibPopulation,
		SubjectType: catalog.SubjectPerson, SubjectKey: "id_number",
		Fields: []catalog.Field{
			{Name: "id_number", Title: "公民身份号码", DataType: "C", Sensitivity: "sensitive", Mask: "id_number"},
			{Name: "name", Title: "姓名", DataType: "C", Sensitivity: "sensitive", Mask: "name"},
			{Name: "birth_date", Title: "出生日期", DataType: "D"},
			{Name: "children", Title: "子女数", DataType: "I"},
		},
	}
}

const validSchema = `{"type":"object","required":["id_number","name"],"properties":{
	"id_number":{"type":"string","format":"cn-resident-id"},
	"name":{"type":"string"},
	"birth_date":{"type":"string","format":"date"},
	"children":{"type":"integer"}}}`

func rulesOf(err error) []string {
	fe, ok := fault.As(err)
	if !ok {
		return nil
	}
	var out []string
	for _, d := range fe.Details {
		out = append(out, d.Rule)
	}
	return out
}

func TestResourceRules(t *testing.T) {
	cases := []struct {
		name   string
		change func(*catalog.Resource)
		rule   string // "" means valid
	}{
		{"valid", func(r *catalog.Resource) {}, ""},
		{"id upper case", func(r *catalog.Resource) { r.ID = "Population" }, catalog.RuleIDFormat},
		{"id too short", func(r *catalog.Resource) { r.ID = "p" }, catalog.RuleIDFormat},
		{"id starts with digit", func(r *catalog.Resource) { r.ID = "1pop" }, catalog.RuleIDFormat},
		{"id 63 characters", func(r *catalog.Resource) { r.ID = "p" + strings.Repeat("a", 62) }, ""},
		{"id 64 characters", func(r *catalog.Resource) { r.ID = "p" + strings.Repeat("a", 63) }, catalog.RuleIDFormat},
		{"name missing", func(r *catalog.Resource) { r.Name = "  " }, catalog.RuleNameRequired},
		{"summary missing", func(r *catalog.Resource) { r.Summary = "" }, catalog.RuleSummaryRequired},
		{"name too long", func(r *catalog.Resource) { r.Name = strings.Repeat("名", 2001) }, catalog.RuleTooLong},
		{"class code letters", func(r *catalog.Resource) { r.ClassCode = "1A1001" }, catalog.RuleClassCodeFormat},
		{"class code too short", func(r *catalog.Resource) { r.ClassCode = "10100" }, catalog.RuleClassCodeFormat},
		{"class code 类 4", func(r *catalog.Resource) { r.ClassCode = "401001" }, catalog.RuleClassCodeFormat},
		{"class code with 细目", func(r *catalog.Resource) { r.ClassCode = "10100101" }, ""},
		{"base library in theme class", func(r *catalog.Resource) { r.ClassCode = "201001" }, catalog.RuleClassLibrary},
		{"department library in base class", func(r *catalog.Resource) { r.BaseLibrary = catalog.LibDepartment }, catalog.RuleClassLibrary},
		{"unknown base library", func(r *catalog.Resource) { r.BaseLibrary = "misc" }, catalog.RuleBaseLibraryUnknown},
		{"provider missing", func(r *catalog.Resource) { r.ProviderCode = "" }, catalog.RuleProviderRequired},
		{"format unknown", func(r *catalog.Resource) { r.Format = "xml" }, catalog.RuleFormatUnknown},
		{"format database", func(r *catalog.Resource) { r.Format = "database" }, ""},
		{"share type unknown", func(r *catalog.Resource) { r.ShareType = "open" }, catalog.RuleShareTypeUnknown},
		{"not shared without legal basis", func(r *catalog.Resource) { r.ShareType = catalog.ShareNone }, catalog.RuleLegalBasisRequired},
		{"not shared with legal basis", func(r *catalog.Resource) { r.ShareType, r.LegalBasis = catalog.ShareNone, "《刑事诉讼法》" }, ""},
		{"not shared but open", func(r *catalog.Resource) {
			r.ShareType, r.LegalBasis, r.OpenToPublic = catalog.ShareNone, "《刑事诉讼法》", true
		}, catalog.RuleOpenNotShared},
		{"conditional without conditions", func(r *catalog.Resource) { r.ShareType = catalog.ShareConditional }, catalog.RuleConditionsRequired},
		{"conditional with conditions", func(r *catalog.Resource) { r.ShareType, r.ShareConditions = catalog.ShareConditional, "经审核" }, ""},
		{"update cycle unknown", func(r *catalog.Resource) { r.UpdateCycle = "hourly" }, catalog.RuleUpdateCycleUnknown},
		{"publish date not a date", func(r *catalog.Resource) { r.PublishDate = "2026-02-30" }, catalog.RulePublishDateFormat},
		{"publish date fine", func(r *catalog.Resource) { r.PublishDate = "2026-02-28" }, ""},
		{"related code malformed", func(r *catalog.Resource) { r.RelatedCodes = []string{"101001-000001"} }, catalog.RuleRelatedCodeFormat},
		{"related code fine", func(r *catalog.Resource) { r.RelatedCodes = []string{"102001/000001"} }, ""},
		{"compatibility unknown", func(r *catalog.Resource) { r.Compatibility = "SIDEWAYS" }, catalog.RuleCompatibilityUnknown},
		{"compatibility lower case", func(r *catalog.Resource) { r.Compatibility = "full_transitive" }, ""},
		{"subject type unknown", func(r *catalog.Resource) { r.SubjectType = "robot" }, catalog.RuleSubjectTypeUnknown},
		{"subject key missing", func(r *catalog.Resource) { r.SubjectKey = "" }, catalog.RuleSubjectKeyRequired},
		{"subject key not a field", func(r *catalog.Resource) { r.SubjectKey = "passport" }, catalog.RuleSubjectKeyNotField},
		{"subject key without subject", func(r *catalog.Resource) { r.SubjectType = catalog.SubjectNone }, catalog.RuleSubjectKeyForbidden},
		{"no fields", func(r *catalog.Resource) { r.Fields = nil }, catalog.RuleFieldsRequired},
		{"field name with dash", func(r *catalog.Resource) { r.Fields[2].Name = "birth-date" }, catalog.RuleFieldName},
		{"field listed twice", func(r *catalog.Resource) { r.Fields[2].Name = "name" }, catalog.RuleFieldDuplicate},
		{"field without title", func(r *catalog.Resource) { r.Fields[2].Title = "" }, catalog.RuleFieldTitle},
		{"field data type unknown", func(r *catalog.Resource) { r.Fields[2].DataType = "X" }, catalog.RuleFieldDataType},
		{"field data type lower case", func(r *catalog.Resource) { r.Fields[2].DataType = "d" }, ""},
		{"field sensitivity unknown", func(r *catalog.Resource) { r.Fields[2].Sensitivity = "secret" }, catalog.RuleFieldSensitivity},
		{"sensitive field without mask", func(r *catalog.Resource) { r.Fields[0].Mask = "" }, catalog.RuleFieldMaskRequired},
		{"mask unknown", func(r *catalog.Resource) { r.Fields[0].Mask = "scramble" }, catalog.RuleFieldMaskUnknown},
		{"mask none on sensitive", func(r *catalog.Resource) { r.Fields[0].Mask = "none" }, catalog.RuleFieldMaskUnknown},
		{"mask on public field", func(r *catalog.Resource) { r.Fields[2].Mask = "date" }, catalog.RuleFieldMaskNotNeeded},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validResource()
			c.change(&r)
			r.Normalize()
			err := r.Check()
			if c.rule == "" {
				if err != nil {
					t.Fatalf("valid resource refused: %v", err)
				}
				return
			}
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("got %v, want an Invalid error with rule %s", err, c.rule)
			}
			got := rulesOf(err)
			if !contains(got, c.rule) {
				t.Fatalf("rules %v, want %s (%v)", got, c.rule, err)
			}
			if fe, _ := fault.As(err); fe.Code != "invalid_resource" || fe.Details[0].Field == "" || fe.Details[0].Reason == "" {
				t.Fatalf("error shape: %+v", fe)
			}
		})
	}
}

func TestSchemaRules(t *testing.T) {
	cases := []struct {
		name   string
		change func(*catalog.Resource, map[string]any)
		rule   string
	}{
		{"valid", func(r *catalog.Resource, s map[string]any) {}, ""},
		{"field not in schema", func(r *catalog.Resource, s map[string]any) {
			r.Fields = append(r.Fields, catalog.Field{Name: "mobile", Title: "手机", DataType: "C"})
		}, catalog.RuleFieldNotInSchema},
		{"property not in fields", func(r *catalog.Resource, s map[string]any) { r.Fields = r.Fields[:3] }, catalog.RulePropertyNotInFields},
		{"data type against integer", func(r *catalog.Resource, s map[string]any) { r.Fields[3].DataType = "C" }, catalog.RuleFieldTypeMismatch},
		{"numeric type on integer", func(r *catalog.Resource, s map[string]any) { r.Fields[3].DataType = "N" }, ""},
		{"logical against string", func(r *catalog.Resource, s map[string]any) { r.Fields[1].DataType = "L" }, catalog.RuleFieldTypeMismatch},
		{"general fits anything", func(r *catalog.Resource, s map[string]any) { r.Fields[1].DataType = "G" }, ""},
		{"nullable type", func(r *catalog.Resource, s map[string]any) {
			prop(s, "children")["type"] = []any{"integer", "null"}
		}, ""},
		{"subject key lacks format", func(r *catalog.Resource, s map[string]any) { delete(prop(s, "id_number"), "format") }, catalog.RuleSubjectKeyFormat},
		{"subject key with the wrong format", func(r *catalog.Resource, s map[string]any) { prop(s, "id_number")["format"] = "cn-uscc" }, catalog.RuleSubjectKeyFormat},
		{"legal person keyed by a resident id", func(r *catalog.Resource, s map[string]any) { r.SubjectType = catalog.SubjectEntity }, catalog.RuleSubjectKeyFormat},
		{"subject key optional", func(r *catalog.Resource, s map[string]any) { s["required"] = []any{"name"} }, catalog.RuleSubjectKeyOptional},
		{"subject part annotation", func(r *catalog.Resource, s map[string]any) { prop(s, "children")["x-yiku-subject-part"] = "sex" }, ""},
		{"unknown subject part", func(r *catalog.Resource, s map[string]any) { prop(s, "children")["x-yiku-subject-part"] = "age" }, catalog.RuleSubjectPartUnknown},
		{"subject part not a string", func(r *catalog.Resource, s map[string]any) { prop(s, "children")["x-yiku-subject-part"] = true }, catalog.RuleSubjectPartUnknown},
		{"mixed subject with both formats in branches", func(r *catalog.Resource, s map[string]any) {
			r.SubjectType = catalog.SubjectMixed
			delete(prop(s, "id_number"), "format")
			s["allOf"] = []any{
				map[string]any{"if": map[string]any{}, "then": map[string]any{"properties": map[string]any{"id_number": map[string]any{"format": "cn-resident-id"}}}},
				map[string]any{"if": map[string]any{}, "then": map[string]any{"properties": map[string]any{"id_number": map[string]any{"format": "cn-uscc"}}}},
			}
		}, ""},
		{"mixed subject with one format", func(r *catalog.Resource, s map[string]any) { r.SubjectType = catalog.SubjectMixed }, catalog.RuleSubjectKeyFormat},
		{"mixed subject with anyOf formats", func(r *catalog.Resource, s map[string]any) {
			r.SubjectType = catalog.SubjectMixed
			delete(prop(s, "id_number"), "format")
			prop(s, "id_number")["anyOf"] = []any{map[string]any{"format": "cn-resident-id"}, map[string]any{"format": "cn-uscc"}}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := validResource()
			var s map[string]any
			if err := json.Unmarshal([]byte(validSchema), &s); err != nil {
				t.Fatal(err)
			}
			c.change(&r, s)
			r.Normalize()
			err := r.CheckSchema(s)
			if c.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if got := rulesOf(err); !contains(got, c.rule) {
				t.Fatalf("rules %v, want %s (%v)", got, c.rule, err)
			}
		})
	}
}

func TestFieldsFromSchemaSatisfyTheRules(t *testing.T) {
	fields, err := catalog.FieldsFromSchema([]byte(validSchema))
	if err != nil {
		t.Fatal(err)
	}
	r := validResource()
	r.Fields = fields
	r.Normalize()
	var s map[string]any
	_ = json.Unmarshal([]byte(validSchema), &s)
	if err := r.CheckSchema(s); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"birth_date": "D", "children": "I", "id_number": "C", "name": "C"}
	for _, f := range fields {
		if want[f.Name] != f.DataType {
			t.Errorf("%s: data type %s", f.Name, f.DataType)
		}
	}
}

func TestTransitions(t *testing.T) {
	all := []catalog.Status{catalog.StatusDraft, catalog.StatusPublished, catalog.StatusDeprecated, catalog.StatusRetired}
	allowed := map[[2]catalog.Status]bool{
		{catalog.StatusDraft, catalog.StatusPublished}:      true,
		{catalog.StatusDraft, catalog.StatusRetired}:        true,
		{catalog.StatusPublished, catalog.StatusDeprecated}: true,
		{catalog.StatusDeprecated, catalog.StatusPublished}: true,
		{catalog.StatusDeprecated, catalog.StatusRetired}:   true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := catalog.CanTransition(from, to); got != allowed[[2]catalog.Status{from, to}] {
				t.Errorf("%s → %s: %v", from, to, got)
			}
		}
	}
	for s, accepts := range map[catalog.Status]bool{catalog.StatusDraft: false, catalog.StatusPublished: true, catalog.StatusDeprecated: true, catalog.StatusRetired: false} {
		if s.AcceptsRecords() != accepts {
			t.Errorf("%s accepts records: %v", s, !accepts)
		}
	}
}

func prop(s map[string]any, name string) map[string]any {
	return s["properties"].(map[string]any)[name].(map[string]any)
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if y == x {
			return true
		}
	}
	return false
}
