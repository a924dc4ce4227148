// Package validation is the one place where the catalog meets a JSON Schema
// library: it brings a department's schema into the hub's canonical form
// (draft 2020-12, closed by default, no remote references, fingerprinted)
// and compiles it into a catalog.RecordValidator. Swapping the library
// means changing this package only. It does not decide compatibility
// between versions (package catalog/compat) or store anything.
package validation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"yiku/fault"
	"yiku/schemas"
)

// Draft202012 is the only dialect the catalog accepts.
const Draft202012 = "https://json-schema.org/draft/2020-12/schema"

// MaxSchemaBytes bounds a schema document.
const MaxSchemaBytes = 1 << 20

// Canonical is a schema in the hub's canonical form.
type Canonical struct {
	// JSON is the canonical document: compact, object keys sorted, numbers
	// as written.
	JSON []byte
	// Fingerprint is "sha256:" + hex of JSON; equal schemas have equal
	// fingerprints whatever their formatting.
	Fingerprint string
	// Doc is the parsed document (map[string]any, json.Number for numbers).
	Doc map[string]any
}

// Canonicalize checks a schema document and brings it into canonical form:
//   - it must be a JSON object; "$schema", if present, must be draft 2020-12
//     (it is set when absent);
//   - the top-level "$id" is dropped: the hub names versions itself, and a
//     department's $id must not collide with the built-in base schemas;
//   - if the top level has neither "additionalProperties" nor
//     "unevaluatedProperties", "additionalProperties": false is added, so
//     adding an optional property later is a backward-compatible change;
//   - every "$ref" and "$dynamicRef" must be local ("#…"): the hub fetches
//     nothing from the network or the file system.
//
// Errors are fault Invalid with code invalid_schema or remote_ref.
func Canonicalize(raw []byte) (Canonical, error) {
	if len(raw) > MaxSchemaBytes {
		return Canonical{}, fault.New(fault.TooLarge, "schema_too_large", "schema is %d bytes; the limit is %d", len(raw), MaxSchemaBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return Canonical{}, fault.Invalidf("invalid_schema", "schema is not valid JSON: %v", err)
	}
	if dec.More() {
		return Canonical{}, fault.Invalidf("invalid_schema", "schema has data after the JSON document")
	}
	doc, ok := v.(map[string]any)
	if !ok {
		return Canonical{}, fault.Invalidf("invalid_schema", "schema must be a JSON object").
			WithDetails(fault.Detail{Pointer: "", Reason: "not an object"})
	}
	if s, present := doc["$schema"]; present {
		if str, _ := s.(string); strings.TrimSuffix(str, "#") != Draft202012 {
			return Canonical{}, fault.Invalidf("invalid_schema", "schema dialect %v is not supported; use %s", s, Draft202012).
				WithDetails(fault.Detail{Pointer: "/$schema", Reason: "draft 2020-12 only"})
		}
	}
	doc["$schema"] = Draft202012
	delete(doc, "$id")
	if t, ok := doc["type"]; ok && t != "object" {
		return Canonical{}, fault.Invalidf("invalid_schema", "a record schema must have \"type\": \"object\"").
			WithDetails(fault.Detail{Pointer: "/type", Reason: "must be object"})
	}
	doc["type"] = "object"
	_, hasAP := doc["additionalProperties"]
	_, hasUP := doc["unevaluatedProperties"]
	if !hasAP && !hasUP {
		doc["additionalProperties"] = false
	}
	if err := refuseRemoteRefs(doc, ""); err != nil {
		return Canonical{}, err
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return Canonical{}, fmt.Errorf("validation: encode schema: %w", err)
	}
	sum := sha256.Sum256(out)
	return Canonical{JSON: out, Fingerprint: "sha256:" + hex.EncodeToString(sum[:]), Doc: doc}, nil
}

// refuseRemoteRefs walks every value of the document: a reference that does
// not start with "#" would make the compiler load a document.
func refuseRemoteRefs(v any, ptr string) error {
	switch t := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child := ptr + "/" + escape(k)
			if k == "$ref" || k == "$dynamicRef" {
				s, ok := t[k].(string)
				if !ok {
					return fault.Invalidf("invalid_schema", "%s must be a string", child).WithDetails(fault.Detail{Pointer: child, Reason: "not a string"})
				}
				if !strings.HasPrefix(s, "#") {
					return fault.Invalidf("remote_ref", "%s %q refers outside the schema; only local references (\"#/$defs/…\") are allowed: the hub fetches no documents", child, s).
						WithDetails(fault.Detail{Pointer: child, Rule: "$ref", Reason: "remote reference refused"})
				}
				continue
			}
			if err := refuseRemoteRefs(t[k], child); err != nil {
				return err
			}
		}
	case []any:
		for i, e := range t {
			if err := refuseRemoteRefs(e, fmt.Sprintf("%s/%d", ptr, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func escape(s string) string { return strings.NewReplacer("~", "~0", "/", "~1").Replace(s) }

// Validator is a compiled schema version. It is safe for concurrent use.
type Validator struct {
	version    int
	schema     *jsonschema.Schema
	complexity Complexity
	anchors    map[string][]*jsonschema.Schema // by $dynamicAnchor
}

// RuleBudget is the rule of a record refused because validating it could
// cost more than the per-record budget.
const RuleBudget = "budget"

// Violation is one reason a record does not match its schema.
type Violation struct {
	Pointer string // RFC 6901 pointer into the record; "" is the record itself
	Rule    string // the failing keyword ("required", "format", …) or "json"
	Message string
}

// Compile compiles a canonical schema document as version of the resource
// with this ID, with the hub's identifier formats asserted, and measures
// its Complexity. A schema the library refuses (not a valid draft 2020-12
// schema, a dangling local reference, a bad pattern) is a fault Invalid
// error, and so is a document over MaxSchemaObjects (code
// schema_too_complex), refused before the library's compile, whose time
// grows with the square of the subschemas. Compile does not enforce the
// rest of the complexity budget (a stored version must still load so it
// can be reported unusable); the caller checks Complexity().Budget().
func Compile(resourceID string, version int, canonical []byte) (*Validator, error) {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(canonical))
	if err != nil {
		return nil, fault.Invalidf("invalid_schema", "schema is not valid JSON: %v", err)
	}
	if n := countObjects(doc); n > MaxSchemaObjects {
		return nil, tooManyObjects(n)
	}
	c, err := schemas.NewCompiler()
	if err != nil {
		return nil, fmt.Errorf("validation: compiler: %w", err)
	}
	url := fmt.Sprintf("urn:yiku:catalog:%s:v%d", resourceID, version)
	if err := c.AddResource(url, doc); err != nil {
		return nil, fault.Invalidf("invalid_schema", "schema refused: %s", oneLine(err))
	}
	sch, err := c.Compile(url)
	if err != nil {
		return nil, fault.Invalidf("invalid_schema", "schema does not compile as JSON Schema draft 2020-12: %s", oneLine(err))
	}
	m, anchors := measure(sch)
	return &Validator{version: version, schema: sch, complexity: m, anchors: anchors}, nil
}

// Version is the schema version this validator checks.
func (v *Validator) Version() int { return v.version }

// Complexity is the static measure of the compiled schema, taken once by
// Compile.
func (v *Validator) Complexity() Complexity { return v.complexity }

// MeasureCompiled measures v's schema again (Measure on its compiled
// graph), for benchmarks and tools.
func MeasureCompiled(v *Validator) Complexity { return Measure(v.schema) }

// Validate checks one raw JSON record. No violations means valid.
func (v *Validator) Validate(raw []byte) []Violation {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return []Violation{{Pointer: "", Rule: "json", Message: "record is not valid JSON: " + oneLine(err)}}
	}
	return v.ValidateValue(inst)
}

// ValidateValue checks a record already decoded the way
// jsonschema.UnmarshalJSON decodes (encoding/json with UseNumber), so a
// caller that needs the decoded record anyway decodes it once.
//
// A record whose static cost (Complexity.Cost) is over the per-record
// budget is not validated: it gets one violation with rule "budget" and a
// message starting "validation budget exceeded". The library cannot be
// interrupted mid-validation, so the bound is checked first.
//
// A record whose validation could cost more than the per-record budget
// (MaxRecordEvaluations, MaxRecordScanBytes) is not validated: it gets one
// violation with rule "budget" and a message starting "validation budget
// exceeded". The library cannot be interrupted mid-validation, so the cost
// is decided first (see checkCost).
func (v *Validator) ValidateValue(inst any) []Violation {
	if err := v.checkCost(inst); err != nil {
		return []Violation{{Pointer: "", Rule: RuleBudget, Message: err.Error()}}
	}
	err := v.schema.Validate(inst)
	if err == nil {
		return nil
	}
	vs := schemas.Violations(err)
	if len(vs) == 0 {
		// Not a validation error with leaf causes: still a failed record.
		return []Violation{{Rule: "schema", Message: oneLine(err)}}
	}
	out := make([]Violation, len(vs))
	for i, x := range vs {
		out[i] = Violation{Pointer: x.Pointer, Rule: x.Keyword, Message: x.Message}
	}
	return out
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
