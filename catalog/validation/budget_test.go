package validation_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"yiku/catalog/seed"
	"yiku/catalog/validation"
	"yiku/fault"
	"yiku/schemas"
)

// doubling is the poison schema of the security review: each definition
// applies the one below it twice, levels times over, with a pattern at the
// bottom, so validating one value walks 2^levels copies of the pattern.
func doubling(levels int) []byte {
	defs := map[string]any{"d0": map[string]any{"type": "string", "pattern": "^a+$"}}
	for i := 1; i <= levels; i++ {
		ref := fmt.Sprintf("#/$defs/d%d", i-1)
		defs[fmt.Sprintf("d%d", i)] = map[string]any{"allOf": []any{map[string]any{"$ref": ref}, map[string]any{"$ref": ref}}}
	}
	doc := map[string]any{"$defs": defs, "properties": map[string]any{"x": map[string]any{"$ref": fmt.Sprintf("#/$defs/d%d", levels)}}}
	b, err := json.Marshal(doc)
	if err != nil {
		panic(err)
	}
	return b
}

func compile(t testing.TB, schema []byte) *validation.Validator {
	t.Helper()
	canon, err := validation.Canonicalize(schema)
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.Compile("budget", 1, canon.JSON)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func nested(keyword string, levels int) []byte {
	s := `{"type":"string"}`
	for range levels {
		s = fmt.Sprintf(`{%q:%s}`, keyword, s)
	}
	return []byte(`{"properties":{"x":` + s + `}}`)
}

// patterns is a schema whose definition of n patterned properties is
// applied refs times to the record.
func patterns(n, refs int) []byte {
	props := map[string]any{}
	for i := range n {
		props[fmt.Sprintf("p%d", i)] = map[string]any{"type": "string", "pattern": fmt.Sprintf("^x%d$", i)}
	}
	all := make([]any, refs)
	for i := range all {
		all[i] = map[string]any{"$ref": "#/$defs/p"}
	}
	b, _ := json.Marshal(map[string]any{"$defs": map[string]any{"p": map[string]any{"properties": props}}, "allOf": all, "additionalProperties": true})
	return b
}

func objects(n int) []byte {
	props := map[string]any{}
	for i := range n {
		props[fmt.Sprintf("p%d", i)] = map[string]any{}
	}
	b, _ := json.Marshal(map[string]any{"properties": props})
	return b
}

func enum(n int) []byte {
	vals := make([]string, n)
	for i := range vals {
		vals[i] = fmt.Sprint(i)
	}
	b, _ := json.Marshal(map[string]any{"properties": map[string]any{"x": map[string]any{"enum": vals}}})
	return b
}

// TestMeasure is the table of the complexity measure: ordinary and base
// schemas are far under the budget, the doubling schema measures 2^levels
// and is refused by name, as are deep nesting, too many value checks and a
// reference cycle that never descends into the record.
func TestMeasure(t *testing.T) {
	baseSchema := func(name string) []byte {
		b, ok := schemas.BaseByName(name)
		if !ok {
			t.Fatalf("no base schema %s", name)
		}
		return b.JSON
	}
	seedSchema := func(id string) []byte {
		b, err := seed.Schema(id)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	tree := `{"$defs":{"n":{"type":"object","properties":{"name":{"type":"string"},"kids":{"type":"array","items":{"$ref":"#/$defs/n"}}}}},"properties":{"root":{"$ref":"#/$defs/n"}}}`
	// A recursive schema that doubles at each level of the record: bounded
	// by the record's depth, refused because 32 levels double to 2^33.
	doublingTree := `{"$defs":{"n":{"allOf":[{"items":{"$ref":"#/$defs/n"}},{"items":{"$ref":"#/$defs/n"}}]}},"properties":{"root":{"$ref":"#/$defs/n"}}}`
	cases := []struct {
		name      string
		schema    []byte
		nodes     uint64 // expanded nodes; 0 means "do not compare"
		maxNodes  uint64 // 0 means "do not bound"
		rule      string // the over-budget detail; "" means within the budget
		wantCycle bool
	}{
		{"small", []byte(`{"properties":{"a":{"type":"string"}}}`), 2, 0, "", false}, // root and a
		{"population", baseSchema("population"), 0, 500, "", false},
		{"legal entity", baseSchema("legal-entity"), 0, 500, "", false},
		{"enterprise credit", baseSchema("enterprise-credit"), 0, 500, "", false},
		{"elicence", baseSchema("elicence"), 0, 500, "", false},
		{"social security", seedSchema("social-security"), 0, 500, "", false},
		{"psb case records", seedSchema("psb-case-records"), 0, 500, "", false},
		{"marriage registration", seedSchema("marriage-registration"), 0, 500, "", false},
		// d0 is 1 node and d_i = 1 + 2·(1 + d_{i-1}) = 4·2^i - 3; with the
		// root and x, 4·2^n - 1.
		{"doubling 10 levels", doubling(10), 4<<10 - 1, 0, "", false},
		{"doubling 40 levels", doubling(40), 4<<40 - 1, 0, "expanded_nodes", false},
		{"doubling 70 levels saturates", doubling(70), validation.Unbounded, 0, "expanded_nodes", false},
		{"recursive tree", []byte(tree), 0, 400, "", false},
		{"recursion doubling per record level", []byte(doublingTree), 0, 0, "expanded_nodes", false},
		{"deep nesting", nested("not", 80), 0, 0, "depth", false},
		{"nesting at the limit", nested("not", validation.MaxSchemaDepth-3), 0, 0, "", false},
		{"many patterns", patterns(600, 40), 0, 0, "value_checks", false},
		{"objects at the limit", objects(validation.MaxSchemaObjects - 2), 0, 0, "", false},
		{"large enum", enum(validation.MaxValueChecks + 1), 0, 0, "value_checks", false},
		{"enum at the limit", enum(validation.MaxValueChecks - 10), 0, 0, "", false},
		{"in-place reference cycle", []byte(`{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"properties":{"x":{"$ref":"#/$defs/a"}}}`), validation.Unbounded, 0, "reference_cycle", true},
		{"root refers to itself", []byte(`{"$ref":"#"}`), validation.Unbounded, 0, "reference_cycle", true},
		{"dynamic ref", []byte(`{"$defs":{"t":{"$dynamicAnchor":"node","type":"object","properties":{"kids":{"items":{"$dynamicRef":"#node"}}}}},"properties":{"t":{"$ref":"#/$defs/t"}}}`), 0, 400, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t0 := time.Now()
			m := compile(t, c.schema).Complexity()
			took := time.Since(t0)
			if c.nodes != 0 && m.ExpandedNodes != c.nodes {
				t.Errorf("expanded nodes %d, want %d", m.ExpandedNodes, c.nodes)
			}
			if c.maxNodes != 0 && m.ExpandedNodes > c.maxNodes {
				t.Errorf("expanded nodes %d, want at most %d", m.ExpandedNodes, c.maxNodes)
			}
			if m.Cycle != c.wantCycle {
				t.Errorf("cycle %v, want %v", m.Cycle, c.wantCycle)
			}
			err := m.Budget()
			if c.rule == "" {
				if err != nil {
					t.Fatalf("refused: %v (%+v)", err, m)
				}
				t.Logf("expanded nodes %d, value checks %d, depth %d, objects %d (compiled and measured in %v)", m.ExpandedNodes, m.ValueChecks, m.Depth, m.Objects, took)
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != fault.Invalid || fe.Code != "schema_too_complex" {
				t.Fatalf("error %v, want Invalid schema_too_complex", err)
			}
			found := false
			for _, d := range fe.Details {
				found = found || d.Rule == c.rule
			}
			if !found {
				t.Fatalf("details %+v lack rule %s", fe.Details, c.rule)
			}
			if !strings.Contains(fe.Message, "budget") && c.rule != "reference_cycle" {
				t.Errorf("message %q does not name the budget", fe.Message)
			}
		})
	}
}

// TestTooManyObjectsRefusedBeforeCompiling: a document over
// MaxSchemaObjects is refused before the library compiles it.
func TestTooManyObjectsRefusedBeforeCompiling(t *testing.T) {
	canon, err := validation.Canonicalize(objects(validation.MaxSchemaObjects))
	if err != nil {
		t.Fatal(err)
	}
	_, err = validation.Compile("budget", 1, canon.JSON)
	fe, ok := fault.As(err)
	if !ok || fe.Code != "schema_too_complex" || len(fe.Details) != 1 || fe.Details[0].Rule != "schema_objects" {
		t.Fatalf("error %v, want schema_too_complex schema_objects", err)
	}
}

// TestPoisonSchemaMessage: the refusal of the schema of the security
// review names the budget and the measured value.
func TestPoisonSchemaMessage(t *testing.T) {
	err := compile(t, doubling(40)).Complexity().Budget()
	want := fmt.Sprintf("expanded schema size %d nodes exceeds the budget of %d", uint64(4<<40-1), validation.MaxExpandedNodes)
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want it to contain %q", err, want)
	}
}

// FuzzMeasure measures whatever schema compiles: the measure ends, never
// panics, grows with the record depth, and its verdict is an error of the
// one shape.
func FuzzMeasure(f *testing.F) {
	f.Add([]byte(`{"properties":{"a":{"type":"string"}}}`))
	f.Add(doubling(5))
	f.Add([]byte(`{"$defs":{"n":{"items":{"$ref":"#/$defs/n"}}},"$ref":"#/$defs/n"}`))
	f.Add([]byte(`{"$ref":"#"}`))
	f.Add([]byte(`{"$defs":{"t":{"$dynamicAnchor":"n","properties":{"k":{"$dynamicRef":"#n"}}}},"$ref":"#/$defs/t"}`))
	for _, b := range schemas.Base() {
		f.Add(b.JSON)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		canon, err := validation.Canonicalize(raw)
		if err != nil {
			return
		}
		v, err := validation.Compile("fuzz", 1, canon.JSON)
		if err != nil {
			return
		}
		m := v.Complexity()
		if m.ExpandedNodes == 0 || m.Depth < 1 {
			t.Fatalf("measure %+v of a compiled schema", m)
		}
		if err := m.Budget(); err != nil {
			if fe, ok := fault.As(err); !ok || fe.Code != "schema_too_complex" || len(fe.Details) == 0 {
				t.Fatalf("budget error %v", err)
			}
		}
		var last uint64
		for d := 0; d <= validation.MaxRecordDepth+1; d++ {
			inst := any("x")
			for range d {
				inst = []any{inst}
			}
			rc := m.Cost(inst)
			if rc.Values != uint64(d+1) || rc.Depth != d {
				t.Fatalf("record of depth %d counted as %+v", d, rc)
			}
			if rc.Evaluations == validation.Unbounded {
				break
			}
			if per := rc.Evaluations / rc.Values; per < last {
				t.Fatalf("nodes at depth %d: %d, fewer than at depth %d: %d", d, per, d-1, last)
			} else {
				last = per
			}
		}
	})
}
