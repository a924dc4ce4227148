package schemas

import (
	"fmt"
	"unicode/utf8"
)

// Administrative division codes [行政区划代码]:
//
//	6 digits  GB/T 2260: province (1-2) · prefecture (3-4) · county (5-6)
//	9 digits  + township (GB/T 10114): 001-099 街道, 100-199 镇, 200-399 乡,
//	            400-599 units similar to townships
//	12 digits + village (statistical division codes): 001-199 居委会,
//	            200-399 村委会
//
// Validation is structural: codes are abolished and created every year, so
// a code missing from any list we could ship may still be right (and old
// records keep abolished codes). DivisionName knows the few codes the demo
// needs.

// ValidateDivisionCode checks s as a 6-, 9- or 12-digit division code.
//
// Rules: digits only; the first digit is 1-8 (every province-level code);
// a county part needs a prefecture part (no xx00yy); townships and villages
// lie below a prefecture or county; township and village parts lie in the
// ranges above. The 12-digit form also accepts the zero padding of the
// statistical tables, where 431302000000 is the county and 431302001000 the
// township; the 9-digit form has no padding, so township 000 is refused.
func ValidateDivisionCode(s string) error {
	if err := checkDivisionCode(s); err != nil {
		return fmt.Errorf("division code: %w", err)
	}
	return nil
}

func checkDivisionCode(s string) error {
	n := utf8.RuneCountInString(s)
	if n != 6 && n != 9 && n != 12 {
		return lengthError(s, "6, 9 or 12")
	}
	for i := range len(s) {
		if !isDigit(s[i]) {
			return charError(s, i, ", want a digit")
		}
	}
	if s[0] < '1' || s[0] > '8' {
		return fmt.Errorf("%w: province part %s must start with 1-8", ErrAreaCode, s[:2])
	}
	prefecture, county := s[2:4], s[4:6]
	if prefecture == "00" && county != "00" {
		return fmt.Errorf("%w: county part %s without a prefecture part", ErrSegment, county)
	}
	if n == 6 {
		return nil
	}
	township := s[6:9]
	village := "000"
	if n == 12 {
		village = s[9:12]
		if township == "000" && village == "000" {
			return nil // zero-padded county, prefecture or province
		}
	}
	if prefecture == "00" {
		return fmt.Errorf("%w: township part %s directly under the province-level code %s", ErrSegment, township, s[:6])
	}
	if township == "000" && village != "000" {
		return fmt.Errorf("%w: village part %s without a township part", ErrSegment, village)
	}
	if township == "000" || township > "599" {
		return fmt.Errorf("%w: township part %s outside 001-599", ErrSegment, township)
	}
	if village > "399" {
		return fmt.Errorf("%w: village part %s outside 001-399", ErrSegment, village)
	}
	return nil
}

// divisionNames holds the codes the Louxing deployment and its demo refer
// to (GB/T 2260, checked against published code tables).
var divisionNames = [...]struct{ code, name string }{
	{"430000", "湖南省"},
	{"431300", "娄底市"},
	{"431302", "娄星区"},
	{"431321", "双峰县"},
	{"431322", "新化县"},
	{"431381", "冷水江市"},
	{"431382", "涟源市"},
}

// DivisionName returns the name of a 6-digit division code from the small
// built-in table (Hunan, Loudi and its counties). A false result says
// nothing about validity: unknown codes are valid when ValidateDivisionCode
// accepts them.
func DivisionName(code string) (string, bool) {
	for _, d := range divisionNames {
		if d.code == code {
			return d.name, true
		}
	}
	return "", false
}
