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
