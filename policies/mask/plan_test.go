package mask

import (
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"strings"
	"testing"
)

// populationFields is a population-library resource as the catalog would
// describe it.
var populationFields = []Field{
	{Name: "id_number", Rule: RuleIDNumber, Sensitive: true},
	{Name: "name", Rule: RuleName, Sensitive: true},
	{Name: "gender", Rule: RuleNone},
	{Name: "birth_date", Rule: RuleDate, Sensitive: true},
	{Name: "ethnicity", Rule: RuleNone},
	{Name: "address", Rule: RuleAddress, Sensitive: true},
	{Name: "mobile", Rule: RuleMobile, Sensitive: true},
	{Name: "division_code", Rule: RuleNone},
	{Name: "household_id", Rule: RuleKeyedHash, Sensitive: true},
	{Name: "religion", Rule: RuleNone, Sensitive: true}, // sensitive, no rule
	{Name: "updated_at", Rule: RuleNone},
}

func populationRecord() map[string]any {
	return map[string]any{
		"id_number":     "11010519491231002X",
		"name":          "张三丰",
		"gender":        "1",
		"birth_date":    "1949-12-31",
		"ethnicity":     "01",
		"address":       "北京市朝阳区建国路88号",
		"mobile":        "13800138000",
		"division_code": "110105",
		"household_id":  json.Number("110105000123"),
		"religion":      "none",
		"updated_at":    "2024-05-01T08:00:00+08:00",
		"not_in_catalog": map[string]any{
			"x": "y",
		},
	}
}

func mustPlan(t testing.TB, granted, plain []string) *Plan {
	t.Helper()
	p, err := NewPlan(populationFields, granted, plain, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestApplyProjectionAndMasking(t *testing.T) {
	p := mustPlan(t, []string{"id_number", "name", "gender", "mobile", "religion", "household_id"}, []string{"mobile"})
	rec := populationRecord()
	before := maps.Clone(rec)
	got := p.Apply(rec)
	want := map[string]any{
		"id_number":    "110105********002X",
		"name":         "张**",
		"gender":       "1",
		"mobile":       "13800138000", // plain by grant
		"religion":     "***",         // sensitive without rule: redacted
		"household_id": mustHash(t, "110105000123"),
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply =\n%v\nwant\n%v", got, want)
	}
	if !reflect.DeepEqual(rec, before) {
		t.Fatalf("input modified: %v", rec)
	}
	got["gender"] = "changed"
	if rec["gender"] != "1" {
		t.Fatal("result shares the input map")
	}
}

func TestApplyAbsentAndEmpty(t *testing.T) {
	p := mustPlan(t, []string{"id_number", "name", "gender"}, nil)
	got := p.Apply(map[string]any{"name": "李四", "extra": 1})
	if want := map[string]any{"name": "李*"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply = %v; want %v (absent fields stay absent)", got, want)
	}
	if got := p.Apply(nil); got == nil || len(got) != 0 {
		t.Fatalf("Apply(nil) = %#v; want empty map", got)
	}
	empty := mustPlan(t, nil, nil)
	if got := empty.Apply(populationRecord()); len(got) != 0 {
		t.Fatalf("empty grant returned %v", got)
	}
}

func TestApplyUngrantedDropped(t *testing.T) {
	p := mustPlan(t, []string{"gender"}, nil)
	got := p.Apply(populationRecord())
	if want := map[string]any{"gender": "1"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Apply = %v; want %v", got, want)
	}
}

func TestFields(t *testing.T) {
	p := mustPlan(t, []string{"religion", "id_number", "gender", "mobile", "id_number"}, []string{"mobile", "gender"})
	want := []FieldView{
		{Name: "gender"}, // plain listed but nothing to lift: not Plain
		{Name: "id_number", Rule: RuleIDNumber, Masked: true, Sensitive: true},
		{Name: "mobile", Plain: true, Sensitive: true},
		{Name: "religion", Rule: RuleRedact, Masked: true, Sensitive: true},
	}
	got := p.Fields()
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Fields =\n%+v\nwant\n%+v", got, want)
	}
	got[0].Name = "changed"
	if p.Fields()[0].Name != "gender" {
		t.Fatal("Fields returned the plan's own slice")
	}
	b, err := json.Marshal(want[1])
	if err != nil || string(b) != `{"name":"id_number","rule":"id_number","masked":true,"plain":false,"sensitive":true}` {
		t.Fatalf("json = %s, %v", b, err)
	}
}

func TestNewPlanErrors(t *testing.T) {
	tests := []struct {
		name    string
		fields  []Field
		granted []string
		plain   []string
		key     []byte
		want    error
	}{
		{"unknown granted", populationFields, []string{"gender", "salary"}, nil, testKey, ErrUnknownField},
		{"unknown plain", populationFields, []string{"gender"}, []string{"salary"}, testKey, ErrUnknownField},
		{"plain not granted", populationFields, []string{"gender"}, []string{"mobile"}, testKey, ErrNotGranted},
		{"no key", populationFields, []string{"household_id"}, nil, nil, ErrKey},
		{"short key", populationFields, []string{"household_id"}, nil, []byte("123"), ErrKey},
		{"empty name", []Field{{Name: ""}}, nil, nil, nil, ErrInvalidField},
		{"duplicate", []Field{{Name: "a"}, {Name: "a"}}, nil, nil, nil, ErrInvalidField},
		{"invalid rule", []Field{{Name: "a", Rule: 77}}, nil, nil, nil, ErrUnknownRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := NewPlan(tt.fields, tt.granted, tt.plain, tt.key)
			if !errors.Is(err, tt.want) || p != nil {
				t.Fatalf("NewPlan = %v, %v; want error %v", p, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "mask: new plan: ") {
				t.Errorf("error %q lacks the operation", err)
			}
		})
	}
}

// A key is needed only when a returned field is hashed.
func TestNewPlanKeyOnlyWhenHashed(t *testing.T) {
	if _, err := NewPlan(populationFields, []string{"id_number"}, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := NewPlan(populationFields, []string{"household_id"}, []string{"household_id"}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestNewPlanCopiesKey(t *testing.T) {
	key := append([]byte(nil), testKey...)
	p, err := NewPlan(populationFields, []string{"household_id"}, nil, key)
	if err != nil {
		t.Fatal(err)
	}
	key[0] ^= 0xff
	rec := map[string]any{"household_id": "x"}
	if got := p.Apply(rec)["household_id"]; got != mustHash(t, "x") {
		t.Fatalf("plan uses the caller's key slice: %v", got)
	}
}

// Two plans with the same key give the same pseudonyms, so two departments
// can join on them.
func TestKeyedHashJoin(t *testing.T) {
	a, _ := NewPlan([]Field{{Name: "sfzh", Rule: RuleKeyedHash}}, []string{"sfzh"}, nil, testKey)
	b, _ := NewPlan([]Field{{Name: "id_number", Rule: RuleKeyedHash}}, []string{"id_number"}, nil, testKey)
	x := a.Apply(map[string]any{"sfzh": "11010519491231002X"})["sfzh"]
	y := b.Apply(map[string]any{"id_number": "11010519491231002X"})["id_number"]
	if x != y {
		t.Fatalf("%v != %v", x, y)
	}
}

func TestApplyConcurrent(t *testing.T) {
	p := mustPlan(t, []string{"id_number", "household_id", "name"}, nil)
	want := p.Apply(populationRecord())
	done := make(chan struct{})
	for range 8 {
		go func() {
			defer func() { done <- struct{}{} }()
			for range 200 {
				if got := p.Apply(populationRecord()); !reflect.DeepEqual(got, want) {
					t.Error("concurrent Apply differs")
					return
				}
				raw, _ := json.Marshal(populationRecord())
				if _, err := p.ApplyJSON(raw); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for range 8 {
		<-done
	}
}
