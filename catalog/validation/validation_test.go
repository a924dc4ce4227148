package validation_test

import (
	"encoding/json"
	"strings"
	"testing"

	"yiku/catalog/validation"
	"yiku/fault"
	"yiku/schemas"
)

func TestCanonicalize(t *testing.T) {
	cases := []struct {
		name   string
		schema string
		code   string // "" means accepted
		check  func(t *testing.T, doc map[string]any)
	}{
		{"closed by default", `{"type":"object","properties":{"a":{"type":"string"}}}`, "", func(t *testing.T, d map[string]any) {
			if d["additionalProperties"] != false || d["$schema"] != validation.Draft202012 {
				t.Errorf("not closed: %v", d)
			}
		}},
		{"explicitly open stays open", `{"type":"object","additionalProperties":true}`, "", func(t *testing.T, d map[string]any) {
			if d["additionalProperties"] != true {
				t.Errorf("closed: %v", d)
			}
		}},
		{"unevaluatedProperties left alone", `{"unevaluatedProperties":false}`, "", func(t *testing.T, d map[string]any) {
			if _, ok := d["additionalProperties"]; ok {
				t.Errorf("additionalProperties added: %v", d)
			}
		}},
		{"type added", `{"properties":{}}`, "", func(t *testing.T, d map[string]any) {
			if d["type"] != "object" {
				t.Errorf("type: %v", d["type"])
			}
		}},
		{"top-level id dropped", `{"$id":"urn:yiku:schema:base:population","type":"object"}`, "", func(t *testing.T, d map[string]any) {
			if _, ok := d["$id"]; ok {
				t.Errorf("$id kept")
			}
		}},
		{"local ref accepted", `{"$defs":{"n":{"type":"string"}},"properties":{"a":{"$ref":"#/$defs/n"}}}`, "", nil},
		{"remote ref refused", `{"properties":{"a":{"$ref":"https://example.com/s.json"}}}`, "remote_ref", nil},
		{"relative file ref refused", `{"properties":{"a":{"items":[{"$ref":"other.json#/x"}]}}}`, "remote_ref", nil},
		{"base urn ref refused", `{"allOf":[{"$ref":"urn:yiku:schema:base:population"}]}`, "remote_ref", nil},
		{"remote dynamicRef refused", `{"$dynamicRef":"http://example.com/x"}`, "remote_ref", nil},
		{"ref not a string", `{"properties":{"a":{"$ref":7}}}`, "invalid_schema", nil},
		{"draft 7 refused", `{"$schema":"http://json-schema.org/draft-07/schema#"}`, "invalid_schema", nil},
		{"2020-12 with fragment", `{"$schema":"https://json-schema.org/draft/2020-12/schema#"}`, "", nil},
		{"array refused", `[1,2]`, "invalid_schema", nil},
		{"not JSON", `{"type":`, "invalid_schema", nil},
		{"trailing data", `{} {}`, "invalid_schema", nil},
		{"non-object type", `{"type":"array"}`, "invalid_schema", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			canon, err := validation.Canonicalize([]byte(c.schema))
			if c.code != "" {
				fe, ok := fault.As(err)
				if !ok || fe.Code != c.code || fe.Kind != fault.Invalid {
					t.Fatalf("got %v, want %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, canon.Doc)
			}
		})
	}
}

func TestFingerprintIgnoresFormatting(t *testing.T) {
	a, err := validation.Canonicalize([]byte(`{"type":"object","properties":{"b":{"type":"integer","maximum":1e400},"a":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	b, err := validation.Canonicalize([]byte("{\n  \"properties\": {\"a\": {\"type\": \"string\"}, \"b\": {\"maximum\": 1e400, \"type\": \"integer\"}},\n  \"type\": \"object\"\n}"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Fingerprint != b.Fingerprint || string(a.JSON) != string(b.JSON) {
		t.Fatalf("%s\n%s", a.JSON, b.JSON)
	}
	if !strings.Contains(string(a.JSON), "1e400") {
		t.Fatalf("number not kept as written: %s", a.JSON)
	}
}

func TestCompileAndValidate(t *testing.T) {
	b, _ := schemas.BaseByName("population")
	canon, err := validation.Canonicalize(b.JSON)
	if err != nil {
		t.Fatal(err)
	}
	v, err := validation.Compile("population", 3, canon.JSON)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version() != 3 {
		t.Fatalf("version %d", v.Version())
	}
	cases := []struct {
		record string
		want   []string // pointer:rule
	}{
		{`{"id_number":"11010519491231002X","name":"张三"}`, nil},
		{`{"id_number":"11010519491231002x","name":"张三"}`, []string{"/id_number:format"}},
		{`{"name":"张三"}`, []string{":required"}},
		{`{"id_number":"11010519491231002X","name":"张三","sex":"3"}`, []string{"/sex:enum"}},
		{`{"id_number":"11010519491231002X","name":"张三","pet":"cat"}`, []string{":additionalProperties"}},
		{`{"id_number":"11010519491231002X","name":"张三","domicile_division":"431302001"}`, nil},
		{`[]`, []string{":type"}},
		{`{"id_number":`, []string{":json"}},
	}
	for _, c := range cases {
		var got []string
		for _, x := range v.Validate([]byte(c.record)) {
			got = append(got, x.Pointer+":"+x.Rule)
			if x.Message == "" {
				t.Errorf("%s: empty message", c.record)
			}
		}
		if strings.Join(got, ",") != strings.Join(c.want, ",") {
			t.Errorf("%s: got %v, want %v", c.record, got, c.want)
		}
	}
}

func TestCompileRefusesBrokenSchemas(t *testing.T) {
	for _, s := range []string{
		`{"type":"object","properties":{"a":{"type":"strung"}}}`,
		`{"type":"object","properties":{"a":{"$ref":"#/$defs/missing"}}}`,
		`{"type":"object","properties":{"a":{"type":"string","pattern":"("}}}`,
		`{"type":"object","properties":{"a":{"minLength":-1}}}`,
	} {
		canon, err := validation.Canonicalize([]byte(s))
		if err != nil {
			t.Fatalf("%s: %v", s, err)
		}
		if _, err := validation.Compile("x", 1, canon.JSON); fault.KindOf(err) != fault.Invalid {
			t.Errorf("%s: got %v, want Invalid", s, err)
		}
	}
}

func FuzzCanonicalize(f *testing.F) {
	for _, s := range []string{`{}`, `{"type":"object"}`, `{"properties":{"a":{"$ref":"#/x"}}}`, `{"$ref":"http://x"}`, `[`, `{"a":[{"$ref":1}]}`} {
		f.Add([]byte(s))
	}
	b, _ := schemas.BaseByName("elicence")
	f.Add(b.JSON)
	f.Fuzz(func(t *testing.T, raw []byte) {
		canon, err := validation.Canonicalize(raw)
		if err != nil {
			if _, ok := fault.As(err); !ok {
				t.Fatalf("unclassified error: %v", err)
			}
			return
		}
		// Canonical form is a fixed point with the same fingerprint.
		again, err := validation.Canonicalize(canon.JSON)
		if err != nil || again.Fingerprint != canon.Fingerprint {
			t.Fatalf("not a fixed point: %v %s", err, canon.JSON)
		}
		var doc map[string]any
		if err := json.Unmarshal(canon.JSON, &doc); err != nil {
			t.Fatal(err)
		}
		if _, err := validation.Compile("fuzz", 1, canon.JSON); err != nil && fault.KindOf(err) != fault.Invalid {
			t.Fatalf("compile: %v", err)
		}
	})
}

func FuzzValidate(f *testing.F) {
	b, _ := schemas.BaseByName("population")
	canon, err := validation.Canonicalize(b.JSON)
	if err != nil {
		f.Fatal(err)
	}
	v, err := validation.Compile("population", 1, canon.JSON)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"id_number":"11010519491231002X","name":"张三"}`, `{}`, `null`, `{"id_number":1}`, `{"a":`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		for _, x := range v.Validate(raw) {
			if x.Rule == "" && x.Message == "" {
				t.Fatalf("empty violation for %q", raw)
			}
		}
	})
}
