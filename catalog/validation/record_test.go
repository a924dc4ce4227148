package validation_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"yiku/catalog/validation"
	"yiku/schemas"
)

// validateWithin validates record and fails the test if the call does not
// return within 10 s: the budget must refuse before the library runs away.
func validateWithin(t *testing.T, v *validation.Validator, record string) []validation.Violation {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan []validation.Violation, 1)
	go func() { done <- v.Validate([]byte(record)) }()
	select {
	case vs := <-done:
		return vs
	case <-ctx.Done():
		t.Fatal("validation did not return within 10 s")
		return nil
	}
}

// TestRecordOverBudgetRefusedQuickly validates records whose validation
// would not end in useful time: each is refused with rule "budget" and a
// reason starting "validation budget exceeded", before the library runs.
func TestRecordOverBudgetRefusedQuickly(t *testing.T) {
	cases := []struct {
		name   string
		schema []byte
		record string
		budget bool // the schema is within the registration budget
	}{
		{"doubling 12 levels, long string", doubling(12), `{"x":"` + strings.Repeat("a", 1<<17) + `"}`, true},
		{"many values under a large schema", []byte(`{"additionalProperties":{"allOf":[` + strings.Repeat(`{"type":"string","pattern":"^a"},`, 999) + `{"type":"string"}]}}`),
			`{` + keys(6000) + `}`, true},
		// A version stored before the budget: refused per record too (the
		// catalog also refuses to serve it at all).
		{"legacy poison schema, short string", doubling(40), `{"x":"aaaa"}`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := compile(t, c.schema)
			if err := v.Complexity().Budget(); (err == nil) != c.budget {
				t.Fatalf("registration budget verdict %v", err)
			}
			vs := validateWithin(t, v, c.record)
			if len(vs) != 1 || vs[0].Rule != validation.RuleBudget || !strings.HasPrefix(vs[0].Message, "validation budget exceeded") {
				t.Fatalf("violations %+v, want one %q", vs, validation.RuleBudget)
			}
			t.Log(vs[0].Message)
		})
	}
}

func keys(n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `"k%d":"a"`, i)
	}
	return b.String()
}

// TestRecordWithinBudgetValidated: the bound refuses no ordinary record:
// a deep record under a shallow schema, a deep record under a recursive
// one, a 4 MiB string, and a record whose loose static bound is over the
// budget but whose exact cost is not (a 5,000-member enum checks one
// short property of a 24 KiB record).
func TestRecordWithinBudgetValidated(t *testing.T) {
	open := compile(t, []byte(`{"properties":{"blob":{}},"additionalProperties":true}`))
	tree := compile(t, []byte(`{"$defs":{"n":{"type":"array","items":{"$ref":"#/$defs/n"}}},"properties":{"x":{"$ref":"#/$defs/n"}}}`))
	vals := make([]string, 5000)
	for i := range vals {
		vals[i] = fmt.Sprintf("%06d", i)
	}
	enumSchema, _ := json.Marshal(map[string]any{"properties": map[string]any{"code": map[string]any{"enum": vals}, "notes": map[string]any{"type": "string"}}})
	enum := compile(t, enumSchema)
	enumRecord := `{"code":"004711","notes":"` + strings.Repeat("x", 24<<10) + `"}`
	if rc := enum.Complexity().Cost(decode(t, enumRecord)); rc.Within() {
		t.Fatalf("the case needs a loose bound over the budget: %+v", rc)
	}
	deep := strings.Repeat("[", 100) + strings.Repeat("]", 100)
	cases := []struct {
		name   string
		v      *validation.Validator
		record string
	}{
		{"deep record, shallow schema", open, `{"blob":` + deep + `}`},
		{"4 MiB string", open, `{"blob":"` + strings.Repeat("x", 4<<20) + `"}`},
		{"deep record, recursive schema", tree, `{"x":` + deep + `}`},
		{"large enum, large record", enum, enumRecord},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if vs := validateWithin(t, c.v, c.record); len(vs) != 0 {
				t.Fatalf("violations %+v", vs)
			}
		})
	}
	base, _ := schemas.BaseByName("population")
	rc := compile(t, base.JSON).Complexity().Cost(decode(t, `{"id_number":"431302198506120031","name":"李四","sex":"1","ethnicity":"01","birth_date":"1985-06-12",`+
		`"domicile_division":"431302001","domicile_address":"湖南省娄底市娄星区乐坪街道东升社区12号","mobile":"13907380000","marital_status":"20"}`))
	if !rc.Within() || rc.Evaluations == 0 || rc.Evaluations > 1000 {
		t.Fatalf("population record cost %+v", rc)
	}
	t.Logf("a population record: %d values, %d bytes, static bound %d evaluations and %d bytes scanned", rc.Values, rc.Bytes, rc.Evaluations, rc.ScanBytes)
}

func decode(t *testing.T, s string) any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}
