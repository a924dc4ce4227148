package compat

import (
	"encoding/json"
	"math/rand/v2"
	"testing"
)

// TestRandomSchemas compares generated schemas with mutated copies of
// themselves: every pair must be self-compatible and sound against the
// validator. Mutations are small, so many pairs are compatible in one
// direction, which is where an unsound rule would show.
func TestRandomSchemas(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 50
	}
	rng := rand.New(rand.NewPCG(2020, 12))
	g := &gen{rng: rng}
	for range n {
		a := g.root()
		b := g.mutate(clone(a), 0)
		if _, ok := b["$defs"]; !ok {
			b["$defs"] = clone(a)["$defs"]
		}
		da, _ := json.Marshal(a)
		db, _ := json.Marshal(b)
		if _, err := Check(Full, da, []Version{{Number: 1, Schema: db}}); err != nil {
			// Generated junk (a $ref loop, a repeated type) is rightly refused;
			// checkSound fails if the validator accepts what Check refuses.
			continue
		}
		checkSelf(t, da)
		checkSound(t, da, db)
	}
}

type gen struct{ rng *rand.Rand }

var genNames = []string{"a", "b", "c"}

func (g *gen) pick(n int) int { return g.rng.IntN(n) }

func (g *gen) root() map[string]any {
	s := g.schema(0)
	s["$defs"] = map[string]any{"d": g.schema(1)}
	return s
}

func (g *gen) scalar() any {
	return []any{nil, true, "x", "yy", json.Number("0"), json.Number("1"), json.Number("2.5")}[g.pick(7)]
}

func (g *gen) schema(depth int) map[string]any {
	s := map[string]any{}
	switch k := g.pick(9); {
	case depth > 2 || k < 2:
		s["type"] = []any{"string", "integer", "number", "boolean", "null"}[g.pick(5)]
		g.limits(s)
	case k == 2:
		s["type"] = []any{"string", "null"}
	case k == 3:
		vals := []any{}
		for range 1 + g.pick(3) {
			vals = append(vals, g.scalar())
		}
		s["enum"] = vals
	case k < 6:
		s["type"] = "object"
		props := map[string]any{}
		var req []any
		for _, n := range genNames {
			if g.pick(3) > 0 {
				props[n] = g.schema(depth + 1)
				if g.pick(3) == 0 {
					req = append(req, n)
				}
			}
		}
		s["properties"] = props
		if len(req) > 0 {
			s["required"] = req
		}
		switch g.pick(4) {
		case 0, 1:
			s["additionalProperties"] = false
		case 2:
			s["additionalProperties"] = g.schema(depth + 1)
		}
	case k == 6:
		s["type"] = "array"
		s["items"] = g.schema(depth + 1)
		if g.pick(2) == 0 {
			s["maxItems"] = json.Number("2")
		}
	case k == 7:
		s["anyOf"] = []any{g.schema(depth + 1), g.schema(depth + 1)}
	default:
		if depth > 0 {
			s["$ref"] = "#/$defs/d"
		} else {
			s["oneOf"] = []any{g.schema(depth + 1), map[string]any{"type": "null"}}
		}
	}
	return s
}

func (g *gen) limits(s map[string]any) {
	switch s["type"] {
	case "string":
		if g.pick(2) == 0 {
			s["maxLength"] = json.Number([]string{"1", "2", "5"}[g.pick(3)])
		}
		if g.pick(4) == 0 {
			s["format"] = []string{"date", "email"}[g.pick(2)]
		}
	case "integer", "number":
		if g.pick(2) == 0 {
			s["minimum"] = json.Number([]string{"0", "1", "-1"}[g.pick(3)])
		}
		if g.pick(3) == 0 {
			s["multipleOf"] = json.Number([]string{"0.5", "1", "2"}[g.pick(3)])
		}
	}
}

// mutate changes one keyword somewhere in s.
func (g *gen) mutate(s map[string]any, depth int) map[string]any {
	if props, ok := s["properties"].(map[string]any); ok && len(props) > 0 && g.pick(2) == 0 {
		for _, n := range genNames {
			if p, ok := props[n].(map[string]any); ok && g.pick(2) == 0 {
				props[n] = g.mutate(p, depth+1)
				return s
			}
		}
	}
	switch g.pick(10) {
	case 0:
		s["type"] = []any{"string", "integer", "number", "null"}[g.pick(4)]
	case 1:
		if t, ok := s["type"].(string); ok {
			s["type"] = []any{t, "null"}
		}
	case 2:
		if e, ok := s["enum"].([]any); ok {
			if len(e) > 1 && g.pick(2) == 0 {
				s["enum"] = e[1:]
			} else {
				s["enum"] = append(e, g.scalar())
			}
		}
	case 3:
		if props, ok := s["properties"].(map[string]any); ok {
			n := genNames[g.pick(len(genNames))]
			if _, has := props[n]; has {
				delete(props, n)
			} else {
				props[n] = g.schema(depth + 1)
			}
		}
	case 4:
		if _, ok := s["required"]; ok {
			delete(s, "required")
		} else if props, ok := s["properties"].(map[string]any); ok {
			for _, n := range genNames {
				if _, has := props[n]; has {
					s["required"] = []any{n}
					break
				}
			}
		}
	case 5:
		if _, ok := s["additionalProperties"]; ok {
			delete(s, "additionalProperties")
		} else if s["type"] == "object" {
			s["additionalProperties"] = false
		}
	case 6:
		g.limits(s)
	case 7:
		delete(s, "maxLength")
		delete(s, "minimum")
		delete(s, "multipleOf")
		delete(s, "format")
	case 8:
		s["title"] = "changed"
	default:
		return map[string]any{"anyOf": []any{s, g.schema(depth + 1)}}
	}
	return s
}

func clone(v map[string]any) map[string]any {
	data, _ := json.Marshal(v)
	out, _ := decodeJSON(data)
	return out.(map[string]any)
}
