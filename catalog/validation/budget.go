package validation

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"yiku/fault"
)

// The complexity budget of a schema version. A schema is refused at
// registration, and a stored version is unusable, when any measure of its
// Complexity is over its budget. The figures leave room for the largest
// schemas a department writes by hand (the base schemas measure at most a
// few hundred expanded nodes and ten levels; see docs/catalog.md) and keep
// the static cost of one record within the per-record budget below for
// records of ordinary size.
const (
	// MaxExpandedNodes bounds the schema objects one record of at most
	// MaxRecordDepth levels can be checked against, every reference
	// followed: the validator's work per value of the record.
	MaxExpandedNodes = 20_000
	// MaxValueChecks bounds, in the same expansion, the keywords whose cost
	// grows with the size of the value they check rather than per value:
	// pattern, each patternProperties entry, format, each enum member,
	// const, uniqueItems and minLength/maxLength.
	MaxValueChecks = 20_000
	// MaxSchemaDepth bounds how deeply schema objects nest in the document
	// (references not followed).
	MaxSchemaDepth = 64
	// MaxSchemaObjects bounds the JSON objects in a schema document,
	// counted before it is compiled: the library's compile time grows with
	// the square of the number of subschemas (about 3 s for 10,000 on the
	// machine of docs/performance.md), so a 1 MiB document of empty
	// subschemas would hold a core for minutes.
	MaxSchemaObjects = 2048
)

// countObjects counts the JSON objects in a parsed document, in any
// position (a schema, an enum member, an example): conservative and linear.
func countObjects(v any) int {
	n := 0
	switch t := v.(type) {
	case map[string]any:
		n++
		for _, e := range t {
			n += countObjects(e)
		}
	case []any:
		for _, e := range t {
			n += countObjects(e)
		}
	}
	return n
}

// tooManyObjects is the refusal of a document over MaxSchemaObjects.
func tooManyObjects(n int) error {
	reason := fmt.Sprintf("the schema document has %d JSON objects, over the budget of %d", n, MaxSchemaObjects)
	return fault.Invalidf("schema_too_complex", "schema is too complex to validate records against: %s", reason).
		WithDetails(fault.Detail{Rule: "schema_objects", Reason: reason})
}

// The per-record budget: a record whose validation could cost more is
// refused without being validated (Validator.Validate). A record just under
// either figure costs about 0.2–0.4 s of one core against the worst
// schemas within the budgets above (docs/catalog.md has the measurements).
const (
	// MaxRecordEvaluations bounds the (schema object, record value) pairs
	// validating a record may visit.
	MaxRecordEvaluations = 500_000
	// MaxRecordScanBytes bounds the bytes the size-dependent checks
	// (the value checks, MaxValueChecks) may scan in a record.
	MaxRecordScanBytes = 16 << 20
	// MaxRecordDepth is the record nesting the static measure unrolls a
	// recursive schema to.
	MaxRecordDepth = 32
)

// Complexity is the static measure of a compiled schema.
type Complexity struct {
	// ExpandedNodes counts the schema objects that apply to a record of
	// MaxRecordDepth levels with every $ref followed (a recursive schema
	// unrolled to that depth), saturating at math.MaxUint64. A reference
	// cycle that never descends into the record is unbounded.
	ExpandedNodes uint64 `json:"expanded_nodes"`
	// ValueChecks counts the size-dependent keywords in that expansion.
	ValueChecks uint64 `json:"value_checks"`
	// Depth is the deepest nesting of schema objects in the document.
	Depth int `json:"depth"`
	// Objects counts the distinct schema objects reachable from the root.
	Objects int `json:"objects"`
	// Cycle is true when a reference cycle applies a schema to the same
	// value forever.
	Cycle bool `json:"cycle,omitempty"`

	// at[d] is the cost of a record nested d levels deep, d ≤ MaxRecordDepth.
	at [MaxRecordDepth + 1]cost
}

// Unbounded is the measure of something that cannot be bounded.
const Unbounded = math.MaxUint64

// cost is the expanded nodes and value checks below one schema at one
// remaining record depth.
type cost struct{ nodes, checks uint64 }

func (c cost) add(o cost) cost {
	return cost{sat(c.nodes, o.nodes), sat(c.checks, o.checks)}
}

// sat adds without overflowing: the 2^40 of a doubling schema is measured,
// 2^70 saturates.
func sat(a, b uint64) uint64 {
	s, carry := bits.Add64(a, b, 0)
	if carry != 0 {
		return Unbounded
	}
	return s
}

func mul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	if hi != 0 {
		return Unbounded
	}
	return lo
}

// Measure computes the complexity of a compiled schema. It follows the
// compiled graph (references already resolved by the library) with a
// memo per (schema, remaining record depth), so a schema whose definitions
// double at each of 40 levels is measured in microseconds.
func Measure(root *jsonschema.Schema) Complexity {
	c, _ := measure(root)
	return c
}

// measure is Measure, also returning the index of dynamic anchors.
func measure(root *jsonschema.Schema) (Complexity, map[string][]*jsonschema.Schema) {
	m := &measurer{onStack: map[memoKey]bool{}, anchors: map[string][]*jsonschema.Schema{}}
	reachable := map[*jsonschema.Schema]bool{}
	m.collect(root, reachable)
	m.memo = make(map[memoKey]cost, len(reachable)*(MaxRecordDepth+1))
	var c Complexity
	c.Depth = m.depth(root, map[*jsonschema.Schema]bool{})
	c.Objects = len(reachable)
	for d := 0; d <= MaxRecordDepth; d++ {
		c.at[d] = m.cost(root, d)
	}
	c.ExpandedNodes, c.ValueChecks, c.Cycle = c.at[MaxRecordDepth].nodes, c.at[MaxRecordDepth].checks, m.cycle
	if c.Cycle {
		c.ExpandedNodes, c.ValueChecks = Unbounded, Unbounded
		for d := range c.at {
			c.at[d] = cost{Unbounded, Unbounded}
		}
	}
	return c, m.anchors
}

// Budget is the error for a schema over any budget, or nil: a fault
// Invalid with code schema_too_complex whose message and details name each
// budget and the measured value.
func (c Complexity) Budget() error {
	var details []fault.Detail
	var first string
	over := func(rule, reason string) {
		if first == "" {
			first = reason
		}
		details = append(details, fault.Detail{Rule: rule, Reason: reason})
	}
	if c.Cycle {
		over("reference_cycle", "a $ref cycle applies a schema to the same value forever (expanded schema size is unbounded)")
	}
	if !c.Cycle && c.ExpandedNodes > MaxExpandedNodes {
		over("expanded_nodes", fmt.Sprintf("expanded schema size %s nodes exceeds the budget of %d", figure(c.ExpandedNodes), MaxExpandedNodes))
	}
	if !c.Cycle && c.ValueChecks > MaxValueChecks {
		over("value_checks", fmt.Sprintf("expanded value checks (pattern, format, enum, const, uniqueItems, lengths) %s exceed the budget of %d", figure(c.ValueChecks), MaxValueChecks))
	}
	if c.Depth > MaxSchemaDepth {
		over("depth", fmt.Sprintf("schema nesting depth %d exceeds the budget of %d", c.Depth, MaxSchemaDepth))
	}
	if len(details) == 0 {
		return nil
	}
	return fault.Invalidf("schema_too_complex", "schema is too complex to validate records against: %s", first).WithDetails(details...)
}

func figure(n uint64) string {
	if n == Unbounded {
		return "more than 18446744073709551614"
	}
	return fmt.Sprint(n)
}

// RecordCost is the static bound of validating one record.
type RecordCost struct {
	Values      uint64 // values in the record (objects, arrays, scalars)
	Bytes       uint64 // bytes of its strings, keys and numbers, plus one per value
	Depth       int    // nesting: 0 for a scalar, 1 for a flat object
	Evaluations uint64 // Values × expanded nodes at Depth
	ScanBytes   uint64 // Bytes × value checks at Depth
}

// Within reports whether the bound is inside the per-record budget.
func (rc RecordCost) Within() bool {
	return rc.Evaluations <= MaxRecordEvaluations && rc.ScanBytes <= MaxRecordScanBytes
}

// Cost is the quick static bound of validating a decoded record against a
// schema of complexity c: every value at nesting level k is checked
// against at most the expanded nodes that reach level k, and every
// size-dependent check scans at most the bytes below the value it checks,
// so the work is at most Values × nodes plus Bytes × checks. A record
// deeper than MaxRecordDepth against a schema that reaches below it is
// bounded by nothing here (Unbounded). The bound is loose (a property's
// schema is counted against every value); Validator.Validate asks the
// exact walk only when it is over the budget.
func (c Complexity) Cost(inst any) RecordCost {
	var rc RecordCost
	walk(inst, 0, &rc)
	at := c.at[min(rc.Depth, MaxRecordDepth)]
	if rc.Depth > MaxRecordDepth && c.at[MaxRecordDepth] != c.at[MaxRecordDepth-1] {
		at = cost{Unbounded, Unbounded}
	}
	rc.Evaluations = mul(rc.Values, at.nodes)
	rc.ScanBytes = mul(rc.Bytes, at.checks)
	return rc
}

// walk counts a decoded value (encoding/json with UseNumber).
func walk(v any, depth int, rc *RecordCost) {
	rc.Values++
	rc.Bytes++
	rc.Depth = max(rc.Depth, depth)
	switch t := v.(type) {
	case map[string]any:
		for k, e := range t {
			rc.Bytes += uint64(len(k))
			walk(e, depth+1, rc)
		}
	case []any:
		for _, e := range t {
			walk(e, depth+1, rc)
		}
	case string:
		rc.Bytes += uint64(len(t))
	case fmt.Stringer: // json.Number
		rc.Bytes += uint64(len(t.String()))
	}
}

type memoKey struct {
	s *jsonschema.Schema
	d int
}

type measurer struct {
	memo    map[memoKey]cost
	onStack map[memoKey]bool
	// anchors lists the schemas declaring each $dynamicAnchor: a
	// $dynamicRef may resolve to any of them at validation time, so all
	// are counted.
	anchors map[string][]*jsonschema.Schema
	cycle   bool
}

// cost is the expanded size of s applied to a value with d levels below
// it. Keywords that apply to the same value keep d; keywords that apply
// to the value's members or items use d-1 and apply to nothing at d = 0.
func (m *measurer) cost(s *jsonschema.Schema, d int) cost {
	if s == nil || m.cycle {
		return cost{}
	}
	k := memoKey{s, d}
	if c, ok := m.memo[k]; ok {
		return c
	}
	if m.onStack[k] {
		// Back at the same schema without descending into the value: the
		// validator would loop (the library reports it per record).
		m.cycle = true
		return cost{}
	}
	m.onStack[k] = true
	c := cost{nodes: 1, checks: valueChecks(s)}
	inPlace(s, m.anchors, func(x *jsonschema.Schema) { c = c.add(m.cost(x, d)) })
	if d > 0 {
		children(s, func(x *jsonschema.Schema) { c = c.add(m.cost(x, d-1)) })
	}
	delete(m.onStack, k)
	m.memo[k] = c
	return c
}

// depth is the document nesting below s: every subschema except the
// targets of references.
func (m *measurer) depth(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) int {
	if s == nil || seen[s] {
		return 0
	}
	seen[s] = true
	deepest := 0
	sub := func(x *jsonschema.Schema) { deepest = max(deepest, m.depth(x, seen)) }
	inPlace(s, nil, func(x *jsonschema.Schema) {
		if x != s.Ref && x != s.RecursiveRef && (s.DynamicRef == nil || x != s.DynamicRef.Ref) {
			sub(x)
		}
	})
	children(s, sub)
	return deepest + 1
}

// collect finds every schema reachable from s and indexes the dynamic anchors.
func (m *measurer) collect(s *jsonschema.Schema, seen map[*jsonschema.Schema]bool) {
	if s == nil || seen[s] {
		return
	}
	seen[s] = true
	if s.DynamicAnchor != "" {
		m.anchors[s.DynamicAnchor] = append(m.anchors[s.DynamicAnchor], s)
	}
	next := func(x *jsonschema.Schema) { m.collect(x, seen) }
	inPlace(s, nil, next)
	children(s, next)
}

// valueChecks counts the keywords of s whose cost grows with the size of
// the value they check.
func valueChecks(s *jsonschema.Schema) uint64 {
	n := uint64(len(s.PatternProperties))
	if s.Pattern != nil {
		n++
	}
	if s.Format != nil {
		n++
	}
	if s.Enum != nil {
		n += uint64(len(s.Enum.Values))
	}
	if s.Const != nil {
		n++
	}
	if s.UniqueItems {
		n++
	}
	if s.MinLength != nil || s.MaxLength != nil {
		n++ // counts the characters
	}
	if s.ContentEncoding != nil || s.ContentMediaType != nil {
		n++
	}
	return n
}

// inPlace calls f with every subschema of s that applies to the same value
// as s: references, the logic keywords and dependentSchemas. With anchors,
// a $dynamicRef also leads to every schema declaring its anchor.
func inPlace(s *jsonschema.Schema, anchors map[string][]*jsonschema.Schema, f func(*jsonschema.Schema)) {
	one := func(x *jsonschema.Schema) {
		if x != nil {
			f(x)
		}
	}
	one(s.Ref)
	one(s.RecursiveRef)
	if s.DynamicRef != nil {
		one(s.DynamicRef.Ref)
		if anchors != nil && s.DynamicRef.Anchor != "" {
			for _, a := range anchors[s.DynamicRef.Anchor] {
				if a != s.DynamicRef.Ref {
					f(a)
				}
			}
		}
	}
	one(s.Not)
	for _, x := range s.AllOf {
		one(x)
	}
	for _, x := range s.AnyOf {
		one(x)
	}
	for _, x := range s.OneOf {
		one(x)
	}
	one(s.If)
	one(s.Then)
	one(s.Else)
	for _, x := range s.DependentSchemas {
		one(x)
	}
	for _, x := range s.Dependencies {
		if sch, ok := x.(*jsonschema.Schema); ok {
			one(sch)
		}
	}
}

// children calls f with every subschema of s that applies to the members,
// items or property names of the value s checks.
func children(s *jsonschema.Schema, f func(*jsonschema.Schema)) {
	one := func(x *jsonschema.Schema) {
		if x != nil {
			f(x)
		}
	}
	anyOne := func(x any) {
		switch t := x.(type) {
		case *jsonschema.Schema:
			one(t)
		case []*jsonschema.Schema:
			for _, y := range t {
				one(y)
			}
		}
	}
	one(s.PropertyNames)
	for _, x := range s.Properties {
		one(x)
	}
	for _, x := range s.PatternProperties {
		one(x)
	}
	anyOne(s.AdditionalProperties)
	one(s.UnevaluatedProperties)
	one(s.Contains)
	anyOne(s.Items)
	anyOne(s.AdditionalItems)
	for _, x := range s.PrefixItems {
		one(x)
	}
	one(s.Items2020)
	one(s.UnevaluatedItems)
	one(s.ContentSchema)
}
