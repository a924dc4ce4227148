package validation

import (
	"errors"
	"fmt"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// errOverBudget stops the exact walk as soon as its count passes a budget.
var errOverBudget = errors.New("over budget")

// checkCost decides whether validating inst stays within the per-record
// budget. The static bound (Complexity.Cost) answers for ordinary records
// in one pass over the record; over it, the exact walk below visits the
// record and the schema together as the validator would and stops as soon
// as it passes a budget, so deciding costs at most about
// MaxRecordEvaluations steps. The library cannot be interrupted once it
// validates, so this is the defence: a record it refuses never reaches the
// library.
func (v *Validator) checkCost(inst any) error {
	c := v.complexity
	if c.Cycle {
		return fmt.Errorf("validation budget exceeded: the schema's references loop forever")
	}
	rc := c.Cost(inst)
	if rc.Within() {
		return nil
	}
	rec := &recordTree{}
	rec.add(inst)
	e := &exactWalk{rec: rec, anchors: v.anchors, memo: map[walkKey]cost{}, onStack: map[walkKey]bool{}}
	total, err := e.cost(v.schema, 0)
	switch {
	case err == nil:
		return nil
	case e.steps > MaxRecordEvaluations || total.nodes > MaxRecordEvaluations:
		return fmt.Errorf("validation budget exceeded: checking this record of %d values would take more than %d schema evaluations", rc.Values, MaxRecordEvaluations)
	case total.checks > MaxRecordScanBytes:
		return fmt.Errorf("validation budget exceeded: checking this record of %d bytes would scan more than %d bytes", rc.Bytes, MaxRecordScanBytes)
	default:
		return fmt.Errorf("validation budget exceeded: %v", err)
	}
}

// recordTree is a decoded record flattened so each value (and each
// member name, which propertyNames checks) has an index.
type recordTree struct{ nodes []recNode }

type recNode struct {
	size    uint64         // bytes at and below the value, as walk counts them
	members map[string]int // object: member name → value
	keys    map[string]int // object: member name → the name as a string value
	items   []int          // array: elements
}

func (t *recordTree) add(v any) int {
	i := len(t.nodes)
	t.nodes = append(t.nodes, recNode{})
	var n recNode
	var rc RecordCost
	switch x := v.(type) {
	case map[string]any:
		n.members, n.keys = make(map[string]int, len(x)), make(map[string]int, len(x))
		n.size = 1
		for k, e := range x {
			n.keys[k] = t.scalar(uint64(len(k)) + 1)
			j := t.add(e)
			n.members[k] = j
			n.size += uint64(len(k)) + t.nodes[j].size
		}
	case []any:
		n.items = make([]int, len(x))
		n.size = 1
		for k, e := range x {
			j := t.add(e)
			n.items[k] = j
			n.size += t.nodes[j].size
		}
	default:
		walk(v, 0, &rc)
		n.size = rc.Bytes
	}
	t.nodes[i] = n
	return i
}

func (t *recordTree) scalar(size uint64) int {
	t.nodes = append(t.nodes, recNode{size: size})
	return len(t.nodes) - 1
}

type walkKey struct {
	s *jsonschema.Schema
	v int
}

// exactWalk counts, for one record, the schema objects the validator
// visits and the bytes its size-dependent checks scan. It is conservative
// where knowing would cost matching: every patternProperties,
// additionalProperties and unevaluatedProperties schema is counted against
// every member, items and unevaluatedItems against every element, and a
// $dynamicRef against every schema declaring its anchor.
type exactWalk struct {
	rec     *recordTree
	anchors map[string][]*jsonschema.Schema
	memo    map[walkKey]cost
	onStack map[walkKey]bool
	steps   uint64
}

func (e *exactWalk) cost(s *jsonschema.Schema, v int) (cost, error) {
	e.steps++
	if e.steps > MaxRecordEvaluations {
		return cost{}, errOverBudget
	}
	k := walkKey{s, v}
	if c, ok := e.memo[k]; ok {
		return c, nil
	}
	if e.onStack[k] {
		return cost{}, errors.New("the schema's references loop forever")
	}
	e.onStack[k] = true
	defer delete(e.onStack, k)
	n := e.rec.nodes[v]
	c := cost{nodes: 1, checks: mul(valueChecks(s), n.size)}
	var err error
	sub := func(x *jsonschema.Schema, at int) {
		if err != nil {
			return
		}
		var sc cost
		sc, err = e.cost(x, at)
		c = c.add(sc)
		if err == nil && (c.nodes > MaxRecordEvaluations || c.checks > MaxRecordScanBytes) {
			err = errOverBudget
		}
	}
	inPlace(s, e.anchors, func(x *jsonschema.Schema) { sub(x, v) })
	if n.members != nil {
		for name, j := range n.members {
			if p, ok := s.Properties[name]; ok {
				sub(p, j)
			}
			for _, p := range s.PatternProperties {
				sub(p, j)
			}
			if p, ok := s.AdditionalProperties.(*jsonschema.Schema); ok {
				sub(p, j)
			}
			if s.UnevaluatedProperties != nil {
				sub(s.UnevaluatedProperties, j)
			}
			if s.PropertyNames != nil {
				sub(s.PropertyNames, n.keys[name])
			}
		}
	}
	for i, j := range n.items {
		if i < len(s.PrefixItems) {
			sub(s.PrefixItems[i], j)
		}
		for _, p := range []*jsonschema.Schema{s.Items2020, s.Contains, s.UnevaluatedItems} {
			if p != nil {
				sub(p, j)
			}
		}
		switch it := s.Items.(type) {
		case *jsonschema.Schema:
			sub(it, j)
		case []*jsonschema.Schema:
			if i < len(it) {
				sub(it[i], j)
			}
		}
		if p, ok := s.AdditionalItems.(*jsonschema.Schema); ok {
			sub(p, j)
		}
	}
	if err != nil {
		return c, err
	}
	e.memo[k] = c
	return c, nil
}
