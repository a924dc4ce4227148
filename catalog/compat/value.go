package compat

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"
)

// kind is a set of JSON instance kinds. Numbers are split in two so that
// "integer" is a proper subset of "number", as draft 2020-12 defines it:
// 1.0 is an integer, 1.5 is not.
type kind uint8

const (
	kNull kind = 1 << iota
	kBool
	kObj
	kArr
	kStr
	kInt  // numbers without a fractional part
	kFrac // numbers with a fractional part

	kNum = kInt | kFrac
	kAll = kNull | kBool | kObj | kArr | kStr | kNum
)

// kindNames maps the "type" keyword's names to kinds.
var kindNames = map[string]kind{
	"null":    kNull,
	"boolean": kBool,
	"object":  kObj,
	"array":   kArr,
	"string":  kStr,
	"integer": kInt,
	"number":  kNum,
}

// String describes a kind set in words for issue messages.
func (k kind) String() string {
	var parts []string
	if k&kNum == kNum {
		parts = append(parts, "number")
	} else if k&kInt != 0 {
		parts = append(parts, "integer")
	} else if k&kFrac != 0 {
		parts = append(parts, "number with a fractional part")
	}
	for _, p := range []struct {
		k    kind
		name string
	}{{kStr, "string"}, {kBool, "boolean"}, {kObj, "object"}, {kArr, "array"}, {kNull, "null"}} {
		if k&p.k != 0 {
			parts = append(parts, p.name)
		}
	}
	switch len(parts) {
	case 0:
		return "nothing"
	case 1:
		return parts[0]
	}
	return strings.Join(parts[:len(parts)-1], ", ") + " or " + parts[len(parts)-1]
}

// Limits that keep hostile input cheap: big.Rat would happily expand 1e999999999.
const (
	maxNumberLen   = 400
	maxExponent    = 1000
	maxValueDepth  = 256
	maxSchemaDepth = 128
)

// decodeJSON decodes exactly one JSON value, keeping numbers exact.
func decodeJSON(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	if err := checkValue(v, 0); err != nil {
		return nil, err
	}
	return v, nil
}

// checkValue rejects numbers too large to compare cheaply and values nested
// deeper than any real schema needs.
func checkValue(v any, depth int) error {
	if depth > maxValueDepth {
		return fmt.Errorf("JSON nested deeper than %d levels", maxValueDepth)
	}
	switch v := v.(type) {
	case json.Number:
		if _, err := ratOf(v); err != nil {
			return err
		}
	case []any:
		for _, e := range v {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
	case map[string]any:
		for _, e := range v {
			if err := checkValue(e, depth+1); err != nil {
				return err
			}
		}
	}
	return nil
}

// ratOf converts a JSON number exactly, refusing huge exponents.
func ratOf(n json.Number) (*big.Rat, error) {
	s := string(n)
	if len(s) > maxNumberLen {
		return nil, fmt.Errorf("number %.20s… is too long", s)
	}
	if i := strings.IndexAny(s, "eE"); i >= 0 {
		exp, err := strconv.Atoi(strings.TrimPrefix(s[i+1:], "+"))
		if err != nil || exp > maxExponent || exp < -maxExponent {
			return nil, fmt.Errorf("number %s is out of the supported range", s)
		}
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok {
		return nil, fmt.Errorf("invalid number %q", s)
	}
	return r, nil
}

// mustRat is for numbers that decodeJSON already vetted.
func mustRat(n json.Number) *big.Rat {
	r, err := ratOf(n)
	if err != nil {
		return new(big.Rat)
	}
	return r
}

func kindOf(v any) kind {
	switch v := v.(type) {
	case nil:
		return kNull
	case bool:
		return kBool
	case string:
		return kStr
	case json.Number:
		if mustRat(v).IsInt() {
			return kInt
		}
		return kFrac
	case []any:
		return kArr
	case map[string]any:
		return kObj
	}
	return 0
}

// canonical renders a value so that equal JSON values (in the JSON Schema
// sense: 1 equals 1.0, key order is irrelevant) render identically.
func canonical(v any) string {
	var b strings.Builder
	writeCanonical(&b, v)
	return b.String()
}

func writeCanonical(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		b.WriteString(strconv.FormatBool(v))
	case string:
		b.WriteString(strconv.Quote(v))
	case json.Number:
		b.WriteString("n:")
		b.WriteString(mustRat(v).RatString())
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteByte(',')
			}
			writeCanonical(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		keys := sortedKeys(v)
		b.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteString(strconv.Quote(k))
			b.WriteByte(':')
			writeCanonical(b, v[k])
		}
		b.WriteByte('}')
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// display renders a value for a message, shortened when long.
func display(v any) string {
	data, err := json.Marshal(v)
	if err != nil {
		return "?"
	}
	s := string(data)
	if r := []rune(s); len(r) > 60 {
		s = string(r[:57]) + "…"
	}
	return s
}

// valueSet is the value list of an "enum" or "const" keyword.
type valueSet struct {
	vals []any
	keys map[string]bool
}

func newValueSet(vals []any) *valueSet {
	s := &valueSet{keys: make(map[string]bool, len(vals))}
	for _, v := range vals {
		k := canonical(v)
		if !s.keys[k] {
			s.keys[k] = true
			s.vals = append(s.vals, v)
		}
	}
	return s
}

func (s *valueSet) has(v any) bool { return s.keys[canonical(v)] }

// describe lists the set for a message.
func (s *valueSet) describe() string {
	parts := make([]string, 0, len(s.vals))
	for i, v := range s.vals {
		if i == 5 {
			parts = append(parts, fmt.Sprintf("… %d more", len(s.vals)-5))
			break
		}
		parts = append(parts, display(v))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// escapeToken escapes one JSON pointer reference token (RFC 6901).
func escapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func unescapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~1", "/"), "~0", "~")
}
