package schemas

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Resident identity number [公民身份号码], GB 11643-1999:
//
//	6-digit address code · 8-digit birth date YYYYMMDD · 3-digit sequence · check
//
// The check character is ISO 7064 MOD 11-2 over the 17-digit body, written
// with an upper-case X for the value 10.

const (
	residentIDLen       = 18
	legacyResidentIDLen = 15
	residentIDChecks    = "10X98765432" // indexed by (weighted sum mod 11)
	// Nobody born before 1800 was alive when numbers were first issued (1984),
	// so an earlier year is a typo. There is deliberately no 1900 floor: the
	// standard's own sample 440524188001010014 was born in 1880.
	minBirthYear = 1800
)

// residentIDWeights[i] = 2^(17-i) mod 11.
var residentIDWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

// chinaTime decides what "today" is when refusing future birth dates.
// A fixed zone avoids depending on the host's tz database.
var chinaTime = time.FixedZone("CST", 8*60*60)

// Sex as encoded by the parity of the sequence code, using the GB/T 2261.1
// sex codes that the population schema uses too.
type Sex string

const (
	SexMale   Sex = "1" // odd sequence code
	SexFemale Sex = "2" // even sequence code
)

// ResidentIDInfo is what a valid resident ID number says about its holder.
type ResidentIDInfo struct {
	// AreaCode is the GB/T 2260 county-level code where the number was first
	// issued. It may be a historic code that has since been abolished.
	AreaCode string
	// BirthDate is the birth date at midnight UTC.
	BirthDate time.Time
	// Sequence is the 3-digit sequence code.
	Sequence string
	Sex      Sex
}

// ResidentIDCheckChar computes the GB 11643 check character ('0'-'9' or 'X')
// for a 17-digit body.
func ResidentIDCheckChar(body17 string) (byte, error) {
	if utf8.RuneCountInString(body17) != residentIDLen-1 {
		return 0, fmt.Errorf("resident ID body: %w", lengthError(body17, "17"))
	}
	sum := 0
	for i := range len(body17) {
		c := body17[i]
		if !isDigit(c) {
			return 0, fmt.Errorf("resident ID body: %w", charError(body17, i, ", want a digit"))
		}
		sum += int(c-'0') * residentIDWeights[i]
	}
	return residentIDChecks[sum%11], nil
}

// ValidateResidentID checks s strictly as a canonical 18-character resident
// ID number: digits with an upper-case X as the only possible letter (last
// position), a plausible leading address digit, a real birth date not after
// today (China time) and a correct check character.
//
// The address code is deliberately not checked against a GB/T 2260 code
// list: the number never changes, so it keeps codes that have since been
// abolished (110228 密云县) and lists only know the current ones. Only the
// first digit must be 1-8, which every province-level code (11-82, and 83 on
// Taiwan residents' permits) satisfies and which rejects 0 and 9 (9 starts
// the 2023 foreigners' permanent residence number, a different layout).
//
// 15-digit legacy numbers are refused with ErrLegacyID; NormalizeResidentID
// upgrades them.
func ValidateResidentID(s string) error {
	return wrapResidentID(checkResidentID(s, todayIn(time.Now())))
}

// ParseResidentID validates s like ValidateResidentID and returns what the
// number encodes.
func ParseResidentID(s string) (ResidentIDInfo, error) {
	return parseResidentID(s, todayIn(time.Now()))
}

func parseResidentID(s string, today civilDate) (ResidentIDInfo, error) {
	if err := checkResidentID(s, today); err != nil {
		return ResidentIDInfo{}, wrapResidentID(err)
	}
	d, _ := parseDate(s[6:14]) // validated above
	info := ResidentIDInfo{
		AreaCode:  s[:6],
		BirthDate: time.Date(d.year, time.Month(d.month), d.day, 0, 0, 0, 0, time.UTC),
		Sequence:  s[14:17],
		Sex:       SexFemale,
	}
	if (s[16]-'0')%2 == 1 {
		info.Sex = SexMale
	}
	return info, nil
}

// NormalizeResidentID is the lenient input step in front of
// ValidateResidentID. It trims surrounding white space, maps full-width
// digits and X (as typed with Chinese input methods) to ASCII, upper-cases a
// trailing x and upgrades a 15-digit legacy number to 18 digits
// (area6 + "19" + YYMMDD + seq3 + check). The result is returned only if it
// then passes strict validation.
func NormalizeResidentID(s string) (string, error) {
	return normalizeResidentID(s, todayIn(time.Now()))
}

func normalizeResidentID(s string, today civilDate) (string, error) {
	s = strings.Map(halfWidth, strings.TrimSpace(s))
	if n := len(s); n == residentIDLen && s[n-1] == 'x' {
		s = s[:n-1] + "X"
	}
	if len(s) == legacyResidentIDLen && allDigits(s) {
		up, err := upgradeLegacyResidentID(s)
		if err != nil {
			return "", wrapResidentID(err)
		}
		s = up
	}
	if err := checkResidentID(s, today); err != nil {
		return "", wrapResidentID(err)
	}
	return s, nil
}

// halfWidth maps full-width digits and X to ASCII.
func halfWidth(r rune) rune {
	switch {
	case '０' <= r && r <= '９':
		return r - '０' + '0'
	case r == 'Ｘ' || r == 'ｘ':
		return 'X'
	}
	return r
}

func wrapResidentID(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("resident ID: %w", err)
}

// upgradeLegacyResidentID turns a 15-digit GB 11643-1989 number (YYMMDD, no
// check character) into its 18-digit form; all 1989-form numbers were issued
// to people born in the 1900s.
func upgradeLegacyResidentID(s15 string) (string, error) {
	body := s15[:6] + "19" + s15[6:]
	c, err := ResidentIDCheckChar(body)
	if err != nil {
		return "", err
	}
	return body + string(c), nil
}

// checkResidentID returns the bare reason s is not a canonical number; the
// format checker shows it without the "resident ID:" prefix.
func checkResidentID(s string, today civilDate) error {
	if len(s) == legacyResidentIDLen && allDigits(s) {
		up, err := upgradeLegacyResidentID(s)
		if err == nil {
			err = checkResidentID(up, today)
		}
		if err != nil {
			return fmt.Errorf("%w that cannot be upgraded: %w", ErrLegacyID, err)
		}
		return fmt.Errorf("%w: upgrade to 18 digits as %s", ErrLegacyID, up)
	}
	if utf8.RuneCountInString(s) != residentIDLen {
		return lengthError(s, "18")
	}
	for i := range residentIDLen - 1 {
		if !isDigit(s[i]) {
			return charError(s, i, ", want a digit")
		}
	}
	last := s[residentIDLen-1]
	switch {
	case last == 'x':
		return fmt.Errorf("%w: lower-case x as check character, GB 11643 writes upper-case X", ErrNotCanonical)
	case !isDigit(last) && last != 'X':
		return charError(s, residentIDLen-1, ", want a digit or X")
	}
	want, err := ResidentIDCheckChar(s[:residentIDLen-1])
	if err != nil {
		return err
	}
	if want != last {
		return &CheckCharError{Want: want, Got: last}
	}
	if s[0] < '1' || s[0] > '8' {
		return fmt.Errorf("%w: address code %s, province part must start with 1-8", ErrAreaCode, s[:6])
	}
	return checkBirthDate(s[6:14], today)
}

func checkBirthDate(yyyymmdd string, today civilDate) error {
	d, err := parseDate(yyyymmdd)
	if err != nil {
		return fmt.Errorf("birth date %s: %w", yyyymmdd, err)
	}
	if d.year < minBirthYear {
		return fmt.Errorf("birth date %s: %w: year before %d", d, ErrDate, minBirthYear)
	}
	if today.before(d) {
		return fmt.Errorf("birth date %s: %w: after today (%s)", d, ErrFutureDate, today)
	}
	return nil
}
