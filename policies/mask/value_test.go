package mask

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func TestValueRules(t *testing.T) {
	tests := []struct {
		rule Rule
		in   any
		want any
	}{
		// id_number: 6 + 4.
		{RuleIDNumber, "11010519491231002X", "110105********002X"},
		{RuleIDNumber, "11010519491231002x", "110105********002x"},
		{RuleIDNumber, "110105491231002", "110105*****1002"}, // 15-digit legacy
		{RuleIDNumber, "12345678901", "123456*8901"},
		{RuleIDNumber, "1234567890", "**********"}, // nothing would be hidden
		{RuleIDNumber, "123", "***"},
		{RuleIDNumber, "", ""},
		{RuleIDNumber, json.Number("110105194912310021"), "110105********0021"},
		{RuleIDNumber, int64(110105194912310021), "110105********0021"},
		{RuleIDNumber, float64(123456789012), "123456**9012"},
		{RuleIDNumber, true, nil},
		{RuleIDNumber, nil, nil},
		{RuleIDNumber, map[string]any{"a": "b"}, nil},
		{RuleIDNumber, []any{"11010519491231002X"}, nil},

		// mobile: 3 + 4.
		{RuleMobile, "13800138000", "138****8000"},
		{RuleMobile, "+8613800138000", "+86*******8000"},
		{RuleMobile, "138-0013-8000", "138******8000"},
		{RuleMobile, "1380013", "*******"}, // short: nothing shown
		{RuleMobile, "13800138", "138*0138"},
		{RuleMobile, json.Number("13800138000"), "138****8000"},
		{RuleMobile, 13800138000, "138****8000"},
		{RuleMobile, false, nil},

		// name: first rune, one '*' per further rune.
		{RuleName, "张三丰", "张**"},
		{RuleName, "李四", "李*"},
		{RuleName, "王", "*"},
		{RuleName, "", ""},
		{RuleName, "欧阳娜娜", "欧***"}, // compound surname not special-cased
		{RuleName, "阿卜杜拉·买买提", "阿*******"},
		{RuleName, "Zhang San", "Z********"},
		{RuleName, "😀😁", "😀*"},
		{RuleName, "𠀀𠀁𠀂", "𠀀**"}, // supplementary-plane CJK
		{RuleName, json.Number("12"), nil},
		{RuleName, 7, nil},

		// address: first 6 runes.
		{RuleAddress, "北京市朝阳区建国路88号", "北京市朝阳区******"},
		{RuleAddress, "北京市朝阳区", "******"},
		{RuleAddress, "湖南省娄底市娄星区", "湖南省娄底市***"},
		{RuleAddress, "1 Main Street", "1 Main*******"},
		{RuleAddress, json.Number("100020"), nil},

		// uscc: 8 + 2.
		{RuleUSCC, "91350100M000100Y43", "91350100********43"},
		{RuleUSCC, "9135010", "*******"},
		{RuleUSCC, "9135010043", "**********"},
		{RuleUSCC, "91350100443", "91350100*43"},

		// email.
		{RuleEmail, "zhangsan@example.gov.cn", "z***@example.gov.cn"},
		{RuleEmail, "a@x.cn", "***@x.cn"},
		{RuleEmail, "张三@例子.中国", "张***@例子.中国"},
		{RuleEmail, `"a@b"@example.org`, `"***@example.org`},
		{RuleEmail, "@example.org", "***"},
		{RuleEmail, "not an address", "***"},
		{RuleEmail, "", ""},
		{RuleEmail, json.Number("1"), nil},

		// date: year kept.
		{RuleDate, "1985-03-12", "1985-**-**"},
		{RuleDate, "1985/3/12", "1985/*/**"},
		{RuleDate, "19850312", "1985****"},
		{RuleDate, "1985年3月12日", "1985年*月**日"},
		{RuleDate, "1985-03-12T08:30:00+08:00", "1985-**-**T**:**:**+**:**"},
		{RuleDate, "1985-03-12T08:30:00Z", "1985-**-**T**:**:**Z"},
		{RuleDate, "85-03-12", "**-**-**"},
		{RuleDate, "03/12/1985", "**/**/****"},
		{RuleDate, "March 12, 1985", "***** **, ****"},
		{RuleDate, "1985", "1985"},
		{RuleDate, json.Number("19850312"), "1985****"},
		{RuleDate, "", ""},

		// redact.
		{RuleRedact, "secret", "***"},
		{RuleRedact, "", "***"},
		{RuleRedact, json.Number("42"), nil},
		{RuleRedact, 42.5, nil},
		{RuleRedact, true, nil},
		{RuleRedact, map[string]any{}, nil},
		{RuleRedact, nil, nil},

		// none.
		{RuleNone, "as is", "as is"},
		{RuleNone, json.Number("1"), json.Number("1")},
	}
	for _, tt := range tests {
		got, err := Value(tt.rule, tt.in, testKey)
		if err != nil {
			t.Errorf("Value(%v, %#v): %v", tt.rule, tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("Value(%v, %#v) = %#v; want %#v", tt.rule, tt.in, got, tt.want)
		}
	}
}

// Invalid UTF-8 counts one rune per bad byte and is kept, not repaired, in
// the shown part: JSON encoding replaces it later.
func TestValueInvalidUTF8(t *testing.T) {
	got, _ := Value(RuleName, "\xff\xfe\xfd", nil)
	if got != "\xff**" {
		t.Fatalf("got %q", got)
	}
	got, _ = Value(RuleIDNumber, "1101\xff519491231002X", nil)
	if got != "1101\xff5********002X" {
		t.Fatalf("got %q", got)
	}
}

func TestKeyedHash(t *testing.T) {
	const id = "11010519491231002X"
	a, err := Value(RuleKeyedHash, id, testKey)
	if err != nil {
		t.Fatal(err)
	}
	s := a.(string)
	mac := hmac.New(sha256.New, testKey)
	mac.Write([]byte(id))
	if want := "h:" + hex.EncodeToString(mac.Sum(nil))[:32]; s != want {
		t.Fatalf("hash = %s; want %s", s, want)
	}
	if b, _ := Value(RuleKeyedHash, id, append([]byte(nil), testKey...)); b != a {
		t.Errorf("not deterministic: %v != %v", b, a)
	}
	otherKey := []byte("fedcba9876543210fedcba9876543210")
	if b, _ := Value(RuleKeyedHash, id, otherKey); b == a {
		t.Errorf("same pseudonym under another key")
	}
	if b, _ := Value(RuleKeyedHash, "11010519491231002x", testKey); b == a {
		t.Errorf("values are hashed as written; x and X must differ")
	}
	if n, _ := Value(RuleKeyedHash, json.Number("110105194912310021"), testKey); n != mustHash(t, "110105194912310021") {
		t.Errorf("a number is hashed as its text: %v", n)
	}
	if e, _ := Value(RuleKeyedHash, "", testKey); e != "" {
		t.Errorf("empty string hashed to %v", e)
	}
	if v, _ := Value(RuleKeyedHash, true, testKey); v != nil {
		t.Errorf("bool hashed to %v", v)
	}
	if !strings.HasPrefix(s, "h:") || utf8.RuneCountInString(s) != 34 {
		t.Errorf("shape of %q", s)
	}
	for _, key := range [][]byte{nil, []byte("short")} {
		if _, err := Value(RuleKeyedHash, id, key); !errors.Is(err, ErrKey) {
			t.Errorf("key %q: error = %v; want ErrKey", key, err)
		}
	}
}

func mustHash(t *testing.T, s string) any {
	t.Helper()
	v, err := Value(RuleKeyedHash, s, testKey)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestValueInvalidRule(t *testing.T) {
	if _, err := Value(Rule(99), "x", nil); !errors.Is(err, ErrUnknownRule) {
		t.Fatalf("error = %v", err)
	}
}

func TestLongValues(t *testing.T) {
	long := strings.Repeat("路", 100)
	got, _ := Value(RuleAddress, long, nil)
	if want := strings.Repeat("路", 6) + strings.Repeat("*", 94); got != want {
		t.Fatalf("got %q", got)
	}
}

func TestValueNumberTypes(t *testing.T) {
	tests := []struct {
		in   any
		want any
	}{
		{int8(-12), "***"}, {int16(1234), "****"}, {int32(12345678), "123*5678"},
		{uint(12345678), "123*5678"}, {uint8(255), "***"}, {uint16(65535), "*****"},
		{uint32(4294967295), "429***7295"}, {uint64(18446744073709551615), "184*************1615"},
		{float32(12345678), "123*5678"}, {1.5e20, "150**************0000"},
		{math.Inf(1), nil}, {math.NaN(), nil}, {float32(math.Inf(-1)), nil},
		{json.Number(""), ""}, {struct{}{}, nil},
	}
	for _, tt := range tests {
		got, _ := Value(RuleMobile, tt.in, nil)
		if got != tt.want {
			t.Errorf("mobile(%T %v) = %#v; want %#v", tt.in, tt.in, got, tt.want)
		}
	}
}
