package schemas

import (
	"errors"
	"strings"
	"testing"
	"time"
)

// withCheck appends the GB 11643 check character to a 17-digit body.
func withCheck(tb testing.TB, body17 string) string {
	tb.Helper()
	c, err := ResidentIDCheckChar(body17)
	if err != nil {
		tb.Fatalf("check char of %q: %v", body17, err)
	}
	return body17 + string(c)
}

func TestResidentIDVectors(t *testing.T) {
	v := loadVectors(t)
	for _, group := range [][]vector{v.IDValid, v.IDInvalid, v.IDEdge} {
		for _, tc := range group {
			err := checkResidentID(tc.Value, testToday)
			if (err == nil) != tc.Valid {
				t.Errorf("%s: valid=%v, want %v (%s); err=%v", tc.Value, err == nil, tc.Valid, tc.Reason, err)
			}
		}
	}
	// The edge case's reason text: the lenient step fixes lower-case x.
	got, err := normalizeResidentID("11010519491231002x", testToday)
	if err != nil || got != "11010519491231002X" {
		t.Errorf("normalize lower-case x = %q, %v", got, err)
	}
}

func TestValidateResidentIDErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		kind error
		msg  string // substring of the error text
	}{
		{"empty", "", ErrLength, "got 0 characters, want 18"},
		{"17 digits", "43130219850615991", ErrLength, "got 17 characters"},
		{"19 chars", "4313021985061599131", ErrLength, "got 19 characters"},
		{"letter O in body", "4313021985O6159913", ErrCharset, "'O' at position 11"},
		{"full-width last", "43130219850615991３", ErrCharset, "'３' at position 18"},
		{"invalid utf-8", "43130219850615991\xff", ErrCharset, "byte 0xFF at position 18"},
		{"check Y", "43130219850615991Y", ErrCharset, "'Y' at position 18, want a digit or X"},
		{"lower-case x", "11010519491231002x", ErrNotCanonical, "upper-case X"},
		{"wrong check, want X", "110105194912310021", ErrCheckChar, "check character should be X, got 1"},
		{"wrong check, want 3", "431302198506159912", ErrCheckChar, "check character should be 3, got 2"},
		{"legacy", "431302850615991", ErrLegacyID, "upgrade to 18 digits as 431302198506159913"},
		{"legacy bad date", "431302850230991", ErrDate, "cannot be upgraded"},
		{"area 0", withCheck(t, "03130219850615991"), ErrAreaCode, "address code 031302"},
		{"area 9", withCheck(t, "93130219850615991"), ErrAreaCode, "start with 1-8"},
		{"Feb 30", "431302200102309911", ErrDate, "day 30 does not exist in 2001-02 (1-28)"},
		{"1900-02-29", "431322190002299938", ErrDate, "day 29 does not exist in 1900-02"},
		{"month 13", "431381198513019949", ErrDate, "month 13 does not exist"},
		{"year 1799", withCheck(t, "43130217990101991"), ErrDate, "year before 1800"},
		{"future", withCheck(t, "43130220260102991"), ErrFutureDate, "birth date 2026-01-02: date in the future: after today (2026-01-01)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkResidentID(tt.in, testToday)
			if !errors.Is(err, tt.kind) {
				t.Fatalf("err = %v, want kind %v", err, tt.kind)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("err = %q, want it to contain %q", err, tt.msg)
			}
		})
	}
}

func TestValidateResidentIDToday(t *testing.T) {
	if err := checkResidentID(withCheck(t, "43130220260101991"), testToday); err != nil {
		t.Errorf("born today: %v", err)
	}
	// The exported function uses the clock and prefixes the identifier.
	err := ValidateResidentID("110105194912310021")
	var ce *CheckCharError
	if !errors.As(err, &ce) || ce.Want != 'X' || ce.Got != '1' {
		t.Fatalf("err = %v, want CheckCharError X/1", err)
	}
	if want := "resident ID: check character should be X, got 1"; err.Error() != want {
		t.Errorf("err = %q, want %q", err, want)
	}
	tomorrow := time.Now().In(chinaTime).AddDate(0, 0, 2).Format("20060102")
	if err := ValidateResidentID(withCheck(t, "431302"+tomorrow+"991")); !errors.Is(err, ErrFutureDate) {
		t.Errorf("born the day after tomorrow: err = %v", err)
	}
}

func TestResidentIDCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
		kind error
	}{
		{"11010519491231002", 'X', nil},
		{"44052418800101001", '4', nil},
		{"43130219850615991", '3', nil},
		{"1101051949123100", 0, ErrLength},
		{"1101051949123100A", 0, ErrCharset},
		{"１1010519491231002", 0, ErrCharset},
	}
	for _, tt := range tests {
		got, err := ResidentIDCheckChar(tt.body)
		if !errors.Is(err, tt.kind) || got != tt.want {
			t.Errorf("ResidentIDCheckChar(%q) = %q, %v; want %q, %v", tt.body, got, err, tt.want, tt.kind)
		}
	}
}

func TestNormalizeResidentID(t *testing.T) {
	tests := []struct {
		in, want string
		kind     error
	}{
		{"11010519491231002X", "11010519491231002X", nil},
		{"  11010519491231002x\t", "11010519491231002X", nil},
		{"\u300011010519491231002x\u3000", "11010519491231002X", nil},
		{"１１０１０５１９４９１２３１００２ｘ", "11010519491231002X", nil},
		{"431302850615991", "431302198506159913", nil},
		{" 431302850615991 ", "431302198506159913", nil},
		{"431302850230991", "", ErrDate},
		{"110105194912310021", "", ErrCheckChar},
		{"1101051949123100 X", "", ErrCharset},
		{"", "", ErrLength},
	}
	for _, tt := range tests {
		got, err := normalizeResidentID(tt.in, testToday)
		if got != tt.want || !errors.Is(err, tt.kind) {
			t.Errorf("normalize(%q) = %q, %v; want %q, %v", tt.in, got, err, tt.want, tt.kind)
		}
	}
	if got, err := NormalizeResidentID("11010519491231002x"); err != nil || got != "11010519491231002X" {
		t.Errorf("NormalizeResidentID = %q, %v", got, err)
	}
}

func TestParseResidentID(t *testing.T) {
	tests := []struct {
		in   string
		want ResidentIDInfo
	}{
		{"11010519491231002X", ResidentIDInfo{"110105", time.Date(1949, 12, 31, 0, 0, 0, 0, time.UTC), "002", SexFemale}},
		{"431302198506159913", ResidentIDInfo{"431302", time.Date(1985, 6, 15, 0, 0, 0, 0, time.UTC), "991", SexMale}},
		{"440524188001010014", ResidentIDInfo{"440524", time.Date(1880, 1, 1, 0, 0, 0, 0, time.UTC), "001", SexMale}},
	}
	for _, tt := range tests {
		got, err := ParseResidentID(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ParseResidentID(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
	if _, err := ParseResidentID("11010519491231002x"); !errors.Is(err, ErrNotCanonical) {
		t.Errorf("lower-case x: err = %v", err)
	}
}

func FuzzResidentID(f *testing.F) {
	v := loadVectors(f)
	for _, s := range vectorValues(v.IDValid, v.IDInvalid, v.IDEdge) {
		f.Add(s)
	}
	for _, s := range []string{"", "431302850615991", " 11010519491231002x ", "１１０１０５１９４９１２３１００２ｘ", "43130219850615991\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		err := checkResidentID(s, testToday)
		if err == nil {
			want, cerr := ResidentIDCheckChar(s[:17])
			if cerr != nil || want != s[17] {
				t.Fatalf("%q valid but check recomputes to %q, %v", s, want, cerr)
			}
			info, perr := parseResidentID(s, testToday)
			if perr != nil || info.AreaCode != s[:6] || info.BirthDate.Format("20060102") != s[6:14] {
				t.Fatalf("%q valid but parses to %+v, %v", s, info, perr)
			}
		}
		// A valid body with a recomputed check char fails only for reasons
		// other than the check.
		if len(s) == 18 && allDigits(s[:17]) && (isDigit(s[17]) || s[17] == 'X') {
			c, _ := ResidentIDCheckChar(s[:17])
			if err := checkResidentID(s[:17]+string(c), testToday); errors.Is(err, ErrCheckChar) {
				t.Fatalf("recomputed check still wrong for %q: %v", s, err)
			}
			if (c == s[17]) == errors.Is(err, ErrCheckChar) {
				t.Fatalf("%q: check matches=%v but err=%v", s, c == s[17], err)
			}
		}
		n, nerr := normalizeResidentID(s, testToday)
		if nerr == nil {
			if err := checkResidentID(n, testToday); err != nil {
				t.Fatalf("normalize(%q) = %q, which is invalid: %v", s, n, err)
			}
			if n2, err := normalizeResidentID(n, testToday); err != nil || n2 != n {
				t.Fatalf("normalize not idempotent: %q -> %q -> %q, %v", s, n, n2, err)
			}
		}
		if err == nil && (nerr != nil || n != s) {
			t.Fatalf("normalize changed valid %q to %q, %v", s, n, nerr)
		}
	})
}
