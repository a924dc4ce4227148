// Package inputtext checks text that comes from outside the hub before it
// is stored or acted on: that it is valid UTF-8 (encoding/json would
// silently turn a bad byte into U+FFFD, and the record would be stored
// changed), and that the short texts naming things — identifiers, purposes,
// case numbers, query parameters — hold no control characters. It finds
// problems; callers turn them into their own errors. Field-level rules
// (lengths, formats) stay with the packages that own the fields.
package inputtext

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Problem says what is wrong with s as a short text naming something —
// "not valid UTF-8" or "control character U+000A at byte 3" — or "" when
// nothing is. Control characters are C0 (tab and line breaks included),
// DEL and C1.
func Problem(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return fmt.Sprintf("control character %U at byte %d", r, i)
		}
	}
	return ""
}

// Storable returns s unchanged when Problem finds nothing in it, and
// otherwise s quoted with its control characters and invalid bytes written
// as Go escapes ("LX-1\x00"): for records of what a client sent, such as the
// audit trail of a refused request, which must keep the text readable and
// storable (PostgreSQL refuses NUL and invalid UTF-8 in text columns).
func Storable(s string) string {
	if Problem(s) == "" {
		return s
	}
	return strconv.QuoteToGraphic(s)
}

// InvalidUTF8 returns the JSON pointer (RFC 6901) of the first string in
// doc, member name or value, that is not valid UTF-8 or holds an escaped
// lone surrogate (\ud800 …), both of which encoding/json replaces with
// U+FFFD without a word. found is false when every string is sound. doc
// should be well-formed JSON; for anything else the pointer is a best
// guess.
func InvalidUTF8(doc []byte) (pointer string, found bool) {
	if utf8.Valid(doc) && !bytes.Contains(doc, []byte(`\u`)) && !bytes.Contains(doc, []byte(`\U`)) {
		return "", false
	}
	type frame struct {
		object    bool
		expectKey bool
		key       string
		index     int
	}
	var stack []frame
	path := func() string {
		var b strings.Builder
		for _, f := range stack {
			b.WriteByte('/')
			if f.object {
				b.WriteString(escape(f.key))
			} else {
				b.WriteString(strconv.Itoa(f.index))
			}
		}
		return b.String()
	}
	for i := 0; i < len(doc); {
		switch doc[i] {
		case '{':
			stack = append(stack, frame{object: true, expectKey: true})
			i++
		case '[':
			stack = append(stack, frame{})
			i++
		case '}', ']':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
			i++
		case ',':
			if n := len(stack); n > 0 {
				if stack[n-1].object {
					stack[n-1].expectKey = true
				} else {
					stack[n-1].index++
				}
			}
			i++
		case '"':
			end, bad := scanString(doc, i)
			if n := len(stack); n > 0 && stack[n-1].object && stack[n-1].expectKey {
				var key string
				if err := json.Unmarshal(doc[i:end], &key); err != nil {
					key = string(doc[i+1 : max(i+1, end-1)])
				}
				stack[n-1].key, stack[n-1].expectKey = strings.ToValidUTF8(key, "\uFFFD"), false
			}
			if bad {
				return path(), true
			}
			i = end
		default:
			i++
		}
	}
	return "", false
}

// scanString scans the JSON string starting at the quote doc[i] and returns
// the index after its closing quote and whether it holds invalid UTF-8 or a
// lone surrogate escape.
func scanString(doc []byte, i int) (end int, bad bool) {
	j := i + 1
	for j < len(doc) {
		c := doc[j]
		switch {
		case c == '"':
			return j + 1, bad
		case c == '\\':
			if j+1 < len(doc) && doc[j+1] == 'u' {
				r, ok := hex4(doc, j+2)
				switch {
				case !ok:
					j += 2
				case r >= 0xD800 && r < 0xDC00:
					// A high surrogate must be followed by an escaped low one.
					if j+7 < len(doc) && doc[j+6] == '\\' && doc[j+7] == 'u' {
						if lo, ok := hex4(doc, j+8); ok && lo >= 0xDC00 && lo < 0xE000 {
							j += 12
							continue
						}
					}
					bad = true
					j += 6
				case r >= 0xDC00 && r < 0xE000:
					bad = true
					j += 6
				default:
					j += 6
				}
				continue
			}
			j += 2
		case c < utf8.RuneSelf:
			j++
		default:
			r, size := utf8.DecodeRune(doc[j:])
			if r == utf8.RuneError && size == 1 {
				bad = true
			}
			j += size
		}
	}
	return len(doc), bad
}

func hex4(doc []byte, at int) (rune, bool) {
	if at+4 > len(doc) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(doc[at:at+4]), 16, 32)
	return rune(n), err == nil
}

// escape writes a member name as a JSON pointer token.
func escape(key string) string {
	return strings.ReplaceAll(strings.ReplaceAll(key, "~", "~0"), "/", "~1")
}
