package loadgen

import (
	"math/rand/v2"
	"testing"

	"yiku/schemas"
)

func TestGeneratedIdentifiersAreValidAndDistinct(t *testing.T) {
	seenID, seenCC := map[string]bool{}, map[string]bool{}
	for n := 0; n < 20000; n++ {
		id := ResidentID(n)
		if err := schemas.ValidateResidentID(id); err != nil {
			t.Fatalf("ResidentID(%d) = %s: %v", n, id, err)
		}
		if seenID[id] {
			t.Fatalf("ResidentID(%d) = %s repeats", n, id)
		}
		seenID[id] = true
		cc := CreditCode(n)
		if _, err := schemas.ValidateUSCC(cc); err != nil {
			t.Fatalf("CreditCode(%d) = %s: %v", n, cc, err)
		}
		if seenCC[cc] {
			t.Fatalf("CreditCode(%d) = %s repeats", n, cc)
		}
		seenCC[cc] = true
	}
}

func TestRecordsValidateAgainstBaseSchemas(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, kind := range []Kind{KindPopulation, KindLegalEntity} {
		sch, err := schemas.CompileBase(string(kind))
		if err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 500; n++ {
			var rec map[string]any
			if kind == KindPopulation {
				rec = Person(r, n, n%3)
			} else {
				rec = Entity(r, n, n%3)
			}
			if err := sch.Validate(jsonRoundTrip(t, rec)); err != nil {
				t.Fatalf("%s record %d invalid: %v", kind, n, err)
			}
			bad := jsonRoundTrip(t, rec).(map[string]any)
			ptr, rule := Invalid(r, bad, kind.SubjectKey())
			err := sch.Validate(bad)
			vs := schemas.Violations(err)
			if len(vs) == 0 {
				t.Fatalf("%s record %d damaged (%s %s) still valid", kind, n, ptr, rule)
			}
			if vs[0].Pointer != ptr || vs[0].Keyword != rule {
				t.Fatalf("%s record %d: got %+v, want pointer %q rule %q", kind, n, vs[0], ptr, rule)
			}
		}
	}
}
