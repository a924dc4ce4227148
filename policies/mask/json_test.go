package mask

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestApplyJSON(t *testing.T) {
	p := mustPlan(t, []string{"id_number", "name", "gender", "mobile", "religion", "household_id", "division_code", "address"}, []string{"mobile"})
	raw := []byte(`{
		"name": "张三丰", "id_number": "11010519491231002X",
		"gender": 1, "mobile": "13800138000",
		"religion": {"a": [1, 2]},
		"household_id": 123456789012345678901234567890,
		"division_code": { "code" : "110105", "big": 12345678901234567890123 },
		"address": "北京市\"朝阳\"区建国路88号",
		"not_granted": "x"
	}`)
	got, err := p.ApplyJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"address":"北京市\"朝阳********",` +
		`"division_code":{"code":"110105","big":12345678901234567890123},` +
		`"gender":1,` +
		`"household_id":"` + mustHash(t, "123456789012345678901234567890").(string) + `",` +
		`"id_number":"110105********002X","mobile":"13800138000","name":"张**","religion":null}`
	if string(got) != want {
		t.Fatalf("ApplyJSON =\n%s\nwant\n%s", got, want)
	}
}

// Plain numbers survive exactly, however large.
func TestApplyJSONBigIntegers(t *testing.T) {
	p, _ := NewPlan([]Field{{Name: "n"}, {Name: "f"}, {Name: "id", Rule: RuleIDNumber}}, []string{"n", "f", "id"}, nil, nil)
	raw := []byte(`{"n":123456789012345678901234567890,"f":-1.50e+300,"id":110105194912310021}`)
	got, err := p.ApplyJSON(raw)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"f":-1.50e+300,"id":"110105********0021","n":123456789012345678901234567890}`; string(got) != want {
		t.Fatalf("got %s\nwant %s", got, want)
	}
	// Round trip through Apply with UseNumber keeps the digits too.
	rec := decodeRecord(t, got)
	if rec["n"] != json.Number("123456789012345678901234567890") {
		t.Fatalf("n = %#v", rec["n"])
	}
	again, _ := json.Marshal(p.Apply(rec))
	if !bytes.Equal(again, got) {
		t.Fatalf("map path %s != %s", again, got)
	}
}

func TestApplyJSONEscapes(t *testing.T) {
	p, _ := NewPlan([]Field{{Name: "name", Rule: RuleName}, {Name: "note"}, {Name: "k\"ey"}}, []string{"name", "note", "k\"ey"}, nil, nil)
	tests := []struct{ in, want string }{
		// Escaped key matches its field; repeated key: last one counts.
		{`{"n\u0061me":"王五","name":"赵六"}`, `{"name":"赵*"}`},
		{`{"name":"\u738b\u4e94"}`, `{"name":"王*"}`},
		{`{"name":"a\"bc"}`, `{"name":"a***"}`},
		{`{"name":"\"x"}`, `{"name":"\"*"}`},
		{`{"name":"x\u0001yz"}`, `{"name":"x***"}`},
		{`{"name":"\u0001yz"}`, `{"name":"\u0001**"}`},
		{`{"name":"\tyz"}`, `{"name":"\t**"}`},
		{`{"name":"\ryz"}`, `{"name":"\r**"}`},
		{`{"name":"\nyz"}`, `{"name":"\n**"}`},
		{`{"name":"\\yz"}`, `{"name":"\\**"}`},
		{`{"name":"\u2029yz"}`, `{"name":"\u2029**"}`},
		{"{\"name\":\"\xffab\"}", "{\"name\":\"\ufffd**\"}"},
		{`{"note":"a<b>&\u2028"}`, `{"note":"a<b>&\u2028"}`},
		{"{\"note\":[\"\xff\", 1 , {\"a\" : \"b c\"}]}", `{"note":["\ufffd",1,{"a":"b c"}]}`},
		{`{"k\"ey":true}`, `{"k\"ey":true}`},
		{` { } `, `{}`},
		{`{"name":null}`, `{"name":null}`},
		{`{"name":""}`, `{"name":""}`},
		{`{"name":{"first":"张"}}`, `{"name":null}`},
	}
	for _, tt := range tests {
		got, err := p.ApplyJSON([]byte(tt.in))
		if err != nil {
			t.Errorf("%s: %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("ApplyJSON(%s) = %s; want %s", tt.in, got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("ApplyJSON(%s) = %s: invalid JSON", tt.in, got)
		}
	}
}

func TestApplyJSONInvalid(t *testing.T) {
	p := mustPlan(t, []string{"name"}, nil)
	for _, in := range []string{``, ` `, `null`, `[]`, `"x"`, `1`, `{`, `{"name":}`, `{"name":"x"} {}`, `{"name":"x",}`} {
		dst := []byte("keep")
		got, err := p.AppendJSON(dst, []byte(in))
		if !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("ApplyJSON(%q) error = %v", in, err)
		}
		if string(got) != "keep" {
			t.Errorf("ApplyJSON(%q) changed dst to %q", in, got)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	p := mustPlan(t, []string{"name"}, nil)
	got, err := p.AppendJSON([]byte("["), []byte(`{"name":"李四"}`))
	if err != nil || string(got) != `[{"name":"李*"}` {
		t.Fatalf("AppendJSON = %s, %v", got, err)
	}
}

// A plan wider than the scanner's stack array.
func TestApplyJSONManyFields(t *testing.T) {
	var fields []Field
	var names []string
	var raw strings.Builder
	raw.WriteString("{")
	for i := range 50 {
		name := string(rune('A'+i%26)) + string(rune('a'+i/26))
		fields = append(fields, Field{Name: name, Rule: Rule(i % int(ruleCount))})
		names = append(names, name)
		if i > 0 {
			raw.WriteString(",")
		}
		raw.WriteString(`"` + name + `":"11010519491231002X"`)
	}
	raw.WriteString("}")
	p, err := NewPlan(fields, names, nil, testKey)
	if err != nil {
		t.Fatal(err)
	}
	got, err := p.ApplyJSON([]byte(raw.String()))
	if err != nil {
		t.Fatal(err)
	}
	rec := decodeRecord(t, []byte(raw.String()))
	if want := p.Apply(rec); !reflect.DeepEqual(decodeRecord(t, got), want) {
		t.Fatalf("JSON path %s disagrees with map path %v", got, want)
	}
}

func decodeRecord(t testing.TB, raw []byte) map[string]any {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var rec map[string]any
	if err := d.Decode(&rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// ApplyJSON accepts exactly the objects json.Valid accepts.
func TestApplyJSONSyntax(t *testing.T) {
	p := mustPlan(t, []string{"name", "gender"}, nil)
	values := []string{
		`0`, `-0`, `-`, `01`, `1.`, `1.5`, `.5`, `1e`, `1e+`, `1E-7`, `1e5.`, `-1.5e+300`, `+1`,
		`true`, `tru`, `truex`, `nul`, `null`, `fals`, `NaN`,
		`""`, `"\u12aF"`, `"\u12G4"`, `"\u12"`, `"\x"`, `"\/\b\f\n\r\t\"\\"`, "\"\x01\"", "\"\x7f\"",
		"\"\xff\"", `"`, `"\`, `"\"`,
		`[]`, `[ ]`, `[1,]`, `[,1]`, `[1 2]`, `{}`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{1:2}`, `{"a":1 "b":2}`,
		`[[[]]]`, `[[]`, `{"a":[{"b":{}}]}`, `{"a":[}`,
	}
	for _, v := range values {
		for _, in := range []string{`{"name":` + v + `}`, `{"gender":` + v + `, "x": 1}`, ` {"x":[` + v + `]} `} {
			want := json.Valid([]byte(in))
			_, err := p.ApplyJSON([]byte(in))
			if (err == nil) != want {
				t.Errorf("ApplyJSON(%q) error = %v; json.Valid = %v", in, err, want)
			}
		}
	}
}

func TestApplyJSONDepth(t *testing.T) {
	p := mustPlan(t, []string{"name"}, nil)
	for _, depth := range []int{maxDepth, maxDepth + 1} {
		// The record's object is level 1.
		in := `{"name":` + strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1) + `}`
		_, err := p.ApplyJSON([]byte(in))
		want := json.Valid([]byte(in))
		if want != (depth <= maxDepth) {
			t.Fatalf("encoding/json's depth limit is no longer %d", maxDepth)
		}
		if (err == nil) != want {
			t.Errorf("depth %d: error = %v; json.Valid = %v", depth, err, want)
		}
	}
}
