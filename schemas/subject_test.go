package schemas

import "testing"

func TestParseSubject(t *testing.T) {
	tests := []struct {
		in   string
		key  string
		kind SubjectKind
		ok   bool
	}{
		{"431302198506159913", "431302198506159913", SubjectPerson, true},
		{" 11010519491231002x ", "11010519491231002X", SubjectPerson, true},
		{"91350100m000100y43", "91350100M000100Y43", SubjectEntity, true},
		{"11431300D99000119F", "11431300D99000119F", SubjectEntity, true},
		{"431302198506159912", "", 0, false}, // wrong check digit
		{"91350100M000100Y44", "", 0, false}, // wrong check char
		{"", "", 0, false},
		{"张三", "", 0, false},
	}
	for _, tc := range tests {
		key, kind, ok := ParseSubject(tc.in)
		if key != tc.key || kind != tc.kind || ok != tc.ok {
			t.Errorf("ParseSubject(%q) = %q, %v, %v; want %q, %v, %v", tc.in, key, kind, ok, tc.key, tc.kind, tc.ok)
		}
	}
}
