package inputtext

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestProblem(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"LX-2025-0042", ""},
		{"社会保障卡申领", ""},
		{"办件 2025/7 号", ""},
		{"", ""},
		{"LX-\xff", "not valid UTF-8"},
		{"LX\r\nSet-Cookie: a", "control character U+000D at byte 2"},
		{"LX\n", "control character U+000A at byte 2"},
		{"LX\x00", "control character U+0000 at byte 2"},
		{"a\tb", "control character U+0009 at byte 1"},
		{"a\x7fb", "control character U+007F at byte 1"},
		{"a\u0085b", "control character U+0085 at byte 1"},
	} {
		if got := Problem(tc.in); got != tc.want {
			t.Errorf("Problem(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStorable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"LX-2025-0042", "LX-2025-0042"},
		{"社保 申领", "社保 申领"},
		{"LX-1\x00", `"LX-1\x00"`},
		{"LX\r\n1", `"LX\r\n1"`},
		{"社保\xff", `"社保\xff"`},
	} {
		if got := Storable(tc.in); got != tc.want || Problem(got) != "" {
			t.Errorf("Storable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestInvalidUTF8(t *testing.T) {
	for _, tc := range []struct {
		doc     string
		pointer string
		found   bool
	}{
		{`{"name":"张三","id":"43130219900101001X"}`, "", false},
		{`{"name":"\u5f20\u4e09","emoji":"\ud83d\ude00"}`, "", false},
		{"{\"name\":\"张\xff三\"}", "/name", true},
		{"{\"a\":1,\"b\":{\"c\":[0,\"ok\",\"bad\xc3\"]}}", "/b/c/2", true},
		{"{\"a\":{\"x\":\"ok\"},\"b\":\"\xe4\xb8\"}", "/b", true},
		{"{\"k\xffey\":\"v\"}", "/k\uFFFDey", true},
		{"{\"a/b\":{\"m~n\":\"\xff\"}}", "/a~1b/m~0n", true},
		{"[{\"a\":\"ok\"},{\"a\":\"\xff\"}]", "/1/a", true},
		{"\"\xff\"", "", true},
		{`{"lone":"\ud800"}`, "/lone", true},
		{`{"lone":"x\udc00y"}`, "/lone", true},
		{`{"lone":"\uD800\u0041"}`, "/lone", true},
		{`{"pair":"\uD83D\uDE00","esc":"\\ud800"}`, "", false},
		{"{\"a\":\"\\\"\xff\"}", "/a", true},
	} {
		p, found := InvalidUTF8([]byte(tc.doc))
		if p != tc.pointer || found != tc.found {
			t.Errorf("InvalidUTF8(%q) = %q, %v; want %q, %v", tc.doc, p, found, tc.pointer, tc.found)
		}
	}
}

var loneSurrogate = regexp.MustCompile(`\\[uU][dD][89a-fA-F]`)

// FuzzInvalidUTF8: a well-formed document with no finding is valid UTF-8, and a finding
// in valid UTF-8 comes from a surrogate escape; a string that decodes to
// valid text without U+FFFD is never reported.
func FuzzInvalidUTF8(f *testing.F) {
	for _, s := range []string{`{"a":"b"}`, "{\"a\":\"\xff\"}", `["\ud800"]`, `{"a":[1,{"b":"\uDBFF\uDFFF"}]}`, `"`, "{\"\\\\\":\"\\\\\xff\"}"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		p, found := InvalidUTF8(doc)
		if !json.Valid(doc) {
			return // only that it does not panic or hang
		}
		if !found {
			if p != "" || !utf8.Valid(doc) {
				t.Fatalf("InvalidUTF8(%q) = %q, %v", doc, p, found)
			}
			return
		}
		if utf8.Valid(doc) && !loneSurrogate.Match(doc) {
			t.Fatalf("InvalidUTF8(%q) found %q in valid UTF-8 without a surrogate escape", doc, p)
		}
		var v any
		if json.Unmarshal(doc, &v) == nil {
			if s, err := json.Marshal(v); err == nil && !strings.Contains(string(s), "\ufffd") && !strings.Contains(string(s), `\ufffd`) {
				t.Fatalf("InvalidUTF8(%q) found %q, but it decodes to %s without U+FFFD", doc, p, s)
			}
		}
	})
}
