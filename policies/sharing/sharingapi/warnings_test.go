package sharingapi_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"yiku/hub/hubtest"
	"yiku/policies/sharing"
)

// A field set where the birth date would give back the masked ID number's
// hidden digits: the requester, the approver reading the request and the
// approval's answer all carry the warning, and the gate withholds the field.
func TestDerivableIdentifierWarnsRequesterAndApprover(t *testing.T) {
	h := hubtest.Start(t)
	const why = "户籍核验"
	r := h.Do(http.MethodPost, "/api/v1/share-requests", "admin-gsc", map[string]any{
		"resource_id": "population", "fields": []string{"id_number", "birth_date", "sex", "marital_status"},
		"purposes": []string{why}, "legal_basis": "《居民身份证法》第十五条", "service_items": []string{"户籍迁入"},
		"valid_until": time.Now().AddDate(0, 3, 0).UTC().Format(time.RFC3339),
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("apply: %d %s", r.Status, r.Body)
	}
	var req struct {
		ID       string            `json:"id"`
		Warnings []sharing.Warning `json:"warnings"`
	}
	r.JSON(t, &req)
	want := func(who string, ws []sharing.Warning) {
		t.Helper()
		if len(ws) != 1 || ws[0].Code != sharing.WarningDerivableIdentifier || ws[0].Identifier != "id_number" ||
			!slices.Equal(ws[0].Fields, []string{"birth_date"}) || ws[0].Message == "" {
			t.Fatalf("%s: warnings %+v, want derivable_identifier for id_number withholding birth_date", who, ws)
		}
	}
	want("requester", req.Warnings)

	g := h.Do(http.MethodGet, "/api/v1/share-requests/"+req.ID, "admin-psb", nil)
	if g.Status != http.StatusOK {
		t.Fatalf("read request: %d %s", g.Status, g.Body)
	}
	var seen struct {
		Warnings []sharing.Warning `json:"warnings"`
	}
	g.JSON(t, &seen)
	want("approver reading the request", seen.Warnings)

	// Approved with marital status left out: the birth date is still withheld.
	a := h.Do(http.MethodPost, "/api/v1/share-requests/"+req.ID+"/approve", "admin-psb", map[string]any{"reason": "同意", "fields": []string{"id_number", "birth_date", "sex"}})
	if a.Status != http.StatusOK {
		t.Fatalf("approve: %d %s", a.Status, a.Body)
	}
	var ap struct {
		Grant    struct{ ID string }
		Warnings []sharing.Warning `json:"warnings"`
	}
	a.JSON(t, &ap)
	want("approver", ap.Warnings)

	c := check(h, "gsc-system", "population", "purpose="+url.QueryEscape(why))
	if c.Status != http.StatusOK {
		t.Fatalf("access: %d %s", c.Status, c.Body)
	}
	var acc struct {
		GrantID string `json:"grant_id"`
		Fields  []struct {
			Name     string `json:"name"`
			Rule     string `json:"rule"`
			Protects string `json:"protects"`
		} `json:"fields"`
	}
	c.JSON(t, &acc)
	if acc.GrantID != ap.Grant.ID {
		t.Fatalf("access basis %+v, want grant %s", acc, ap.Grant.ID)
	}
	for _, f := range acc.Fields {
		if (f.Name == "birth_date") != (f.Protects == "id_number") || (f.Name == "birth_date" && f.Rule != "redact") {
			t.Errorf("field %+v", f)
		}
	}
}
