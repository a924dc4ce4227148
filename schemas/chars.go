package schemas

import (
	"fmt"
	"strconv"
	"unicode/utf8"
)

// The helpers below build the detail errors shared by the validators. They
// report 1-based character positions, as the standards number positions.

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

func isUpper(c byte) bool { return 'A' <= c && c <= 'Z' }

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return false
		}
	}
	return true
}

// lengthError reports a value whose character count is not want.
func lengthError(s string, want string) error {
	return fmt.Errorf("%w: got %d characters, want %s", ErrLength, utf8.RuneCountInString(s), want)
}

// charError reports the character starting at byte offset i of s. Callers
// scan forward and stop at the first bad byte, so every byte before i is
// ASCII and i+1 is also the character position.
func charError(s string, i int, hint string) error {
	return fmt.Errorf("%w %s at position %d%s", ErrCharset, describeChar(s[i:]), i+1, hint)
}

// lowerError reports a lower-case letter where the standard writes upper case.
func lowerError(s string, i int, standard string) error {
	return fmt.Errorf("%w: lower-case %q at position %d, %s writes upper case",
		ErrNotCanonical, s[i], i+1, standard)
}

func describeChar(s string) string {
	r, size := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError && size <= 1 {
		return fmt.Sprintf("byte 0x%02X", s[0])
	}
	return strconv.QuoteRune(r)
}
