package compat

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// extraSeeds cover keywords the table rows do not.
var extraSeeds = []string{
	`true`, `false`, `{}`,
	`{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`,
	`{"type":"object","patternProperties":{"^x-":{"type":"integer"}},"additionalProperties":{"type":"boolean"}}`,
	`{"type":"object","properties":{"a":{"type":"string"}},"unevaluatedProperties":false,"allOf":[{"properties":{"b":{"type":"integer"}}}]}`,
	`{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"integer"}},"additionalProperties":false}`,
	`{"type":"object","dependentRequired":{"a":["b"]},"properties":{"a":{},"b":{}}}`,
	`{"type":"object","dependentSchemas":{"a":{"required":["b"]}}}`,
	`{"type":"object","propertyNames":{"maxLength":3},"minProperties":1,"maxProperties":2}`,
	`{"type":"array","contains":{"type":"integer"},"minContains":2,"maxContains":3}`,
	`{"type":"array","prefixItems":[{"type":"string"}],"items":{"type":"integer"},"unevaluatedItems":false}`,
	`{"not":{"type":"null"}}`,
	`{"type":["string","integer"],"not":{"const":""}}`,
	`{"if":{"properties":{"kind":{"const":"org"}}},"then":{"required":["code"]},"else":{"required":["id"]}}`,
	`{"oneOf":[{"type":"integer","maximum":0},{"type":"integer","minimum":1}]}`,
	`{"oneOf":[{"type":"integer"},{"type":"number"}]}`,
	`{"anyOf":[{"$ref":"#/$defs/a"},{"type":"null"}],"$defs":{"a":{"type":"string","minLength":1}}}`,
	`{"$defs":{"t":{"type":"object","properties":{"next":{"$ref":"#/$defs/t"},"v":{"type":"integer"}}}},"$ref":"#/$defs/t"}`,
	`{"$anchor":"root","type":"object","properties":{"self":{"$ref":"#root"}}}`,
	`{"allOf":[{"type":"number","minimum":0},{"type":"integer","exclusiveMaximum":10}]}`,
	`{"type":"number","multipleOf":0.5,"minimum":-2.5,"maximum":1e3}`,
	`{"enum":[null,1,1.0,"1",[1],{"a":1}]}`,
	`{"const":{"a":[1,2,{"b":null}]}}`,
	`{"type":"string","format":"email","pattern":"^[a-z]+@","minLength":3,"maxLength":64}`,
	`{"type":"object","required":["a"],"properties":{"a":{"type":"object","required":["b"],"properties":{"b":{"type":"array","items":{"enum":[1,2]}}}}}}`,
}

func FuzzCheck(f *testing.F) {
	var seeds []string
	for _, tt := range checkTests {
		seeds = append(seeds, tt.previous...)
		seeds = append(seeds, tt.cand)
	}
	seeds = append(seeds, extraSeeds...)
	for _, tt := range checkTests {
		if len(tt.previous) > 0 {
			f.Add([]byte(tt.previous[len(tt.previous)-1]), []byte(tt.cand))
		}
	}
	for i, s := range seeds {
		f.Add([]byte(s), []byte(s))
		f.Add([]byte(s), []byte(seeds[(i*7+3)%len(seeds)]))
	}
	f.Fuzz(func(t *testing.T, old, cand []byte) {
		if len(old) > 4096 || len(cand) > 4096 {
			return
		}
		prev := []Version{{Number: 1, Schema: old}, {Number: 2, Schema: cand}}
		for _, m := range modes {
			if _, err := Check(m, cand, prev); err != nil && !strings.HasPrefix(err.Error(), "compat: ") {
				t.Fatalf("error without context: %v", err)
			}
		}
		checkSelf(t, old)
		checkSound(t, old, cand)
	})
}

// checkSelf: a schema is compatible with itself in every mode, and the
// structural comparison alone (without the identity shortcut) never claims
// an incompatibility, only at most that it could not prove compatibility.
func checkSelf(t *testing.T, schema []byte) {
	t.Helper()
	var ids int
	a, err := parseSchema(schema, &ids)
	if err != nil {
		return
	}
	for _, m := range modes {
		issues, err := Check(m, schema, []Version{{Number: 1, Schema: schema}})
		if err != nil || len(issues) > 0 {
			t.Fatalf("%s: %s against itself: %v\n%s", m, schema, err, issueList(issues))
		}
	}
	b, err := parseSchema(schema, &ids)
	if err != nil {
		t.Fatalf("second parse: %v", err)
	}
	c := newChecker("v1", true)
	c.shortcut = false
	for _, f := range c.subset(a, b) {
		if !f.unproven {
			t.Fatalf("%s against itself without shortcuts: %s: %s", schema, f.ptr, f.msg)
		}
	}
}

// checkSound: when Check finds a direction compatible, no sample document
// valid under the source side may be invalid under the target side, as
// judged by the validator the hub uses.
func checkSound(t *testing.T, old, cand []byte) {
	t.Helper()
	so, ro := compileForTest(old)
	sc, rc := compileForTest(cand)
	if so == nil || sc == nil {
		return
	}
	for _, mode := range []Mode{Backward, Forward} {
		issues, err := Check(mode, cand, []Version{{Number: 1, Schema: old}})
		if err != nil {
			// Only constructs the validator accepts but this package does not.
			if !strings.Contains(err.Error(), "unsupported") && !strings.Contains(err.Error(), "remote $ref") {
				t.Fatalf("%s: validator accepts both schemas, Check fails: %v", mode, err)
			}
			return
		}
		if len(issues) > 0 {
			continue
		}
		from, to := so, sc
		if mode == Forward {
			from, to = sc, so
		}
		for _, doc := range samples(old, cand, ro, rc) {
			if from.Validate(doc) == nil && to.Validate(doc) != nil {
				data, _ := json.Marshal(doc)
				t.Fatalf("%s reported compatible, but %s is valid under the source and not the target\nold: %s\nnew: %s", mode, data, old, cand)
			}
		}
	}
}

func TestSoundOnTable(t *testing.T) {
	for _, tt := range checkTests {
		for _, p := range tt.previous {
			checkSound(t, []byte(p), []byte(tt.cand))
		}
	}
	for i, s := range extraSeeds {
		checkSelf(t, []byte(s))
		for j := range extraSeeds {
			if i != j {
				checkSound(t, []byte(s), []byte(extraSeeds[j]))
			}
		}
	}
}

func compileForTest(data []byte) (*jsonschema.Schema, any) {
	raw, err := decodeJSON(data)
	if err != nil {
		return nil, nil
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	c.AssertFormat() // the hub asserts formats, so the oracle does too
	if err := c.AddResource("urn:test", raw); err != nil {
		return nil, nil
	}
	s, err := c.Compile("urn:test")
	if err != nil {
		return nil, nil
	}
	return s, raw
}

// samples generates documents from what the two schemas mention: property
// names, enum and const values, numbers around every limit, strings of
// every length limit. The generator is seeded by the schemas, so a failure
// reproduces.
func samples(old, cand []byte, raws ...any) []any {
	h := fnv.New64a()
	h.Write(old)
	h.Write(cand)
	s := &sampler{rng: rand.New(rand.NewPCG(h.Sum64(), 1))}
	s.scalars = []any{nil, true, false, num("0"), num("1"), num("-1"), num("2.5"), num("1e3"),
		"", "a", "ab", "hello world", "2024-02-29", "x@example.cn", "110101199003077777"}
	for _, r := range raws {
		s.collect(r, "")
	}
	out := slices.Clone(s.scalars)
	out = append(out, s.values...)
	leaves := append(slices.Clone(s.scalars), s.values...)
	for _, x := range leaves {
		every := map[string]any{}
		for _, n := range s.names {
			every[n] = x
			out = append(out, map[string]any{n: x}, []any{x})
		}
		out = append(out, every)
	}
	for range 250 {
		out = append(out, s.value(0))
	}
	return out
}

type sampler struct {
	rng     *rand.Rand
	names   []string
	scalars []any
	values  []any
}

func num(s string) json.Number { return json.Number(s) }

func (s *sampler) collect(v any, parent string) {
	switch v := v.(type) {
	case map[string]any:
		for _, k := range sortedKeys(v) {
			if parent == "properties" || parent == "dependentRequired" || parent == "dependentSchemas" {
				s.addName(k)
			}
			switch k {
			case "enum":
				if arr, ok := v[k].([]any); ok {
					s.values = append(s.values, arr...)
					continue
				}
			case "const":
				s.values = append(s.values, v[k])
				continue
			case "required":
				if arr, ok := v[k].([]any); ok {
					for _, e := range arr {
						if n, ok := e.(string); ok {
							s.addName(n)
						}
					}
				}
			}
			s.collect(v[k], k)
		}
	case []any:
		for _, e := range v {
			s.collect(e, parent)
		}
	case json.Number:
		r, err := ratOf(v)
		if err != nil {
			return
		}
		for _, d := range []string{"-1", "-1/2", "0", "1/2", "1"} {
			q, _ := new(big.Rat).SetString(d)
			x := new(big.Rat).Add(r, q)
			s.scalars = append(s.scalars, json.Number(ratText(x)))
		}
		if r.IsInt() && r.Sign() >= 0 && r.Cmp(big.NewRat(40, 1)) <= 0 {
			n := int(r.Num().Int64())
			for _, l := range []int{n - 1, n, n + 1} {
				if l >= 0 {
					s.scalars = append(s.scalars, strings.Repeat("7", l))
				}
			}
		}
	}
}

func (s *sampler) addName(n string) {
	if !slices.Contains(s.names, n) {
		s.names = append(s.names, n)
	}
}

func (s *sampler) value(depth int) any {
	r := s.rng.IntN(10)
	switch {
	case depth > 2 || r < 4:
		if len(s.values) > 0 && s.rng.IntN(3) == 0 {
			return s.values[s.rng.IntN(len(s.values))]
		}
		return s.scalars[s.rng.IntN(len(s.scalars))]
	case r < 6:
		arr := make([]any, s.rng.IntN(4))
		for i := range arr {
			arr[i] = s.value(depth + 1)
		}
		return arr
	}
	obj := map[string]any{}
	for _, n := range s.names {
		if s.rng.IntN(10) < 6 {
			obj[n] = s.value(depth + 1)
		}
	}
	if s.rng.IntN(5) == 0 {
		obj[fmt.Sprintf("x-%d", s.rng.IntN(3))] = s.value(depth + 1)
	}
	return obj
}
