package identityapi_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"yiku/demo"
	"yiku/hub/hubtest"
	"yiku/identity"
)

type errorBody struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

// A principal disabling itself must confirm it, and the last active catalog
// admin cannot be disabled at all, confirmed or not.
func TestDisablePrincipalSelfAndLastCatalogAdmin(t *testing.T) {
	h := hubtest.Start(t)
	id := func(name string) string {
		t.Helper()
		p, err := h.Auth.Store().PrincipalByName(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		return p.ID
	}
	catalogAdmin := id("catalog-admin")

	// Create a second catalog admin, so the first one is no longer the last.
	var second identity.Principal
	create := func() {
		r := h.Do(http.MethodPost, "/api/v1/admin/principals", "catalog-admin",
			map[string]string{"name": "catalog-admin-2", "kind": "person", "role": "catalog_admin", "department_code": demo.DeptEGov})
		if r.Status != http.StatusCreated {
			t.Fatalf("create second catalog admin: %d %s", r.Status, r.Body)
		}
		r.JSON(t, &second)
	}

	steps := []struct {
		name     string
		before   func()
		as, path string
		status   int
		code     string
	}{
		{name: "a department admin disables itself unconfirmed", as: "admin-psb", path: id("admin-psb") + "/disable",
			status: http.StatusBadRequest, code: "confirmation_required"},
		{name: "confirm with another word", as: "admin-psb", path: id("admin-psb") + "/disable?confirm=yes",
			status: http.StatusBadRequest, code: "confirmation_required"},
		{name: "the last catalog admin disables itself unconfirmed", as: "catalog-admin", path: catalogAdmin + "/disable",
			status: http.StatusBadRequest, code: "confirmation_required"},
		{name: "the last catalog admin disables itself confirmed", as: "catalog-admin", path: catalogAdmin + "/disable?confirm=self",
			status: http.StatusConflict, code: "last_catalog_admin"},
		{name: "a department admin disables itself confirmed", as: "admin-psb", path: id("admin-psb") + "/disable?confirm=self",
			status: http.StatusNoContent},
		{name: "one of two catalog admins disables itself confirmed", before: create, as: "catalog-admin", path: catalogAdmin + "/disable?confirm=self",
			status: http.StatusNoContent},
	}
	for _, st := range steps {
		if st.before != nil {
			st.before()
		}
		r := h.Do(http.MethodPost, "/api/v1/admin/principals/"+st.path, st.as, nil)
		var e errorBody
		if len(r.Body) > 0 {
			r.JSON(t, &e)
		}
		if r.Status != st.status || e.Error.Code != st.code {
			t.Fatalf("%s: %d %s, want %d %q", st.name, r.Status, r.Body, st.status, st.code)
		}
	}
	p, err := h.Auth.Store().Principal(t.Context(), second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.DisabledAt != nil {
		t.Fatal("the remaining catalog admin is disabled")
	}
}

// TestExpireAPIKey: a department admin may expire its own department's
// system keys and no other's; a bad time is a 400 in the one error shape; an
// extension is refused; the key authenticates until its expiry and never
// after; each call is audited as apikey.expire.
func TestExpireAPIKey(t *testing.T) {
	h := hubtest.Start(t)
	sys, err := h.Auth.Store().PrincipalByName(t.Context(), "psb-system")
	if err != nil {
		t.Fatal(err)
	}
	issue := func(expiresIn string) identity.IssuedKey {
		t.Helper()
		r := h.Do(http.MethodPost, "/api/v1/admin/principals/"+sys.ID+"/api-keys", "admin-psb", map[string]string{"label": "expiry test", "expires_in": expiresIn})
		if r.Status != http.StatusCreated {
			t.Fatalf("issue: %d %s", r.Status, r.Body)
		}
		var k identity.IssuedKey
		r.JSON(t, &k)
		return k
	}
	k := issue("720h")
	if r := h.DoSecret(http.MethodGet, "/api/v1/me", k.Secret, nil); r.Status != http.StatusOK {
		t.Fatalf("a new key: %d %s", r.Status, r.Body)
	}
	path := "/api/v1/admin/api-keys/" + k.ID + "/expire"
	in2h := time.Now().Add(2 * time.Hour).Truncate(time.Second)
	steps := []struct {
		name   string
		as     string
		body   any
		status int
		code   string
	}{
		{"another department's admin", "admin-amr", map[string]string{}, http.StatusForbidden, ""},
		{"an officer", "officer-gsc", map[string]string{}, http.StatusForbidden, ""},
		{"not a time", "admin-psb", map[string]string{"at": "tomorrow"}, http.StatusBadRequest, "invalid_expiry"},
		{"a date without time", "admin-psb", map[string]string{"at": "2030-01-01"}, http.StatusBadRequest, "invalid_expiry"},
		{"an unknown field", "admin-psb", map[string]string{"when": "now"}, http.StatusBadRequest, "invalid_json"},
		{"in the past", "admin-psb", map[string]string{"at": time.Now().Add(-time.Hour).Format(time.RFC3339)}, http.StatusBadRequest, "expiry_in_past"},
		{"beyond the current expiry", "admin-psb", map[string]string{"at": time.Now().Add(1000 * time.Hour).Format(time.RFC3339)}, http.StatusConflict, "expiry_extension"},
		{"shorten, in China Standard Time", "admin-psb", map[string]string{"at": in2h.In(time.FixedZone("CST", 8*3600)).Format(time.RFC3339)}, http.StatusOK, ""},
	}
	for _, st := range steps {
		r := h.Do(http.MethodPost, path, st.as, st.body)
		var e errorBody
		if r.Status != http.StatusOK && len(r.Body) > 0 {
			r.JSON(t, &e)
		}
		if r.Status != st.status || (st.code != "" && e.Error.Code != st.code) {
			t.Fatalf("%s: %d %s, want %d %q", st.name, r.Status, r.Body, st.status, st.code)
		}
		if r.Status == http.StatusOK {
			var got map[string]any
			r.JSON(t, &got)
			if _, leaked := got["secret"]; leaked {
				t.Fatalf("%s: the answer carries the secret: %s", st.name, r.Body)
			}
			if exp, _ := time.Parse(time.RFC3339, got["expires_at"].(string)); !exp.Equal(in2h) {
				t.Fatalf("%s: expires_at %v, want %v", st.name, got["expires_at"], in2h)
			}
		}
	}
	if r := h.DoSecret(http.MethodGet, "/api/v1/me", k.Secret, nil); r.Status != http.StatusOK {
		t.Fatalf("a key expiring in 2h: %d %s", r.Status, r.Body)
	}
	// Expire now (catalog admin, empty object): refused from then on.
	if r := h.Do(http.MethodPost, path, "catalog-admin", map[string]string{}); r.Status != http.StatusOK {
		t.Fatalf("expire now: %d %s", r.Status, r.Body)
	}
	if r := h.DoSecret(http.MethodGet, "/api/v1/me", k.Secret, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("an expired key: %d %s", r.Status, r.Body)
	}
	if r := h.Do(http.MethodPost, path, "admin-psb", map[string]string{"at": ""}); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "api_key_expired") {
		t.Fatalf("expire an expired key: %d %s", r.Status, r.Body)
	}
	// A revoked key, and an unknown one.
	k2 := issue("")
	if r := h.Do(http.MethodDelete, "/api/v1/admin/api-keys/"+k2.ID, "admin-psb", nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := h.Do(http.MethodPost, "/api/v1/admin/api-keys/"+k2.ID+"/expire", "admin-psb", map[string]string{}); r.Status != http.StatusConflict || !strings.Contains(string(r.Body), "api_key_revoked") {
		t.Fatalf("expire a revoked key: %d %s", r.Status, r.Body)
	}
	if r := h.Do(http.MethodPost, "/api/v1/admin/api-keys/nosuchkey/expire", "admin-psb", map[string]string{}); r.Status != http.StatusNotFound {
		t.Fatalf("unknown key: %d %s", r.Status, r.Body)
	}
	var n int64
	if err := h.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = ? AND principal_name = ?`, "apikey.expire", "admin-psb").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	// Every admin-psb call to the route: five bad requests, one shortening,
	// one on the expired key, one on the revoked, one on the unknown.
	if n != 9 {
		t.Fatalf("%d apikey.expire events by admin-psb, want 9", n)
	}
	if err := h.DB.Gorm.Raw(`SELECT count(*) FROM audit_events WHERE action = ? AND reason = ?`, "apikey.expire", "api key "+k.ID+" of psb-system").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	// The department admin's six calls that reached the key's principal,
	// the catalog admin's and the one on the expired key.
	if n != 8 {
		t.Fatalf("%d apikey.expire events name key %s, want 8", n, k.ID)
	}
}
