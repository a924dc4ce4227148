package schemas

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateDivisionCode(t *testing.T) {
	valid := []string{
		"430000",       // province
		"431300",       // prefecture (娄底市)
		"431302",       // county-level (娄星区)
		"110228",       // abolished county code (密云县), still structurally sound
		"419001",       // county-level unit administered by the province (90)
		"810000",       // Hong Kong
		"431302001",    // township: 街道
		"431302100",    // 镇
		"431302599",    // top of the township ranges
		"441900003",    // township under a prefecture-level city without counties
		"431302001001", // 居委会
		"431302100399", // 村委会
		"431302000000", // statistical-table padding: county
		"430000000000", // padding: province
		"431302001000", // padding: township
	}
	for _, s := range valid {
		if err := ValidateDivisionCode(s); err != nil {
			t.Errorf("ValidateDivisionCode(%q) = %v, want nil", s, err)
		}
	}
	tests := []struct {
		in   string
		kind error
		msg  string
	}{
		{"", ErrLength, "division code: wrong length: got 0 characters, want 6, 9 or 12"},
		{"43130", ErrLength, "got 5 characters"},
		{"4313021", ErrLength, "got 7"},
		{"43130A", ErrCharset, "'A' at position 6"},
		{"43 302", ErrCharset, "' ' at position 3"},
		{"４31302", ErrCharset, "'４' at position 1"},
		{"031302", ErrAreaCode, "province part 03"},
		{"931302", ErrAreaCode, "start with 1-8"},
		{"430002", ErrSegment, "county part 02 without a prefecture part"},
		{"431302000", ErrSegment, "township part 000 outside 001-599"},
		{"431302600", ErrSegment, "township part 600"},
		{"430000001", ErrSegment, "directly under the province-level code 430000"},
		{"431302001400", ErrSegment, "village part 400 outside 001-399"},
		{"431302000001", ErrSegment, "village part 001 without a township part"},
	}
	for _, tt := range tests {
		err := ValidateDivisionCode(tt.in)
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ValidateDivisionCode(%q) = %v, want kind %v containing %q", tt.in, err, tt.kind, tt.msg)
		}
	}
}

func TestDivisionName(t *testing.T) {
	tests := []struct {
		code, want string
		ok         bool
	}{
		{"430000", "湖南省", true},
		{"431300", "娄底市", true},
		{"431302", "娄星区", true},
		{"431321", "双峰县", true},
		{"431322", "新化县", true},
		{"431381", "冷水江市", true},
		{"431382", "涟源市", true},
		{"110105", "", false},
		{"431302000000", "", false},
	}
	for _, tt := range tests {
		got, ok := DivisionName(tt.code)
		if got != tt.want || ok != tt.ok {
			t.Errorf("DivisionName(%q) = %q, %v; want %q, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
	for _, d := range divisionNames {
		if err := ValidateDivisionCode(d.code); err != nil {
			t.Errorf("table entry %s: %v", d.code, err)
		}
	}
}

func FuzzDivisionCode(f *testing.F) {
	for _, s := range []string{"431302", "431300", "431302001", "431302100399", "431302000000", "430002", "", "43130A", "441900003"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := ValidateDivisionCode(s)
		if err != nil {
			return
		}
		if n := len(s); (n != 6 && n != 9 && n != 12) || !allDigits(s) {
			t.Fatalf("%q accepted", s)
		}
		// Every prefix at a coarser level is itself a valid code.
		if err := ValidateDivisionCode(s[:6]); err != nil {
			t.Fatalf("%q valid but its county part is not: %v", s, err)
		}
		if len(s) == 12 && s[9:] != "000" && ValidateDivisionCode(s[:9]) != nil {
			t.Fatalf("%q valid but its township part is not", s)
		}
	})
}
