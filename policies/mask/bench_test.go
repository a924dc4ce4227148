package mask

import (
	"bytes"
	"encoding/json"
	"testing"
)

// A population record of 10 fields of which the grant masks 3.
var (
	benchFields = []Field{
		{Name: "id_number", Rule: RuleIDNumber, Sensitive: true},
		{Name: "name", Rule: RuleName, Sensitive: true},
		{Name: "mobile", Rule: RuleMobile, Sensitive: true},
		{Name: "gender"}, {Name: "birth_date"}, {Name: "ethnicity"}, {Name: "address"},
		{Name: "division_code"}, {Name: "household_id"}, {Name: "updated_at"},
	}
	benchGranted = []string{
		"id_number", "name", "mobile", "gender", "birth_date", "ethnicity", "address",
		"division_code", "household_id", "updated_at",
	}
	benchJSON = []byte(`{"id_number":"11010519491231002X","name":"张三丰","mobile":"13800138000",` +
		`"gender":"1","birth_date":"1949-12-31","ethnicity":"01","address":"北京市朝阳区建国路88号",` +
		`"division_code":"110105","household_id":110105000123,"updated_at":"2024-05-01T08:00:00+08:00"}`)
)

func benchPlan(b *testing.B) *Plan {
	p, err := NewPlan(benchFields, benchGranted, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkApplyPopulationRecord(b *testing.B) {
	p := benchPlan(b)
	rec := decodeRecord(b, benchJSON)
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Apply(rec)
	}
}

func BenchmarkApplyJSONPopulationRecord(b *testing.B) {
	p := benchPlan(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchJSON)))
	for b.Loop() {
		if _, err := p.ApplyJSON(benchJSON); err != nil {
			b.Fatal(err)
		}
	}
}

// The same work through the map path: what ApplyJSON saves.
func BenchmarkDecodeApplyEncodePopulationRecord(b *testing.B) {
	p := benchPlan(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchJSON)))
	for b.Loop() {
		d := json.NewDecoder(bytes.NewReader(benchJSON))
		d.UseNumber()
		var rec map[string]any
		if err := d.Decode(&rec); err != nil {
			b.Fatal(err)
		}
		if _, err := json.Marshal(p.Apply(rec)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkKeyedHash(b *testing.B) {
	p, err := NewPlan([]Field{{Name: "id_number", Rule: RuleKeyedHash}}, []string{"id_number"}, nil, testKey)
	if err != nil {
		b.Fatal(err)
	}
	rec := map[string]any{"id_number": "11010519491231002X"}
	b.ReportAllocs()
	for b.Loop() {
		_ = p.Apply(rec)
	}
}
