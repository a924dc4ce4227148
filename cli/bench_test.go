package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// --delete-topics deletes every topic under the hub's prefix when it stops,
// so it is refused, before anything connects, for a prefix that does not
// say it is a benchmark's: the default prefix is a real hub's.
func TestBenchHubRefusesToDeleteARealPrefix(t *testing.T) {
	dir := t.TempDir()
	_, key, _ := ed25519.GenerateKey(rand.Reader)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	jwt, secret := filepath.Join(dir, "jwt.pem"), filepath.Join(dir, "secret.key")
	_ = os.WriteFile(jwt, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
	s := make([]byte, 32)
	_, _ = rand.Read(s)
	_ = os.WriteFile(secret, []byte(hex.EncodeToString(s)), 0o600)
	for _, prefix := range []string{"", "louxing"} {
		args := []string{"bench", "hub", "--database-url", "postgres://yiku@127.0.0.1:1/none", "--kafka-brokers", "127.0.0.1:1",
			"--jwt-key-file", jwt, "--secret-key-file", secret, "--data-dir", dir, "--delete-topics"}
		if prefix != "" {
			args = append(args, "--topic-prefix", prefix)
		}
		var out, errb bytes.Buffer
		if code := Run(context.Background(), args, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--delete-topics") {
			t.Fatalf("prefix %q: exit %d, stderr %q; want 2 naming --delete-topics", prefix, code, errb.String())
		}
	}
}

// TestBenchLookupsNeedsTheOfficer: bench --lookups refuses, as a usage
// error naming the principal, a credentials file without officer-gsc.
func TestBenchLookupsNeedsTheOfficer(t *testing.T) {
	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	_ = os.WriteFile(creds, []byte(`[{"principal":"psb-system","kind":"api_key","secret":"a"},{"principal":"amr-system","kind":"api_key","secret":"b"},{"principal":"catalog-admin","kind":"token","secret":"c"}]`), 0o600)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"bench", "--hub", "http://127.0.0.1:1", "--credentials", creds, "--lookups", "5"}, &out, &errb)
	if code != 2 || !strings.Contains(errb.String(), "officer-gsc") {
		t.Fatalf("exit %d, stderr %q; want 2 naming officer-gsc", code, errb.String())
	}
}
