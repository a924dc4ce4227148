package audit

import (
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// Keys are the audit trail's key material, derived from the hub secret so
// that every hub instance sharing the secret hashes subjects identically and
// signs checkpoints with the same key.
type Keys struct {
	Subject    SubjectKey
	Checkpoint ed25519.PrivateKey
}

// DeriveKeys derives the subject HMAC key and the checkpoint signing key
// from secret with HKDF-SHA256, one label each, so neither key reveals the
// other or the secret.
func DeriveKeys(secret []byte) (Keys, error) {
	if len(secret) < 32 {
		return Keys{}, fmt.Errorf("audit: secret must be at least 32 bytes, got %d", len(secret))
	}
	sk, err := hkdf.Key(sha256.New, secret, nil, "yiku audit subject hmac v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("audit: derive subject key: %w", err)
	}
	seed, err := hkdf.Key(sha256.New, secret, nil, "yiku audit checkpoint ed25519 v1", ed25519.SeedSize)
	if err != nil {
		return Keys{}, fmt.Errorf("audit: derive checkpoint key: %w", err)
	}
	return Keys{Subject: SubjectKey(sk), Checkpoint: ed25519.NewKeyFromSeed(seed)}, nil
}

// SubjectKey keys the HMAC that replaces subjects' ID numbers and credit
// codes in the trail. A reviewer searching by ID number gets the same hash,
// but the trail alone does not reveal whose data was read.
type SubjectKey []byte

// Hash returns the keyed hash of a subject key (ID number, credit code,
// licence holder id). Case and surrounding space do not matter: a resident
// ID's check character "x" and "X" hash alike.
func (k SubjectKey) Hash(subject string) string {
	m := hmac.New(sha256.New, k)
	m.Write([]byte(NormalizeSubject(subject)))
	return hex.EncodeToString(m.Sum(nil))
}

// HashAll hashes each subject, dropping empty ones and duplicates, keeping order.
func (k SubjectKey) HashAll(subjects []string) []string {
	if len(subjects) == 0 {
		return nil
	}
	seen := make(map[string]bool, len(subjects))
	out := make([]string, 0, len(subjects))
	for _, s := range subjects {
		if NormalizeSubject(s) == "" {
			continue
		}
		h := k.Hash(s)
		if !seen[h] {
			seen[h] = true
			out = append(out, h)
		}
	}
	return out
}

// NormalizeSubject is the form of a subject key that is hashed.
func NormalizeSubject(s string) string { return strings.ToUpper(strings.TrimSpace(s)) }
