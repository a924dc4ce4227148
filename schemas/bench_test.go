package schemas

import (
	"bytes"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

func BenchmarkValidateResidentID(b *testing.B) {
	ids := []string{"431302198506159913", "11010519491231002X", "431302198506159912", "431302200102309911"}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		_ = ValidateResidentID(ids[i%len(ids)])
		i++
	}
}

// BenchmarkValidatePopulationRecord measures the ingest path for one
// record: decode raw JSON, validate against the compiled schema.
func BenchmarkValidatePopulationRecord(b *testing.B) {
	sch, err := CompileBase("population")
	if err != nil {
		b.Fatal(err)
	}
	raw := []byte(`{"id_number": "431302198506159913", "name": "张三", "sex": "1", "ethnicity": "01",
		"birth_date": "1985-06-15", "domicile_division": "431302001", "domicile_address": "湖南省娄底市娄星区乐坪街道",
		"mobile": "13800000000", "marital_status": "20"}`)
	b.ReportAllocs()
	b.SetBytes(int64(len(raw)))
	n := 0
	for b.Loop() {
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		if err := sch.Validate(doc); err != nil {
			b.Fatal(err)
		}
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
