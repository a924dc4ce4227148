package sharingapi_test

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"yiku/catalog/seed"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/identity"
	"yiku/policies/sharing"
	"yiku/schemas"
)

const purpose = "婚姻状况核验"

type accessAnswer struct {
	Allowed bool   `json:"allowed"`
	Basis   string `json:"basis"`
	GrantID string `json:"grant_id"`
	Fields  []struct {
		Name   string `json:"name"`
		Rule   string `json:"rule"`
		Masked bool   `json:"masked"`
	} `json:"fields"`
}

func check(h *hubtest.Hub, principal, resource, query string) hubtest.Response {
	return h.Do(http.MethodGet, "/api/v1/access/"+resource+"?"+query, principal, nil)
}

func errorCode(t *testing.T, r hubtest.Response) string {
	t.Helper()
	var body httpapi.ErrorBody
	r.JSON(t, &body)
	if body.Error.Code == "" || body.Error.Message == "" || body.Error.RequestID == "" {
		t.Fatalf("error body %s lacks code, message or request id", r.Body)
	}
	return body.Error.Code
}

func wantError(t *testing.T, r hubtest.Response, status int, code string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d (%s), want %d %s", r.Status, r.Body, status, code)
	}
	if got := errorCode(t, r); got != code {
		t.Fatalf("error code %s, want %s (%s)", got, code, r.Body)
	}
}

// TestNeedToShareAcrossInstances walks a conditional resource through the
// whole workflow on two hub instances sharing one database and broker,
// checking access both through the gate ("what may I read") and by reading
// an actual published record from the library: refused with no data before
// applying, exactly the two approved fields (the ID number masked) after
// approval, refused on both instances within 2 s of the revocation.
func TestNeedToShareAcrossInstances(t *testing.T) {
	a := hubtest.Start(t)
	b := hubtest.StartWith(t, hubtest.Options{Share: a})
	q := "purpose=" + url.QueryEscape(purpose)

	// The provider publishes a marriage registration; wait until the
	// library holds it (the provider reads its own records in full).
	subject, spouse := residentID(t, "43130219921103012"), residentID(t, "43130219930512002")
	rec := map[string]any{"registration_number": "J431302-2024-000321", "registration_type": "marriage", "id_number": subject,
		"name": "赵敏", "spouse_id_number": spouse, "spouse_name": "钱伟", "registration_date": "2024-05-20", "registration_office": "娄星区民政局婚姻登记处"}
	if r := a.Do(http.MethodPost, "/api/v1/resources/"+seed.MarriageRegistration+"/records", "civil-system", []map[string]any{rec}); r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	waitFor(t, "the library holds the published record", 30*time.Second, func() bool {
		return readRecord(a, "civil-system", subject, q).Status == http.StatusOK
	})

	// Refused before applying, with no data; input errors first, with the
	// JSON error shape.
	for name, h := range map[string]*hubtest.Hub{"a": a, "b": b} {
		wantRefusedRecord(t, name, readRecord(h, "hrss-system", subject, q), "no_grant", subject, spouse, subject[:6]+"********")
	}
	wantError(t, check(a, "hrss-system", seed.MarriageRegistration, q), http.StatusForbidden, "no_grant")
	wantError(t, check(a, "hrss-system", seed.MarriageRegistration, ""), http.StatusBadRequest, "purpose_required")
	wantError(t, check(a, "officer-gsc", seed.MarriageRegistration, q), http.StatusBadRequest, "case_number_required")
	wantError(t, check(a, "hrss-system", seed.MarriageRegistration, q+"&department=lx-civil"), http.StatusForbidden, "department_mismatch")
	wantError(t, check(a, "hrss-system", seed.PSBCaseRecords, q), http.StatusForbidden, "not_shared")

	// Apply for three fields.
	r := a.Do(http.MethodPost, "/api/v1/share-requests", "admin-hrss", map[string]any{
		"resource_id": seed.MarriageRegistration, "fields": []string{"id_number", "name", "registration_type"},
		"purposes": []string{purpose}, "legal_basis": "《婚姻登记条例》；办理婚育相关政务服务事项",
		"service_items": []string{"生育登记"}, "valid_until": time.Now().Add(30 * 24 * time.Hour).Format(time.RFC3339),
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	var req sharing.Request
	r.JSON(t, &req)
	if req.Status != sharing.RequestPending || req.Deadline.Before(time.Now().Add(10*24*time.Hour)) {
		t.Fatalf("new request %+v: want pending with a deadline 10 working days on", req)
	}
	// Unknown fields are refused by the strict binding.
	if r := a.Do(http.MethodPost, "/api/v1/share-requests", "admin-hrss", `{"resource_id":"x","bogus":1}`); r.Status != http.StatusBadRequest {
		t.Fatalf("unknown field: %d %s", r.Status, r.Body)
	}
	// The provider sees it; the requester cannot approve its own request.
	var inbox struct{ Requests []sharing.Request }
	a.Do(http.MethodGet, "/api/v1/share-requests/to-me", "admin-civil", nil).JSON(t, &inbox)
	pending := 0
	for _, in := range inbox.Requests {
		if in.Status == "pending" {
			pending++
			if in.ID != req.ID {
				t.Fatalf("provider inbox has unexpected pending request %+v", in)
			}
		}
	}
	if pending != 1 {
		t.Fatalf("provider inbox %+v, want pending request %s", inbox.Requests, req.ID)
	}
	wantError(t, a.Do(http.MethodPost, "/api/v1/share-requests/"+req.ID+"/approve", "admin-hrss", map[string]any{}), http.StatusForbidden, "not_provider_admin")

	// The provider approves two of the three fields.
	r = a.Do(http.MethodPost, "/api/v1/share-requests/"+req.ID+"/approve", "admin-civil", map[string]any{
		"fields": []string{"id_number", "registration_type"}, "reason": "姓名不属于该事项所需",
	})
	if r.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", r.Status, r.Body)
	}
	var approved struct {
		Request sharing.Request
		Grant   sharing.Grant
	}
	r.JSON(t, &approved)
	grant := approved.Grant
	if grant.ID == "" || len(grant.Fields) != 2 {
		t.Fatalf("grant %+v: want two fields", grant)
	}

	// Both instances now allow exactly the two fields, the ID number masked.
	for name, h := range map[string]*hubtest.Hub{"a": a, "b": b} {
		var ans accessAnswer
		waitFor(t, name+" allows after approval", 2*time.Second, func() bool {
			r := check(h, "hrss-system", seed.MarriageRegistration, q)
			if r.Status != http.StatusOK {
				return false
			}
			r.JSON(t, &ans)
			return true
		})
		if ans.Basis != "grant:"+grant.ID || len(ans.Fields) != 2 ||
			ans.Fields[0].Name != "id_number" || !ans.Fields[0].Masked || ans.Fields[0].Rule != "id_number" ||
			ans.Fields[1].Name != "registration_type" || ans.Fields[1].Masked {
			t.Fatalf("instance %s: decision %+v, want id_number masked and registration_type as stored", name, ans)
		}
		wantError(t, check(h, "hrss-system", seed.MarriageRegistration, "purpose="+url.QueryEscape("其他事由")), http.StatusForbidden, "purpose_not_granted")

		// The record itself: exactly the two granted fields, the ID number
		// masked (6 + 4 kept), the registration type as stored.
		r := readRecord(h, "hrss-system", subject, q)
		if r.Status != http.StatusOK {
			t.Fatalf("instance %s: read after approval: %d %s", name, r.Status, r.Body)
		}
		var got struct {
			Basis   string   `json:"basis"`
			Fields  []string `json:"fields"`
			Current *struct {
				Record map[string]any `json:"record"`
			} `json:"current"`
		}
		r.JSON(t, &got)
		if got.Basis != "grant:"+grant.ID || len(got.Fields) != 2 || got.Fields[0] != "id_number" || got.Fields[1] != "registration_type" || got.Current == nil {
			t.Fatalf("instance %s: read %s, want basis grant:%s and fields id_number, registration_type", name, r.Body, grant.ID)
		}
		if len(got.Current.Record) != 2 || got.Current.Record["registration_type"] != "marriage" ||
			got.Current.Record["id_number"] != subject[:6]+"********"+subject[14:] {
			t.Fatalf("instance %s: record %v, want only id_number masked to %s and registration_type marriage", name, got.Current.Record, subject[:6]+"********"+subject[14:])
		}
		if bytes.Contains(r.Body, []byte(subject)) || bytes.Contains(r.Body, []byte("赵敏")) || bytes.Contains(r.Body, []byte(spouse)) {
			t.Fatalf("instance %s: read leaks an ungranted or unmasked value: %s", name, r.Body)
		}
		wantRefusedRecord(t, name, readRecord(h, "hrss-system", subject, "purpose="+url.QueryEscape("其他事由")), "purpose_not_granted", subject, spouse, subject[:6]+"********")
	}
	// "What may I read?" names the grant with its fields, purposes and expiry.
	var mine struct {
		Access []sharing.Access `json:"access"`
	}
	a.Do(http.MethodGet, "/api/v1/access", "hrss-system", nil).JSON(t, &mine)
	found := false
	for _, e := range mine.Access {
		if e.ResourceID == seed.MarriageRegistration {
			found = e.GrantID == grant.ID && len(e.Fields) == 2 && e.ExpiresAt != nil && len(e.Purposes) == 1 && e.Purposes[0] == purpose
		}
		if e.ResourceID == seed.PSBCaseRecords {
			t.Fatalf("what may I read lists a not-shared resource: %+v", e)
		}
	}
	if !found {
		t.Fatalf("what may I read: %+v lacks the marriage-registration grant", mine.Access)
	}

	// The provider revokes on instance a; both instances refuse within 2 s.
	start := time.Now()
	if r := a.Do(http.MethodPost, "/api/v1/grants/"+grant.ID+"/revoke", "admin-civil", map[string]any{"reason": "事项已办结"}); r.Status != http.StatusOK {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	gsc := principal(t, a, "hrss-system")
	for name, h := range map[string]*hubtest.Hub{"a": a, "b": b} {
		waitFor(t, name+" refuses after revocation", 2*time.Second-time.Since(start), func() bool {
			return check(h, "hrss-system", seed.MarriageRegistration, q).Status == http.StatusForbidden &&
				readRecord(h, "hrss-system", subject, q).Status == http.StatusForbidden
		})
		wantError(t, check(h, "hrss-system", seed.MarriageRegistration, q), http.StatusForbidden, "grant_revoked")
		wantRefusedRecord(t, name, readRecord(h, "hrss-system", subject, q), "grant_revoked", subject, spouse, subject[:6]+"********")
		res, err := h.Catalog.Resource(context.Background(), seed.MarriageRegistration)
		if err != nil {
			t.Fatal(err)
		}
		_, err = h.Gate.Decide(context.Background(), sharing.ReadRequest{Principal: gsc, Resource: res, Action: sharing.ActionRead, Purpose: purpose})
		if fault.KindOf(err) != fault.Forbidden {
			t.Fatalf("instance %s: gate after revocation: %v, want forbidden", name, err)
		}
	}
	t.Logf("revocation refused on both instances %v after the revoke call", time.Since(start))

	// Every state change is in the history.
	var hist struct{ History []sharing.HistoryEntry }
	a.Do(http.MethodGet, "/api/v1/share-requests/"+req.ID+"/history", "admin-hrss", nil).JSON(t, &hist)
	var actions []string
	for _, e := range hist.History {
		actions = append(actions, e.Action)
		if e.ActorID == "" || e.At.IsZero() {
			t.Fatalf("history entry without actor or time: %+v", e)
		}
	}
	if want := []string{"created", "approved", "granted", "revoked"}; len(actions) != len(want) ||
		actions[0] != want[0] || actions[1] != want[1] || actions[2] != want[2] || actions[3] != want[3] {
		t.Fatalf("history actions %v, want %v", actions, want)
	}
}

// readRecord reads subject's marriage-registration record from the library
// through the record-read endpoint.
func readRecord(h *hubtest.Hub, principal, subject, query string) hubtest.Response {
	return h.Do(http.MethodGet, "/api/v1/resources/"+seed.MarriageRegistration+"/records/"+subject+"?"+query, principal, nil)
}

// wantRefusedRecord checks a refused record read: 403 with the error shape
// and code, and nothing of the record in the body.
func wantRefusedRecord(t *testing.T, instance string, r hubtest.Response, code string, values ...string) {
	t.Helper()
	wantError(t, r, http.StatusForbidden, code)
	for _, v := range append(values, "J431302-2024-000321", "赵敏", "钱伟", `"record"`) {
		if bytes.Contains(r.Body, []byte(v)) {
			t.Fatalf("instance %s: refused read carries record data %q: %s", instance, v, r.Body)
		}
	}
}

// residentID completes a GB 11643 ID number from its first 17 digits.
func residentID(t *testing.T, body17 string) string {
	t.Helper()
	c, err := schemas.ResidentIDCheckChar(body17)
	if err != nil {
		t.Fatal(err)
	}
	return body17 + string(c)
}

func principal(t *testing.T, h *hubtest.Hub, name string) identity.Principal {
	t.Helper()
	p, err := h.Auth.Store().PrincipalByName(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func waitFor(t *testing.T, what string, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		if ok() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
