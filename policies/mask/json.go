package mask

import (
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"yiku/jsontext"
)

// ErrInvalidRecord is returned by ApplyJSON for input that is not a JSON
// object.
var ErrInvalidRecord = errors.New("record is not a JSON object")

// ApplyJSON is Apply for a record in JSON: it returns the granted fields of
// the object raw, masked as planned, as a compact JSON object with its keys
// sorted. Values returned as stored are copied as they are written in raw,
// less white space between tokens, so numbers keep every digit and escapes
// stay as written; invalid UTF-8 in them becomes U+FFFD. Masked values are what Apply gives for the
// value decoded with UseNumber. A repeated key counts once, with its last
// value, as in encoding/json. Input that is not one valid JSON object is an
// error wrapping ErrInvalidRecord.
func (p *Plan) ApplyJSON(raw []byte) ([]byte, error) {
	return p.AppendJSON(make([]byte, 0, len(raw)), raw)
}

// AppendJSON is ApplyJSON appending to dst, for callers that reuse buffers.
// On error dst is returned unchanged.
func (p *Plan) AppendJSON(dst, raw []byte) ([]byte, error) {
	// found[k] is the value of p.fields[k] in raw; end 0 when absent (no
	// value can end at 0, the object's '{' is before it).
	var (
		stack [32]span
		found []span
	)
	if len(p.fields) <= len(stack) {
		found = stack[:len(p.fields)]
	} else {
		found = make([]span, len(p.fields))
	}
	if err := p.scanRecord(raw, found); err != nil {
		return dst, err
	}

	var scratch [128]byte
	m := masker{pool: p.hashers}
	dst = append(dst, '{')
	first := true
	for k, sp := range found {
		if sp.end == 0 {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		f := &p.fields[k]
		dst = append(dst, f.key...)
		v := raw[sp.start:sp.end]
		if f.Rule == RuleNone {
			dst = appendCompact(dst, v)
		} else {
			dst = appendMaskedJSON(dst, scratch[:0], f.Rule, v, sp.plain, &m)
		}
	}
	m.release()
	return append(dst, '}'), nil
}

// span is where a value is in the raw record; plain reports a string whose
// content needs no decoding (no escapes, valid UTF-8).
type span struct {
	start, end int
	plain      bool
}

// scanRecord checks that raw is one valid JSON object, accepting exactly
// what json.Valid accepts, and records in found where the values of the
// plan's fields are. One pass does both: checking with json.Valid first
// took twice as long as all the rest of ApplyJSON.
func (p *Plan) scanRecord(raw []byte, found []span) error {
	i := skipSpace(raw, 0)
	if i == len(raw) {
		return fmt.Errorf("mask: %w: no JSON value", ErrInvalidRecord)
	}
	if raw[i] != '{' {
		if kind := kindOf(raw[i]); kind != "" {
			return fmt.Errorf("mask: %w: JSON %s", ErrInvalidRecord, kind)
		}
		return syntaxError(i)
	}
	if i = skipSpace(raw, i+1); i < len(raw) && raw[i] == '}' {
		i++
	} else {
		for {
			if i >= len(raw) || raw[i] != '"' {
				return syntaxError(i)
			}
			keyEnd, plainKey := scanString(raw, i)
			if keyEnd < 0 {
				return syntaxError(i)
			}
			k := p.lookup(raw[i:keyEnd], plainKey)
			if i = skipSpace(raw, keyEnd); i >= len(raw) || raw[i] != ':' {
				return syntaxError(i)
			}
			i = skipSpace(raw, i+1)
			end, plain := scanValue(raw, i, 2)
			if end < 0 {
				return syntaxError(i)
			}
			if k >= 0 {
				found[k] = span{i, end, plain}
			}
			if i = skipSpace(raw, end); i >= len(raw) {
				return syntaxError(i)
			}
			if raw[i] == '}' {
				i++
				break
			}
			if raw[i] != ',' {
				return syntaxError(i)
			}
			i = skipSpace(raw, i+1)
		}
	}
	if i = skipSpace(raw, i); i != len(raw) {
		return syntaxError(i)
	}
	return nil
}

func syntaxError(offset int) error {
	return fmt.Errorf("mask: %w: invalid JSON at offset %d", ErrInvalidRecord, offset)
}

// lookup returns the position in p.fields of the field named by the JSON
// string key, or -1.
func (p *Plan) lookup(key []byte, plain bool) int {
	if plain {
		// No allocation: the compiler looks the bytes up in place.
		if k, ok := p.index[string(key[1:len(key)-1])]; ok {
			return k
		}
		return -1
	}
	return p.lookupEscaped(key)
}

// lookupEscaped is lookup for a key with escapes or invalid UTF-8, apart so
// that the decoded name is allocated only then.
func (p *Plan) lookupEscaped(key []byte) int {
	var name string
	if err := json.Unmarshal(key, &name); err != nil {
		return -1
	}
	if k, ok := p.index[name]; ok {
		return k
	}
	return -1
}

// appendMaskedJSON appends the JSON value v masked under r, a valid rule other
// than RuleNone, matching masker.value for the decoded value.
func appendMaskedJSON(dst, scratch []byte, r Rule, v []byte, plain bool, m *masker) []byte {
	switch c := v[0]; {
	case c == '"':
		if r == RuleRedact {
			return append(dst, `"`+redacted+`"`...)
		}
		if plain {
			return jsontext.AppendString(dst, appendMask(scratch, r, v[1:len(v)-1], m))
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return append(dst, "null"...) // not reached: v is a valid string
		}
		return jsontext.AppendString(dst, appendMask(scratch, r, s, m))
	case c == '-' || isDigit(c):
		if r.acceptsNumber() {
			return jsontext.AppendString(dst, appendMask(scratch, r, v, m))
		}
	}
	return append(dst, "null"...)
}

// kindOf names the kind of JSON value starting with c, or "" if no value
// starts with c.
func kindOf(c byte) string {
	switch {
	case c == '[':
		return "array"
	case c == '"':
		return "string"
	case c == 't' || c == 'f':
		return "boolean"
	case c == 'n':
		return "null"
	case c == '-' || isDigit(c):
		return "number"
	}
	return ""
}

// maxDepth is encoding/json's limit on nesting, so that ApplyJSON accepts
// what json.Valid accepts.
const maxDepth = 10000

func skipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// scanValue checks the JSON value starting at b[i], at the given nesting
// depth if it is an object or array. It returns the index after it, or -1,
// and for a string whether its content needs no decoding.
func scanValue(b []byte, i, depth int) (end int, plain bool) {
	if i >= len(b) {
		return -1, false
	}
	switch c := b[i]; c {
	case '"':
		return scanString(b, i)
	case '{', '[':
		if depth > maxDepth {
			return -1, false
		}
		closing := byte('}')
		if c == '[' {
			closing = ']'
		}
		if i = skipSpace(b, i+1); i < len(b) && b[i] == closing {
			return i + 1, false
		}
		for {
			if c == '{' {
				if i >= len(b) || b[i] != '"' {
					return -1, false
				}
				if i, _ = scanString(b, i); i < 0 {
					return -1, false
				}
				if i = skipSpace(b, i); i >= len(b) || b[i] != ':' {
					return -1, false
				}
				i = skipSpace(b, i+1)
			}
			if i, _ = scanValue(b, i, depth+1); i < 0 {
				return -1, false
			}
			if i = skipSpace(b, i); i >= len(b) {
				return -1, false
			}
			if b[i] == closing {
				return i + 1, false
			}
			if b[i] != ',' {
				return -1, false
			}
			i = skipSpace(b, i+1)
		}
	case 't':
		return scanLiteral(b, i, "true"), false
	case 'f':
		return scanLiteral(b, i, "false"), false
	case 'n':
		return scanLiteral(b, i, "null"), false
	}
	return scanNumber(b, i), false
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i >= len(lit) && string(b[i:i+len(lit)]) == lit {
		return i + len(lit)
	}
	return -1
}

// scanNumber returns the index after the JSON number at b[i], or -1.
func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i >= len(b):
		return -1
	case b[i] == '0':
		i++
	case '1' <= b[i] && b[i] <= '9':
		i = skipDigits(b, i+1)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		if i++; i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i+1)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		if i++; i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return -1
		}
		i = skipDigits(b, i+1)
	}
	return i
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

// scanString checks the JSON string starting at b[i] == '"'. It returns the
// index after it, or -1, and whether its content can be used as it is: no
// escapes and valid UTF-8. Like json.Valid it does not reject invalid UTF-8;
// decoding replaces it.
func scanString(b []byte, i int) (end int, plain bool) {
	plain = true
	ascii := true
	start := i + 1
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			if !ascii && plain {
				plain = utf8.Valid(b[start:i])
			}
			return i + 1, plain
		case c == '\\':
			plain = false
			if i++; i >= len(b) {
				return -1, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i <= 4 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1, false
				}
				i += 4
			default:
				return -1, false
			}
		case c < 0x20:
			return -1, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
	}
	return -1, false
}

func isHex(c byte) bool {
	return isDigit(c) || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// appendCompact appends the valid JSON value v without white space between
// tokens, replacing invalid UTF-8 in strings with \ufffd as encoding/json
// does on decoding.
func appendCompact(dst, v []byte) []byte {
	start := 0 // of the bytes not yet copied
	for i := 0; i < len(v); {
		switch c := v[i]; c {
		case ' ', '\t', '\n', '\r':
			dst = append(dst, v[start:i]...)
			i++
			start = i
		case '"':
			for i++; v[i] != '"'; {
				switch c := v[i]; {
				case c == '\\':
					i += 2
				case c < utf8.RuneSelf:
					i++
				default:
					r, w := utf8.DecodeRune(v[i:])
					if r == utf8.RuneError && w == 1 {
						dst = append(dst, v[start:i]...)
						dst = append(dst, `\ufffd`...)
						start = i + 1
					}
					i += w
				}
			}
			i++
		default:
			i++
		}
	}
	return append(dst, v[start:]...)
}
