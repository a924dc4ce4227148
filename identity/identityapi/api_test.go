package identityapi_test

import (
	"net/http"
	"testing"

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
