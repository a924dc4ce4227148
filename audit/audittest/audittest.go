// Package audittest gives tests of the audit trail what they share: a fresh
// set of chain keys per test, as a hub derives them from its secret.
package audittest

import (
	"crypto/rand"
	"testing"

	"yiku/audit"
	"yiku/cryptosuite"
)

// Keys derives audit keys of the default suite from a random 32-byte
// secret, failing t if the derivation does.
func Keys(t testing.TB) audit.Keys {
	t.Helper()
	return SuiteKeys(t, cryptosuite.Default)
}

// SuiteKeys is Keys for suite.
func SuiteKeys(t testing.TB, suite cryptosuite.Name) audit.Keys {
	t.Helper()
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		t.Fatal(err)
	}
	k, err := audit.DeriveKeys(secret, suite)
	if err != nil {
		t.Fatal(err)
	}
	return k
}
