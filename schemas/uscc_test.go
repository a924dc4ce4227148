package schemas

import (
	"errors"
	"strings"
	"testing"
)

func TestUSCCVectors(t *testing.T) {
	v := loadVectors(t)
	for _, tc := range v.USCCValid {
		w, err := ValidateUSCC(tc.Value)
		if err != nil || len(w) != 0 {
			t.Errorf("%s: warnings %q, err %v; want strictly valid (%s)", tc.Value, w, err, tc.Reason)
		}
	}
	for _, tc := range v.USCCInvalid {
		if _, err := ValidateUSCC(tc.Value); err == nil {
			t.Errorf("%s: valid, want invalid (%s)", tc.Value, tc.Reason)
		}
	}
	// Edge cases are basic-valid with a warning each.
	for _, tc := range v.USCCEdge {
		w, err := ValidateUSCC(tc.Value)
		if err != nil || len(w) == 0 {
			t.Errorf("%s: warnings %q, err %v; want valid with warnings (%s)", tc.Value, w, err, tc.Reason)
		}
	}
}

func TestValidateUSCCErrors(t *testing.T) {
	tests := []struct {
		in   string
		kind error
		msg  string
	}{
		{"", ErrLength, "USCC: wrong length: got 0 characters, want 18"},
		{"91350100M000100Y4", ErrLength, "got 17 characters"},
		{"91350100M000100Y4Z", ErrCharset, "'Z' at position 18 (GB 32100 leaves out I, O, Z, S, V)"},
		{"91431302MA4LI9Q04D", ErrCharset, "'I' at position 13"},
		{"91431302MA4L-9Q04D", ErrCharset, "'-' at position 13, want a digit or upper-case letter"},
		{"91431302ma4ld9q04d", ErrNotCanonical, "lower-case 'm' at position 9"},
		{"91431302MA4LD9Q04口", ErrCharset, "'口' at position 18"},
		{"91350100M000100Y44", ErrCheckChar, "USCC: check character should be 3, got 4"},
		{"91431302MA4LD9Q04E", ErrCheckChar, "should be D, got E"},
		{"91431302MAL4D9Q04D", ErrCheckChar, "got D"},
	}
	for _, tt := range tests {
		w, err := ValidateUSCC(tt.in)
		if !errors.Is(err, tt.kind) || w != nil {
			t.Errorf("ValidateUSCC(%q) = %q, %v; want kind %v", tt.in, w, err, tt.kind)
			continue
		}
		if !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ValidateUSCC(%q) error %q, want it to contain %q", tt.in, err, tt.msg)
		}
	}
}

func TestValidateUSCCWarnings(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"91350100M000100Y43", nil},
		{"91431302MA4LD9Q001", []string{"embedded organisation code MA4LD9Q0-0 fails the GB 11714 check (should be 4)"}},
		{"B1431302D99001787C", []string{`registration authority code 'B' is not one of 1-9, A, N, Y`}},
		// Published codes of companies (public registry data, quoted by
		// open-source validators' tests).
		{"914403001922038216", nil},
		{"91110108795101314G", nil},
		{"91310000MA1K35Y38P", nil},
		{"9135020026015919XW", nil},
		{"913502006120495420", nil},
	}
	for _, tt := range tests {
		w, err := ValidateUSCC(tt.in)
		if err != nil || strings.Join(w, "|") != strings.Join(tt.want, "|") {
			t.Errorf("ValidateUSCC(%q) = %q, %v; want %q", tt.in, w, err, tt.want)
		}
	}
}

// A letter anywhere in positions 3-8 (the registering authority's division
// code) makes the code invalid, even with a correct check character.
func TestUSCCRegionMustBeDigits(t *testing.T) {
	for _, body := range []string{"91A31302MA4LD9Q04", "914313B2MA4LD9Q04", "9143130YMA4LD9Q04", "11D31300D99000119"} {
		c, err := USCCCheckChar(body)
		if err != nil {
			t.Fatal(err)
		}
		code := body + string(c)
		w, err := ValidateUSCC(code)
		if !errors.Is(err, ErrAreaCode) || w != nil || !strings.Contains(err.Error(), "region code "+body[2:8]) {
			t.Errorf("ValidateUSCC(%s) = %q, %v; want the region refused", code, w, err)
		}
	}
}

// Early Fujian pilot codes are real but break the GB 32100 check character
// (open-source validators list them with the computed check). The hard rule
// refuses them; registry imports that must keep them need their own
// exception list.
func TestUSCCPilotCodesRefused(t *testing.T) {
	for code, want := range map[string]string{
		"91350100M0001TGQXM": "should be 1, got M",
		"91350211M0000XUF46": "should be R, got 6",
		"91350203M0001FUE2P": "should be J, got P",
	} {
		_, err := ValidateUSCC(code)
		if !errors.Is(err, ErrCheckChar) || !strings.Contains(err.Error(), want) {
			t.Errorf("ValidateUSCC(%s) = %v, want %q", code, err, want)
		}
	}
}

func TestUSCCCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
		kind error
	}{
		{"91350100M000100Y4", '3', nil},
		{"91431302MA4LD9Q04", 'D', nil},
		{"11431300D99000119", 'F', nil},
		{"9135010M000100Y4", 0, ErrLength},
		{"91350100M000100O4", 0, ErrCharset},
		{"91350100m000100Y4", 0, ErrNotCanonical},
	}
	for _, tt := range tests {
		got, err := USCCCheckChar(tt.body)
		if got != tt.want || !errors.Is(err, tt.kind) {
			t.Errorf("USCCCheckChar(%q) = %q, %v; want %q, %v", tt.body, got, err, tt.want, tt.kind)
		}
	}
}

// Every single-character substitution of a valid code is caught: the
// weights are non-zero modulo the prime 31.
func TestUSCCDetectsSubstitutions(t *testing.T) {
	const valid = "91431302MA4LD9Q04D"
	for i := range len(valid) {
		for j := range len(usccAlphabet) {
			c := usccAlphabet[j]
			if c == valid[i] {
				continue
			}
			s := valid[:i] + string(c) + valid[i+1:]
			if _, err := ValidateUSCC(s); !errors.Is(err, ErrCheckChar) {
				t.Fatalf("%s (position %d) accepted: %v", s, i+1, err)
			}
		}
	}
}

func FuzzUSCC(f *testing.F) {
	v := loadVectors(f)
	for _, s := range vectorValues(v.USCCValid, v.USCCInvalid, v.USCCEdge) {
		f.Add(s)
	}
	f.Add("91350100m000100y43")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		w, err := ValidateUSCC(s)
		if err != nil {
			if w != nil {
				t.Fatalf("%q: warnings %q with error %v", s, w, err)
			}
			return
		}
		want, cerr := USCCCheckChar(s[:17])
		if cerr != nil || want != s[17] {
			t.Fatalf("%q valid but check recomputes to %q, %v", s, want, cerr)
		}
		oc, oerr := OrgCodeCheckChar(s[8:16])
		if oerr != nil {
			t.Fatalf("%q valid but org code body refused: %v", s, oerr)
		}
		if hasOrgWarning := strings.Contains(strings.Join(w, "|"), "GB 11714"); hasOrgWarning != (oc != s[16]) {
			t.Fatalf("%q: org check %q vs %q, warnings %q", s, oc, s[16], w)
		}
		// Changing the check character makes the code invalid.
		for j := range len(usccAlphabet) {
			if c := usccAlphabet[j]; c != s[17] {
				if _, err := ValidateUSCC(s[:17] + string(c)); !errors.Is(err, ErrCheckChar) {
					t.Fatalf("%q with check %q: %v", s, c, err)
				}
			}
		}
	})
}
