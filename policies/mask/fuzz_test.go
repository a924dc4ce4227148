package mask

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// kept returns the runes kept at the head and tail by the rules that keep
// parts of a value in place.
func kept(r Rule) (head, tail int, ok bool) {
	switch r {
	case RuleIDNumber:
		return idHead, idTail, true
	case RuleMobile:
		return mobileHead, mobileTail, true
	case RuleUSCC:
		return usccHead, usccTail, true
	case RuleName:
		return nameHead, 0, true
	case RuleAddress:
		return addressHead, 0, true
	}
	return 0, 0, false
}

func FuzzMask(f *testing.F) {
	for _, s := range []string{
		"", "*", "王", "李四", "欧阳娜娜", "11010519491231002X", "110105491231002", "13800138000",
		"91350100M000100Y43", "北京市朝阳区建国路88号", "zhangsan@example.gov.cn", "a@b", "@", "1985-03-12",
		"1985年3月12日", "😀😁😂", "\xff\xfe", "ab\u2028\"\\", "**********", "1985",
	} {
		for r := range ruleCount {
			f.Add(uint8(r), s)
		}
	}
	var plans [ruleCount]*Plan
	for r := range ruleCount {
		if r == RuleKeyedHash {
			continue
		}
		p, err := NewPlan([]Field{{Name: "f", Rule: r}}, []string{"f"}, nil, nil)
		if err != nil {
			f.Fatal(err)
		}
		plans[r] = p
	}
	f.Fuzz(func(t *testing.T, rb uint8, s string) {
		r := Rule(rb % uint8(ruleCount))
		v, err := Value(r, s, testKey)
		if err != nil {
			t.Fatal(err)
		}
		out, ok := v.(string)
		if !ok {
			t.Fatalf("%v(%q) = %#v; want a string", r, s, v)
		}
		in, got := []rune(s), []rune(out)
		n := len(in)

		if head, tail, ok := kept(r); ok {
			if len(got) != n {
				t.Fatalf("%v(%q) = %q: %d runes, want %d", r, s, out, len(got), n)
			}
			hidden := n > head+tail
			for i := range n {
				show := hidden && (i < head || i >= n-tail)
				if show && got[i] != in[i] || !show && got[i] != '*' {
					t.Fatalf("%v(%q) = %q: rune %d wrong", r, s, out, i)
				}
			}
			if hidden && out == s && strings.Trim(string(in[head:n-tail]), "*") != "" {
				t.Fatalf("%v(%q) shows the value", r, s)
			}
		}

		switch r {
		case RuleNone:
			if out != s {
				t.Fatalf("none changed %q to %q", s, out)
			}
		case RuleRedact:
			if out != "***" {
				t.Fatalf("redact(%q) = %q", s, out)
			}
		case RuleKeyedHash:
			if s == "" {
				if out != "" {
					t.Fatalf("keyed_hash(\"\") = %q", out)
				}
				break
			}
			if len(out) != 34 || !strings.HasPrefix(out, "h:") {
				t.Fatalf("keyed_hash(%q) = %q", s, out)
			}
			if _, err := hex.DecodeString(out[2:]); err != nil {
				t.Fatalf("keyed_hash(%q) = %q: %v", s, out, err)
			}
		case RuleDate:
			if len(got) != n {
				t.Fatalf("date(%q) = %q: rune count", s, out)
			}
			year := 0
			if len(s) >= 4 && strings.Trim(s[:4], "0123456789") == "" {
				year = 4
			}
			for i := range n {
				if got[i] != '*' && got[i] != in[i] {
					t.Fatalf("date(%q) = %q: rune %d changed", s, out, i)
				}
				if i >= year && (unicode.IsNumber(in[i]) || in[i] == utf8.RuneError) && got[i] != '*' {
					t.Fatalf("date(%q) = %q: rune %d shown", s, out, i)
				}
			}
		case RuleEmail:
			at := strings.LastIndexByte(s, '@')
			switch {
			case s == "":
				if out != "" {
					t.Fatalf("email(\"\") = %q", out)
				}
			case at <= 0:
				if out != "***" {
					t.Fatalf("email(%q) = %q", s, out)
				}
			default:
				_, w := utf8.DecodeRuneInString(s)
				want := "***" + s[at:]
				if w < at {
					want = s[:w] + want
				}
				if out != want {
					t.Fatalf("email(%q) = %q; want %q", s, out, want)
				}
			}
		}

		// The JSON path masks the same as the map path.
		if p := plans[r]; p != nil {
			raw, _ := json.Marshal(map[string]string{"f": s})
			checkJSONAgainstMap(t, p, raw)
		}
	})
}

// fuzzFields covers every rule, sensitivity and plain return.
var fuzzFields = []Field{
	{Name: "a"}, {Name: "b", Rule: RuleIDNumber}, {Name: "c", Rule: RuleMobile},
	{Name: "d", Rule: RuleName}, {Name: "e", Rule: RuleRedact}, {Name: "f", Rule: RuleKeyedHash},
	{Name: "g", Rule: RuleUSCC}, {Name: "h", Rule: RuleAddress}, {Name: "i", Rule: RuleEmail},
	{Name: "j", Rule: RuleDate}, {Name: "k", Sensitive: true}, {Name: "l", Rule: RuleName},
	{Name: "not granted", Rule: RuleName},
}

func FuzzApplyJSON(f *testing.F) {
	for _, s := range []string{
		`{}`, `{"a":1}`, `{"a":{"b":[1,2,{"c":null}]},"b":"11010519491231002X","c":13800138000}`,
		`{"d":"张三","e":true,"f":"x","g":"91350100M000100Y43","h":"北京市朝阳区建国路88号"}`,
		`{"i":"a@b.c","j":"1985-03-12","k":[],"l":"\u738b\ud800","not granted":1}`,
		`{"a":"\u2028<>&","a":2, "b" : 123456789012345678901234567890 }`,
		"{\"d\":\"\xff\xfe\",\"a\":[\"\xff\"]}", `[]`, `null`, `{`, `{"a":1}x`, ``,
	} {
		f.Add([]byte(s))
	}
	p, err := NewPlan(fuzzFields, []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}, []string{"l"}, testKey)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		checkJSONAgainstMap(t, p, raw)
	})
}

// checkJSONAgainstMap checks that ApplyJSON accepts exactly the JSON objects
// and gives what Apply gives for the decoded record.
func checkJSONAgainstMap(t *testing.T, p *Plan, raw []byte) {
	t.Helper()
	out, err := p.ApplyJSON(raw)
	trimmed := bytes.TrimLeft(raw, " \t\r\n")
	isObject := json.Valid(raw) && len(trimmed) > 0 && trimmed[0] == '{'
	if (err == nil) != isObject {
		t.Fatalf("ApplyJSON(%q) error = %v; object: %v", raw, err, isObject)
	}
	if err != nil {
		return
	}
	if !json.Valid(out) || !utf8.Valid(out) {
		t.Fatalf("ApplyJSON(%q) = %q: not valid UTF-8 JSON", raw, out)
	}
	want, err := json.Marshal(p.Apply(decodeRecord(t, raw)))
	if err != nil {
		t.Fatal(err)
	}
	if g, w := decodeRecord(t, out), decodeRecord(t, want); !reflect.DeepEqual(g, w) {
		t.Fatalf("ApplyJSON(%q) = %s; map path gives %s", raw, out, want)
	}
}
