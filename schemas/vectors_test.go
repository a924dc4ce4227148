package schemas

import (
	"encoding/json"
	"os"
	"testing"
)

// testToday is the reference date of testdata/cn-test-vectors.json ("not
// after 2026-01-01").
var testToday = civilDate{2026, 1, 1}

type vector struct {
	Value  string `json:"value"`
	Valid  bool   `json:"valid"`
	Reason string `json:"reason"`
}

// testVectors mirrors testdata/cn-test-vectors.json, a verbatim copy of the
// project's shared vectors.
type testVectors struct {
	IDValid   []vector `json:"id_number_valid"`
	IDInvalid []vector `json:"id_number_invalid"`
	IDEdge    []vector `json:"id_number_edge_cases"`

	USCCValid   []vector `json:"uscc_valid"`
	USCCInvalid []vector `json:"uscc_invalid"`
	USCCEdge    []vector `json:"uscc_edge_cases"`
}

func loadVectors(tb testing.TB) testVectors {
	tb.Helper()
	raw, err := os.ReadFile("testdata/cn-test-vectors.json")
	if err != nil {
		tb.Fatal(err)
	}
	var v testVectors
	if err := json.Unmarshal(raw, &v); err != nil {
		tb.Fatalf("parse vectors: %v", err)
	}
	if len(v.IDValid) == 0 || len(v.IDInvalid) == 0 || len(v.USCCValid) == 0 || len(v.USCCInvalid) == 0 {
		tb.Fatal("vectors file lacks a section")
	}
	return v
}

func vectorValues(groups ...[]vector) []string {
	var out []string
	for _, g := range groups {
		for _, v := range g {
			out = append(out, v.Value)
		}
	}
	return out
}
