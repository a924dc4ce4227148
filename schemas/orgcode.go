package schemas

import (
	"fmt"
	"unicode/utf8"
)

// Organisation code [组织机构代码], GB 11714-1997: an 8-character body and a
// check character, shown as XXXXXXXX-X. It is embedded in positions 9-17 of
// every unified social credit code.

var orgCodeWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// OrgCodeCheckChar computes the GB 11714 check character ('0'-'9' or 'X')
// for an 8-character body of digits and upper-case letters.
//
// Letters count with their full-alphabet value (A=10 … Z=35), not their
// GB 32100 value: only the former agrees with codes found in real USCCs.
func OrgCodeCheckChar(body8 string) (byte, error) {
	if utf8.RuneCountInString(body8) != len(orgCodeWeights) {
		return 0, fmt.Errorf("organisation code body: %w", lengthError(body8, "8"))
	}
	sum := 0
	for i := range len(body8) {
		c := body8[i]
		var v int
		switch {
		case isDigit(c):
			v = int(c - '0')
		case isUpper(c):
			v = int(c-'A') + 10
		case isLower(c):
			return 0, fmt.Errorf("organisation code body: %w", lowerError(body8, i, "GB 11714"))
		default:
			return 0, fmt.Errorf("organisation code body: %w", charError(body8, i, ", want a digit or upper-case letter"))
		}
		sum += v * orgCodeWeights[i]
	}
	switch c9 := 11 - sum%11; c9 {
	case 10:
		return 'X', nil
	case 11:
		return '0', nil
	default:
		return byte('0' + c9), nil
	}
}
