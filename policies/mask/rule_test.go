package mask

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestParseRule(t *testing.T) {
	for _, r := range Rules() {
		got, err := ParseRule(r.String())
		if err != nil || got != r {
			t.Errorf("ParseRule(%q) = %v, %v; want %v", r.String(), got, err, r)
		}
	}
	if got, err := ParseRule(""); err != nil || got != RuleNone {
		t.Errorf(`ParseRule("") = %v, %v; want none`, got, err)
	}
	for _, s := range []string{"ID_NUMBER", " mobile", "phone", "hash", "none "} {
		if _, err := ParseRule(s); !errors.Is(err, ErrUnknownRule) {
			t.Errorf("ParseRule(%q) error = %v; want ErrUnknownRule", s, err)
		}
	}
}

func TestRuleText(t *testing.T) {
	b, err := json.Marshal(struct{ R Rule }{RuleKeyedHash})
	if err != nil || string(b) != `{"R":"keyed_hash"}` {
		t.Fatalf("marshal = %s, %v", b, err)
	}
	var v struct{ R Rule }
	if err := json.Unmarshal([]byte(`{"R":"uscc"}`), &v); err != nil || v.R != RuleUSCC {
		t.Fatalf("unmarshal = %v, %v", v.R, err)
	}
	if err := json.Unmarshal([]byte(`{"R":"bogus"}`), &v); !errors.Is(err, ErrUnknownRule) {
		t.Fatalf("unmarshal bogus error = %v", err)
	}
	if _, err := Rule(200).MarshalText(); !errors.Is(err, ErrUnknownRule) {
		t.Fatalf("marshal invalid error = %v", err)
	}
	if s := Rule(200).String(); s != "Rule(200)" {
		t.Fatalf("String = %q", s)
	}
}
