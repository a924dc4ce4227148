package cli

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

	"yiku/audit"
	auditstore "yiku/audit/store"
	"yiku/cryptosuite"
	"yiku/hub/hubtest"
	"yiku/identity"
	"yiku/identity/bootstrap"
	"yiku/storage"
	"yiku/storage/storagetest"
)

// TestAdminInitCreatesTheFirstAdminOnce: on an empty production database
// `yiku admin init` creates the first catalog admin and prints a token that
// authenticates as it; a second run is refused; both are in the audit trail.
func TestAdminInitCreatesTheFirstAdminOnce(t *testing.T) {
	dbURL := storagetest.NewURL(t)
	dir := t.TempDir()
	hubtest.WriteKeys(t, dir, cryptosuite.Default)
	args := []string{"admin", "init", "--database-url", dbURL, "--jwt-key-file", filepath.Join(dir, "jwt.pem"),
		"--secret-key-file", filepath.Join(dir, "secret.key"), "--division-code", "431302", "--name", "first-admin"}
	ctx := context.Background()

	var out, errb bytes.Buffer
	if code := Run(ctx, args, &out, &errb); code != 0 {
		t.Fatalf("first init: exit %d: %s", code, errb.String())
	}
	token := strings.TrimSpace(out.String())
	if strings.Count(token, ".") != 2 {
		t.Fatalf("stdout is not one token: %q", out.String())
	}

	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	suite := cryptosuite.Must(cryptosuite.Default)
	key, err := identity.LoadOrCreateKey(filepath.Join(dir, "jwt.pem"), suite, false)
	if err != nil {
		t.Fatal(err)
	}
	p, err := identity.NewAuthenticator(identity.NewStore(db.Gorm), suite, key, 0).Authenticate(ctx, token)
	if err != nil {
		t.Fatalf("the printed token does not authenticate: %v", err)
	}
	if p.Name != "first-admin" || p.Role != identity.RoleCatalogAdmin || p.DepartmentCode != "egov" {
		t.Fatalf("principal = %+v", p)
	}

	out.Reset()
	errb.Reset()
	if code := Run(ctx, args, &out, &errb); code != 2 {
		t.Fatalf("second init: exit %d, want 2; stdout %q stderr %q", code, out.String(), errb.String())
	}
	if out.Len() != 0 || !strings.Contains(errb.String(), "an active catalog admin exists") {
		t.Fatalf("second init: stdout %q stderr %q", out.String(), errb.String())
	}

	events, err := auditstore.New(db.Gorm).Query(ctx, auditstore.Filter{Action: bootstrap.Action})
	if err != nil {
		t.Fatal(err)
	}
	var outcomes []string
	for _, e := range events {
		outcomes = append(outcomes, string(e.Event().Outcome))
	}
	if len(events) != 2 || !strings.Contains(strings.Join(outcomes, ","), string(audit.Allowed)) || !strings.Contains(strings.Join(outcomes, ","), string(audit.Denied)) {
		t.Fatalf("audit events for %s: %v", bootstrap.Action, outcomes)
	}
}
