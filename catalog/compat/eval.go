package compat

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strconv"
	"unicode/utf8"
)

// tri is a three-valued validation result: the evaluator cannot decide
// every keyword (format, unevaluated*), and an undecided answer must never
// be mistaken for "valid".
type tri uint8

const (
	valid tri = iota
	invalid
	unknown
)

// verdict is the result of evaluating one value against a schema; ptr is
// the schema location of the deciding keyword, relative to the schema.
type verdict struct {
	res tri
	ptr string
	why string
}

var pass = verdict{res: valid}

func fail(ptr, format string, args ...any) verdict {
	return verdict{res: invalid, ptr: ptr, why: fmt.Sprintf(format, args...)}
}

func undecided(ptr, format string, args ...any) verdict {
	return verdict{res: unknown, ptr: ptr, why: fmt.Sprintf(format, args...)}
}

// under prefixes a nested verdict's pointer.
func (v verdict) under(prefix string) verdict {
	v.ptr = prefix + v.ptr
	return v
}

// all combines verdicts conjunctively: invalid wins, then unknown.
type all struct{ unk *verdict }

func (a *all) add(v verdict) (stop bool, res verdict) {
	switch v.res {
	case invalid:
		return true, v
	case unknown:
		if a.unk == nil {
			a.unk = &v
		}
	}
	return false, pass
}

func (a *all) result() verdict {
	if a.unk != nil {
		return *a.unk
	}
	return pass
}

// eval decides whether v is valid under n. With local set, n's $ref,
// allOf, anyOf and oneOf are skipped: the comparison expands those itself.
func (c *checker) eval(n *node, v any, local bool) verdict {
	if !c.step() {
		return undecided("", "the schemas are too complex to evaluate")
	}
	if n.isBool {
		if n.boolVal {
			return pass
		}
		return fail("", "no value is allowed here")
	}
	var acc all
	check := func(v verdict) (bool, verdict) { return acc.add(v) }
	k := kindOf(v)
	if n.hasType && n.kinds&k == 0 {
		return fail("/type", "%s is not of type %s", display(v), n.kinds)
	}
	if n.constv != nil && !n.constv.has(v) {
		return fail("/const", "%s is not the constant %s", display(v), display(n.constv.vals[0]))
	}
	if n.enum != nil && !n.enum.has(v) {
		return fail("/enum", "%s is not one of %s", display(v), n.enum.describe())
	}
	var r verdict
	switch v := v.(type) {
	case string:
		r = c.evalString(n, v)
	case json.Number:
		r = evalNumber(n, mustRat(v), v)
	case []any:
		r = c.evalArray(n, v)
	case map[string]any:
		r = c.evalObject(n, v)
	}
	if stop, r := check(r); stop {
		return r
	}
	if n.not != nil {
		switch r := c.eval(n.not, v, false); r.res {
		case valid:
			return fail("/not", "%s matches the schema under not", display(v))
		case unknown:
			check(r.under("/not"))
		}
	}
	if n.ifS != nil {
		if stop, r := check(c.evalIf(n, v)); stop {
			return r
		}
	}
	if local {
		return acc.result()
	}
	if n.ref != nil {
		if stop, r := check(c.eval(n.ref, v, false)); stop {
			return r
		}
	}
	for i, m := range n.allOf {
		if stop, r := check(c.eval(m, v, false).under("/allOf/" + strconv.Itoa(i))); stop {
			return r
		}
	}
	if len(n.anyOf) > 0 {
		if stop, r := check(c.evalAny(n.anyOf, v, "/anyOf")); stop {
			return r
		}
	}
	if len(n.oneOf) > 0 {
		if stop, r := check(c.evalOne(n.oneOf, v)); stop {
			return r
		}
	}
	return acc.result()
}

func (c *checker) evalString(n *node, s string) verdict {
	l := int64(utf8.RuneCountInString(s))
	if l < n.minLength {
		return fail("/minLength", "%s is shorter than %d characters", display(s), n.minLength)
	}
	if n.maxLength != none && l > n.maxLength {
		return fail("/maxLength", "%s is longer than %d characters", display(s), n.maxLength)
	}
	if n.hasPattern {
		re := c.regexp(n.pattern)
		if re == nil {
			return undecided("/pattern", "pattern %q cannot be evaluated", n.pattern)
		}
		if !re.MatchString(s) {
			return fail("/pattern", "%s does not match pattern %q", display(s), n.pattern)
		}
	}
	if n.hasFormat {
		return undecided("/format", "%s cannot be checked against format %q here", display(s), n.format)
	}
	return pass
}

func evalNumber(n *node, r *big.Rat, raw json.Number) verdict {
	if n.minimum != nil && r.Cmp(n.minimum) < 0 {
		return fail("/minimum", "%s is less than minimum %s", raw, n.minimum.RatString())
	}
	if n.exclMin != nil && r.Cmp(n.exclMin) <= 0 {
		return fail("/exclusiveMinimum", "%s is not greater than %s", raw, n.exclMin.RatString())
	}
	if n.maximum != nil && r.Cmp(n.maximum) > 0 {
		return fail("/maximum", "%s is greater than maximum %s", raw, n.maximum.RatString())
	}
	if n.exclMax != nil && r.Cmp(n.exclMax) >= 0 {
		return fail("/exclusiveMaximum", "%s is not less than %s", raw, n.exclMax.RatString())
	}
	if n.multipleOf != nil && !new(big.Rat).Quo(r, n.multipleOf).IsInt() {
		return fail("/multipleOf", "%s is not a multiple of %s", raw, n.multipleOf.RatString())
	}
	return pass
}

func (c *checker) evalArray(n *node, arr []any) verdict {
	var acc all
	if int64(len(arr)) < n.minItems {
		return fail("/minItems", "array has fewer than %d items", n.minItems)
	}
	if n.maxItems != none && int64(len(arr)) > n.maxItems {
		return fail("/maxItems", "array has more than %d items", n.maxItems)
	}
	for i, e := range arr {
		s, ptr := n.items, "/items"
		if i < len(n.prefixItems) {
			s, ptr = n.prefixItems[i], "/prefixItems/"+strconv.Itoa(i)
		}
		if s != nil {
			if stop, r := acc.add(c.eval(s, e, false).under(ptr)); stop {
				return r
			}
		}
	}
	if n.uniqueItems {
		seen := map[string]bool{}
		for _, e := range arr {
			k := canonical(e)
			if seen[k] {
				return fail("/uniqueItems", "array has duplicate item %s", display(e))
			}
			seen[k] = true
		}
	}
	if n.contains != nil {
		var yes, maybe int64
		for _, e := range arr {
			switch c.eval(n.contains, e, false).res {
			case valid:
				yes++
			case unknown:
				maybe++
			}
		}
		min := int64(1)
		if n.minContains != none {
			min = n.minContains
		}
		switch {
		case yes+maybe < min:
			return fail("/contains", "array has fewer than %d matching items", min)
		case n.maxContains != none && yes > n.maxContains:
			return fail("/maxContains", "array has more than %d matching items", n.maxContains)
		case yes < min || (n.maxContains != none && yes+maybe > n.maxContains):
			acc.add(undecided("/contains", "contains cannot be decided"))
		}
	}
	if n.unevalItems != nil && len(arr) > 0 {
		acc.add(undecided("/unevaluatedItems", "unevaluatedItems cannot be evaluated here"))
	}
	return acc.result()
}

func (c *checker) evalObject(n *node, obj map[string]any) verdict {
	var acc all
	for _, r := range n.required {
		if _, has := obj[r]; !has {
			return fail("/required", "required property %q is missing", r)
		}
	}
	cnt := int64(len(obj))
	if cnt < n.minProps {
		return fail("/minProperties", "object has fewer than %d properties", n.minProps)
	}
	if n.maxProps != none && cnt > n.maxProps {
		return fail("/maxProperties", "object has more than %d properties", n.maxProps)
	}
	for _, k := range sortedKeys(obj) {
		for _, s := range n.schemasFor(k) {
			if stop, r := acc.add(c.eval(s.n, obj[k], false).under(s.ptr)); stop {
				return r
			}
		}
		if n.propertyNames != nil {
			if stop, r := acc.add(c.eval(n.propertyNames, k, false).under("/propertyNames")); stop {
				return r
			}
		}
		for _, q := range n.depRequired[k] {
			if _, has := obj[q]; !has {
				return fail("/dependentRequired/"+escapeToken(k), "property %q requires %q", k, q)
			}
		}
		if s := n.depSchemas[k]; s != nil {
			if stop, r := acc.add(c.eval(s, obj, false).under("/dependentSchemas/" + escapeToken(k))); stop {
				return r
			}
		}
	}
	if n.unevalProps != nil && len(obj) > 0 {
		acc.add(undecided("/unevaluatedProperties", "unevaluatedProperties cannot be evaluated here"))
	}
	return acc.result()
}

type located struct {
	n   *node
	ptr string
}

// schemasFor lists the schemas n's own object keywords apply to property k.
func (n *node) schemasFor(k string) []located {
	var out []located
	if s := n.properties[k]; s != nil {
		out = append(out, located{s, "/properties/" + escapeToken(k)})
	}
	for _, pp := range n.patternProps {
		if pp.re.MatchString(k) {
			out = append(out, located{pp.n, "/patternProperties/" + escapeToken(pp.src)})
		}
	}
	if len(out) == 0 && n.additional != nil {
		out = append(out, located{n.additional, "/additionalProperties"})
	}
	return out
}

func (c *checker) evalIf(n *node, v any) verdict {
	branch := func(s *node, ptr string) verdict {
		if s == nil {
			return pass
		}
		return c.eval(s, v, false).under(ptr)
	}
	switch c.eval(n.ifS, v, false).res {
	case valid:
		return branch(n.thenS, "/then")
	case invalid:
		return branch(n.elseS, "/else")
	}
	t, e := branch(n.thenS, "/then"), branch(n.elseS, "/else")
	if t.res == valid && e.res == valid {
		return pass
	}
	if t.res == invalid && e.res == invalid {
		return t
	}
	return undecided("/if", "if cannot be decided")
}

func (c *checker) evalAny(list []*node, v any, ptr string) verdict {
	unk := false
	for _, m := range list {
		switch c.eval(m, v, false).res {
		case valid:
			return pass
		case unknown:
			unk = true
		}
	}
	if unk {
		return undecided(ptr, "it cannot be decided whether %s matches a branch", display(v))
	}
	return fail(ptr, "%s matches none of the branches", display(v))
}

func (c *checker) evalOne(list []*node, v any) verdict {
	var yes, maybe int
	for _, m := range list {
		switch c.eval(m, v, false).res {
		case valid:
			yes++
		case unknown:
			maybe++
		}
	}
	switch {
	case yes > 1:
		return fail("/oneOf", "%s matches more than one branch", display(v))
	case yes+maybe == 0:
		return fail("/oneOf", "%s matches none of the branches", display(v))
	case yes == 1 && maybe == 0:
		return pass
	}
	return undecided("/oneOf", "it cannot be decided whether %s matches exactly one branch", display(v))
}

// regexp compiles and caches patterns; nil means the pattern cannot be used.
func (c *checker) regexp(src string) *regexp.Regexp {
	if re, ok := c.regexps[src]; ok {
		return re
	}
	re, err := regexp.Compile(src)
	if err != nil {
		re = nil
	}
	c.regexps[src] = re
	return re
}
