package journal_test

import (
	"bytes"
	"context"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"hash"
	"testing"

	"github.com/emmansun/gmsm/sm3"

	"yiku/audit"
	"yiku/audit/journal"
	"yiku/audit/store"
	"yiku/cryptosuite"
	"yiku/storage/storagetest"
)

// TestSubjectHashFollowsTheTrailsFirstSuite: a trail begun under the sm
// suite indexes subjects with HMAC-SM3, one begun under the default suite
// with HMAC-SHA-256 (each computed here with the hash packages directly),
// and a hub switched to the other suite afterwards keeps hashing subjects
// as its trail began, so one search still finds a person across the trail.
func TestSubjectHashFollowsTheTrailsFirstSuite(t *testing.T) {
	ctx := context.Background()
	secret := bytes.Repeat([]byte{7}, 32)
	const id = "43130219900101001X"
	want := map[cryptosuite.Name]string{
		cryptosuite.Default: mac(t, sha256.New, secret, "yiku audit subject hmac v1", id),
		cryptosuite.SM:      mac(t, sm3.New, secret, "yiku audit subject hmac-sm3 v1", id),
	}
	if want[cryptosuite.Default] == want[cryptosuite.SM] {
		t.Fatal("the two suites' hashes coincide")
	}
	for _, first := range cryptosuite.Names() {
		t.Run("begun under "+string(first), func(t *testing.T) {
			db := storagetest.Open(t)
			st := store.New(db.Gorm)
			for i, suite := range []cryptosuite.Name{first, other(first)} {
				k, err := audit.DeriveKeys(secret, suite)
				if err != nil {
					t.Fatal(err)
				}
				j, err := journal.New(ctx, st, k)
				if err != nil {
					t.Fatal(err)
				}
				if got := j.SubjectKey().Suite(); got != first {
					t.Fatalf("journal %d (%s): subjects hashed with %s, want %s", i, suite, got, first)
				}
				if err := j.Record(ctx, audit.Event{Action: "lookup", Subjects: []string{id}, Outcome: audit.Allowed}); err != nil {
					t.Fatal(err)
				}
			}
			var hashes []string
			if err := db.Gorm.Raw(`SELECT DISTINCT subject_hash FROM audit_subjects`).Scan(&hashes).Error; err != nil {
				t.Fatal(err)
			}
			if len(hashes) != 1 || hashes[0] != want[first] {
				t.Fatalf("subject index = %v, want only %s", hashes, want[first])
			}
		})
	}
}

func other(n cryptosuite.Name) cryptosuite.Name {
	if n == cryptosuite.SM {
		return cryptosuite.Default
	}
	return cryptosuite.SM
}

func mac(t *testing.T, h func() hash.Hash, secret []byte, label, subject string) string {
	t.Helper()
	key, err := hkdf.Key(h, secret, nil, label, 32)
	if err != nil {
		t.Fatal(err)
	}
	m := hmac.New(h, key)
	m.Write([]byte(subject))
	return hex.EncodeToString(m.Sum(nil))
}
