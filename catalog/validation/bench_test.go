package validation_test

import (
	"testing"

	"yiku/catalog/validation"
	"yiku/schemas"
)

// BenchmarkValidatePopulationRecord measures the publish hot path: one raw
// population record, parsed and validated against the compiled base
// schema with the identifier formats asserted.
func BenchmarkValidatePopulationRecord(b *testing.B) {
	base, _ := schemas.BaseByName("population")
	canon, err := validation.Canonicalize(base.JSON)
	if err != nil {
		b.Fatal(err)
	}
	v, err := validation.Compile("population", 1, canon.JSON)
	if err != nil {
		b.Fatal(err)
	}
	record := []byte(`{"id_number":"431302198506120031","name":"李四","sex":"1","ethnicity":"01","birth_date":"1985-06-12",` +
		`"domicile_division":"431302001","domicile_address":"湖南省娄底市娄星区乐坪街道东升社区12号","mobile":"13907380000","marital_status":"20"}`)
	if vs := v.Validate(record); len(vs) != 0 {
		b.Fatalf("benchmark record invalid: %+v", vs)
	}
	b.SetBytes(int64(len(record)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if vs := v.Validate(record); vs != nil {
			b.Fatal(vs)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkMeasureBase measures the static complexity check of each base
// schema: Measure on the compiled schema, the work a registration adds.
func BenchmarkMeasureBase(b *testing.B) {
	for _, base := range schemas.Base() {
		b.Run(base.Name, func(b *testing.B) {
			canon, err := validation.Canonicalize(base.JSON)
			if err != nil {
				b.Fatal(err)
			}
			v, err := validation.Compile(base.Name, 1, canon.JSON)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if err := validation.MeasureCompiled(v).Budget(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMeasurePoison measures the static check of the doubling schema
// of 40 levels that the budget refuses.
func BenchmarkMeasurePoison(b *testing.B) {
	v := compile(b, doubling(40))
	b.ReportAllocs()
	for b.Loop() {
		if validation.MeasureCompiled(v).Budget() == nil {
			b.Fatal("poison schema within the budget")
		}
	}
}

// BenchmarkRecordCost measures the per-record bound on a population
// record: the walk the publish path adds before each validation.
func BenchmarkRecordCost(b *testing.B) {
	base, _ := schemas.BaseByName("population")
	v := compile(b, base.JSON)
	rec := map[string]any{"id_number": "431302198506120031", "name": "李四", "sex": "1", "ethnicity": "01", "birth_date": "1985-06-12",
		"domicile_division": "431302001", "domicile_address": "湖南省娄底市娄星区乐坪街道东升社区12号", "mobile": "13907380000", "marital_status": "20"}
	c := v.Complexity()
	b.ReportAllocs()
	for b.Loop() {
		if !c.Cost(rec).Within() {
			b.Fatal("over budget")
		}
	}
}
