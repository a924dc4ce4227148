package schemas

import (
	"errors"
	"strings"
	"testing"
)

// Public example IDs (interface documents of Hunan and Shandong building
// licence exchanges, a Zhejiang investment-project file name). They check
// out with MOD 37,36.
var publicElicenceIDs = []string{
	"1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.001.U",
	"1.2.156.3005.2.11100000000013338W011.11430000006122244L.20230000403.002.S",
	"1.2.156.3005.2.11100000000013338W009.11330105002500287C.2025052201.002.0",
	"1.2.156.3005.2.11100000000013338W087.11370800MB28559184.37080001202411010001.001.3",
}

// Self-generated parts from the synthetic vectors.
const (
	testTypeCode = "11431300D99000119F001" // vectors USCC + 001
	testIssuer   = "12431302D99000282G"
)

func TestElicencePublicExamples(t *testing.T) {
	for _, s := range publicElicenceIDs {
		if err := ValidateElicenceID(s); err != nil {
			t.Errorf("%s: %v", s, err)
		}
	}
	// An API-doc example whose check character is illustrative only.
	const bad = "1.2.156.3005.2.11100000000013661B006.113700000045046442.209FA4E88F9E4C878F3E9BED2CE7EA49.001.M"
	if err := ValidateElicenceID(bad); !errors.Is(err, ErrCheckChar) || !strings.Contains(err.Error(), "should be D, got M") {
		t.Errorf("illustrative example: %v", err)
	}
}

func TestElicenceCheckChar(t *testing.T) {
	tests := []struct {
		data string
		want byte
		kind error
	}{
		{"11100000000013338W01111430000006122244L20230000403001", 'U', nil},
		{"11100000000013338W00911330105002500287C2025052201002", '0', nil},
		{"", 0, ErrLength},
		{"11100000000013338W011.114", 0, ErrCharset},
		{"11100000000013338w011", 0, ErrNotCanonical},
	}
	for _, tt := range tests {
		got, err := ElicenceCheckChar(tt.data)
		if got != tt.want || !errors.Is(err, tt.kind) {
			t.Errorf("ElicenceCheckChar(%q) = %q, %v; want %q, %v", tt.data, got, err, tt.want, tt.kind)
		}
	}
}

func TestBuildElicenceID(t *testing.T) {
	id, err := BuildElicenceID(testTypeCode, testIssuer, "2025LX000123", "001")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(id, ElicenceRoot+"."+testTypeCode+"."+testIssuer+".2025LX000123.001.") {
		t.Fatalf("BuildElicenceID = %q", id)
	}
	parsed, err := ParseElicenceID(id)
	if err != nil {
		t.Fatalf("built ID %s invalid: %v", id, err)
	}
	if parsed.String() != id || parsed.Serial != "2025LX000123" || parsed.Version != "001" {
		t.Errorf("ParseElicenceID(%s) = %+v", id, parsed)
	}
	// Rebuilding a public example gives it back.
	for _, s := range publicElicenceIDs {
		p, err := ParseElicenceID(s)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := BuildElicenceID(p.TypeCode, p.Issuer, p.Serial, p.Version); err != nil || got != s {
			t.Errorf("rebuild %s = %s, %v", s, got, err)
		}
	}

	bad := []struct {
		typeCode, issuer, serial, version string
		msg                               string
	}{
		{"11431300D99000119F01", testIssuer, "1", "001", "type code: wrong length"},
		{"11431300D99000119E001", testIssuer, "1", "001", "type code: USCC part: check character should be F, got E"},
		{"11431300D99000119F00A", testIssuer, "1", "001", `last 3 characters "00A" must be digits`},
		{testTypeCode, "431302", "1", "001", "issuer code: wrong length"},
		{testTypeCode, testIssuer, "", "001", "serial: wrong length: got 0 characters, want 1-64"},
		{testTypeCode, testIssuer, strings.Repeat("9", 65), "001", "serial: wrong length"},
		{testTypeCode, testIssuer, "2025-1", "001", "serial: invalid character '-' at position 5"},
		{testTypeCode, testIssuer, "abc", "001", "serial: not in canonical form"},
		{testTypeCode, testIssuer, "1", "01", "version: wrong length"},
		{testTypeCode, testIssuer, "1", "0a1", "version: invalid character 'a'"},
	}
	for _, tt := range bad {
		_, err := BuildElicenceID(tt.typeCode, tt.issuer, tt.serial, tt.version)
		if err == nil || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("BuildElicenceID(%q, %q, %q, %q) = %v, want %q", tt.typeCode, tt.issuer, tt.serial, tt.version, err, tt.msg)
		}
	}
}

func TestValidateElicenceIDErrors(t *testing.T) {
	good := publicElicenceIDs[0]
	tests := []struct {
		in   string
		kind error
		msg  string
	}{
		{"", ErrSegment, "e-licence ID: invalid segment: does not start with the root 1.2.156.3005.2"},
		{strings.TrimPrefix(good, "1."), ErrSegment, "root"},
		{strings.TrimSuffix(good, ".U"), ErrSegment, "want 5 dot-separated parts after the root (type.issuer.serial.version.check), got 4"},
		{good + ".U", ErrSegment, "got 6"},
		{strings.TrimSuffix(good, "U") + "UU", ErrLength, "check character: wrong length: got 2 characters, want 1"},
		{strings.TrimSuffix(good, "U") + "u", ErrNotCanonical, "check character: not in canonical form"},
		{strings.TrimSuffix(good, "U") + "V", ErrCheckChar, "e-licence ID: check character should be U, got V"},
		{strings.Replace(good, "W011", "W012", 1), ErrCheckChar, "should be"},
		{strings.Replace(good, "13338W", "13338V", 1), ErrCharset, "type code: USCC part: invalid character 'V'"},
	}
	for _, tt := range tests {
		err := ValidateElicenceID(tt.in)
		if !errors.Is(err, tt.kind) || !strings.Contains(err.Error(), tt.msg) {
			t.Errorf("ValidateElicenceID(%q) = %v, want kind %v containing %q", tt.in, err, tt.kind, tt.msg)
		}
	}
}

// MOD 37,36 catches every single substitution of a data character.
func TestElicenceDetectsSubstitutions(t *testing.T) {
	data := testTypeCode + testIssuer + "2025LX000123" + "001"
	want := mod3736Check(data)
	for i := range len(data) {
		for j := range len(alnum36) {
			if c := alnum36[j]; c != data[i] {
				if mod3736Check(data[:i]+string(c)+data[i+1:]) == want {
					t.Fatalf("substitution %c at position %d not detected", c, i+1)
				}
			}
		}
	}
}

func FuzzElicenceID(f *testing.F) {
	for _, s := range publicElicenceIDs {
		f.Add(s)
	}
	f.Add("1.2.156.3005.2." + testTypeCode + "." + testIssuer + ".1.001.0")
	f.Add("1.2.156.3005.2....")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := ParseElicenceID(s)
		if err != nil {
			return
		}
		if id.String() != s {
			t.Fatalf("%q parses to %+v, which prints %q", s, id, id.String())
		}
		data := id.TypeCode + id.Issuer + id.Serial + id.Version
		if c, err := ElicenceCheckChar(data); err != nil || c != id.Check {
			t.Fatalf("%q valid but check recomputes to %q, %v", s, c, err)
		}
		if built, err := BuildElicenceID(id.TypeCode, id.Issuer, id.Serial, id.Version); err != nil || built != s {
			t.Fatalf("rebuild %q = %q, %v", s, built, err)
		}
		// Changing one serial character breaks the check.
		i := len(id.Serial) - 1
		c := byte('0')
		if id.Serial[i] == '0' {
			c = '1'
		}
		changed := ElicenceID{TypeCode: id.TypeCode, Issuer: id.Issuer, Serial: id.Serial[:i] + string(c), Version: id.Version, Check: id.Check}
		if err := ValidateElicenceID(changed.String()); !errors.Is(err, ErrCheckChar) {
			t.Fatalf("%q with serial changed accepted: %v", s, err)
		}
	})
}

// FuzzBuildElicenceID reaches the valid path more often than random IDs
// do: whatever Build accepts must validate and split back into its parts.
func FuzzBuildElicenceID(f *testing.F) {
	f.Add(testTypeCode, testIssuer, "2025LX000123", "001")
	f.Add("11100000000013338W011", "11430000006122244L", "20230000403", "002")
	f.Add(testTypeCode, testIssuer, "", "001")
	f.Fuzz(func(t *testing.T, typeCode, issuer, serial, version string) {
		s, err := BuildElicenceID(typeCode, issuer, serial, version)
		if err != nil {
			return
		}
		id, err := ParseElicenceID(s)
		if err != nil {
			t.Fatalf("built %q is invalid: %v", s, err)
		}
		if id.TypeCode != typeCode || id.Issuer != issuer || id.Serial != serial || id.Version != version {
			t.Fatalf("built %q splits into %+v", s, id)
		}
		// Any other check character is refused.
		for j := range len(alnum36) {
			if c := alnum36[j]; c != id.Check {
				other := s[:len(s)-1] + string(c)
				if err := ValidateElicenceID(other); !errors.Is(err, ErrCheckChar) {
					t.Fatalf("%q accepted: %v", other, err)
				}
			}
		}
	})
}
