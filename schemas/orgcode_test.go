package schemas

import (
	"errors"
	"testing"
)

func TestOrgCodeCheckChar(t *testing.T) {
	tests := []struct {
		body string
		want byte
		kind error
	}{
		{"M000100Y", '4', nil}, // GB 32100 worked example
		{"D9900011", '9', nil}, // vectors
		{"MA4LD9Q0", '4', nil}, // vectors: edge case expects 4
		{"D9900008", 'X', nil}, // 11 - sum mod 11 = 10
		{"00000000", '0', nil}, // 11 - sum mod 11 = 11
		{"M0001TGQ", 'X', nil}, // Fujian pilot code 91350100M0001TGQXM: passes GB 11714
		{"PDY00001", 'X', nil}, // reserved internal range, still computable
		{"M000100", 0, ErrLength},
		{"M000100y", 0, ErrNotCanonical},
		{"M000100-", 0, ErrCharset},
	}
	for _, tt := range tests {
		got, err := OrgCodeCheckChar(tt.body)
		if got != tt.want || !errors.Is(err, tt.kind) {
			t.Errorf("OrgCodeCheckChar(%q) = %q, %v; want %q, %v", tt.body, got, err, tt.want, tt.kind)
		}
	}
}
