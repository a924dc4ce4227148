// Package audittest gives tests of the audit trail what they share: a fresh
// set of chain keys per test, as a hub derives them from its secret.
package audittest

import (
	"crypto/rand"
	"testing"

	"yiku/audit"
)

// Keys derives audit keys from a random 32-byte secret, failing t if the
// derivation does.
func Keys(t testing.TB) audit.Keys {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	k, err := audit.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
