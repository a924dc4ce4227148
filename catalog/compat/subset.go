package compat

import (
	"fmt"
	"math/big"
	"math/bits"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Work limits. Real schemas need a few hundred steps; the limits only stop
// hostile or pathological input, which is then reported as unproven.
const (
	maxSteps     = 100_000
	maxDisjuncts = 64
	maxDepth     = 100
)

// finding is one issue before it gets its direction and version.
type finding struct {
	ptr, msg string
	// unproven marks conservative reports: the change may well be
	// compatible, the checker just cannot show it.
	unproven bool
}

// checker decides whether every instance valid under schema A is valid
// under schema B. A is the old version for backward checks and the new one
// for forward checks; messages are worded accordingly.
type checker struct {
	oldName  string
	backward bool
	shortcut bool // skip provably identical subschemas; off only in tests

	steps     int
	exhausted bool
	sink      *[]finding
	active    map[string]int
	depth     int
	regexps   map[string]*regexp.Regexp
	synth     int
	trueNode  *node
	falseNode *node
	kindNodes map[kind]*node
}

func newChecker(oldName string, backward bool) *checker {
	c := &checker{
		oldName: oldName, backward: backward, shortcut: true,
		active: map[string]int{}, regexps: map[string]*regexp.Regexp{}, kindNodes: map[kind]*node{},
	}
	c.trueNode = c.newSynth()
	c.trueNode.isBool, c.trueNode.boolVal = true, true
	c.falseNode = c.newSynth()
	c.falseNode.isBool = true
	return c
}

func (c *checker) newSynth() *node {
	c.synth--
	return &node{
		id: c.synth, synthetic: true, kinds: kAll,
		maxLength: none, maxItems: none, maxProps: none, minContains: none, maxContains: none,
		fpState: 2,
	}
}

// anyOfNode builds a schema accepting what any of list accepts.
func (c *checker) anyOfNode(list []*node) *node {
	var keep []*node
	for _, n := range list {
		switch {
		case n == nil || (n.isBool && n.boolVal):
			return c.trueNode
		case isFalse(n):
		default:
			keep = append(keep, n)
		}
	}
	switch len(keep) {
	case 0:
		return c.falseNode
	case 1:
		return keep[0]
	}
	s := c.newSynth()
	s.anyOf = keep
	return s
}

// kindGroups partitions the kinds; numbers stay together so that integer
// and number branches are compared as such.
var kindGroups = []kind{kNull, kBool, kObj, kArr, kStr, kNum}

// kindNode is a cached schema {"type": g}, used to split a value set by kind.
func (c *checker) kindNode(g kind) *node {
	if n := c.kindNodes[g]; n != nil {
		return n
	}
	n := c.newSynth()
	n.hasType, n.kinds = true, g
	c.kindNodes[g] = n
	return n
}

func isFalse(n *node) bool { return n != nil && n.isBool && !n.boolVal }

func (c *checker) step() bool {
	if c.exhausted {
		return false
	}
	c.steps++
	if c.steps > maxSteps {
		c.exhausted = true
		return false
	}
	return true
}

func (c *checker) report(ptr, msg string, unproven bool) {
	if c.exhausted {
		return
	}
	*c.sink = append(*c.sink, finding{ptr: ptr, msg: msg, unproven: unproven})
}

// trial runs f with its findings collected apart and reports whether it
// found nothing.
func (c *checker) trial(f func()) bool {
	_, ok := c.trialCollect(f)
	return ok
}

func (c *checker) trialCollect(f func()) ([]finding, bool) {
	saved := c.sink
	var tmp []finding
	c.sink = &tmp
	f()
	c.sink = saved
	return tmp, len(tmp) == 0 && !c.exhausted
}

// Wording. A "record" is an instance; which side's records are at stake
// depends on the direction.

func (c *checker) pick(backward, forward string) string {
	if c.backward {
		return backward
	}
	return forward
}

func (c *checker) conseq(what string) string {
	return c.pick("records valid under "+c.oldName, "records valid under the new schema") + " " + what + " " +
		c.pick("would be rejected by the new schema", "would be rejected by consumers using "+c.oldName)
}

func (c *checker) unprovable(ptr, what string) {
	c.report(ptr, "could not be proven compatible: "+what+"; "+
		c.pick("records valid under "+c.oldName+" may be rejected by the new schema",
			"records valid under the new schema may be rejected by consumers using "+c.oldName), true)
}

// subset compares two documents.
func (c *checker) subset(a, b *doc) []finding {
	if c.shortcut && a.key == b.key {
		return nil
	}
	var found []finding
	c.sink = &found
	for _, d := range c.expand([]*node{a.root}) {
		c.sub(d, b.root, "")
	}
	if c.exhausted {
		found = append(found, finding{msg: "could not be proven compatible: the schemas are too complex to compare", unproven: true})
	}
	seen := map[string]bool{}
	out := found[:0]
	for _, f := range found {
		k := f.ptr + "\x00" + f.msg
		if !seen[k] {
			seen[k] = true
			out = append(out, f)
		}
	}
	return out
}

// conj is a conjunction of schemas: the instances valid under every one of
// them. The A side is normalised into a union of conjunctions (expand), so
// that each conjunction's own keywords can be merged into one view.
type conj []*node

// key identifies the pair (d, b) for recursion detection. Members that
// only combine others by $ref, allOf or anyOf are left out: their targets
// are members too, so they add nothing, and leaving them out lets a
// recursive schema meet the same pair again one level down.
func (d conj) key(b *node) string {
	ids := make([]int, 0, len(d))
	for _, n := range d {
		if !n.combinesOnly() {
			ids = append(ids, n.id)
		}
	}
	sort.Ints(ids)
	var s strings.Builder
	for _, id := range ids {
		s.WriteString(strconv.Itoa(id))
		s.WriteByte(',')
	}
	s.WriteString("|" + strconv.Itoa(b.id))
	return s.String()
}

// expand turns the conjunction of ns into a union of conjunctions whose
// members' $ref, allOf, anyOf and oneOf are all expanded. Every instance
// valid under all of ns is valid under (every member of) at least one
// returned conjunction. oneOf is widened to anyOf, which is sound on this
// side: it only adds instances.
func (c *checker) expand(ns []*node) []conj {
	out := []conj{nil}
	for _, n := range ns {
		if n == nil {
			continue
		}
		out = c.and(out, c.expandNode(n))
		if len(out) == 0 {
			break
		}
	}
	return out
}

func (c *checker) expandNode(n *node) []conj {
	if n.isBool {
		if n.boolVal {
			return []conj{nil}
		}
		return nil
	}
	if !c.step() {
		return []conj{{n}}
	}
	if n.synthetic {
		return c.union(n.anyOf)
	}
	out := []conj{{n}}
	if n.ref != nil {
		out = c.and(out, c.expandNode(n.ref))
	}
	for _, m := range n.allOf {
		out = c.and(out, c.expandNode(m))
	}
	if len(n.anyOf) > 0 {
		out = c.and(out, c.union(n.anyOf))
	}
	if len(n.oneOf) > 0 {
		out = c.and(out, c.union(n.oneOf))
	}
	return out
}

func (c *checker) union(list []*node) []conj {
	var out []conj
	for _, m := range list {
		out = append(out, c.expandNode(m)...)
		if len(out) > maxDisjuncts {
			c.exhausted = true
			return out[:maxDisjuncts]
		}
	}
	return out
}

func (c *checker) and(x, y []conj) []conj {
	out := make([]conj, 0, len(x)*len(y))
	for _, a := range x {
		for _, b := range y {
			if len(out) == maxDisjuncts {
				c.exhausted = true
				return out
			}
			m := slices.Clone(a)
			for _, n := range b {
				if !slices.Contains(m, n) {
					m = append(m, n)
				}
			}
			out = append(out, m)
		}
	}
	return out
}

// bound is a numeric lower or upper bound.
type bound struct {
	v    *big.Rat
	excl bool
}

// view merges the keywords of a conjunction's members.
type view struct {
	kinds              kind
	finite             bool  // the conjunction accepts at most values
	values             []any // when finite
	minLen, maxLen     int64
	patterns, formats  []string
	lo, hi             *bound
	multiples          []*big.Rat
	minItems, maxItems int64
	unique             bool
	required           map[string]bool
	minProps, maxProps int64
}

func minLimit(a, b int64) int64 {
	if a == none || (b != none && b < a) {
		return b
	}
	return a
}

func tighterLo(cur *bound, v *big.Rat, excl bool) *bound {
	if v == nil {
		return cur
	}
	if cur == nil {
		return &bound{v, excl}
	}
	if c := v.Cmp(cur.v); c > 0 || (c == 0 && excl) {
		return &bound{v, excl}
	}
	return cur
}

func tighterHi(cur *bound, v *big.Rat, excl bool) *bound {
	if v == nil {
		return cur
	}
	if cur == nil {
		return &bound{v, excl}
	}
	if c := v.Cmp(cur.v); c < 0 || (c == 0 && excl) {
		return &bound{v, excl}
	}
	return cur
}

func floorRat(r *big.Rat) *big.Rat {
	q := new(big.Int).Div(r.Num(), r.Denom()) // Euclidean: floor for a positive divisor
	return new(big.Rat).SetInt(q)
}

func (c *checker) view(d conj) *view {
	v := &view{kinds: kAll, maxLen: none, maxItems: none, maxProps: none, required: map[string]bool{}}
	var vals []any
	haveVals := false
	for _, a := range d {
		v.kinds &= a.kinds
		for _, s := range []*valueSet{a.enum, a.constv} {
			if s == nil {
				continue
			}
			if !haveVals {
				vals, haveVals = slices.Clone(s.vals), true
			} else {
				vals = slices.DeleteFunc(vals, func(x any) bool { return !s.has(x) })
			}
		}
		v.minLen = max(v.minLen, a.minLength)
		v.maxLen = minLimit(v.maxLen, a.maxLength)
		if a.hasPattern {
			v.patterns = append(v.patterns, a.pattern)
		}
		if a.hasFormat {
			v.formats = append(v.formats, a.format)
		}
		v.lo = tighterLo(tighterLo(v.lo, a.minimum, false), a.exclMin, true)
		v.hi = tighterHi(tighterHi(v.hi, a.maximum, false), a.exclMax, true)
		if a.multipleOf != nil {
			v.multiples = append(v.multiples, a.multipleOf)
		}
		v.minItems = max(v.minItems, a.minItems)
		v.maxItems = minLimit(v.maxItems, a.maxItems)
		if isFalse(a.items) {
			v.maxItems = minLimit(v.maxItems, int64(len(a.prefixItems)))
		}
		v.unique = v.unique || a.uniqueItems
		for _, r := range a.required {
			v.required[r] = true
		}
		v.minProps = max(v.minProps, a.minProps)
		v.maxProps = minLimit(v.maxProps, a.maxProps)
	}
	v.minProps = max(v.minProps, int64(len(v.required)))
	for _, m := range v.multiples {
		if m.IsInt() {
			v.kinds &^= kFrac
		}
	}
	if !haveVals && v.kinds&^(kNull|kBool) == 0 {
		haveVals = true
		if v.kinds&kNull != 0 {
			vals = append(vals, nil)
		}
		if v.kinds&kBool != 0 {
			vals = append(vals, false, true)
		}
	}
	if haveVals {
		v.finite = true
		var k kind
		for _, x := range vals {
			if kindOf(x)&v.kinds == 0 || c.evalConj(d, x).res == invalid {
				continue
			}
			v.values = append(v.values, x)
			k |= kindOf(x)
		}
		v.kinds = k
	}
	if v.kinds&kNum == kInt {
		// Integer-only: turn bounds into inclusive integer bounds, so that
		// "exclusiveMinimum: 0" and "minimum: 1" compare as equal.
		one := big.NewRat(1, 1)
		if v.lo != nil {
			f := floorRat(v.lo.v)
			if v.lo.excl || f.Cmp(v.lo.v) != 0 {
				f.Add(f, one)
			}
			v.lo = &bound{f, false}
		}
		if v.hi != nil {
			f := floorRat(v.hi.v)
			if v.hi.excl && f.Cmp(v.hi.v) == 0 {
				f.Sub(f, one)
			}
			v.hi = &bound{f, false}
		}
	}
	return v
}

// evalConj evaluates a value against every member of a conjunction.
func (c *checker) evalConj(d conj, x any) verdict {
	var acc all
	for _, a := range d {
		if stop, r := acc.add(c.eval(a, x, true)); stop {
			return r
		}
	}
	return acc.result()
}

// sub reports how instances valid under d may fail b.
func (c *checker) sub(d conj, b *node, path string) {
	if b == nil || !c.step() || (b.isBool && b.boolVal) {
		return
	}
	if c.shortcut {
		for _, a := range d {
			if same(a, b) {
				return
			}
		}
	}
	v := c.view(d)
	if v.kinds == 0 {
		return // d accepts nothing
	}
	if b.isBool {
		c.report(path, c.pick("the new schema allows no value here (false schema)",
			c.oldName+" allows no value here (false schema)")+": "+c.conseq("with a value here"), false)
		return
	}
	if b.synthetic && len(b.anyOf) > 0 {
		c.checkAny(d, b.anyOf, path, "anyOf")
		return
	}
	// A pair met again deeper in the data is assumed to hold: instances
	// are finite, so the assumption is discharged by induction on depth.
	key := d.key(b)
	if at, seen := c.active[key]; seen {
		if at < c.depth {
			return
		}
		c.unprovable(path, "recursive $ref")
		return
	}
	if c.depth > maxDepth {
		c.unprovable(path, "the schemas are nested too deeply to compare")
		return
	}
	c.active[key] = c.depth
	defer delete(c.active, key)
	if v.finite {
		// Structural reasoning first; if it fails, enumerate the values,
		// which is exact where the evaluator can decide.
		if c.trial(func() { c.structural(d, v, b, path) }) {
			return
		}
		c.enumerate(v, b, path)
		return
	}
	c.structural(d, v, b, path)
}

func (c *checker) enumerate(v *view, b *node, path string) {
	for _, x := range v.values {
		r := c.eval(b, x, false)
		if r.res == valid {
			continue
		}
		val := display(x)
		var change string
		switch r.ptr {
		case "/enum":
			change = c.pick("enum value "+val+" was removed", "enum value "+val+" was added")
		case "/const":
			change = c.pick("const changed to "+display(b.constv.vals[0]), "const changed from "+display(b.constv.vals[0]))
		default:
			change = c.pick("value "+val+" is allowed by "+c.oldName+" but not by the new schema ("+r.why+")",
				"value "+val+" is allowed by the new schema but not by "+c.oldName+" ("+r.why+")")
		}
		if r.res == unknown {
			c.unprovable(path+r.ptr, "value "+val+": "+r.why)
			continue
		}
		if r.ptr == "/type" && b.hasType {
			c.reportType(path+"/type", kindOf(x), v.kinds, b.kinds)
			continue
		}
		c.report(path+r.ptr, change+": "+c.conseq("carrying "+val+" here"), false)
	}
}

func (c *checker) structural(d conj, v *view, b *node, path string) {
	if b.hasType {
		if lost := v.kinds &^ b.kinds; lost != 0 {
			c.reportType(path+"/type", lost, v.kinds, b.kinds)
		}
	}
	k := v.kinds & b.kinds
	if b.constv != nil {
		c.checkValues(v, b.constv, path+"/const", "const")
	}
	if b.enum != nil {
		c.checkValues(v, b.enum, path+"/enum", "enum")
	}
	if k&kStr != 0 {
		c.strings(v, b, path)
	}
	if k&kNum != 0 {
		c.numbers(v, b, path)
	}
	if k&kArr != 0 {
		c.arrays(d, v, b, path)
	}
	if k&kObj != 0 {
		c.objects(d, v, b, path)
	}
	if b.not != nil {
		c.checkNot(d, b, path)
	}
	if b.ifS != nil {
		c.checkIf(d, b, path)
	}
	if b.ref != nil {
		c.sub(d, b.ref, path)
	}
	for i, m := range b.allOf {
		c.sub(d, m, path+"/allOf/"+strconv.Itoa(i))
	}
	if len(b.anyOf) > 0 {
		c.checkAny(d, b.anyOf, path+"/anyOf", "anyOf")
	}
	if len(b.oneOf) > 0 {
		c.checkOne(d, b, path+"/oneOf")
	}
}

func (c *checker) reportType(ptr string, lost, have, want kind) {
	var change string
	switch {
	case lost == kFrac && want&kInt != 0:
		change = c.pick("type narrowed from number to integer", "type widened from integer to number")
	case lost == kNull:
		change = c.pick("null is no longer allowed (the value is no longer nullable)",
			"the value became nullable ("+c.oldName+" does not allow null)")
	case have&want == 0:
		change = c.pick("type changed from "+have.String()+" to "+want.String(),
			"type changed from "+want.String()+" to "+have.String())
	default:
		change = c.pick("type narrowed to "+want.String(), "type widened to also accept "+lost.String())
	}
	what := "whose value here is " + article(lost)
	if lost == kFrac {
		what = "whose value here has a fractional part"
	}
	c.report(ptr, change+": "+c.conseq(what), false)
}

func article(k kind) string {
	s := k.String()
	switch s[0] {
	case 'a', 'i', 'o':
		return "an " + s
	case 'n':
		if strings.HasPrefix(s, "null") {
			return s
		}
	}
	return "a " + s
}

func (c *checker) checkValues(v *view, set *valueSet, ptr, kw string) {
	if v.finite {
		for _, x := range v.values {
			if set.has(x) {
				continue
			}
			val := display(x)
			change := c.pick(kw+" value "+val+" was removed", kw+" value "+val+" was added")
			if kw == "const" {
				change = c.pick("const changed to "+display(set.vals[0]), "const changed from "+display(set.vals[0]))
			}
			c.report(ptr, change+": "+c.conseq("carrying "+val+" here"), false)
		}
		return
	}
	change := c.pick("values are now restricted to "+set.describe()+" ("+kw+" was added)",
		c.oldName+" restricts values to "+set.describe()+" but the new schema does not")
	c.report(ptr, change+": "+c.conseq("with other values here"), false)
}

// limitChange reports a tightened (or, seen from the old side, loosened)
// limit. aDesc is empty when side A has no such limit.
func (c *checker) limitChange(ptr, kw, aDesc, bDesc, what string) {
	var change string
	switch {
	case c.backward && aDesc == "":
		change = fmt.Sprintf("%s %s was added", kw, bDesc)
	case c.backward:
		change = fmt.Sprintf("%s tightened from %s to %s", kw, aDesc, bDesc)
	case aDesc == "":
		change = fmt.Sprintf("%s %s was removed", kw, bDesc)
	default:
		change = fmt.Sprintf("%s loosened from %s to %s", kw, bDesc, aDesc)
	}
	c.report(ptr, change+": "+c.conseq(what), false)
}

func plural(n int64, noun string) string {
	switch {
	case n == 1:
		return "1 " + noun
	case strings.HasSuffix(noun, "y"):
		return strconv.FormatInt(n, 10) + " " + strings.TrimSuffix(noun, "y") + "ies"
	}
	return strconv.FormatInt(n, 10) + " " + noun + "s"
}

func limitDesc(v, absent int64) string {
	if v == absent {
		return ""
	}
	return strconv.FormatInt(v, 10)
}

func (c *checker) strings(v *view, b *node, path string) {
	if b.minLength > v.minLen {
		c.limitChange(path+"/minLength", "minLength", limitDesc(v.minLen, 0), strconv.FormatInt(b.minLength, 10),
			"whose value here is shorter than "+plural(b.minLength, "character"))
	}
	if b.maxLength != none && (v.maxLen == none || v.maxLen > b.maxLength) {
		c.limitChange(path+"/maxLength", "maxLength", limitDesc(v.maxLen, none), strconv.FormatInt(b.maxLength, 10),
			"whose value here is longer than "+plural(b.maxLength, "character"))
	}
	if b.hasPattern && !slices.Contains(v.patterns, b.pattern) {
		what := fmt.Sprintf("whose value here does not match %q", b.pattern)
		if len(v.patterns) == 0 {
			c.report(path+"/pattern", c.pick(fmt.Sprintf("pattern %q was added", b.pattern),
				fmt.Sprintf("pattern %q was removed", b.pattern))+": "+c.conseq(what), false)
		} else {
			from, to := v.patterns[0], b.pattern
			if !c.backward {
				from, to = to, from
			}
			c.unprovable(path+"/pattern", fmt.Sprintf("pattern changed from %q to %q (patterns are compared only for equality)", from, to))
		}
	}
	if b.hasFormat && !slices.Contains(v.formats, b.format) {
		what := fmt.Sprintf("whose value here is not a valid %q", b.format)
		var change string
		switch {
		case len(v.formats) == 0:
			change = c.pick(fmt.Sprintf("format %q was added", b.format), fmt.Sprintf("format %q was removed", b.format))
		case c.backward:
			change = fmt.Sprintf("format changed from %q to %q", v.formats[0], b.format)
		default:
			change = fmt.Sprintf("format changed from %q to %q", b.format, v.formats[0])
		}
		c.report(path+"/format", change+": "+c.conseq(what), false)
	}
}

func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	for prec := 1; prec <= 30; prec++ {
		s := r.FloatString(prec)
		if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
			return s
		}
	}
	return r.RatString()
}

func (b *bound) describe(lower bool) string {
	if b == nil {
		return ""
	}
	op := map[[2]bool]string{{true, false}: ">=", {true, true}: ">", {false, false}: "<=", {false, true}: "<"}[[2]bool{lower, b.excl}]
	return op + " " + ratText(b.v)
}

// implies reports whether a bound (of side A) guarantees limit m.
func (b *bound) implies(m *big.Rat, excl, lower bool) bool {
	if b == nil {
		return false
	}
	c := b.v.Cmp(m)
	if !lower {
		c = -c
	}
	return c > 0 || (c == 0 && (b.excl || !excl))
}

func (c *checker) numbers(v *view, b *node, path string) {
	type lim struct {
		kw    string
		m     *big.Rat
		excl  bool
		lower bool
	}
	for _, l := range []lim{
		{"minimum", b.minimum, false, true},
		{"exclusiveMinimum", b.exclMin, true, true},
		{"maximum", b.maximum, false, false},
		{"exclusiveMaximum", b.exclMax, true, false},
	} {
		if l.m == nil {
			continue
		}
		have := v.hi
		name, what := "upper bound", "above"
		if l.lower {
			have, name, what = v.lo, "lower bound", "below"
		}
		if have.implies(l.m, l.excl, l.lower) {
			continue
		}
		want := &bound{l.m, l.excl}
		if l.excl {
			what = map[bool]string{true: "at or below", false: "at or above"}[l.lower]
		}
		c.limitChange(path+"/"+l.kw, name, have.describe(l.lower), want.describe(l.lower),
			"whose value here is "+what+" "+ratText(l.m))
	}
	if b.multipleOf != nil && !multipleImplied(v, b.multipleOf) {
		aDesc := ""
		if len(v.multiples) > 0 {
			aDesc = ratText(v.multiples[0])
		}
		m := ratText(b.multipleOf)
		c.limitChange(path+"/multipleOf", "multipleOf", aDesc, m, "whose value here is not a multiple of "+m)
	}
}

func multipleImplied(v *view, m *big.Rat) bool {
	q := new(big.Rat)
	for _, a := range v.multiples {
		if q.Quo(a, m).IsInt() {
			return true
		}
	}
	return v.kinds&kNum == kInt && q.Inv(m).IsInt()
}

func (c *checker) arrays(d conj, v *view, b *node, path string) {
	maxPrefix := len(b.prefixItems)
	for _, a := range d {
		maxPrefix = max(maxPrefix, len(a.prefixItems))
	}
	c.depth++
	tail := true
	for i := 0; i < maxPrefix; i++ {
		if v.maxItems != none && int64(i) >= v.maxItems {
			tail = false
			break
		}
		bi, ptr := b.items, path+"/items"
		if i < len(b.prefixItems) {
			bi, ptr = b.prefixItems[i], path+"/prefixItems/"+strconv.Itoa(i)
		}
		var an []*node
		for _, a := range d {
			if i < len(a.prefixItems) {
				an = append(an, a.prefixItems[i])
			} else if a.items != nil {
				an = append(an, a.items)
			}
		}
		ds := c.expand(an)
		if len(ds) == 0 {
			tail = false // no instance of d has an item at i
			break
		}
		for _, di := range ds {
			c.sub(di, bi, ptr)
		}
	}
	if tail && b.items != nil && (v.maxItems == none || v.maxItems > int64(maxPrefix)) {
		var an []*node
		for _, a := range d {
			an = append(an, a.items)
		}
		for _, di := range c.expand(an) {
			c.sub(di, b.items, path+"/items")
		}
	}
	c.depth--
	if b.minItems > v.minItems {
		c.limitChange(path+"/minItems", "minItems", limitDesc(v.minItems, 0), strconv.FormatInt(b.minItems, 10),
			"with fewer than "+plural(b.minItems, "item")+" here")
	}
	if b.maxItems != none && (v.maxItems == none || v.maxItems > b.maxItems) {
		c.limitChange(path+"/maxItems", "maxItems", limitDesc(v.maxItems, none), strconv.FormatInt(b.maxItems, 10),
			"with more than "+plural(b.maxItems, "item")+" here")
	}
	if b.uniqueItems && !v.unique && (v.maxItems == none || v.maxItems > 1) {
		c.report(path+"/uniqueItems", c.pick("uniqueItems was added", "uniqueItems was removed")+": "+
			c.conseq("with duplicate items here"), false)
	}
	if b.contains != nil {
		c.checkContains(d, v, b, path)
	}
	if b.unevalItems != nil && !slices.ContainsFunc(d, func(a *node) bool { return same(a, b) }) {
		c.unprovable(path+"/unevaluatedItems", "unevaluatedItems is compared only for identical schemas")
	}
}

func (c *checker) checkContains(d conj, v *view, b *node, path string) {
	for _, a := range d {
		if same(a.contains, b.contains) && a.minContains == b.minContains && a.maxContains == b.maxContains {
			return
		}
	}
	min := int64(1)
	if b.minContains != none {
		min = b.minContains
	}
	if min == 0 && b.maxContains == none {
		return
	}
	// Every item matching is enough, given enough items.
	prefixed := slices.ContainsFunc(d, func(a *node) bool { return len(a.prefixItems) > 0 })
	if !prefixed && v.minItems >= min && (b.maxContains == none || (v.maxItems != none && v.maxItems <= b.maxContains)) {
		var an []*node
		for _, a := range d {
			an = append(an, a.items)
		}
		if c.trial(func() {
			for _, di := range c.expand(an) {
				c.sub(di, b.contains, path+"/contains")
			}
		}) {
			return
		}
	}
	c.unprovable(path+"/contains", "contains changed")
}

// Objects.

// aSchemasFor lists what side-A member a requires of property n, and
// whether a declares n (by name or pattern).
func (c *checker) aSchemasFor(a *node, n string) ([]*node, bool) {
	var out []*node
	for _, l := range a.schemasFor(n) {
		out = append(out, l.n)
	}
	declared := a.properties[n] != nil || slices.ContainsFunc(a.patternProps, func(p patternProp) bool { return p.re.MatchString(n) })
	if a.unevalProps != nil && len(out) == 0 && !c.evaluates(a, n, true, map[*node]bool{}) {
		out = append(out, a.unevalProps)
	}
	return out, declared
}

// bSchemasFor lists what b requires of property n. unevaluatedProperties
// counts unless a subschema certainly evaluates n (requiring more of side
// A than necessary is the safe direction).
func (c *checker) bSchemasFor(b *node, n string) []*node {
	var out []*node
	for _, l := range b.schemasFor(n) {
		out = append(out, l.n)
	}
	if b.unevalProps != nil && len(out) == 0 && !c.evaluates(b, n, false, map[*node]bool{}) {
		out = append(out, b.unevalProps)
	}
	return out
}

// inPlaceFor lists the subschemas applied to the same instance as x:
// certainly (possibly=false: $ref, allOf) or possibly (also the branches).
func inPlaceFor(x *node, possibly bool) []*node {
	out := append([]*node{}, x.allOf...)
	if x.ref != nil {
		out = append(out, x.ref)
	}
	if possibly {
		out = append(out, x.anyOf...)
		out = append(out, x.oneOf...)
		for _, s := range []*node{x.ifS, x.thenS, x.elseS} {
			if s != nil {
				out = append(out, s)
			}
		}
		for _, k := range sortedKeys(x.depSchemas) {
			out = append(out, x.depSchemas[k])
		}
	}
	return out
}

// evaluates reports whether a subschema applied in place to x evaluates
// property n (n == "" asks whether one may evaluate any name at all).
func (c *checker) evaluates(x *node, n string, possibly bool, seen map[*node]bool) bool {
	for _, s := range inPlaceFor(x, possibly) {
		if seen[s] || s.isBool {
			continue
		}
		seen[s] = true
		if s.additional != nil || s.unevalProps != nil || (n == "" && len(s.patternProps) > 0) {
			return true
		}
		if n != "" && (s.properties[n] != nil || slices.ContainsFunc(s.patternProps, func(p patternProp) bool { return p.re.MatchString(n) })) {
			return true
		}
		if c.evaluates(s, n, possibly, seen) {
			return true
		}
	}
	return false
}

// names collects property names declared by x and its in-place subschemas.
func names(x *node, possibly bool, into map[string]bool, seen map[*node]bool) {
	if seen[x] {
		return
	}
	seen[x] = true
	for k := range x.properties {
		into[k] = true
	}
	for _, r := range x.required {
		into[r] = true
	}
	for _, s := range inPlaceFor(x, possibly) {
		names(s, possibly, into, seen)
	}
}

// aFallback is what member a requires of a name it does not declare.
func (c *checker) aFallback(a *node) *node {
	switch {
	case a.additional != nil:
		return a.additional
	case a.unevalProps != nil && !c.evaluates(a, "", true, map[*node]bool{}):
		return a.unevalProps
	}
	return c.trueNode
}

func (c *checker) objects(d conj, v *view, b *node, path string) {
	for _, r := range b.required {
		if !v.required[r] {
			change := c.pick(fmt.Sprintf("%q became required", r),
				fmt.Sprintf("%q is required by %s but optional in the new schema", r, c.oldName))
			c.report(path+"/properties/"+escapeToken(r), change+": "+c.conseq("without it"), false)
		}
	}
	mentioned := map[string]bool{}
	for _, a := range d {
		names(a, true, mentioned, map[*node]bool{})
	}
	names(b, false, mentioned, map[*node]bool{})
	var allowed []string
	for _, n := range sortedKeys(mentioned) {
		if c.property(d, v, b, n, path) {
			allowed = append(allowed, n)
		}
	}
	open := c.unlisted(d, b, path)

	if b.minProps > v.minProps {
		c.limitChange(path+"/minProperties", "minProperties", limitDesc(v.minProps, 0), strconv.FormatInt(b.minProps, 10),
			"with fewer than "+plural(b.minProps, "property")+" here")
	}
	if b.maxProps != none {
		have := v.maxProps
		if !open {
			have = minLimit(have, int64(len(allowed)))
		}
		if have == none || have > b.maxProps {
			c.limitChange(path+"/maxProperties", "maxProperties", limitDesc(v.maxProps, none), strconv.FormatInt(b.maxProps, 10),
				"with more than "+plural(b.maxProps, "property")+" here")
		}
	}
	for _, p := range sortedKeys(b.depRequired) {
		if !c.allows(d, p) {
			continue
		}
		for _, q := range b.depRequired[p] {
			if v.required[q] || slices.ContainsFunc(d, func(a *node) bool { return slices.Contains(a.depRequired[p], q) }) {
				continue
			}
			change := c.pick(fmt.Sprintf("%q now requires %q", p, q),
				fmt.Sprintf("%s requires %q whenever %q is present, the new schema does not", c.oldName, q, p))
			c.report(path+"/dependentRequired/"+escapeToken(p), change+": "+c.conseq(fmt.Sprintf("with %q but without %q", p, q)), false)
		}
	}
	for _, p := range sortedKeys(b.depSchemas) {
		s := b.depSchemas[p]
		if !c.allows(d, p) || slices.ContainsFunc(d, func(a *node) bool { return same(a.depSchemas[p], s) }) {
			continue
		}
		if !c.trial(func() { c.sub(d, s, path) }) {
			c.unprovable(path+"/dependentSchemas/"+escapeToken(p), fmt.Sprintf("the schema applied when %q is present changed", p))
		}
	}
	if b.propertyNames != nil {
		c.checkPropertyNames(d, b, allowed, open, path)
	}
}

// allows reports whether some instance of d may have property p.
func (c *checker) allows(d conj, p string) bool {
	var an []*node
	for _, a := range d {
		s, _ := c.aSchemasFor(a, p)
		an = append(an, s...)
	}
	return len(c.expand(an)) > 0
}

// property compares what d and b require of property n; it reports whether
// d allows n at all.
func (c *checker) property(d conj, v *view, b *node, n, path string) bool {
	var an []*node
	declaredA := false
	for _, a := range d {
		s, decl := c.aSchemasFor(a, n)
		an = append(an, s...)
		declaredA = declaredA || decl
	}
	if slices.ContainsFunc(an, isFalse) {
		return false
	}
	ds := c.expand(an)
	if len(ds) == 0 {
		return false
	}
	bn := c.bSchemasFor(b, n)
	ptr := path + "/properties/" + escapeToken(n)
	if slices.ContainsFunc(bn, isFalse) {
		c.reportGone(ptr, n, v, b, declaredA)
		return true
	}
	if len(bn) == 0 {
		return true
	}
	check := func() {
		for _, dn := range ds {
			for _, s := range bn {
				c.sub(dn, s, ptr)
			}
		}
	}
	c.depth++
	defer func() { c.depth-- }()
	if declaredA {
		check()
		return true
	}
	// Side A accepts n as an undeclared property, with whatever its
	// additionalProperties allows; b declares n more strictly.
	if c.trial(check) {
		return true
	}
	if c.backward {
		c.report(ptr, fmt.Sprintf("property %q was added, but %s allows undeclared properties, so its records may already carry %q with other values", n, c.oldName, n)+
			": "+c.conseq(fmt.Sprintf("with a value for %q that the new schema does not accept", n)), false)
	} else {
		c.report(ptr, fmt.Sprintf("property %q was removed, but the new schema allows undeclared properties, so its records may carry %q with any value", n, n)+
			": "+c.conseq(fmt.Sprintf("with a value for %q that %s does not accept", n, c.oldName))+
			" (with an open content model, removing a property is forward-incompatible)", false)
	}
	return true
}

func (c *checker) reportGone(ptr, n string, v *view, b *node, declaredA bool) {
	what := fmt.Sprintf("that include %q", n)
	var msg string
	switch {
	case !declaredA:
		msg = c.pick(fmt.Sprintf("property %q is not allowed by the new schema", n),
			fmt.Sprintf("property %q is not allowed by %s", n, c.oldName)) + ": " + c.conseq(what)
	case b.properties[n] != nil:
		msg = c.pick(fmt.Sprintf("property %q is now forbidden (false schema)", n),
			fmt.Sprintf("property %q is forbidden by %s (false schema)", n, c.oldName)) + ": " + c.conseq(what)
	case c.backward:
		msg = fmt.Sprintf("property %q was removed and the new schema does not allow undeclared properties", n) + ": " + c.conseq(what)
		if v.required[n] {
			msg += fmt.Sprintf(" (%q was required, so the removal is forward-incompatible too)", n)
		} else {
			msg += " (for closed schemas, removing an optional property breaks backward compatibility, not forward: records written with the new schema never carry it)"
		}
	default:
		msg = fmt.Sprintf("property %q was added, but %s does not allow undeclared properties", n, c.oldName) + ": " + c.conseq(what)
		if !v.required[n] {
			msg += " (adding an optional property to a closed schema is only backward-compatible)"
		}
	}
	c.report(ptr, msg, false)
}

// unlisted compares what d and b require of names not declared anywhere;
// it reports whether d allows such names at all.
func (c *checker) unlisted(d conj, b *node, path string) bool {
	bpats := map[string]bool{}
	for _, bp := range b.patternProps {
		bpats[bp.src] = true
		var an []*node
		for _, a := range d {
			an = append(an, c.aUnlisted(a, bp.src))
		}
		c.depth++
		for _, dn := range c.expand(an) {
			c.sub(dn, bp.n, path+"/patternProperties/"+escapeToken(bp.src))
		}
		c.depth--
	}
	var an []*node
	for _, a := range d {
		var alts []*node
		for _, pp := range a.patternProps {
			if !bpats[pp.src] {
				alts = append(alts, pp.n)
			}
		}
		an = append(an, c.anyOfNode(append(alts, c.aFallback(a))))
	}
	ds := c.expand(an)
	if len(ds) == 0 {
		return false
	}
	target, kw := b.additional, "additionalProperties"
	if target == nil && b.unevalProps != nil && !c.evaluates(b, "", false, map[*node]bool{}) {
		target, kw = b.unevalProps, "unevaluatedProperties"
	}
	if target == nil {
		return true
	}
	if isFalse(target) {
		change := c.pick(kw+" became false", c.oldName+" does not allow undeclared properties ("+kw+": false) but the new schema does")
		c.report(path+"/"+kw, change+": "+c.conseq("with undeclared properties here"), false)
		return true
	}
	c.depth++
	for _, dn := range ds {
		c.sub(dn, target, path+"/"+kw)
	}
	c.depth--
	return true
}

// aUnlisted is what member a requires of an undeclared name matching b's
// pattern src.
func (c *checker) aUnlisted(a *node, src string) *node {
	for _, pp := range a.patternProps {
		if pp.src == src {
			return pp.n
		}
	}
	alts := []*node{c.aFallback(a)}
	for _, pp := range a.patternProps {
		alts = append(alts, pp.n)
	}
	return c.anyOfNode(alts)
}

func (c *checker) checkPropertyNames(d conj, b *node, allowed []string, open bool, path string) {
	var pn []*node
	for _, a := range d {
		if a.propertyNames != nil {
			pn = append(pn, a.propertyNames)
		}
	}
	if len(pn) > 0 && c.trial(func() {
		for _, dn := range c.expand(pn) {
			c.sub(dn, b.propertyNames, path+"/propertyNames")
		}
	}) {
		return
	}
	if !open && !slices.ContainsFunc(allowed, func(n string) bool { return c.eval(b.propertyNames, n, false).res != valid }) {
		return
	}
	c.unprovable(path+"/propertyNames", "propertyNames changed")
}

// Applicators on side B.

func (c *checker) checkNot(d conj, b *node, path string) {
	if slices.ContainsFunc(d, func(a *node) bool { return a.not != nil && same(a.not, b.not) }) {
		return
	}
	if c.disjointFrom(d, b.not, 0) {
		return
	}
	c.unprovable(path+"/not", c.pick("\"not\" in the new schema may exclude values valid under "+c.oldName,
		"\"not\" in "+c.oldName+" may exclude values the new schema allows"))
}

func (c *checker) checkIf(d conj, b *node, path string) {
	if slices.ContainsFunc(d, func(a *node) bool {
		return a.ifS != nil && same(a.ifS, b.ifS) && same(a.thenS, b.thenS) && same(a.elseS, b.elseS)
	}) {
		return
	}
	holds := func(s *node) bool { return s == nil || c.trial(func() { c.sub(d, s, path) }) }
	switch {
	case c.disjointFrom(d, b.ifS, 0) && holds(b.elseS):
	case holds(b.ifS) && holds(b.thenS):
	case holds(b.thenS) && holds(b.elseS):
	default:
		c.unprovable(path+"/if", "if/then/else changed")
	}
}

// checkAny handles anyOf (and synthetic unions) on side B: d must fit one
// branch. A value set spread over several branches is not proven.
func (c *checker) checkAny(d conj, list []*node, ptr, kw string) {
	if len(list) == 1 {
		c.sub(d, list[0], ptr+"/0")
		return
	}
	var closest []finding
	fits := func(d conj) bool {
		for i, m := range list {
			found, ok := c.trialCollect(func() { c.sub(d, m, ptr+"/"+strconv.Itoa(i)) })
			if ok {
				return true
			}
			if closest == nil || len(found) < len(closest) {
				closest = found
			}
		}
		return false
	}
	if fits(d) {
		return
	}
	// A value set spread over branches by kind, like ["string","null"]
	// against anyOf [string, null], is covered kind by kind.
	if k := c.view(d).kinds; bits.OnesCount8(uint8(k&^kNum))+min(1, bits.OnesCount8(uint8(k&kNum))) > 1 {
		covered := true
		for _, g := range kindGroups {
			if k&g != 0 && !fits(append(slices.Clone(d), c.kindNode(g))) {
				covered = false
				break
			}
		}
		if covered {
			return
		}
	}
	// Branches that share no value with d cannot help; if only one is
	// left, d must fit that one and its findings are exact.
	var live []int
	for i, m := range list {
		if !c.disjointFrom(d, m, 0) {
			live = append(live, i)
		}
	}
	switch len(live) {
	case 0:
		c.report(ptr, c.pick("no branch of "+kw+" in the new schema matches", "no branch of "+kw+" in "+c.oldName+" matches")+": "+
			c.conseq("with a value here"), false)
		return
	case 1:
		c.sub(d, list[live[0]], ptr+"/"+strconv.Itoa(live[0]))
		return
	}
	what := c.pick("no branch of "+kw+" in the new schema accepts every value valid under "+c.oldName+" here",
		"no branch of "+kw+" in "+c.oldName+" accepts every value the new schema allows here")
	if len(closest) > 0 {
		what += fmt.Sprintf(" (closest: %s: %s)", closest[0].ptr, closest[0].msg)
	}
	c.unprovable(ptr, what)
}

// checkOne handles oneOf on side B: d must fit one branch and be disjoint
// from all the others, or be the very same oneOf.
func (c *checker) checkOne(d conj, b *node, ptr string) {
	if slices.ContainsFunc(d, func(a *node) bool { return len(a.oneOf) > 0 && sameList(a.oneOf, b.oneOf) }) {
		return
	}
	fits := -1
	for i, m := range b.oneOf {
		if !c.trial(func() { c.sub(d, m, ptr+"/"+strconv.Itoa(i)) }) {
			continue
		}
		fits = i
		exclusive := true
		for j, o := range b.oneOf {
			if j != i && !c.disjointFrom(d, o, 0) {
				exclusive = false
				break
			}
		}
		if exclusive {
			return
		}
	}
	if fits >= 0 {
		c.unprovable(ptr, fmt.Sprintf("values may match branch %d and another branch of oneOf", fits))
		return
	}
	c.checkAny(d, b.oneOf, ptr, "oneOf")
}

// Disjointness: provably no instance is valid under both.

func (c *checker) disjointFrom(d conj, y *node, depth int) bool {
	for _, e := range c.expand([]*node{y}) {
		if !c.disjoint(d, e, depth) {
			return false
		}
	}
	return true
}

func (c *checker) disjointLists(xs, ys []*node, depth int) bool {
	ex, ey := c.expand(xs), c.expand(ys)
	for _, x := range ex {
		for _, y := range ey {
			if !c.disjoint(x, y, depth) {
				return false
			}
		}
	}
	return true
}

func (c *checker) disjoint(x, y conj, depth int) bool {
	if !c.step() {
		return false
	}
	vx, vy := c.view(x), c.view(y)
	common := vx.kinds & vy.kinds
	if common == 0 {
		return true
	}
	excludes := func(v *view, other conj) bool {
		if !v.finite {
			return false
		}
		for _, val := range v.values {
			if kindOf(val)&common != 0 && c.evalConj(other, val).res != invalid {
				return false
			}
		}
		return true
	}
	if excludes(vx, y) || excludes(vy, x) {
		return true
	}
	if common&^kNum == 0 && (below(vx.hi, vy.lo) || below(vy.hi, vx.lo)) {
		return true
	}
	if common == kObj && depth < 3 {
		req := map[string]bool{}
		for r := range vx.required {
			req[r] = true
		}
		for r := range vy.required {
			req[r] = true
		}
		for _, n := range sortedKeys(req) {
			var xs, ys []*node
			for _, a := range x {
				s, _ := c.aSchemasFor(a, n)
				xs = append(xs, s...)
			}
			for _, a := range y {
				s, _ := c.aSchemasFor(a, n)
				ys = append(ys, s...)
			}
			if vx.required[n] && vy.required[n] && c.disjointLists(xs, ys, depth+1) {
				return true
			}
			if (vx.required[n] && len(c.expand(ys)) == 0) || (vy.required[n] && len(c.expand(xs)) == 0) {
				return true
			}
		}
	}
	return false
}

// below reports whether every number under hi is below every number over lo.
func below(hi, lo *bound) bool {
	if hi == nil || lo == nil {
		return false
	}
	c := hi.v.Cmp(lo.v)
	return c < 0 || (c == 0 && (hi.excl || lo.excl))
}
