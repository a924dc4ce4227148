package lookup_test

import (
	"strings"
	"testing"
	"time"

	"yiku/fault"
	"yiku/lookup"
	"yiku/serviceitem"
)

func TestCertificateOf(t *testing.T) {
	// 2025-03-10 00:30 in Asia/Shanghai is still 2025-03-09 in UTC: the
	// date that counts is Beijing's.
	now := time.Date(2025, 3, 9, 16, 30, 0, 0, time.UTC)
	cases := []struct {
		name, rec, validity string
		err                 bool
	}{
		{"valid, no end", `{"status":"valid"}`, lookup.CertValid, false},
		{"valid until later", `{"status":"valid","valid_until":"2030-01-01"}`, lookup.CertValid, false},
		{"valid through today", `{"status":"valid","valid_until":"2025-03-10"}`, lookup.CertValid, false},
		{"ended yesterday", `{"status":"valid","valid_until":"2025-03-09"}`, lookup.CertExpired, false},
		{"revoked though in date", `{"status":"revoked","valid_until":"2030-01-01"}`, lookup.CertRevoked, false},
		{"marked expired", `{"status":"expired","valid_until":"2030-01-01"}`, lookup.CertExpired, false},
		{"unknown status", `{"status":"suspended"}`, "", true},
		{"bad date", `{"status":"valid","valid_until":"2025-13-01"}`, "", true},
		{"not an object", `[1]`, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := lookup.CertificateOf([]byte(tc.rec), now)
			if (err != nil) != tc.err {
				t.Fatalf("err = %v", err)
			}
			// Errors are logged: they quote no value of the record.
			if err != nil && (strings.Contains(err.Error(), "suspended") || strings.Contains(err.Error(), "2025-13-01")) {
				t.Fatalf("err %q quotes the record", err)
			}
			if c.Validity != tc.validity {
				t.Fatalf("validity = %q, want %q", c.Validity, tc.validity)
			}
		})
	}
}

func TestCheck(t *testing.T) {
	ok := lookup.Request{Applicant: "431302198506159913", ServiceItem: "x-item", CaseNumber: "C-1", Purpose: "社会保障卡申领"}
	cases := []struct {
		name   string
		mutate func(*lookup.Request)
		code   string
		typ    serviceitem.ApplicantType
	}{
		{"person", func(*lookup.Request) {}, "", serviceitem.ApplicantPerson},
		{"lower-case x", func(r *lookup.Request) { r.Applicant = " 11010519491231002x" }, "", serviceitem.ApplicantPerson},
		{"credit code lower case", func(r *lookup.Request) { r.Applicant = "91431302d99002018r" }, "", serviceitem.ApplicantEntity},
		{"check digit", func(r *lookup.Request) { r.Applicant = "431302198506159912" }, "invalid_applicant", ""},
		{"empty applicant", func(r *lookup.Request) { r.Applicant = "" }, "invalid_applicant", ""},
		{"no item", func(r *lookup.Request) { r.ServiceItem = " " }, "service_item_required", ""},
		{"no case", func(r *lookup.Request) { r.CaseNumber = "" }, "case_number_required", ""},
		{"long case", func(r *lookup.Request) { r.CaseNumber = strings.Repeat("1", 65) }, "invalid_case_number", ""},
		{"no purpose", func(r *lookup.Request) { r.Purpose = "" }, "purpose_required", ""},
		{"long purpose", func(r *lookup.Request) { r.Purpose = strings.Repeat("事", 101) }, "invalid_purpose", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := ok
			tc.mutate(&r)
			got, typ, err := lookup.Check(r)
			if tc.code != "" {
				fe, isFault := fault.As(err)
				if !isFault || fe.Kind != fault.Invalid || fe.Code != tc.code {
					t.Fatalf("err = %v, want %s", err, tc.code)
				}
				return
			}
			if err != nil || typ != tc.typ || got.Applicant != strings.ToUpper(strings.TrimSpace(got.Applicant)) {
				t.Fatalf("got %+v %s %v", got, typ, err)
			}
		})
	}
}

// FuzzApplicant: any input either fails with a client error or yields an
// 18-character normal form that is itself accepted unchanged.
func FuzzApplicant(f *testing.F) {
	for _, s := range []string{"431302198506159913", "11010519491231002x", "91431302D99002018R", " 91431302d99002018r ", "", "中文", "431302198506159912"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, typ, err := lookup.Applicant(s)
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("non-client error %v", err)
			}
			return
		}
		if len(n) != 18 || typ == "" {
			t.Fatalf("normal form %q (%s)", n, typ)
		}
		again, typ2, err := lookup.Applicant(n)
		if err != nil || again != n || typ2 != typ {
			t.Fatalf("normal form %q not stable: %q %s %v", n, again, typ2, err)
		}
	})
}

func TestTakesUpload(t *testing.T) {
	photo := serviceitem.Material{Code: "photo", Type: "id-photo"}
	identity := serviceitem.Material{Code: "identity", Type: "resident-id-card", Resource: "population"}
	cases := []struct {
		m    serviceitem.Material
		mr   lookup.MaterialResult
		want bool
	}{
		{photo, lookup.MaterialResult{Code: "photo", Status: lookup.NotAvailable}, true},
		{photo, lookup.MaterialResult{Code: "photo", Status: lookup.NotAvailable, Source: lookup.SourceMaterialLibrary, Upload: &lookup.Upload{Validity: "expired"}}, true},
		{photo, lookup.MaterialResult{Code: "photo", Status: lookup.NotPermitted}, true},
		{photo, lookup.MaterialResult{Code: "photo", Status: lookup.Supplied, Source: lookup.SourceMaterialLibrary}, false},
		{photo, lookup.MaterialResult{Code: "other", Status: lookup.NotAvailable}, false},
		// The library supplies it or not; an upload would not be reused.
		{identity, lookup.MaterialResult{Code: "identity", Status: lookup.NotAvailable}, false},
		{identity, lookup.MaterialResult{Code: "identity", Status: lookup.Supplied}, false},
	}
	for i, c := range cases {
		if got := lookup.TakesUpload(c.m, c.mr); got != c.want {
			t.Errorf("%d: TakesUpload(%s, %s) = %v", i, c.m.Code, c.mr.Status, got)
		}
	}
}
