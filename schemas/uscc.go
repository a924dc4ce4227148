package schemas

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Unified social credit code [统一社会信用代码], GB 32100-2015:
//
//	pos 1 registration authority · 2 organisation category ·
//	3-8 region (GB/T 2260) · 9-17 organisation code (GB 11714) · 18 check
//
// The 31-symbol alphabet, the mod-31 check and the region are hard rules:
// positions 3-8 are the registering authority's administrative division
// code (GB/T 2260), six digits, so a letter there is no code whatever its
// check character. The registration-authority list (amended since 2015) and
// the embedded GB 11714 check are reported as warnings: they say more about
// the issuing registry than about a typo, and refusing a registry's code at
// an edge would block its whole record.
//
// Known gap: some real early pilot codes (Fujian, 2015, for example
// 91350100M0001TGQXM) break even the mod-31 check. They are refused here;
// accepting them needs an explicit exception list kept by whoever imports
// such registry data.

const (
	usccLen = 18
	// usccAlphabet lists the symbols in value order; I, O, Z, S and V are
	// left out.
	usccAlphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	// usccAuthorities are the registration-authority codes of GB 32100-2015.
	usccAuthorities = "123456789ANY"
)

// usccWeights[i] = 3^i mod 31.
var usccWeights = [17]int{1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28}

// USCCCheckChar computes the GB 32100 check character for a 17-character
// body.
func USCCCheckChar(body17 string) (byte, error) {
	if utf8.RuneCountInString(body17) != usccLen-1 {
		return 0, fmt.Errorf("USCC body: %w", lengthError(body17, "17"))
	}
	if err := checkUSCCChars(body17); err != nil {
		return 0, fmt.Errorf("USCC body: %w", err)
	}
	return usccCheck(body17), nil
}

// usccCheck computes the check character of a body whose characters are
// known to be in usccAlphabet.
func usccCheck(body17 string) byte {
	sum := 0
	for i := range usccLen - 1 {
		sum += strings.IndexByte(usccAlphabet, body17[i]) * usccWeights[i]
	}
	return usccAlphabet[(31-sum%31)%31]
}

// ValidateUSCC checks s as a canonical 18-character unified social credit
// code. err is set when the code breaks the alphabet, the check character
// or the digits of the region; such a code is not a code. Otherwise
// warnings lists departures from the stricter rules (registration-authority
// code, GB 11714 check of the embedded organisation code) that registry
// data is known to contain; they are worth logging, not refusing.
func ValidateUSCC(s string) (warnings []string, err error) {
	if err := checkUSCC(s); err != nil {
		return nil, fmt.Errorf("USCC: %w", err)
	}
	return usccWarnings(s), nil
}

// checkUSCC returns the bare reason s fails the hard rules.
func checkUSCC(s string) error {
	if utf8.RuneCountInString(s) != usccLen {
		return lengthError(s, "18")
	}
	if err := checkUSCCChars(s); err != nil {
		return err
	}
	if want := usccCheck(s[:usccLen-1]); want != s[usccLen-1] {
		return &CheckCharError{Want: want, Got: s[usccLen-1]}
	}
	if !allDigits(s[2:8]) {
		return fmt.Errorf("%w: region code %s (positions 3-8) must be the registering authority's 6-digit GB/T 2260 division code", ErrAreaCode, s[2:8])
	}
	return nil
}

func checkUSCCChars(s string) error {
	for i := range len(s) {
		c := s[i]
		if strings.IndexByte(usccAlphabet, c) >= 0 {
			continue
		}
		if isLower(c) && strings.IndexByte(usccAlphabet, c-'a'+'A') >= 0 {
			return lowerError(s, i, "GB 32100")
		}
		if isUpper(c) || isLower(c) {
			return charError(s, i, " (GB 32100 leaves out I, O, Z, S, V)")
		}
		return charError(s, i, ", want a digit or upper-case letter")
	}
	return nil
}

func usccWarnings(s string) []string {
	var w []string
	if strings.IndexByte(usccAuthorities, s[0]) < 0 {
		w = append(w, fmt.Sprintf("registration authority code %q is not one of 1-9, A, N, Y", s[0]))
	}
	body, got := s[8:16], s[16]
	if want, _ := OrgCodeCheckChar(body); want != got { // body is alphanumeric here
		w = append(w, fmt.Sprintf("embedded organisation code %s-%c fails the GB 11714 check (should be %c)", body, got, want))
	}
	return w
}
