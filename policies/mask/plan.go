package mask

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"

	"yiku/jsontext"
)

// Field is a catalog field's masking metadata.
type Field struct {
	Name string
	// Rule is the catalog's masking rule for the field.
	Rule Rule
	// Sensitive marks personal or otherwise protected data. A sensitive
	// field whose Rule is RuleNone is redacted unless the grant returns it
	// plain: forgetting to choose a rule must not publish the value.
	Sensitive bool
	// Identifier says the field holds a national identifier (resident ID
	// number, credit code); the derivation rule protects what its mask
	// hides. Zero for other fields.
	Identifier Identifier
	// Part and Of say the field repeats a part of the identifier held in
	// field Of: the subject's birth date, sex or division code. The
	// derivation rule withholds such a field when, returned with a masked
	// Of, it would let a reader rebuild the identifier.
	Part Part
	Of   string
}

// FieldView describes one field a Plan returns: for the "what may I read"
// endpoint and for audit records of the fields returned.
type FieldView struct {
	Name string `json:"name"`
	// Rule is the rule applied to the returned value; RuleNone when the
	// value is returned as stored.
	Rule Rule `json:"rule"`
	// Masked reports whether Rule is not RuleNone.
	Masked bool `json:"masked"`
	// Plain reports that the catalog (rule or sensitivity) would have
	// masked the field and the grant lifted that: the field is in the
	// grant's plain list. A field that needs no masking is never Plain.
	Plain     bool `json:"plain"`
	Sensitive bool `json:"sensitive"`
	// Protects names the masked identifier this field is withheld for:
	// granted, it is redacted because returned as granted it would give
	// back what the identifier's mask hides (see Withholding).
	Protects string `json:"protects,omitempty"`
}

// Errors from NewPlan, matched with errors.Is.
var (
	// ErrUnknownField: the grant names a field the resource does not have.
	ErrUnknownField = errors.New("unknown field")
	// ErrNotGranted: the grant asks for a field in plain text without
	// granting the field.
	ErrNotGranted = errors.New("plain field not granted")
	// ErrInvalidField: the resource's field list has an empty or a
	// repeated name.
	ErrInvalidField = errors.New("invalid field list")
)

// Plan is the projection and masking of one resource's records for one
// grant, compiled once and applied to every record delivered under it. A
// Plan is immutable and safe for concurrent use.
type Plan struct {
	fields  []planField    // returned fields, sorted by name
	index   map[string]int // name → position in fields
	hashers *sync.Pool     // of *hasher; nil when no field is keyed_hash
	// withheld lists the derivation rule's decisions.
	withheld []Withholding
}

type planField struct {
	FieldView
	key []byte // the name as a JSON object key, with the colon: "name":
}

// NewPlan compiles the plan for a resource with the given fields and a grant
// of the fields named in granted, of which those in plain are returned
// unmasked. Fields not granted are dropped from records, not masked. key is
// the HMAC key for keyed_hash fields; it is copied, and it may be nil when no
// returned field is masked with keyed_hash. Repeated names in granted or
// plain are allowed.
func NewPlan(fields []Field, granted []string, plain []string, key []byte) (*Plan, error) {
	catalog := make(map[string]Field, len(fields))
	for _, f := range fields {
		if f.Name == "" {
			return nil, fmt.Errorf("mask: new plan: %w: empty field name", ErrInvalidField)
		}
		if !f.Rule.valid() {
			return nil, fmt.Errorf("mask: new plan: field %q: %w %d", f.Name, ErrUnknownRule, uint8(f.Rule))
		}
		if f.Part >= partCount {
			return nil, fmt.Errorf("mask: new plan: field %q: unknown identifier part %d", f.Name, uint8(f.Part))
		}
		if _, dup := catalog[f.Name]; dup {
			return nil, fmt.Errorf("mask: new plan: %w: field %q listed twice", ErrInvalidField, f.Name)
		}
		catalog[f.Name] = f
	}

	p := &Plan{index: make(map[string]int, len(granted))}
	for _, name := range granted {
		f, ok := catalog[name]
		if !ok {
			return nil, fmt.Errorf("mask: new plan: granted field %q: %w", name, ErrUnknownField)
		}
		if _, dup := p.index[name]; dup {
			continue
		}
		rule := f.Rule
		if rule == RuleNone && f.Sensitive {
			rule = RuleRedact
		}
		p.index[name] = len(p.fields)
		p.fields = append(p.fields, planField{FieldView: FieldView{
			Name: name, Rule: rule, Masked: rule != RuleNone, Sensitive: f.Sensitive,
		}})
	}
	for _, name := range plain {
		if _, ok := catalog[name]; !ok {
			return nil, fmt.Errorf("mask: new plan: plain field %q: %w", name, ErrUnknownField)
		}
		i, ok := p.index[name]
		if !ok {
			return nil, fmt.Errorf("mask: new plan: field %q: %w", name, ErrNotGranted)
		}
		if f := &p.fields[i]; f.Masked {
			f.Rule, f.Masked, f.Plain = RuleNone, false, true
		}
	}

	// Sorted as encoding/json sorts map keys, so both paths agree.
	slices.SortFunc(p.fields, func(a, b planField) int {
		return strings.Compare(a.Name, b.Name)
	})
	for i := range p.fields {
		f := &p.fields[i]
		p.index[f.Name] = i
		f.key = append(jsontext.AppendString(nil, f.Name), ':')
	}
	p.withhold(catalog)
	needKey := false
	for i := range p.fields {
		needKey = needKey || p.fields[i].Rule == RuleKeyedHash
	}
	if needKey {
		if len(key) < MinKeyLen {
			return nil, fmt.Errorf("mask: new plan: %w", ErrKey)
		}
		k := bytes.Clone(key)
		p.hashers = &sync.Pool{New: func() any { return newHasher(k) }}
	}
	return p, nil
}

// Withheld lists the fields the plan redacts although granted, because
// returned as granted they would let a reader rebuild what a masked
// identifier hides: one entry per identifier, for the warnings shown to
// approvers and requesters. The slice is the caller's.
func (p *Plan) Withheld() []Withholding {
	out := make([]Withholding, len(p.withheld))
	for i, w := range p.withheld {
		w.Fields = slices.Clone(w.Fields)
		out[i] = w
	}
	return out
}

// Fields lists the fields the plan returns, sorted by name. The slice is the
// caller's.
func (p *Plan) Fields() []FieldView {
	views := make([]FieldView, len(p.fields))
	for i := range p.fields {
		views[i] = p.fields[i].FieldView
	}
	return views
}

// Apply returns a new record holding the granted fields of rec, masked as
// planned. Fields absent from rec stay absent; fields rec has that are not
// granted, or not in the catalog at all, are left out. rec is not modified.
// Values returned as stored are the same values, not copies: a nested object
// in a plain field is shared between rec and the result.
//
// Masked values follow the rules of the package documentation; rec is
// expected to come from a json.Decoder with UseNumber, but float64 and Go
// integer values are masked like json.Number.
func (p *Plan) Apply(rec map[string]any) map[string]any {
	out := make(map[string]any, min(len(p.fields), len(rec)))
	m := masker{pool: p.hashers}
	if len(rec) < len(p.fields) {
		for name, v := range rec {
			if i, ok := p.index[name]; ok {
				out[name] = p.fields[i].apply(&m, v)
			}
		}
	} else {
		for i := range p.fields {
			f := &p.fields[i]
			if v, ok := rec[f.Name]; ok {
				out[f.Name] = f.apply(&m, v)
			}
		}
	}
	m.release()
	return out
}

func (f *planField) apply(m *masker, v any) any {
	if f.Rule == RuleNone {
		return v
	}
	return m.value(f.Rule, v)
}
