package exchange

import (
	"bytes"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"yiku/catalog"
	"yiku/schemas"
)

// baseValidator validates against a compiled base schema, as the catalog's
// validators do for the seeded resources.
type baseValidator struct{ s *jsonschema.Schema }

func (v baseValidator) Version() int { return 1 }

func (v baseValidator) Validate(raw []byte) []catalog.Violation {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []catalog.Violation{{Rule: "json", Message: err.Error()}}
	}
	var out []catalog.Violation
	for _, vi := range schemas.Violations(v.s.Validate(doc)) {
		out = append(out, catalog.Violation{Pointer: vi.Pointer, Rule: vi.Keyword, Message: vi.Message})
	}
	return out
}

func (v baseValidator) ValidateValue(doc any) []catalog.Violation {
	var out []catalog.Violation
	for _, vi := range schemas.Violations(v.s.Validate(doc)) {
		out = append(out, catalog.Violation{Pointer: vi.Pointer, Rule: vi.Keyword, Message: vi.Message})
	}
	return out
}

func benchBatch(b testing.TB, n int) []json.RawMessage {
	b.Helper()
	out := make([]json.RawMessage, n)
	for i := range out {
		body := fmt.Sprintf("431302%04d%02d%02d%03d", 1960+i%40, 1+i%12, 1+i%28, i%1000)
		c, err := schemas.ResidentIDCheckChar(body)
		if err != nil {
			b.Fatal(err)
		}
		out[i] = json.RawMessage(fmt.Sprintf(`{"id_number":"%s%c","name":"王芳","sex":"2","birth_date":"%s-%s-%s","domicile_division":"431302001","domicile_address":"湖南省娄底市娄星区乐坪西街%d号","mobile":"13800138000","marital_status":"20"}`,
			body, c, body[6:10], body[10:12], body[12:14], i%300))
	}
	return out
}

func BenchmarkCheckAndRoute(b *testing.B) {
	sch, err := schemas.CompileBase("population")
	if err != nil {
		b.Fatal(err)
	}
	env := Envelope{Resource: catalog.Resource{ID: "population", SubjectKey: "id_number"}, ID: "population", Validator: baseValidator{sch}, Publisher: "lx-psb", Now: time.Now()}
	raws := benchBatch(b, 1000)
	topics := Topics{Prefix: "yiku"}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		c := Check(env, raws)
		if len(c.Accepted) != len(raws) {
			b.Fatalf("accepted %d of %d: %+v", len(c.Accepted), len(raws), c.Rejected[:1])
		}
		for _, r := range c.Accepted {
			_ = r.Message(topics.Records(r.Resource))
		}
	}
	b.ReportMetric(float64(b.N*len(raws))/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkCanonical(b *testing.B) {
	raws := benchBatch(b, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := Canonical(raws[0]); err != nil {
			b.Fatal(err)
		}
	}
}
