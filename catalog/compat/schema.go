package compat

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// ErrRemoteRef is returned for a $ref that leaves the schema document.
// Registered schemas must be self-contained so that a version means the
// same thing forever.
var ErrRemoteRef = errors.New("remote $ref not allowed")

// ErrUnsupported is returned for keywords this package cannot reason about
// at all (as opposed to ones it compares conservatively).
var ErrUnsupported = errors.New("unsupported construct")

const draft2020 = "https://json-schema.org/draft/2020-12/schema"

// none marks an absent non-negative integer keyword such as maxLength.
const none = -1

// node is one parsed schema (a schema object or a boolean schema). Only the
// keywords that affect validation are kept; annotations are dropped.
type node struct {
	id  int
	doc *doc
	loc string // JSON pointer within doc; synthetic nodes have none

	isBool, boolVal bool
	synthetic       bool // built by the checker, e.g. a union of pattern schemas

	kinds   kind // allowed by "type"; kAll without it
	hasType bool
	enum    *valueSet
	constv  *valueSet

	minLength, maxLength int64
	pattern              string
	hasPattern           bool
	format               string
	hasFormat            bool

	minimum, maximum, exclMin, exclMax, multipleOf *big.Rat

	prefixItems              []*node
	items                    *node
	contains                 *node
	minContains, maxContains int64
	minItems, maxItems       int64
	uniqueItems              bool
	unevalItems              *node

	properties    map[string]*node
	patternProps  []patternProp
	additional    *node
	required      []string
	minProps      int64
	maxProps      int64
	depRequired   map[string][]string
	depSchemas    map[string]*node
	propertyNames *node
	unevalProps   *node

	refStr              string
	ref                 *node
	allOf, anyOf, oneOf []*node
	not                 *node
	ifS, thenS, elseS   *node

	fp      [32]byte
	fpState uint8 // 0 not computed, 1 computing, 2 done
	fpOK    bool  // false when the fingerprint depends on a reference cycle
}

type patternProp struct {
	src string
	re  *regexp.Regexp
	n   *node
}

// doc is one parsed schema document.
type doc struct {
	raw     any
	key     [32]byte // hash of the whole document, metadata included
	root    *node
	nodes   map[string]*node
	anchors map[string]*node
	rootID  string
}

// parser turns a decoded document into nodes, resolving local references.
type parser struct {
	d    *doc
	ids  *int
	refs []*node
}

// parseSchema parses and validates one schema document.
func parseSchema(data []byte, ids *int) (*doc, error) {
	raw, err := decodeJSON(data)
	if err != nil {
		return nil, err
	}
	d := &doc{raw: raw, nodes: map[string]*node{}, anchors: map[string]*node{}}
	d.key = sha256.Sum256([]byte(canonical(raw)))
	p := &parser{d: d, ids: ids}
	if obj, ok := raw.(map[string]any); ok {
		if err := p.rootKeywords(obj); err != nil {
			return nil, err
		}
	}
	if d.root, err = p.parse(raw, "", 0); err != nil {
		return nil, err
	}
	for len(p.refs) > 0 {
		n := p.refs[0]
		p.refs = p.refs[1:]
		if n.ref, err = p.resolve(n.refStr); err != nil {
			return nil, fmt.Errorf("%s/$ref: %w", n.loc, err)
		}
	}
	if err := d.checkCycles(); err != nil {
		return nil, err
	}
	if err := metaValidate(raw); err != nil {
		return nil, err
	}
	for _, loc := range sortedKeys(d.nodes) {
		d.nodes[loc].fingerprint()
	}
	return d, nil
}

// metaValidate compiles the schema with the hub's JSON Schema library, so a
// schema is accepted here exactly when the validator would accept it.
func metaValidate(raw any) error {
	const loc = "urn:yiku:compat:schema"
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	c.UseLoader(refuseLoader{})
	if err := c.AddResource(loc, raw); err != nil {
		return fmt.Errorf("invalid schema: %w", err)
	}
	if _, err := c.Compile(loc); err != nil {
		return fmt.Errorf("invalid schema: %w", err)
	}
	return nil
}

// refuseLoader makes sure the compiler never fetches anything; the draft
// meta-schemas are built into the library and do not go through it.
type refuseLoader struct{}

func (refuseLoader) Load(u string) (any, error) {
	return nil, fmt.Errorf("%w: %s", ErrRemoteRef, u)
}

func (p *parser) rootKeywords(obj map[string]any) error {
	if s, ok := obj["$schema"]; ok {
		str, _ := s.(string)
		if strings.TrimSuffix(str, "#") != draft2020 {
			return fmt.Errorf("%w: $schema %s: only draft 2020-12 is supported", ErrUnsupported, display(s))
		}
	}
	if s, ok := obj["$id"]; ok {
		str, ok := s.(string)
		if !ok {
			return errors.New("$id must be a string")
		}
		p.d.rootID = strings.TrimSuffix(str, "#")
	}
	return nil
}

func (p *parser) newNode(loc string) *node {
	*p.ids++
	return &node{
		id: *p.ids, doc: p.d, loc: loc, kinds: kAll,
		minLength: 0, maxLength: none, minItems: 0, maxItems: none,
		minProps: 0, maxProps: none, minContains: none, maxContains: none,
	}
}

// parse parses the schema raw found at loc.
func (p *parser) parse(raw any, loc string, depth int) (*node, error) {
	if n, ok := p.d.nodes[loc]; ok {
		return n, nil
	}
	if depth > maxSchemaDepth {
		return nil, fmt.Errorf("%s: schema nested deeper than %d levels", loc, maxSchemaDepth)
	}
	n := p.newNode(loc)
	p.d.nodes[loc] = n
	switch raw := raw.(type) {
	case bool:
		n.isBool, n.boolVal = true, raw
		return n, nil
	case map[string]any:
		if err := p.keywords(n, raw, depth); err != nil {
			return nil, err
		}
		return n, nil
	}
	return nil, fmt.Errorf("%s: a schema must be an object or a boolean, not %s", loc, display(raw))
}

func (p *parser) keywords(n *node, obj map[string]any, depth int) error {
	loc := n.loc
	sub := func(kw string, raw any) (*node, error) {
		return p.parse(raw, loc+"/"+escapeToken(kw), depth+1)
	}
	subList := func(kw string, raw any) ([]*node, error) {
		arr, ok := raw.([]any)
		if !ok {
			return nil, fmt.Errorf("%s/%s must be an array of schemas", loc, kw)
		}
		out := make([]*node, len(arr))
		for i, e := range arr {
			var err error
			if out[i], err = p.parse(e, loc+"/"+kw+"/"+strconv.Itoa(i), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	subMap := func(kw string, raw any) (map[string]*node, error) {
		m, ok := raw.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s/%s must be an object of schemas", loc, kw)
		}
		out := make(map[string]*node, len(m))
		for _, k := range sortedKeys(m) {
			var err error
			if out[k], err = p.parse(m[k], loc+"/"+kw+"/"+escapeToken(k), depth+1); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	var err error
	for _, kw := range sortedKeys(obj) {
		v := obj[kw]
		bad := func(what string) error { return fmt.Errorf("%s/%s must be %s", loc, kw, what) }
		switch kw {
		case "$schema", "$id":
			if loc != "" {
				return fmt.Errorf("%w: %s/%s in a subschema", ErrUnsupported, loc, kw)
			}
		case "$dynamicRef", "$recursiveRef", "$recursiveAnchor":
			return fmt.Errorf("%w: %s/%s", ErrUnsupported, loc, kw)
		case "$anchor", "$dynamicAnchor":
			s, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			p.d.anchors[s] = n
		case "$ref":
			s, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			n.refStr = s
			p.refs = append(p.refs, n)
		case "$defs":
			if _, err = subMap(kw, v); err != nil {
				return err
			}
		case "type":
			n.hasType = true
			if n.kinds, err = parseType(v); err != nil {
				return fmt.Errorf("%s/type: %w", loc, err)
			}
		case "enum":
			arr, ok := v.([]any)
			if !ok {
				return bad("an array")
			}
			n.enum = newValueSet(arr)
		case "const":
			n.constv = newValueSet([]any{v})
		case "minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties", "minContains", "maxContains":
			i, err := nonNegInt(v)
			if err != nil {
				return fmt.Errorf("%s/%s: %w", loc, kw, err)
			}
			*n.limit(kw) = i
		case "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf":
			num, ok := v.(json.Number)
			if !ok {
				return bad("a number")
			}
			r := mustRat(num)
			switch kw {
			case "minimum":
				n.minimum = r
			case "maximum":
				n.maximum = r
			case "exclusiveMinimum":
				n.exclMin = r
			case "exclusiveMaximum":
				n.exclMax = r
			case "multipleOf":
				if r.Sign() <= 0 {
					return bad("greater than 0")
				}
				n.multipleOf = r
			}
		case "pattern", "format":
			s, ok := v.(string)
			if !ok {
				return bad("a string")
			}
			if kw == "pattern" {
				n.pattern, n.hasPattern = s, true
			} else {
				n.format, n.hasFormat = s, true
			}
		case "uniqueItems":
			b, ok := v.(bool)
			if !ok {
				return bad("a boolean")
			}
			n.uniqueItems = b
		case "required":
			if n.required, err = stringList(v); err != nil {
				return fmt.Errorf("%s/required: %w", loc, err)
			}
		case "dependentRequired":
			m, ok := v.(map[string]any)
			if !ok {
				return bad("an object")
			}
			n.depRequired = map[string][]string{}
			for k, e := range m {
				if n.depRequired[k], err = stringList(e); err != nil {
					return fmt.Errorf("%s/dependentRequired/%s: %w", loc, escapeToken(k), err)
				}
			}
		case "items":
			n.items, err = sub(kw, v)
		case "contains":
			n.contains, err = sub(kw, v)
		case "additionalProperties":
			n.additional, err = sub(kw, v)
		case "propertyNames":
			n.propertyNames, err = sub(kw, v)
		case "unevaluatedProperties":
			n.unevalProps, err = sub(kw, v)
		case "unevaluatedItems":
			n.unevalItems, err = sub(kw, v)
		case "not":
			n.not, err = sub(kw, v)
		case "if":
			n.ifS, err = sub(kw, v)
		case "then":
			n.thenS, err = sub(kw, v)
		case "else":
			n.elseS, err = sub(kw, v)
		case "prefixItems":
			n.prefixItems, err = subList(kw, v)
		case "allOf":
			n.allOf, err = subList(kw, v)
		case "anyOf":
			n.anyOf, err = subList(kw, v)
		case "oneOf":
			n.oneOf, err = subList(kw, v)
		case "properties":
			n.properties, err = subMap(kw, v)
		case "dependentSchemas":
			n.depSchemas, err = subMap(kw, v)
		case "patternProperties":
			var m map[string]*node
			if m, err = subMap(kw, v); err != nil {
				return err
			}
			for _, src := range sortedKeys(m) {
				re, rerr := regexp.Compile(src)
				if rerr != nil {
					return fmt.Errorf("%w: %s/patternProperties: pattern %q: %v", ErrUnsupported, loc, src, rerr)
				}
				n.patternProps = append(n.patternProps, patternProp{src: src, re: re, n: m[src]})
			}
		}
		// Everything else is an annotation (title, description, examples,
		// default, $comment, readOnly, deprecated, content*, …) or an unknown
		// keyword, which draft 2020-12 also ignores for validation.
		if err != nil {
			return err
		}
	}
	// In draft 2020-12 minContains without contains is ignored.
	return nil
}

func (n *node) limit(kw string) *int64 {
	switch kw {
	case "minLength":
		return &n.minLength
	case "maxLength":
		return &n.maxLength
	case "minItems":
		return &n.minItems
	case "maxItems":
		return &n.maxItems
	case "minProperties":
		return &n.minProps
	case "maxProperties":
		return &n.maxProps
	case "minContains":
		return &n.minContains
	}
	return &n.maxContains
}

func parseType(v any) (kind, error) {
	if s, ok := v.(string); ok {
		k, ok := kindNames[s]
		if !ok {
			return 0, fmt.Errorf("unknown type %q", s)
		}
		return k, nil
	}
	arr, ok := v.([]any)
	if !ok {
		return 0, errors.New("must be a string or an array of strings")
	}
	var k kind
	for _, e := range arr {
		s, _ := e.(string)
		ek, ok := kindNames[s]
		if !ok {
			return 0, fmt.Errorf("unknown type %s", display(e))
		}
		k |= ek
	}
	return k, nil
}

func nonNegInt(v any) (int64, error) {
	num, ok := v.(json.Number)
	if !ok {
		return 0, errors.New("must be a non-negative integer")
	}
	r := mustRat(num)
	if !r.IsInt() || r.Sign() < 0 {
		return 0, errors.New("must be a non-negative integer")
	}
	if !r.Num().IsInt64() {
		return math.MaxInt64, nil
	}
	return r.Num().Int64(), nil
}

func stringList(v any) ([]string, error) {
	arr, ok := v.([]any)
	if !ok {
		return nil, errors.New("must be an array of strings")
	}
	out := make([]string, 0, len(arr))
	for _, e := range arr {
		s, ok := e.(string)
		if !ok {
			return nil, errors.New("must be an array of strings")
		}
		out = append(out, s)
	}
	sort.Strings(out)
	return out, nil
}

// resolve finds the node a $ref names. Only references into the same
// document are allowed: "#", "#/json/pointer", "#anchor", or the same forms
// prefixed with the document's own $id.
func (p *parser) resolve(ref string) (*node, error) {
	base, frag, hasFrag := strings.Cut(ref, "#")
	if base != "" && (p.d.rootID == "" || base != strings.SplitN(p.d.rootID, "#", 2)[0]) {
		return nil, fmt.Errorf("%w: %q (only references within the schema, such as \"#/$defs/name\", are allowed)", ErrRemoteRef, ref)
	}
	if !hasFrag || frag == "" {
		return p.d.root, nil
	}
	frag, err := url.PathUnescape(frag)
	if err != nil {
		return nil, fmt.Errorf("bad $ref %q: %w", ref, err)
	}
	if !strings.HasPrefix(frag, "/") {
		n, ok := p.d.anchors[frag]
		if !ok {
			return nil, fmt.Errorf("$ref %q: no such anchor", ref)
		}
		return n, nil
	}
	cur := p.d.raw
	var loc strings.Builder
	for _, tok := range strings.Split(frag[1:], "/") {
		tok = unescapeToken(tok)
		switch c := cur.(type) {
		case map[string]any:
			v, ok := c[tok]
			if !ok {
				return nil, fmt.Errorf("$ref %q: nothing at %q", ref, tok)
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(c) || strconv.Itoa(i) != tok {
				return nil, fmt.Errorf("$ref %q: bad index %q", ref, tok)
			}
			cur = c[i]
		default:
			return nil, fmt.Errorf("$ref %q does not point at a schema", ref)
		}
		loc.WriteString("/" + escapeToken(tok))
	}
	return p.parse(cur, loc.String(), 0)
}

// combinesOnly reports whether n has no keywords of its own besides $ref,
// allOf and anyOf.
func (n *node) combinesOnly() bool {
	return !n.isBool && !n.hasType && n.enum == nil && n.constv == nil &&
		n.minLength == 0 && n.maxLength == none && !n.hasPattern && !n.hasFormat &&
		n.minimum == nil && n.maximum == nil && n.exclMin == nil && n.exclMax == nil && n.multipleOf == nil &&
		n.prefixItems == nil && n.items == nil && n.contains == nil && n.minItems == 0 && n.maxItems == none &&
		!n.uniqueItems && n.unevalItems == nil &&
		n.properties == nil && n.patternProps == nil && n.additional == nil && n.required == nil &&
		n.minProps == 0 && n.maxProps == none && n.depRequired == nil && n.depSchemas == nil &&
		n.propertyNames == nil && n.unevalProps == nil &&
		n.oneOf == nil && n.not == nil && n.ifS == nil && n.thenS == nil && n.elseS == nil
}

// inPlace lists the subschemas that apply to the same instance as n.
func (n *node) inPlace() []*node {
	var out []*node
	if n.ref != nil {
		out = append(out, n.ref)
	}
	out = append(out, n.allOf...)
	out = append(out, n.anyOf...)
	out = append(out, n.oneOf...)
	for _, s := range []*node{n.not, n.ifS, n.thenS, n.elseS} {
		if s != nil {
			out = append(out, s)
		}
	}
	for _, k := range sortedKeys(n.depSchemas) {
		out = append(out, n.depSchemas[k])
	}
	return out
}

// checkCycles rejects reference loops that never descend into the instance
// (for example {"$ref": "#"} at the root): a validator would never finish
// on them, and neither would a comparison.
func (d *doc) checkCycles() error {
	state := map[*node]uint8{}
	var visit func(n *node) error
	visit = func(n *node) error {
		switch state[n] {
		case 1:
			return fmt.Errorf("%w: $ref cycle through %q never descends into the data", ErrUnsupported, n.loc)
		case 2:
			return nil
		}
		state[n] = 1
		for _, m := range n.inPlace() {
			if err := visit(m); err != nil {
				return err
			}
		}
		state[n] = 2
		return nil
	}
	// Only what validation can reach matters: an unused definition that
	// refers to itself is harmless.
	reached := map[*node]bool{}
	var reach func(n *node) error
	reach = func(n *node) error {
		if reached[n] {
			return nil
		}
		reached[n] = true
		if err := visit(n); err != nil {
			return err
		}
		for _, m := range n.children() {
			if err := reach(m); err != nil {
				return err
			}
		}
		return nil
	}
	return reach(d.root)
}

// children lists every subschema of n, in place or below it.
func (n *node) children() []*node {
	out := n.inPlace()
	out = append(out, n.prefixItems...)
	for _, k := range sortedKeys(n.properties) {
		out = append(out, n.properties[k])
	}
	for _, pp := range n.patternProps {
		out = append(out, pp.n)
	}
	for _, m := range []*node{n.items, n.contains, n.additional, n.propertyNames, n.unevalProps, n.unevalItems} {
		if m != nil {
			out = append(out, m)
		}
	}
	return out
}

// fingerprint hashes the validation-relevant content of n, with $ref
// replaced by its target. Equal fingerprints mean equal sets of valid
// instances. Nodes on reference cycles get no usable fingerprint.
func (n *node) fingerprint() ([32]byte, bool) {
	switch n.fpState {
	case 1:
		return n.fp, false
	case 2:
		return n.fp, n.fpOK
	}
	n.fpState = 1
	ok := true
	h := sha256.New()
	w := func(parts ...string) {
		for _, s := range parts {
			var l [8]byte
			binary.BigEndian.PutUint64(l[:], uint64(len(s)))
			h.Write(l[:])
			h.Write([]byte(s))
		}
	}
	child := func(kw string, m *node) {
		if m == nil {
			return
		}
		fp, cok := m.fingerprint()
		ok = ok && cok
		w(kw, string(fp[:]))
	}
	num := func(kw string, r *big.Rat) {
		if r != nil {
			w(kw, r.RatString())
		}
	}
	lim := func(kw string, v int64) {
		if v != none {
			w(kw, strconv.FormatInt(v, 10))
		}
	}
	set := func(kw string, s *valueSet) {
		if s != nil {
			keys := sortedKeys(s.keys)
			w(append([]string{kw}, keys...)...)
		}
	}
	if n.isBool {
		w("bool", strconv.FormatBool(n.boolVal))
	}
	if n.hasType {
		w("type", strconv.Itoa(int(n.kinds)))
	}
	set("enum", n.enum)
	set("const", n.constv)
	lim("minLength", n.minLength)
	lim("maxLength", n.maxLength)
	if n.hasPattern {
		w("pattern", n.pattern)
	}
	if n.hasFormat {
		w("format", n.format)
	}
	num("minimum", n.minimum)
	num("maximum", n.maximum)
	num("exclusiveMinimum", n.exclMin)
	num("exclusiveMaximum", n.exclMax)
	num("multipleOf", n.multipleOf)
	for i, m := range n.prefixItems {
		child("prefixItems/"+strconv.Itoa(i), m)
	}
	child("items", n.items)
	child("contains", n.contains)
	lim("minContains", n.minContains)
	lim("maxContains", n.maxContains)
	lim("minItems", n.minItems)
	lim("maxItems", n.maxItems)
	if n.uniqueItems {
		w("uniqueItems")
	}
	child("unevaluatedItems", n.unevalItems)
	for _, k := range sortedKeys(n.properties) {
		child("properties/"+k, n.properties[k])
	}
	for _, pp := range n.patternProps {
		child("patternProperties/"+pp.src, pp.n)
	}
	child("additionalProperties", n.additional)
	w(append([]string{"required"}, n.required...)...)
	lim("minProperties", n.minProps)
	lim("maxProperties", n.maxProps)
	for _, k := range sortedKeys(n.depRequired) {
		w(append([]string{"dependentRequired", k}, n.depRequired[k]...)...)
	}
	for _, k := range sortedKeys(n.depSchemas) {
		child("dependentSchemas/"+k, n.depSchemas[k])
	}
	child("propertyNames", n.propertyNames)
	child("unevaluatedProperties", n.unevalProps)
	child("$ref", n.ref)
	for i, m := range n.allOf {
		child("allOf/"+strconv.Itoa(i), m)
	}
	for i, m := range n.anyOf {
		child("anyOf/"+strconv.Itoa(i), m)
	}
	for i, m := range n.oneOf {
		child("oneOf/"+strconv.Itoa(i), m)
	}
	child("not", n.not)
	child("if", n.ifS)
	child("then", n.thenS)
	child("else", n.elseS)
	copy(n.fp[:], h.Sum(nil))
	n.fpState, n.fpOK = 2, ok
	return n.fp, ok
}

// same reports whether a and b provably accept the same instances.
func same(a, b *node) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a == b {
		return true
	}
	if a.doc != nil && b.doc != nil && a.doc.key == b.doc.key && a.loc == b.loc {
		return true
	}
	fa, oka := a.fingerprint()
	fb, okb := b.fingerprint()
	return oka && okb && fa == fb
}

func sameList(a, b []*node) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !same(a[i], b[i]) {
			return false
		}
	}
	return true
}
