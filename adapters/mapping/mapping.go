// Package mapping turns a legacy record shape into the catalog schema's:
// field renames, type conversions (legacy dates such as 20180625 or
// 2018/6/25, numbers, booleans), code tables, constant fields and the
// normalisation of resident ID numbers and credit codes, all declared in an
// adapter.yaml. It works on flat records and knows nothing of sources,
// sinks or the hub.
package mapping

import (
	"fmt"
	"strings"

	"yiku/adapters"
)

// Spec is the mapping block of a pipeline.
type Spec struct {
	// Fields are the output fields, in order.
	Fields []FieldSpec `yaml:"fields"`
	// KeepUnmapped copies input fields no FieldSpec reads, under their own
	// names. Off by default: a legacy table's extra columns stay home.
	KeepUnmapped bool `yaml:"keep_unmapped"`
}

// FieldSpec produces one output field.
type FieldSpec struct {
	// To is the output field name.
	To string `yaml:"to"`
	// From is the input field; empty means To (a pure conversion).
	From string `yaml:"from"`
	// Value is a constant (From is then not read).
	Value any `yaml:"value"`
	// Convert names a conversion: string, trim, int, number, bool, date,
	// datetime, resident_id, uscc, upper, lower.
	Convert string `yaml:"convert"`
	// Layouts are extra Go time layouts tried by date and datetime.
	Layouts []string `yaml:"layouts"`
	// Codes maps legacy codes to catalog values; an unknown code is an error
	// unless Default is set.
	Codes map[string]any `yaml:"codes"`
	// Default is used when the input is missing or empty.
	Default any `yaml:"default"`
	// Required makes a missing or empty input an error (after Default).
	Required bool `yaml:"required"`
	// OmitEmpty leaves the output field out when the value is empty.
	OmitEmpty bool `yaml:"omit_empty"`
}

// Mapper applies a validated Spec. It is safe for concurrent use.
type Mapper struct {
	spec  Spec
	convs []converter
	read  map[string]bool
}

// New validates spec and compiles it. Errors are *adapters.FieldError
// naming the offending key ("fields[2].convert").
func New(spec Spec) (*Mapper, error) {
	m := &Mapper{spec: spec, read: map[string]bool{}}
	seen := map[string]int{}
	for i, f := range spec.Fields {
		at := func(k string) string { return fmt.Sprintf("fields[%d].%s", i, k) }
		if strings.TrimSpace(f.To) == "" {
			return nil, adapters.Fieldf(at("to"), "an output field name is required")
		}
		if j, dup := seen[f.To]; dup {
			return nil, adapters.Fieldf(at("to"), "output field %q is already produced by fields[%d]", f.To, j)
		}
		seen[f.To] = i
		if f.Value != nil && (f.From != "" || f.Convert != "" || f.Codes != nil) {
			return nil, adapters.Fieldf(at("value"), "a constant field takes no from, convert or codes")
		}
		if f.Codes != nil && f.Convert != "" {
			return nil, adapters.Fieldf(at("codes"), "codes and convert cannot be combined")
		}
		conv, err := lookupConverter(f)
		if err != nil {
			return nil, adapters.Fieldf(at("convert"), "%v", err)
		}
		m.convs = append(m.convs, conv)
		if f.Value == nil {
			m.read[f.input()] = true
		}
	}
	return m, nil
}

func (f FieldSpec) input() string {
	if f.From != "" {
		return f.From
	}
	return f.To
}

// Error is a record the mapping cannot convert; each Reason names the
// output field it failed on.
type Error struct {
	Reasons []adapters.Reason
}

func (e *Error) Error() string {
	parts := make([]string, len(e.Reasons))
	for i, r := range e.Reasons {
		parts[i] = r.Pointer + ": " + r.Message
	}
	return "mapping: " + strings.Join(parts, "; ")
}

// Apply maps one record. It collects every field's error, so a reject
// lists all that is wrong with the row at once.
func (m *Mapper) Apply(in adapters.Record) (adapters.Record, error) {
	out := make(adapters.Record, len(m.spec.Fields))
	var reasons []adapters.Reason
	for i, f := range m.spec.Fields {
		var v any
		if f.Value != nil {
			v = f.Value
		} else {
			raw, ok := in[f.input()]
			if !ok || isEmpty(raw) {
				raw = f.Default
			} else {
				var err error
				raw, err = m.convs[i](raw)
				if err != nil {
					if f.Default == nil {
						reasons = append(reasons, adapters.Reason{Pointer: "/" + f.To, Rule: "mapping", Message: fmt.Sprintf("%s %q: %v", f.input(), fmt.Sprint(in[f.input()]), err)})
						continue
					}
					raw = f.Default
				}
			}
			v = raw
		}
		if isEmpty(v) {
			if f.Required {
				reasons = append(reasons, adapters.Reason{Pointer: "/" + f.To, Rule: "required", Message: fmt.Sprintf("%s is missing or empty", f.input())})
				continue
			}
			if f.OmitEmpty || v == nil {
				continue
			}
		}
		out[f.To] = v
	}
	if m.spec.KeepUnmapped {
		for k, v := range in {
			if _, produced := out[k]; !produced && !m.read[k] {
				out[k] = v
			}
		}
	}
	if len(reasons) > 0 {
		return nil, &Error{Reasons: reasons}
	}
	return out, nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return strings.TrimSpace(x) == ""
	case []byte:
		return strings.TrimSpace(string(x)) == ""
	}
	return false
}
