package mask

import (
	"errors"
	"fmt"
	"strings"
)

// Rule is a catalog field's masking rule. The zero value is RuleNone.
type Rule uint8

// The masking rules. Each rule's behaviour, with examples, is in the
// package documentation.
const (
	RuleNone      Rule = iota // returned as stored
	RuleIDNumber              // resident ID number: first 6 + last 4 runes kept
	RuleMobile                // mobile number: first 3 + last 4 runes kept
	RuleName                  // person's name: first rune kept
	RuleRedact                // "***" for strings, null for anything else
	RuleKeyedHash             // "h:" + 32 hex digits of HMAC-SHA256(key, value)
	RuleUSCC                  // unified social credit code: first 8 + last 2 runes kept
	RuleAddress               // address: first 6 runes kept
	RuleEmail                 // first rune of the local part + "***" + "@domain"
	RuleDate                  // leading 4-digit year kept, other letters and digits masked

	ruleCount // keep last
)

var ruleNames = [ruleCount]string{
	RuleNone:      "none",
	RuleIDNumber:  "id_number",
	RuleMobile:    "mobile",
	RuleName:      "name",
	RuleRedact:    "redact",
	RuleKeyedHash: "keyed_hash",
	RuleUSCC:      "uscc",
	RuleAddress:   "address",
	RuleEmail:     "email",
	RuleDate:      "date",
}

// ErrUnknownRule is returned for a rule name or value this package does not
// know.
var ErrUnknownRule = errors.New("unknown masking rule")

// ParseRule returns the rule with the given catalog name ("id_number",
// "mobile", …; see Rules). Names are matched exactly. The empty string is
// RuleNone, so that a catalog field without a masking entry needs no special
// case; any other unknown name is an error wrapping ErrUnknownRule.
func ParseRule(s string) (Rule, error) {
	if s == "" {
		return RuleNone, nil
	}
	for r, name := range ruleNames {
		if s == name {
			return Rule(r), nil
		}
	}
	return RuleNone, fmt.Errorf("mask: %w %q (known: %s)", ErrUnknownRule, s, strings.Join(ruleNames[:], ", "))
}

// Rules lists every rule, RuleNone first, in a fixed order: for catalog
// editors and for documentation endpoints.
func Rules() []Rule {
	rs := make([]Rule, ruleCount)
	for i := range rs {
		rs[i] = Rule(i)
	}
	return rs
}

// String returns the rule's catalog name, or "Rule(n)" for an invalid value.
func (r Rule) String() string {
	if r.valid() {
		return ruleNames[r]
	}
	return fmt.Sprintf("Rule(%d)", uint8(r))
}

// MarshalText encodes the rule as its catalog name, so that JSON and YAML
// carry "id_number" rather than a number.
func (r Rule) MarshalText() ([]byte, error) {
	if !r.valid() {
		return nil, fmt.Errorf("mask: marshal %w %d", ErrUnknownRule, uint8(r))
	}
	return []byte(ruleNames[r]), nil
}

// UnmarshalText decodes a catalog name with ParseRule.
func (r *Rule) UnmarshalText(b []byte) error {
	v, err := ParseRule(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

func (r Rule) valid() bool { return r < ruleCount }

// acceptsNumber reports whether the rule masks a number as its decimal text.
// These rules cover values that are codes written in digits (an ID number or
// a mobile number stored as a JSON number, a date as 19850312) or, for
// keyed_hash, any value whose text can be joined on. The other rules describe
// text (names, addresses, e-mail), where a number is unexpected, so it is
// redacted rather than partly shown.
func (r Rule) acceptsNumber() bool {
	switch r {
	case RuleIDNumber, RuleMobile, RuleUSCC, RuleDate, RuleKeyedHash:
		return true
	}
	return false
}
