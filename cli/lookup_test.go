package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"yiku/hub/hubtest"
	"yiku/lookup"
	"yiku/lookup/lookupdemo"
)

func TestMaterialDetail(t *testing.T) {
	cases := []struct {
		name string
		m    lookup.MaterialResult
		want string
	}{
		{"supplied record", lookup.MaterialResult{Status: lookup.Supplied, Basis: "unconditional", Fields: []string{"id_number", "name"}},
			"unconditional; fields id_number,name"},
		{"valid certificate", lookup.MaterialResult{Status: lookup.Supplied, Basis: "grant:g1",
			Certificate: &lookup.Certificate{Validity: lookup.CertValid, ValidUntil: "2046-03-17"}},
			"certificate VALID (valid until 2046-03-17); grant:g1"},
		{"expired certificate", lookup.MaterialResult{Status: lookup.Supplied, Basis: "unconditional",
			Certificate: &lookup.Certificate{Validity: lookup.CertExpired, ValidUntil: "2026-10-27", Reason: "valid_until 2026-10-27 has passed"}},
			"certificate EXPIRED (valid until 2026-10-27): valid_until 2026-10-27 has passed; unconditional"},
		{"revoked certificate", lookup.MaterialResult{Status: lookup.Supplied, Basis: "unconditional",
			Certificate: &lookup.Certificate{Validity: lookup.CertRevoked, Reason: "revoked by the issuer"}},
			"certificate REVOKED: revoked by the issuer; unconditional"},
		{"not available", lookup.MaterialResult{Status: lookup.NotAvailable, Reason: "not_in_library: the applicant brings it"},
			"not_in_library: the applicant brings it"},
		{"not permitted", lookup.MaterialResult{Status: lookup.NotPermitted, Reason: "no_grant: needs an approved share request"},
			"no_grant: needs an approved share request"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := materialDetail(tc.m); got != tc.want {
				t.Fatalf("detail = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPrintLookup(t *testing.T) {
	res := lookup.Result{Applicant: "431302198506159913", ServiceItem: "social-security-card", ItemName: "社会保障卡申领",
		CaseNumber: "LX-1", Purpose: "社会保障卡申领",
		Materials: []lookup.MaterialResult{
			{Code: "population-record", Name: "户籍信息", Status: lookup.Supplied, Resource: "population", Basis: "unconditional",
				Fields: []string{"id_number"}, Version: 3, Record: json.RawMessage(`{"id_number":"431302********9913"}`)},
			{Code: "photo", Name: "照片", Status: lookup.NotAvailable, Reason: "not_in_library: brought"},
		},
		Summary: map[lookup.Status]int{lookup.Supplied: 1, lookup.NotAvailable: 1}, ToBring: []string{"照片"}}
	var out bytes.Buffer
	if err := printLookup(&out, res, true); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"社会保障卡申领 (social-security-card) for 431302198506159913, case LX-1",
		"MATERIAL", "population-record 户籍信息", "supplied", "population", "unconditional; fields id_number",
		"photo 照片", "not_available", "not_in_library: brought",
		"supplied 1, not available 1, not permitted 0", "the applicant brings: 照片",
		"population-record (population, version 3):", `"id_number": "431302********9913"`,
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	out.Reset()
	res.ToBring = nil
	if err := printLookup(&out, res, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "the applicant brings nothing") || strings.Contains(out.String(), "version 3") {
		t.Errorf("output without records:\n%s", out.String())
	}
}

func TestLookupCommand(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		all := append([]string{"lookup"}, args...)
		all = append(all, "--hub", h.URL)
		if principal != "" {
			all = append(all, "--token", h.Secret(principal))
		}
		code := Run(context.Background(), all, &out, &errb)
		return out.String() + errb.String(), code
	}
	args := []string{"--applicant", lookupdemo.Citizen, "--item", lookupdemo.ItemSocialSecurity, "--case", "LX-SB-CLI-0001", "--purpose", "社会保障卡申领"}

	// The demo records reach the library through Kafka; wait until both
	// library materials are supplied.
	var res lookup.Result
	deadline := time.Now().Add(90 * time.Second)
	for {
		out, code := run("officer-gsc", append(args, "--json")...)
		if code != 0 {
			t.Fatalf("lookup --json: %d %s", code, out)
		}
		res = lookup.Result{}
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("lookup --json output %s: %v", out, err)
		}
		if res.Summary[lookup.Supplied] == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the library did not supply both materials: %s", out)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if res.Summary[lookup.NotAvailable] != 1 || len(res.ToBring) != 1 || res.Applicant != lookupdemo.Citizen {
		t.Fatalf("lookup answer %+v", res)
	}

	out, code := run("officer-gsc", append(args, "--records")...)
	if code != 0 {
		t.Fatalf("lookup: %d %s", code, out)
	}
	for _, want := range []string{"supplied 2, not available 1, not permitted 0", "population", "social-security", "the applicant brings: "} {
		if !strings.Contains(out, want) {
			t.Errorf("table output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, lookupdemo.Citizen+`"`) {
		t.Errorf("a supplied record shows the ID number unmasked:\n%s", out)
	}

	// The street centre has no grant for social security: a refusal, not an error.
	out, code = run("officer-lp", args...)
	if code != 0 || !strings.Contains(out, "not_permitted") || !strings.Contains(out, "not permitted 1") {
		t.Fatalf("lookup without the grant: %d %s", code, out)
	}

	for _, tc := range []struct {
		name      string
		principal string
		args      []string
		code      int
		says      string
	}{
		{"no token", "", args, 2, "--token"},
		{"bad applicant", "officer-gsc", []string{"--applicant", "431302198506159910", "--item", "x", "--case", "c", "--purpose", "p"}, 2, "resident ID number"},
		{"no case number", "officer-gsc", []string{"--applicant", lookupdemo.Citizen, "--item", "x", "--purpose", "p"}, 2, "case_number"},
		{"unknown item", "officer-gsc", []string{"--applicant", lookupdemo.Citizen, "--item", "no-such-item", "--case", "c", "--purpose", "p"}, 1, "404"},
		{"role may not look up", "citizen-demo", args, 1, "403"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, code := run(tc.principal, tc.args...)
			if code != tc.code || !strings.Contains(out, tc.says) {
				t.Fatalf("exit %d, want %d with %q: %s", code, tc.code, tc.says, out)
			}
		})
	}
}
