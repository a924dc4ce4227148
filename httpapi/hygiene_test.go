package httpapi_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"

	"yiku/exchange/loadgen"
	"yiku/fault"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

type errorBody struct {
	Error struct {
		Code    string         `json:"code"`
		Message string         `json:"message"`
		Details []fault.Detail `json:"details"`
	} `json:"error"`
}

// TestInputHygiene: invalid UTF-8 and control characters in bodies, query
// parameters, purposes and case numbers are refused with a 400 that names
// where, never stored as U+FFFD; offsets are capped like limits.
func TestInputHygiene(t *testing.T) {
	h := hubtest.Start(t)
	lookupBody := func(caseNo, purpose string) []byte {
		return []byte(`{"applicant":"` + lookupdemo.Citizen + `","service_item":"` + lookupdemo.ItemSocialSecurity +
			`","case_number":"` + caseNo + `","purpose":"` + purpose + `"}`)
	}
	cases := []struct {
		name, method, path, who string
		body                    []byte
		code, field, pointer    string
	}{
		{"purpose with a bad byte", "POST", "/api/v1/lookups", "officer-gsc", lookupBody("LX-1", "社保\xff申领"), "invalid_utf8", "purpose", "/purpose"},
		{"purpose with a lone surrogate", "POST", "/api/v1/lookups", "officer-gsc", lookupBody("LX-1", `社保\ud800`), "invalid_utf8", "purpose", "/purpose"},
		{"case number with a bad byte", "POST", "/api/v1/lookups", "officer-gsc", lookupBody("LX-\xc3", "社保"), "invalid_utf8", "case_number", "/case_number"},
		{"case number with CR LF", "POST", "/api/v1/lookups", "officer-gsc", lookupBody(`LX-1\r\nX: y`, "社保"), "invalid_case_number", "case_number", "/case_number"},
		{"case number with NUL", "POST", "/api/v1/lookups", "officer-gsc", lookupBody(`LX-1\u0000`, "社保"), "invalid_case_number", "case_number", "/case_number"},
		{"purpose with a line feed", "POST", "/api/v1/lookups", "officer-gsc", lookupBody("LX-1", `社保\n申领`), "invalid_purpose", "purpose", "/purpose"},
		{"nested field with a bad byte", "POST", "/api/v1/service-items", "catalog-admin",
			[]byte(`{"code":"x-item","name":"x","department_code":"lx-gsc","applicant_type":"natural_person","materials":[{"code":"m","name":"材` + "\xff" + `料"}]}`),
			"invalid_utf8", "", "/materials/0/name"},
		{"query value with a bad byte", "GET", "/api/v1/catalog/resources?q=%E4%BA", "officer-gsc", nil, "invalid_query", "q", ""},
		{"purpose parameter with NUL", "GET", "/api/v1/resources/population/records/" + lookupdemo.Citizen + "?purpose=a%00b&case_number=LX-1", "officer-gsc", nil, "invalid_query", "purpose", ""},
		{"case number parameter with CR LF", "GET", "/api/v1/resources/population/records/" + lookupdemo.Citizen + "?purpose=x&case_number=LX%0D%0A1", "officer-gsc", nil, "invalid_query", "case_number", ""},
		{"path with a control character", "GET", "/api/v1/resources/population/records/43%0A", "officer-gsc", nil, "invalid_path", "", ""},
		{"huge offset", "GET", "/api/v1/catalog/resources?offset=9223372036854775807", "officer-gsc", nil, "invalid_query", "offset", ""},
		{"offset above the cap", "GET", "/api/v1/catalog/resources?offset=1000001", "officer-gsc", nil, "invalid_query", "offset", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var body any
			if tc.body != nil {
				body = tc.body
			}
			r := h.Do(tc.method, tc.path, tc.who, body)
			var e errorBody
			if err := json.Unmarshal(r.Body, &e); err != nil || r.Status != http.StatusBadRequest || e.Error.Code != tc.code {
				t.Fatalf("%d %s, want 400 %s", r.Status, r.Body, tc.code)
			}
			if len(e.Error.Details) != 1 || e.Error.Details[0].Field != tc.field || e.Error.Details[0].Pointer != tc.pointer {
				t.Fatalf("details %+v, want field %q pointer %q", e.Error.Details, tc.field, tc.pointer)
			}
		})
	}
	// The refused lookups are audited with what they sent, escaped: a NUL
	// must not make the trail (on PostgreSQL) refuse the event.
	var trail struct {
		Events []struct {
			CaseNumber string `json:"case_number"`
		} `json:"events"`
	}
	h.Do("GET", "/api/v1/audit/events?action=lookup&outcome=error", "reviewer", nil).JSON(t, &trail)
	seen := map[string]bool{}
	for _, e := range trail.Events {
		seen[e.CaseNumber] = true
	}
	if !seen[`"LX-1\x00"`] || !seen[`"LX-1\r\nX: y"`] {
		t.Fatalf("audited case numbers %v, want the NUL and CR LF ones escaped", seen)
	}
	if r := h.Do("GET", "/api/v1/catalog/resources?offset=1000000", "officer-gsc", nil); r.Status != http.StatusOK {
		t.Fatalf("offset at the cap: %d %s", r.Status, r.Body)
	}

	// Published records: the bad one is rejected with its index and
	// pointer, the others are accepted.
	rnd := rand.New(rand.NewPCG(1, 2))
	recs := []map[string]any{loadgen.Person(rnd, 1, 0), loadgen.Person(rnd, 2, 0), loadgen.Person(rnd, 3, 0)}
	recs[1]["name"], recs[2]["name"] = "MARK-1", "MARK-2"
	raw, err := json.Marshal(recs)
	if err != nil {
		t.Fatal(err)
	}
	raw = bytes.Replace(raw, []byte("MARK-1"), []byte("张\xff"), 1)
	raw = bytes.Replace(raw, []byte("MARK-2"), []byte(`\udc00`), 1)
	r := h.Do("POST", "/api/v1/resources/population/records", "psb-system", raw)
	var res struct {
		Accepted, Rejected int
		Errors             []struct {
			Index         int
			Pointer, Rule string
		}
	}
	if r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	r.JSON(t, &res)
	if res.Accepted != 1 || res.Rejected != 2 || len(res.Errors) != 2 {
		t.Fatalf("publish result %s", r.Body)
	}
	for i, e := range res.Errors {
		if e.Index != i+1 || e.Pointer != "/name" || e.Rule != "utf8" {
			t.Fatalf("rejection %+v, want record %d /name utf8", e, i+1)
		}
	}
	if strings.Contains(string(r.Body), "\ufffd") {
		t.Fatalf("answer holds U+FFFD: %s", r.Body)
	}
}
