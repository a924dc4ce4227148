package compat

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// closed builds a closed object schema from property definitions.
func closed(props string, required ...string) string {
	return fmt.Sprintf(`{"type":"object","additionalProperties":false,"required":[%s],"properties":{%s}}`, quoteList(required), props)
}

// open is closed without additionalProperties: false.
func open(props string, required ...string) string {
	return fmt.Sprintf(`{"type":"object","required":[%s],"properties":{%s}}`, quoteList(required), props)
}

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = `"` + s + `"`
	}
	return strings.Join(q, ",")
}

// field wraps one property's schema in a closed object, for changes that
// are about a single value.
func field(name, schema string) string {
	return closed(fmt.Sprintf(`%q:%s`, name, schema))
}

// want is one expected issue: direction, version, exact pointer and a
// substring of the message.
type want struct {
	dir     string
	version int
	ptr     string
	msg     string
}

func bw(v int, ptr, msg string) want { return want{DirBackward, v, ptr, msg} }
func fw(v int, ptr, msg string) want { return want{DirForward, v, ptr, msg} }

const (
	name   = `"name":{"type":"string"}`
	age    = `"age":{"type":"integer"}`
	phone  = `"phone":{"type":"string"}`
	status = `"status":{"enum":["active","suspended"]}`
)

var (
	person        = closed(name+","+age, "name")
	personPhone   = closed(name+","+age+","+phone, "name")
	personPhoneRq = closed(name+","+age+","+phone, "name", "phone")
	personNoAge   = closed(name, "name")
	openPerson    = open(name+","+age, "name")
)

type checkTest struct {
	name     string
	mode     Mode
	previous []string // v1, v2, … oldest first
	cand     string
	want     []want // nil: compatible
}

var checkTests = []checkTest{
	// Adding a property.
	{"add optional field, closed, BACKWARD", Backward, []string{person}, personPhone, nil},
	{"add optional field, closed, FORWARD", Forward, []string{person}, personPhone,
		[]want{fw(1, "/properties/phone", `"phone" was added, but v1 does not allow undeclared properties`)}},
	{"add optional field, closed, FULL", Full, []string{person}, personPhone,
		[]want{fw(1, "/properties/phone", "only backward-compatible")}},
	{"add required field, BACKWARD", Backward, []string{person}, personPhoneRq,
		[]want{bw(1, "/properties/phone", `"phone" became required: records valid under v1 without it would be rejected`)}},
	{"add required field, FORWARD", Forward, []string{person}, personPhoneRq,
		[]want{fw(1, "/properties/phone", "that include \"phone\" would be rejected by consumers using v1")}},
	{"add optional field, open, BACKWARD", Backward, []string{openPerson}, open(name+","+age+","+phone, "name"),
		[]want{bw(1, "/properties/phone", "v1 allows undeclared properties")}},
	{"add optional field, open, FORWARD", Forward, []string{openPerson}, open(name+","+age+","+phone, "name"), nil},

	// Removing a property: for closed schemas the verdict is the mirror of
	// the open-content-model rule.
	{"remove optional field, closed, BACKWARD", Backward, []string{person}, personNoAge,
		[]want{bw(1, "/properties/age", "removing an optional property breaks backward compatibility, not forward")}},
	{"remove optional field, closed, FORWARD", Forward, []string{person}, personNoAge, nil},
	{"remove required field, closed, FORWARD", Forward, []string{personPhoneRq}, person,
		[]want{fw(1, "/properties/phone", `"phone" is required by v1 but optional in the new schema`)}},
	{"remove required field, closed, FULL", Full, []string{personPhoneRq}, person,
		[]want{
			bw(1, "/properties/phone", "forward-incompatible too"),
			fw(1, "/properties/phone", "is required by v1"),
		}},
	{"remove optional field, open, BACKWARD", Backward, []string{openPerson}, open(name, "name"), nil},
	{"remove optional field, open, FORWARD", Forward, []string{openPerson}, open(name, "name"),
		[]want{fw(1, "/properties/age", "removing a property is forward-incompatible")}},
	{"make required field optional, BACKWARD", Backward, []string{personPhoneRq}, personPhone, nil},
	{"make required field optional, FORWARD", Forward, []string{personPhoneRq}, personPhone,
		[]want{fw(1, "/properties/phone", "is required by v1 but optional")}},

	// Enums and const.
	{"widen enum, BACKWARD", Backward, []string{closed(status)}, field("status", `{"enum":["active","suspended","closed"]}`), nil},
	{"widen enum, FORWARD", Forward, []string{closed(status)}, field("status", `{"enum":["active","suspended","closed"]}`),
		[]want{fw(1, "/properties/status/enum", `enum value "closed" was added`)}},
	{"narrow enum, BACKWARD", Backward, []string{closed(status)}, field("status", `{"enum":["active"]}`),
		[]want{bw(1, "/properties/status/enum", `enum value "suspended" was removed`)}},
	{"narrow enum, FORWARD", Forward, []string{closed(status)}, field("status", `{"enum":["active"]}`), nil},
	{"const to equal enum, FULL", Full, []string{field("kind", `{"const":"person"}`)}, field("kind", `{"enum":["person"]}`), nil},
	{"const changed, BACKWARD", Backward, []string{field("kind", `{"const":"person"}`)}, field("kind", `{"const":"org"}`),
		[]want{bw(1, "/properties/kind/const", "const changed to \"org\"")}},
	{"enum replaced by a wider type, BACKWARD", Backward, []string{field("code", `{"enum":["ab","cd"]}`)},
		field("code", `{"type":"string","maxLength":3}`), nil},
	{"enum replaced by a wider type, FORWARD", Forward, []string{field("code", `{"enum":["ab","cd"]}`)},
		field("code", `{"type":"string","maxLength":3}`),
		[]want{fw(1, "/properties/code/enum", `v1 restricts values to ["ab", "cd"]`)}},
	{"boolean to enum of both, FULL", Full, []string{field("ok", `{"type":"boolean"}`)}, field("ok", `{"enum":[false,true]}`), nil},

	// Types.
	{"narrow number to integer, BACKWARD", Backward, []string{field("score", `{"type":"number"}`)}, field("score", `{"type":"integer"}`),
		[]want{bw(1, "/properties/score/type", "type narrowed from number to integer")}},
	{"narrow number to integer, FORWARD", Forward, []string{field("score", `{"type":"number"}`)}, field("score", `{"type":"integer"}`), nil},
	{"widen integer to number, BACKWARD", Backward, []string{field("score", `{"type":"integer"}`)}, field("score", `{"type":"number"}`), nil},
	{"widen integer to number, FORWARD", Forward, []string{field("score", `{"type":"integer"}`)}, field("score", `{"type":"number"}`),
		[]want{fw(1, "/properties/score/type", "type widened from integer to number")}},
	{"integer as number multipleOf 1, FULL", Full, []string{field("n", `{"type":"integer"}`)}, field("n", `{"type":"number","multipleOf":1}`), nil},
	{"change string to integer, FULL", Full, []string{field("id", `{"type":"string"}`)}, field("id", `{"type":"integer"}`),
		[]want{
			bw(1, "/properties/id/type", "type changed from string to integer"),
			fw(1, "/properties/id/type", "type changed from string to integer"),
		}},
	{"reorder type array, FULL", Full, []string{field("x", `{"type":["string","null"]}`)}, field("x", `{"type":["null","string"]}`), nil},

	// Nullability.
	{"make field nullable, BACKWARD", Backward, []string{field("email", `{"type":"string"}`)}, field("email", `{"type":["string","null"]}`), nil},
	{"make field nullable, FORWARD", Forward, []string{field("email", `{"type":"string"}`)}, field("email", `{"type":["string","null"]}`),
		[]want{fw(1, "/properties/email/type", "the value became nullable")}},
	{"make field nullable with anyOf, FORWARD", Forward, []string{field("email", `{"type":"string"}`)},
		field("email", `{"anyOf":[{"type":"string"},{"type":"null"}]}`),
		[]want{fw(1, "/properties/email/type", "the value became nullable")}},
	{"nullable type array vs anyOf, FULL", Full, []string{field("email", `{"type":["string","null"]}`)},
		field("email", `{"anyOf":[{"type":"string"},{"type":"null"}]}`), nil},
	{"drop nullability, BACKWARD", Backward, []string{field("email", `{"type":["string","null"]}`)}, field("email", `{"type":"string"}`),
		[]want{bw(1, "/properties/email/type", "no longer nullable")}},

	// Formats and strings.
	{"change format, BACKWARD", Backward, []string{field("born", `{"type":"string","format":"date"}`)}, field("born", `{"type":"string","format":"date-time"}`),
		[]want{bw(1, "/properties/born/format", `format changed from "date" to "date-time"`)}},
	{"change format, FORWARD", Forward, []string{field("born", `{"type":"string","format":"date"}`)}, field("born", `{"type":"string","format":"date-time"}`),
		[]want{fw(1, "/properties/born/format", `format changed from "date" to "date-time"`)}},
	{"add format, BACKWARD", Backward, []string{field("id", `{"type":"string"}`)}, field("id", `{"type":"string","format":"cn-resident-id"}`),
		[]want{bw(1, "/properties/id/format", `format "cn-resident-id" was added`)}},
	{"remove format, BACKWARD", Backward, []string{field("id", `{"type":"string","format":"cn-resident-id"}`)}, field("id", `{"type":"string"}`), nil},
	{"tighten maxLength, BACKWARD", Backward, []string{field("name", `{"type":"string","maxLength":10}`)}, field("name", `{"type":"string","maxLength":5}`),
		[]want{bw(1, "/properties/name/maxLength", "maxLength tightened from 10 to 5")}},
	{"tighten maxLength, FORWARD", Forward, []string{field("name", `{"type":"string","maxLength":10}`)}, field("name", `{"type":"string","maxLength":5}`), nil},
	{"loosen maxLength, FORWARD", Forward, []string{field("name", `{"type":"string","maxLength":5}`)}, field("name", `{"type":"string","maxLength":10}`),
		[]want{fw(1, "/properties/name/maxLength", "maxLength loosened from 5 to 10")}},
	{"add minLength, BACKWARD", Backward, []string{field("name", `{"type":"string"}`)}, field("name", `{"type":"string","minLength":2}`),
		[]want{bw(1, "/properties/name/minLength", "minLength 2 was added")}},
	{"change pattern, BACKWARD", Backward, []string{field("zip", `{"type":"string","pattern":"^[0-9]+$"}`)}, field("zip", `{"type":"string","pattern":"^[0-9]{6}$"}`),
		[]want{bw(1, "/properties/zip/pattern", "could not be proven compatible: pattern changed")}},
	{"same pattern, FULL", Full, []string{field("zip", `{"type":"string","pattern":"^[0-9]{6}$"}`)}, field("zip", `{"pattern":"^[0-9]{6}$","type":"string","description":"postcode"}`), nil},

	// Numbers.
	{"integer exclusiveMinimum 0 equals minimum 1, FULL", Full, []string{field("n", `{"type":"integer","exclusiveMinimum":0}`)}, field("n", `{"type":"integer","minimum":1}`), nil},
	{"raise minimum, BACKWARD", Backward, []string{field("n", `{"type":"number","minimum":0}`)}, field("n", `{"type":"number","minimum":18}`),
		[]want{bw(1, "/properties/n/minimum", "lower bound tightened from >= 0 to >= 18")}},
	{"drop maximum, FORWARD", Forward, []string{field("n", `{"type":"number","maximum":150}`)}, field("n", `{"type":"number"}`),
		[]want{fw(1, "/properties/n/maximum", "upper bound <= 150 was removed")}},
	{"maximum to exclusiveMaximum, BACKWARD", Backward, []string{field("n", `{"type":"number","maximum":1}`)}, field("n", `{"type":"number","exclusiveMaximum":1}`),
		[]want{bw(1, "/properties/n/exclusiveMaximum", "upper bound tightened from <= 1 to < 1")}},
	{"coarser multipleOf, BACKWARD", Backward, []string{field("amt", `{"type":"number","multipleOf":0.01}`)}, field("amt", `{"type":"number","multipleOf":0.1}`),
		[]want{bw(1, "/properties/amt/multipleOf", "multipleOf tightened from 0.01 to 0.1")}},
	{"coarser multipleOf, FORWARD", Forward, []string{field("amt", `{"type":"number","multipleOf":0.01}`)}, field("amt", `{"type":"number","multipleOf":0.1}`), nil},

	// Arrays.
	{"array item type narrowed, BACKWARD", Backward, []string{field("tags", `{"type":"array","items":{"type":["string","integer"]}}`)},
		field("tags", `{"type":"array","items":{"type":"string"}}`),
		[]want{bw(1, "/properties/tags/items/type", "type narrowed to string")}},
	{"array limits, FULL", Full, []string{field("tags", `{"type":"array","items":{"type":"string"},"maxItems":5}`)},
		field("tags", `{"type":"array","items":{"type":"string"},"minItems":1,"maxItems":10,"uniqueItems":true}`),
		[]want{
			bw(1, "/properties/tags/minItems", "minItems 1 was added"),
			bw(1, "/properties/tags/uniqueItems", "uniqueItems was added"),
			fw(1, "/properties/tags/maxItems", "maxItems loosened from 5 to 10"),
		}},
	{"tuple gains an item, FORWARD", Forward, []string{field("pt", `{"type":"array","prefixItems":[{"type":"number"},{"type":"number"}],"items":false}`)},
		field("pt", `{"type":"array","prefixItems":[{"type":"number"},{"type":"number"},{"type":"number"}],"items":false}`),
		[]want{fw(1, "/properties/pt/items", "v1 allows no value here")}},

	// Nesting and references.
	{"nested required field, BACKWARD", Backward,
		[]string{field("address", closed(`"city":{"type":"string"},"zip":{"type":"string"}`, "city"))},
		field("address", closed(`"city":{"type":"string"},"zip":{"type":"string"}`, "city", "zip")),
		[]want{bw(1, "/properties/address/properties/zip", `"zip" became required`)}},
	{"inline moved to $defs, FULL", Full,
		[]string{field("address", closed(`"city":{"type":"string"}`, "city"))},
		`{"type":"object","additionalProperties":false,"properties":{"address":{"$ref":"#/$defs/address"}},
			  "$defs":{"address":{"type":"object","additionalProperties":false,"required":["city"],"properties":{"city":{"type":"string"}}}}}`, nil},
	{"change inside $defs, BACKWARD", Backward,
		[]string{`{"type":"object","properties":{"home":{"$ref":"#/$defs/a"},"work":{"$ref":"#/$defs/a"}},"$defs":{"a":{"type":"object","properties":{"zip":{"type":"string"}}}}}`},
		`{"type":"object","properties":{"home":{"$ref":"#/$defs/a"},"work":{"$ref":"#/$defs/a"}},"$defs":{"a":{"type":"object","properties":{"zip":{"type":"string","maxLength":6}}}}}`,
		[]want{
			bw(1, "/properties/home/properties/zip/maxLength", "maxLength 6 was added"),
			bw(1, "/properties/work/properties/zip/maxLength", "maxLength 6 was added"),
		}},
	{"recursive schema unchanged apart from metadata, FULL", Full,
		[]string{`{"$defs":{"n":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/n"}}}}},"$ref":"#/$defs/n"}`},
		`{"title":"tree","$defs":{"n":{"type":"object","description":"a node","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/n"}}}}},"$ref":"#/$defs/n"}`, nil},
	{"recursive schema gains a nested limit, BACKWARD", Backward,
		[]string{`{"$defs":{"n":{"type":"object","properties":{"kids":{"type":"array","items":{"$ref":"#/$defs/n"}}}}},"$ref":"#/$defs/n"}`},
		`{"$defs":{"n":{"type":"object","properties":{"kids":{"type":"array","maxItems":3,"items":{"$ref":"#/$defs/n"}}}}},"$ref":"#/$defs/n"}`,
		[]want{bw(1, "/properties/kids/maxItems", "maxItems 3 was added")}},

	{"recursive union changes a leaf type, FORWARD", Forward,
		[]string{`{"$defs":{"t":{"anyOf":[{"type":"null"},{"type":"object","properties":{"l":{"$ref":"#/$defs/t"},"r":{"$ref":"#/$defs/t"},"v":{"type":"integer"}}}]}},"$ref":"#/$defs/t"}`},
		`{"$defs":{"t":{"anyOf":[{"type":"null"},{"type":"object","properties":{"l":{"$ref":"#/$defs/t"},"r":{"$ref":"#/$defs/t"},"v":{"type":"number"}}}]}},"$ref":"#/$defs/t"}`,
		[]want{fw(1, "/anyOf/1/properties/v/type", "type widened from integer to number")}},

	// Composition closed with unevaluatedProperties.
	{"unevaluatedProperties: add optional field in allOf, BACKWARD", Backward,
		[]string{`{"allOf":[{"properties":{"a":{"type":"string"}}}],"properties":{"b":{"type":"integer"}},"unevaluatedProperties":false}`},
		`{"allOf":[{"properties":{"a":{"type":"string"},"c":{"type":"string"}}}],"properties":{"b":{"type":"integer"}},"unevaluatedProperties":false}`, nil},
	{"unevaluatedProperties: add optional field in allOf, FORWARD", Forward,
		[]string{`{"allOf":[{"properties":{"a":{"type":"string"}}}],"properties":{"b":{"type":"integer"}},"unevaluatedProperties":false}`},
		`{"allOf":[{"properties":{"a":{"type":"string"},"c":{"type":"string"}}}],"properties":{"b":{"type":"integer"}},"unevaluatedProperties":false}`,
		[]want{fw(1, "/properties/c", `"c" was added, but v1 does not allow undeclared properties`)}},

	// Other object keywords.
	{"patternProperties value narrowed, BACKWARD", Backward,
		[]string{`{"type":"object","patternProperties":{"^x-":{"type":["string","integer"]}},"additionalProperties":false}`},
		`{"type":"object","patternProperties":{"^x-":{"type":"string"}},"additionalProperties":false}`,
		[]want{bw(1, "/patternProperties/^x-/type", "type narrowed to string")}},
	{"dependentRequired added, BACKWARD", Backward, []string{open(`"a":{},"b":{}`)},
		`{"type":"object","properties":{"a":{},"b":{}},"dependentRequired":{"a":["b"]}}`,
		[]want{bw(1, "/dependentRequired/a", `"a" now requires "b"`)}},
	{"not added, FULL", Full, []string{field("s", `{"type":"string"}`)}, field("s", `{"type":"string","not":{"const":""}}`),
		[]want{bw(1, "/properties/s/not", "could not be proven compatible")}},
	{"not excluding another type, BACKWARD", Backward, []string{field("s", `{"type":"string"}`)}, field("s", `{"not":{"type":"null"}}`), nil},

	// additionalProperties.
	{"open a closed schema, BACKWARD", Backward, []string{person}, openPerson, nil},
	{"open a closed schema, FORWARD", Forward, []string{person}, openPerson,
		[]want{fw(1, "/additionalProperties", "v1 does not allow undeclared properties")}},
	{"close an open schema, BACKWARD", Backward, []string{openPerson}, person,
		[]want{bw(1, "/additionalProperties", "additionalProperties became false")}},
	{"additionalProperties schema narrowed, BACKWARD", Backward,
		[]string{`{"type":"object","additionalProperties":{"type":["string","number"]}}`},
		`{"type":"object","additionalProperties":{"type":"string"}}`,
		[]want{bw(1, "/additionalProperties/type", "type narrowed to string")}},

	// Unions.
	{"discriminated oneOf gains a variant, BACKWARD", Backward,
		[]string{`{"oneOf":[` + closed(`"kind":{"const":"person"},"id":{"type":"string"}`, "kind") + `]}`},
		`{"oneOf":[` + closed(`"kind":{"const":"person"},"id":{"type":"string"}`, "kind") + `,` + closed(`"kind":{"const":"org"},"code":{"type":"string"}`, "kind") + `]}`, nil},
	{"discriminated oneOf gains a variant, FORWARD", Forward,
		[]string{`{"oneOf":[` + closed(`"kind":{"const":"person"},"id":{"type":"string"}`, "kind") + `]}`},
		`{"oneOf":[` + closed(`"kind":{"const":"person"},"id":{"type":"string"}`, "kind") + `,` + closed(`"kind":{"const":"org"},"code":{"type":"string"}`, "kind") + `]}`,
		[]want{
			fw(1, "/oneOf/0/properties/code", `"code" was added, but v1 does not allow undeclared properties`),
			fw(1, "/oneOf/0/properties/kind/const", `const changed from "person"`),
		}},
	{"anyOf loses a branch, BACKWARD", Backward, []string{`{"anyOf":[{"type":"string"},{"type":"integer"}]}`}, `{"anyOf":[{"type":"string"}]}`,
		[]want{bw(1, "/anyOf/0/type", "type changed from integer to string")}},
	{"anyOf branches split differently, BACKWARD", Backward, []string{`{"type":"integer"}`},
		`{"anyOf":[{"type":"integer","minimum":0},{"type":"integer","maximum":0}]}`,
		[]want{bw(1, "/anyOf", "could not be proven compatible: no branch of anyOf")}},

	// Modes.
	{"NONE accepts anything", None, []string{person}, field("id", `{"type":"integer"}`), nil},
	{"no previous version", FullTransitive, nil, person, nil},
	{"metadata only, FULL", Full, []string{person},
		`{"title":"Person","description":"a resident","$comment":"v2","examples":[{"name":"x"}],"type":"object","additionalProperties":false,"required":["name"],
			  "properties":{"name":{"type":"string","title":"Name","default":"?"},"age":{"type":"integer","examples":[1],"deprecated":true}}}`, nil},
	{"BACKWARD compares with the latest only", Backward,
		[]string{field("a", `{"type":"string"}`), closed(``), field("a", `{"type":"integer"}`)},
		field("a", `{"type":"integer"}`), nil},
	{"re-added field with another type, BACKWARD", Backward,
		[]string{field("a", `{"type":"string"}`), closed(``)}, field("a", `{"type":"integer"}`), nil},
	{"re-added field with another type, BACKWARD_TRANSITIVE", BackwardTransitive,
		[]string{field("a", `{"type":"string"}`), closed(``)}, field("a", `{"type":"integer"}`),
		[]want{bw(1, "/properties/a/type", "type changed from string to integer")}},
	{"FORWARD_TRANSITIVE catches an old closed reader", ForwardTransitive,
		[]string{personNoAge, person}, person,
		[]want{fw(1, "/properties/age", "does not allow undeclared properties")}},
	{"FULL_TRANSITIVE checks both ways against all", FullTransitive,
		[]string{field("s", `{"enum":["a"]}`), field("s", `{"enum":["a","b"]}`)}, field("s", `{"enum":["a","b"]}`),
		[]want{fw(1, "/properties/s/enum", `enum value "b" was added`)}},
}

func TestCheck(t *testing.T) {
	for _, tt := range checkTests {
		t.Run(tt.name, func(t *testing.T) {
			var prev []Version
			for i, s := range tt.previous {
				prev = append(prev, Version{Number: i + 1, Schema: []byte(s)})
			}
			got, err := Check(tt.mode, []byte(tt.cand), prev)
			if err != nil {
				t.Fatalf("Check: %v", err)
			}
			if len(got) != len(tt.want) {
				t.Fatalf("got %d issues, want %d:\n%s", len(got), len(tt.want), issueList(got))
			}
			for _, w := range tt.want {
				if !slices.ContainsFunc(got, func(i Issue) bool {
					return i.Direction == w.dir && i.AgainstVersion == w.version && i.Pointer == w.ptr && strings.Contains(i.Message, w.msg)
				}) {
					t.Errorf("missing %s v%d %s %q in:\n%s", w.dir, w.version, w.ptr, w.msg, issueList(got))
				}
			}
		})
	}
}

func issueList(is []Issue) string {
	var b strings.Builder
	for _, i := range is {
		b.WriteString("  " + i.String() + "\n")
	}
	return b.String()
}

func TestCheckErrors(t *testing.T) {
	good := []byte(`{"type":"string"}`)
	tests := []struct {
		name      string
		mode      Mode
		cand, old string
		is        error
		msg       string
	}{
		{"unknown mode", "SIDEWAYS", `{}`, `{}`, nil, "unknown compatibility mode"},
		{"candidate not JSON", Backward, `{"type":`, `{}`, nil, "candidate schema: invalid JSON"},
		{"previous not JSON", Backward, `{}`, `[`, nil, "schema version 1: invalid JSON"},
		{"not a schema", Backward, `{"type":"strin"}`, `{}`, nil, "candidate schema"},
		{"schema is a number", Backward, `3`, `{}`, nil, "must be an object or a boolean"},
		{"remote $ref", Backward, `{"$ref":"https://example.com/person.json"}`, `{}`, ErrRemoteRef, "remote $ref not allowed"},
		{"relative $ref", Backward, `{"$ref":"person.json#/$defs/a"}`, `{}`, ErrRemoteRef, "remote $ref not allowed"},
		{"remote $ref in an old version", Backward, `{}`, `{"properties":{"a":{"$ref":"http://x/y"}}}`, ErrRemoteRef, "schema version 1"},
		{"dangling $ref", Backward, `{"$ref":"#/$defs/missing"}`, `{}`, nil, "nothing at"},
		{"$ref loop", Backward, `{"$defs":{"a":{"$ref":"#/$defs/b"},"b":{"allOf":[{"$ref":"#/$defs/a"}]}},"$ref":"#/$defs/a"}`, `{}`, ErrUnsupported, "never descends"},
		{"draft-07", Backward, `{"$schema":"http://json-schema.org/draft-07/schema#"}`, `{}`, ErrUnsupported, "only draft 2020-12"},
		{"nested $id", Backward, `{"$defs":{"a":{"$id":"a.json"}}}`, `{}`, ErrUnsupported, "$id in a subschema"},
		{"$dynamicRef", Backward, `{"$dynamicRef":"#meta"}`, `{}`, ErrUnsupported, "$dynamicRef"},
		{"huge exponent", Backward, `{"multipleOf":1e999999999}`, `{}`, nil, "out of the supported range"},
		{"trailing data", Backward, `{} {}`, `{}`, nil, "after the top-level value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Check(tt.mode, []byte(tt.cand), []Version{{Number: 1, Schema: []byte(tt.old)}})
			if err == nil {
				t.Fatal("want an error")
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not mention %q", err, tt.msg)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("error %q is not %v", err, tt.is)
			}
		})
	}
	if _, err := Check(Backward, good, []Version{{1, good}}); err != nil {
		t.Fatalf("good schema: %v", err)
	}
	// The own $id is local.
	self := `{"$id":"https://yiku.example/s/person.json","$ref":"https://yiku.example/s/person.json#/$defs/p","$defs":{"p":{"type":"string"}}}`
	if is, err := Check(Full, []byte(self), []Version{{1, good}}); err != nil || len(is) != 0 {
		t.Fatalf("self-referencing $id: %v %v", is, err)
	}
}

func TestParseMode(t *testing.T) {
	for _, s := range []string{"none", "BACKWARD", " backward_transitive ", "Forward", "FORWARD_TRANSITIVE", "full", "FULL_TRANSITIVE"} {
		if _, err := ParseMode(s); err != nil {
			t.Errorf("ParseMode(%q): %v", s, err)
		}
	}
	if m, _ := ParseMode("full_transitive"); m != FullTransitive {
		t.Errorf("got %q", m)
	}
	if _, err := ParseMode("BACKWARDS"); err == nil {
		t.Error("ParseMode(BACKWARDS) succeeded")
	}
}
