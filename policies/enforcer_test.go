package policies_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"yiku/identity"
	"yiku/policies"
	"yiku/storage/storagetest"
)

// TestAPIPolicyMatrix checks the default API policy role by role: each row is
// a call a role makes and whether Casbin allows it. Anything not allowed by a
// policy line is denied.
func TestAPIPolicyMatrix(t *testing.T) {
	db := storagetest.Open(t)
	en, err := policies.NewEnforcer(context.Background(), db.Gorm)
	if err != nil {
		t.Fatal(err)
	}
	principal := func(role identity.Role) identity.Principal {
		p := identity.Principal{ID: "p-" + string(role), Role: role, DepartmentCode: "lx-psb"}
		if err := en.AssignRole(p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var (
		system   = principal(identity.RoleSystem)
		officer  = principal(identity.RoleOfficer)
		reviewer = principal(identity.RoleReviewer)
		admin    = principal(identity.RoleDeptAdmin)
		catalog  = principal(identity.RoleCatalogAdmin)
		citizen  = principal(identity.RoleCitizen)
		nobody   = identity.Principal{ID: "unassigned", Role: identity.RoleCatalogAdmin, DepartmentCode: "lx-psb"}
	)
	tests := []struct {
		who    identity.Principal
		method string
		route  string
		want   bool
	}{
		{system, "GET", "/api/v1/me", true},
		{citizen, "GET", "/api/v1/me", true},
		{nobody, "GET", "/api/v1/me", false}, // no role assigned: deny by default
		{system, "GET", "/api/v1/catalog/resources", true},
		{officer, "GET", "/api/v1/catalog/departments", true},
		{reviewer, "GET", "/api/v1/catalog/resources/:id", true},
		{citizen, "GET", "/api/v1/catalog/resources", true}, // every authenticated principal reads the directory
		{citizen, "POST", "/api/v1/catalog/resources", false},
		{system, "POST", "/api/v1/catalog/resources", false},
		{officer, "POST", "/api/v1/catalog/resources", false},
		{admin, "POST", "/api/v1/catalog/resources", true},
		{admin, "PUT", "/api/v1/catalog/resources/:id", true},
		{admin, "POST", "/api/v1/catalog/departments", false},
		{catalog, "POST", "/api/v1/catalog/departments", true},
		{catalog, "PUT", "/api/v1/catalog/departments/:code", true},
		{reviewer, "POST", "/api/v1/catalog/resources", false},
		{catalog, "POST", "/api/v1/admin/principals", true},
		{admin, "POST", "/api/v1/admin/principals", true},
		{admin, "DELETE", "/api/v1/admin/api-keys/:id", true},
		{admin, "POST", "/api/v1/admin/api-keys/:id/expire", true},
		{catalog, "POST", "/api/v1/admin/api-keys/:id/expire", true},
		{system, "POST", "/api/v1/admin/api-keys/:id/expire", false},
		{officer, "POST", "/api/v1/admin/api-keys/:id/expire", false},
		{reviewer, "POST", "/api/v1/admin/api-keys/:id/expire", false},
		{citizen, "POST", "/api/v1/admin/api-keys/:id/expire", false},
		{admin, "PUT", "/api/v1/admin/principals/:id", false},
		{officer, "GET", "/api/v1/admin/principals", false},
		{system, "POST", "/api/v1/admin/principals/:id/api-keys", false},
		{reviewer, "POST", "/api/v1/admin/principals", false},
		{citizen, "GET", "/api/v1/admin/principals", false},
		{citizen, "GET", "/api/v1/service-items", true},
		{officer, "GET", "/api/v1/service-items/:code", true},
		{catalog, "POST", "/api/v1/service-items", true},
		{catalog, "PUT", "/api/v1/service-items/:code", true},
		{citizen, "GET", "/api/v1/material-types", true},
		{officer, "GET", "/api/v1/material-types/:code", true},
		{catalog, "PUT", "/api/v1/material-types/:code", true},
		{admin, "PUT", "/api/v1/material-types/:code", false},
		{system, "PUT", "/api/v1/material-types/:code", false},
		{officer, "GET", "/api/v1/cases", true},
		{citizen, "GET", "/api/v1/cases", true},
		{citizen, "GET", "/api/v1/cases/:number", true},
		{reviewer, "GET", "/api/v1/cases/:number", true},
		{system, "PATCH", "/api/v1/cases/:number", true},
		{officer, "PATCH", "/api/v1/cases/:number", true},
		{admin, "PATCH", "/api/v1/cases/:number", true},
		{catalog, "PATCH", "/api/v1/cases/:number", false},
		{reviewer, "PATCH", "/api/v1/cases/:number", false},
		{citizen, "PATCH", "/api/v1/cases/:number", false},
		{nobody, "GET", "/api/v1/cases", false},
		{catalog, "DELETE", "/api/v1/service-items/:code", true},
		{admin, "POST", "/api/v1/service-items", false},
		{officer, "PUT", "/api/v1/service-items/:code", false},
		{officer, "POST", "/api/v1/lookups", true},
		{system, "POST", "/api/v1/lookups", true},
		{admin, "POST", "/api/v1/lookups", false},
		{reviewer, "POST", "/api/v1/lookups", false},
		{citizen, "POST", "/api/v1/lookups", false},
		{catalog, "POST", "/api/v1/lookups", false},
		{officer, "POST", "/api/v1/materials", true},
		{officer, "GET", "/api/v1/materials/:id/content", true},
		{officer, "POST", "/api/v1/materials/:id/supersede", true},
		{system, "GET", "/api/v1/materials", true},
		{system, "POST", "/api/v1/materials", false},
		{reviewer, "GET", "/api/v1/materials/:id", true},
		{reviewer, "POST", "/api/v1/materials", false},
		{citizen, "GET", "/api/v1/materials", true},
		{citizen, "POST", "/api/v1/materials/:id/supersede", false},
		{admin, "POST", "/api/v1/materials", false},
		{admin, "GET", "/api/v1/materials", false},
		{catalog, "GET", "/api/v1/materials", false},
		{citizen, "POST", "/api/v1/material-removal-requests", true},
		{officer, "POST", "/api/v1/material-removal-requests", true},
		{officer, "GET", "/api/v1/material-removal-requests", false},
		{officer, "POST", "/api/v1/material-removal-requests/:id/approve", false},
		{citizen, "POST", "/api/v1/material-removal-requests/:id/approve", false},
		{catalog, "GET", "/api/v1/material-removal-requests", true},
		{catalog, "POST", "/api/v1/material-removal-requests/:id/approve", true},
		{catalog, "POST", "/api/v1/material-removal-requests/:id/reject", true},
		{reviewer, "GET", "/api/v1/material-removal-requests", true},
		{reviewer, "POST", "/api/v1/material-removal-requests/:id/reject", false},
		{admin, "POST", "/api/v1/material-removal-requests", false},
		// Share requests and grants: department admins apply and decide; the
		// e-government office and reviewers watch; systems read grants only.
		{admin, "POST", "/api/v1/share-requests", true},
		{admin, "POST", "/api/v1/share-requests/:id/approve", true},
		{catalog, "GET", "/api/v1/share-requests/overdue", true},
		{admin, "GET", "/api/v1/share-requests/mine", true},
		{admin, "GET", "/api/v1/share-requests/to-me", true},
		{admin, "GET", "/api/v1/share-requests/overdue", true},
		{admin, "GET", "/api/v1/share-requests/:id", true},
		{admin, "GET", "/api/v1/share-requests/:id/history", true},
		{admin, "POST", "/api/v1/share-requests/:id/withdraw", true},
		// Every department's requests: the e-government office and reviewers only.
		{catalog, "GET", "/api/v1/share-requests/all", true},
		{reviewer, "GET", "/api/v1/share-requests/all", true},
		{admin, "GET", "/api/v1/share-requests/all", false},
		{officer, "GET", "/api/v1/share-requests/all", false},
		{system, "GET", "/api/v1/share-requests/all", false},
		{citizen, "GET", "/api/v1/share-requests/all", false},
		{catalog, "POST", "/api/v1/share-requests/:id/approve", false},
		{system, "POST", "/api/v1/share-requests", false},
		{officer, "POST", "/api/v1/share-requests", false},
		{citizen, "GET", "/api/v1/share-requests/mine", false},
		{admin, "POST", "/api/v1/grants/:id/revoke", true},
		{system, "POST", "/api/v1/grants/:id/revoke", false},
		{reviewer, "GET", "/api/v1/grants", true},
		{system, "GET", "/api/v1/access", true},
		{citizen, "GET", "/api/v1/access", false},
		// Exchange: systems publish and read, officers read, nobody else writes.
		{system, "POST", "/api/v1/resources/:resource/records", true},
		{system, "DELETE", "/api/v1/resources/:resource/records/:subject", true},
		{officer, "GET", "/api/v1/resources/:resource/records/:subject", true},
		{officer, "POST", "/api/v1/resources/:resource/records", false},
		{admin, "POST", "/api/v1/resources/:resource/records", false},
		{reviewer, "GET", "/api/v1/resources/:resource/records/:subject", false},
		{citizen, "GET", "/api/v1/resources/:resource/records/:subject", false},
		{catalog, "GET", "/api/v1/resources/:resource/records/:subject", false},
		{system, "POST", "/api/v1/subscriptions", true},
		{officer, "POST", "/api/v1/subscriptions", false},
		{catalog, "GET", "/api/v1/exchange/status", true},
		{officer, "GET", "/api/v1/exchange/status", false},
		// Kafka principals: admins manage a department's Kafka ingress
		// credentials; systems rotate their egress subscription's.
		{catalog, "POST", "/api/v1/departments/:code/kafka-ingress", true},
		{admin, "POST", "/api/v1/departments/:code/kafka-ingress", true},
		{admin, "POST", "/api/v1/departments/:code/kafka-ingress/rotate", true},
		{admin, "DELETE", "/api/v1/departments/:code/kafka-ingress", true},
		{catalog, "GET", "/api/v1/departments/:code/kafka-ingress", true},
		{system, "POST", "/api/v1/departments/:code/kafka-ingress", false},
		{system, "GET", "/api/v1/departments/:code/kafka-ingress", false},
		{officer, "POST", "/api/v1/departments/:code/kafka-ingress", false},
		{reviewer, "DELETE", "/api/v1/departments/:code/kafka-ingress", false},
		{citizen, "GET", "/api/v1/departments/:code/kafka-ingress", false},
		{system, "POST", "/api/v1/subscriptions/:id/kafka-credentials/rotate", true},
		{officer, "POST", "/api/v1/subscriptions/:id/kafka-credentials/rotate", false},
		// Dead letters: the publishing department's systems and admins.
		{system, "GET", "/api/v1/dead-letters", true},
		{system, "POST", "/api/v1/dead-letters/:id/replay", true},
		{admin, "POST", "/api/v1/dead-letters/:id/replay", true},
		{officer, "GET", "/api/v1/dead-letters", false},
		{reviewer, "POST", "/api/v1/dead-letters/:id/replay", false},
		// Objections: readers raise, providers answer, the office follows.
		{officer, "POST", "/api/v1/objections", true},
		{system, "POST", "/api/v1/objections", true},
		{admin, "POST", "/api/v1/objections/:id/reject", true},
		{officer, "POST", "/api/v1/objections/:id/withdraw", true},
		{catalog, "GET", "/api/v1/objections/overdue", true},
		{reviewer, "GET", "/api/v1/objections/:id/history", true},
		{catalog, "POST", "/api/v1/objections", false},
		{catalog, "POST", "/api/v1/objections/:id/reject", false},
		{reviewer, "POST", "/api/v1/objections", false},
		{citizen, "POST", "/api/v1/objections", false},
		{citizen, "GET", "/api/v1/objections/mine", false},
		// Federation: the office manages peerings, reviewers follow;
		// department admins mark upward and file cross-level requests.
		{catalog, "GET", "/api/v1/federation", true},
		{reviewer, "GET", "/api/v1/federation", true},
		{admin, "GET", "/api/v1/federation", false},
		{catalog, "POST", "/api/v1/federation/peerings", true},
		{catalog, "POST", "/api/v1/federation/peerings/:id/approve", true},
		{catalog, "POST", "/api/v1/federation/peerings/:id/suspend", true},
		{reviewer, "GET", "/api/v1/federation/peerings/:id", true},
		{reviewer, "POST", "/api/v1/federation/peerings/:id/end", false},
		{admin, "POST", "/api/v1/federation/peerings", false},
		{admin, "GET", "/api/v1/federation/peerings", false},
		{officer, "GET", "/api/v1/federation/peerings", false},
		{admin, "PUT", "/api/v1/federation/upward/:resource", true},
		{admin, "DELETE", "/api/v1/federation/upward/:resource", true},
		{catalog, "PUT", "/api/v1/federation/upward/:resource", true},
		{reviewer, "GET", "/api/v1/federation/upward", true},
		{reviewer, "PUT", "/api/v1/federation/upward/:resource", false},
		{system, "PUT", "/api/v1/federation/upward/:resource", false},
		{officer, "GET", "/api/v1/federation/directory", true},
		{system, "GET", "/api/v1/federation/directory", true},
		{citizen, "GET", "/api/v1/federation/directory", false},
		{admin, "POST", "/api/v1/federation/share-requests", true},
		{catalog, "GET", "/api/v1/federation/share-requests", true},
		{catalog, "POST", "/api/v1/federation/share-requests", false},
		{officer, "POST", "/api/v1/federation/share-requests", false},
		{citizen, "GET", "/api/v1/federation/share-requests", false},
		// Supervision: the office, reviewers, department admins (own lines).
		{catalog, "GET", "/api/v1/supervision/reports", true},
		{reviewer, "GET", "/api/v1/supervision/freshness", true},
		{admin, "GET", "/api/v1/supervision/reports", true},
		{officer, "GET", "/api/v1/supervision/reports", false},
		{system, "GET", "/api/v1/supervision/freshness", false},
		{citizen, "GET", "/api/v1/supervision/reports", false},
		// Audit: reviewers only; citizens see who read their own data.
		{reviewer, "GET", "/api/v1/audit/events", true},
		{reviewer, "GET", "/api/v1/audit/anomalies", true},
		{catalog, "GET", "/api/v1/audit/events", false},
		{admin, "GET", "/api/v1/audit/events", false},
		{officer, "GET", "/api/v1/audit/events", false},
		{reviewer, "POST", "/api/v1/audit/events", false},
		{reviewer, "GET", "/api/v1/audit/events/ev-1", true},
		{officer, "GET", "/api/v1/audit/events/ev-1", false},
		{reviewer, "POST", "/api/v1/audit/verifications", true},
		{reviewer, "GET", "/api/v1/audit/verifications/v-1", true},
		{catalog, "POST", "/api/v1/audit/verifications", false},
		{admin, "POST", "/api/v1/audit/verifications", false},
		{officer, "POST", "/api/v1/audit/verifications", false},
		{reviewer, "POST", "/api/v1/audit/verifications/v-1", false},
		{catalog, "GET", "/api/v1/stats/reuse", true},
		{officer, "GET", "/api/v1/stats/reuse", false},
		{citizen, "GET", "/api/v1/my-data-access", true},
		{reviewer, "GET", "/api/v1/my-data-access", true},
		{officer, "GET", "/api/v1/my-data-access", false},
	}
	for _, tc := range tests {
		t.Run(fmt.Sprintf("%s %s %s", tc.who.Role, tc.method, tc.route), func(t *testing.T) {
			got, err := en.Allowed(tc.who, tc.route, tc.method)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("allowed = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestRolesAreScopedToTheDepartment: a role assigned in one department does
// not apply when the principal's department differs.
func TestRolesAreScopedToTheDepartment(t *testing.T) {
	db := storagetest.Open(t)
	en, err := policies.NewEnforcer(context.Background(), db.Gorm)
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{ID: "x", Role: identity.RoleDeptAdmin, DepartmentCode: "lx-psb"}
	if err := en.AssignRole(p); err != nil {
		t.Fatal(err)
	}
	moved := p
	moved.DepartmentCode = "lx-amr"
	if ok, _ := en.Allowed(moved, "/api/v1/catalog/resources", "POST"); ok {
		t.Fatal("role from lx-psb applied in lx-amr")
	}
	if err := en.RemoveRoles(p); err != nil {
		t.Fatal(err)
	}
	if ok, _ := en.Allowed(p, "/api/v1/catalog/resources", "POST"); ok {
		t.Fatal("removed role still applies")
	}
}

// TestDefaultPolicySyncIsIdempotent: a second enforcer on the same database
// (another hub instance starting) neither duplicates nor loses rules.
func TestDefaultPolicySyncIsIdempotent(t *testing.T) {
	db := storagetest.Open(t)
	for i := 0; i < 2; i++ {
		if _, err := policies.NewEnforcer(context.Background(), db.Gorm); err != nil {
			t.Fatal(err)
		}
	}
	rules, err := policies.DefaultAPIRules()
	if err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.Gorm.Raw("SELECT count(*) FROM casbin_rule WHERE ptype = 'p'").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if int(n) != len(rules) {
		t.Fatalf("stored p rules = %d, want %d", n, len(rules))
	}
}

// Decisions are remembered, but a role change takes effect on the next call.
func TestRememberedDecisionsFollowRoleChanges(t *testing.T) {
	db := storagetest.Open(t)
	en, err := policies.NewEnforcer(context.Background(), db.Gorm)
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{ID: "p-memo", Role: identity.RoleCatalogAdmin, DepartmentCode: "lx-psb"}
	allowed := func(want bool) {
		t.Helper()
		for i := 0; i < 2; i++ { // the second answer comes from the memo
			ok, err := en.Allowed(p, "/api/v1/catalog/departments", "POST")
			if err != nil || ok != want {
				t.Fatalf("call %d: allowed = %v, %v; want %v", i, ok, err, want)
			}
		}
	}
	allowed(false)
	if err := en.AssignRole(p); err != nil {
		t.Fatal(err)
	}
	allowed(true)
	if err := en.RemoveRoles(p); err != nil {
		t.Fatal(err)
	}
	allowed(false)
	if err := en.AssignRole(p); err != nil {
		t.Fatal(err)
	}
	allowed(true)
	if err := en.Reload(); err != nil {
		t.Fatal(err)
	}
	allowed(true)
}

// A role given on another instance while this one was starting — after its
// first load, before its watcher first looked — still reaches it: the
// watcher compares the database with what was loaded, not with what it saw
// when it started.
func TestRoleWatcherSeesAChangeMadeWhileStarting(t *testing.T) {
	db := storagetest.Open(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := policies.NewEnforcer(ctx, db.Gorm)
	if err != nil {
		t.Fatal(err)
	}
	b, err := policies.NewEnforcer(ctx, db.Gorm) // b has loaded the rules
	if err != nil {
		t.Fatal(err)
	}
	p := identity.Principal{ID: "p-late", Role: identity.RoleSystem, DepartmentCode: "lx-psb"}
	if err := a.AssignRole(p); err != nil { // before b's watcher runs
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = (&policies.RoleWatcher{Enforcer: b, Interval: 20 * time.Millisecond, Log: slog.New(slog.DiscardHandler)}).Run(ctx)
	}()
	deadline := time.Now().Add(5 * time.Second)
	for {
		ok, err := b.Allowed(p, "/api/v1/me", "GET")
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the role given while b was starting never reached b")
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	<-done // the watcher ends with its context
}
