package objection

import (
	"slices"
	"testing"
)

func TestFlagOf(t *testing.T) {
	open := []Open{{ID: "a", Version: 3}, {ID: "b", Version: 5}}
	cases := []struct {
		version int
		want    []string
	}{
		{2, []string{"a", "b"}}, // an older version is disputed too
		{3, []string{"a", "b"}},
		{4, []string{"b"}},
		{5, []string{"b"}},
		{6, nil}, // the correction carries no flag
	}
	for _, c := range cases {
		f := FlagOf(open, c.version)
		var got []string
		if f != nil {
			got = f.ObjectionIDs
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("FlagOf(v%d) = %v, want %v", c.version, got, c.want)
		}
	}
	if FlagOf(nil, 1) != nil {
		t.Error("no open objection must give no flag")
	}
}

func TestMaskSubject(t *testing.T) {
	for in, want := range map[string]string{
		"431302198506159913": "4313************13",
		"91431302D99002018R": "9143************8R",
		"abc":                "***",
		"abcdefg":            "abcd*fg",
	} {
		if got := maskSubject(in); got != want {
			t.Errorf("maskSubject(%s) = %s, want %s", in, got, want)
		}
	}
}
