package identity_test

import (
	"context"
	"sync"
	"testing"

	"yiku/fault"
	"yiku/identity"
	"yiku/storage/storagetest"
)

func newStore(t *testing.T) *identity.Store {
	t.Helper()
	db := storagetest.Open(t)
	s := identity.NewStore(db.Gorm)
	if _, err := s.CreateDepartment(context.Background(), identity.Department{Code: "egov", Name: "电子政务办", Level: identity.LevelDistrict}); err != nil {
		t.Fatal(err)
	}
	return s
}

func admin(t *testing.T, s *identity.Store, name string, role identity.Role) identity.Principal {
	t.Helper()
	p, err := s.CreatePrincipal(context.Background(), identity.Principal{Name: name, Kind: identity.KindPerson, Role: role, DepartmentCode: "egov"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// The hub must keep one active catalog admin: only catalog admins appoint
// catalog admins, so without one nobody could administer the directory.
func TestDisablePrincipalKeepsLastCatalogAdmin(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	first := admin(t, s, "admin-one", identity.RoleCatalogAdmin)
	second := admin(t, s, "admin-two", identity.RoleCatalogAdmin)
	reviewer := admin(t, s, "reviewer", identity.RoleReviewer)

	steps := []struct {
		name string
		id   string
		kind fault.Kind
		code string // empty: the disable succeeds
	}{
		{name: "a reviewer", id: reviewer.ID},
		{name: "one of two catalog admins", id: first.ID},
		{"the last catalog admin", second.ID, fault.Conflict, "last_catalog_admin"},
		{"an already disabled catalog admin", first.ID, fault.NotFound, "principal_not_found"},
		{"an unknown principal", "nobody", fault.NotFound, "principal_not_found"},
	}
	for _, st := range steps {
		err := s.DisablePrincipal(ctx, st.id)
		if st.code == "" {
			if err != nil {
				t.Fatalf("disable %s: %v", st.name, err)
			}
			continue
		}
		fe, ok := fault.As(err)
		if !ok || fe.Kind != st.kind || fe.Code != st.code {
			t.Fatalf("disable %s: %v, want %s %s", st.name, err, st.kind, st.code)
		}
	}
	p, err := s.Principal(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if p.DisabledAt != nil {
		t.Fatalf("the last catalog admin was disabled at %v", p.DisabledAt)
	}
}

// Catalog admins disabling one another at the same moment: whatever the
// interleaving, exactly one stays active.
func TestDisablePrincipalConcurrentCatalogAdmins(t *testing.T) {
	ctx := context.Background()
	s := newStore(t)
	const n = 6
	ids := make([]string, n)
	for i := range ids {
		ids[i] = admin(t, s, "admin-"+string(rune('a'+i)), identity.RoleCatalogAdmin).ID
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.DisablePrincipal(ctx, id)
		}()
	}
	wg.Wait()
	refused := 0
	for i, err := range errs {
		if err == nil {
			continue
		}
		if fe, ok := fault.As(err); !ok || fe.Code != "last_catalog_admin" {
			t.Fatalf("disable %s: %v", ids[i], err)
		}
		refused++
	}
	ps, err := s.Principals(ctx, "egov")
	if err != nil {
		t.Fatal(err)
	}
	active := 0
	for _, p := range ps {
		if p.Role == identity.RoleCatalogAdmin && p.DisabledAt == nil {
			active++
		}
	}
	if active != 1 || refused != 1 {
		t.Fatalf("%d catalog admins active and %d refusals after %d concurrent disables, want 1 and 1", active, refused, n)
	}
}
