package identity_test

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yiku/cryptosuite"
	"yiku/identity"
	"yiku/storage/storagetest"
)

// TestTokensFollowTheSuite: a hub on the sm suite signs tokens with SM2 and
// accepts them; a token signed with the other suite's key is refused, and
// the same holds the other way round.
func TestTokensFollowTheSuite(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Open(t)
	store := identity.NewStore(db.Gorm)
	if _, err := store.CreateDepartment(ctx, identity.Department{Code: "egov", Name: "电子政务办公室", Level: identity.LevelDistrict, DivisionCode: "431302"}); err != nil {
		t.Fatal(err)
	}
	p, err := store.CreatePrincipal(ctx, identity.Principal{Name: "reviewer", Kind: identity.KindPerson, Role: identity.RoleReviewer, DepartmentCode: "egov"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	auths := map[cryptosuite.Name]*identity.Authenticator{}
	for _, name := range cryptosuite.Names() {
		s := cryptosuite.Must(name)
		key, err := identity.LoadOrCreateKey(filepath.Join(dir, string(name)+".pem"), s, true)
		if err != nil {
			t.Fatal(err)
		}
		auths[name] = identity.NewAuthenticator(store, s, key, time.Hour)
	}
	for name, a := range auths {
		tok, _, err := a.IssueToken(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		header, _ := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		if want := `"alg":"` + cryptosuite.Must(name).TokenAlg() + `"`; !strings.Contains(string(header), want) {
			t.Fatalf("%s token header %s, want %s", name, header, want)
		}
		got, err := a.Authenticate(ctx, tok)
		if err != nil || got.ID != p.ID {
			t.Fatalf("%s token refused by its own suite: %v", name, err)
		}
		for other, b := range auths {
			if other == name {
				continue
			}
			if _, err := b.Authenticate(ctx, tok); err == nil {
				t.Fatalf("a %s token is accepted by the %s suite", name, other)
			}
		}
	}
	// The sm suite refuses to load an Ed25519 key file, and vice versa.
	if _, err := identity.LoadOrCreateKey(filepath.Join(dir, "default.pem"), cryptosuite.Must(cryptosuite.SM), false); err == nil {
		t.Fatal("the sm suite loaded an Ed25519 key")
	}
}

// TestWorldReadableKeyIsRefused: whoever reads the token key can mint
// tokens for anyone, so a key file others may read stops the hub.
func TestWorldReadableKeyIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jwt.pem")
	s := cryptosuite.Must(cryptosuite.Default)
	if _, err := identity.LoadOrCreateKey(path, s, true); err != nil {
		t.Fatal(err)
	}
	if _, err := identity.LoadOrCreateKey(path, s, false); err != nil {
		t.Fatalf("a 0600 key is refused: %v", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := identity.LoadOrCreateKey(path, s, false)
	if err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Fatalf("a 0644 key: err = %v", err)
	}
}
