// Package jsontext writes JSON text pieces without reflection, byte for byte
// as encoding/json writes them with HTML escaping off. It serves the hot
// paths that build JSON by hand (canonical record form, masked records); it
// holds no encoder or decoder of its own.
package jsontext

import "unicode/utf8"

const hexDigits = "0123456789abcdef"

// Text is a string, or the bytes of one taken from a buffer without copying.
type Text interface{ ~string | ~[]byte }

// AppendString appends s as a quoted JSON string: '"' and '\\' escaped,
// control characters as \b \f \n \r \t or \u00XX, invalid UTF-8 as \ufffd,
// U+2028 and U+2029 as \u2028 and \u2029 — what encoding/json writes with
// SetEscapeHTML(false).
func AppendString[T Text](dst []byte, s T) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '\\', '"':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		c, size := DecodeRune(s, i)
		switch {
		case c == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case c == '\u2028' || c == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[c&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// DecodeRune decodes the rune at s[i] as utf8.DecodeRune would, without
// converting s (no allocation for either type).
func DecodeRune[T Text](s T, i int) (rune, int) {
	if c := s[i]; c < utf8.RuneSelf {
		return rune(c), 1
	}
	var b [utf8.UTFMax]byte
	n := copy(b[:], s[i:])
	return utf8.DecodeRune(b[:n])
}
