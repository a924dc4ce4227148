package sharing

import (
	"context"
	"testing"

	"yiku/catalog/seed"
	"yiku/fault"
)

// TestDecideRefusesControlCharacters: a purpose or case number with a
// control character or invalid UTF-8 is refused before any policy question,
// for systems (whose case number is optional) as for people.
func TestDecideRefusesControlCharacters(t *testing.T) {
	f := newFixture(t)
	rd := readers()
	system, officer := rd[0], rd[1]
	for _, tc := range []struct {
		name            string
		r               reader
		purpose, caseNo string
		code            string
	}{
		{"purpose with NUL", system, "户籍\x00核验", "", "invalid_purpose"},
		{"purpose with a line feed", officer, "户籍\n核验", "431302-2026-000123", "invalid_purpose"},
		{"purpose with a bad byte", officer, "户籍\xff", "431302-2026-000123", "invalid_purpose"},
		{"case number with CR LF", officer, "户籍核验", "431302\r\n2026", "invalid_case_number"},
		{"case number with DEL", officer, "户籍核验", "431302\x7f", "invalid_case_number"},
		{"system's optional case number with NUL", system, "户籍核验", "x\x00", "invalid_case_number"},
	} {
		_, err := f.gate.Decide(context.Background(), ReadRequest{Principal: tc.r.p, Resource: f.dir[seed.Population], Action: ActionRead, Purpose: tc.purpose, CaseNumber: tc.caseNo})
		if fe, ok := fault.As(err); !ok || fe.Kind != fault.Invalid || fe.Code != tc.code {
			t.Errorf("%s: %v, want %s", tc.name, err, tc.code)
		}
	}
}
