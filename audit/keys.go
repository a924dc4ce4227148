package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	"yiku/cryptosuite"
)

// Keys are the audit trail's key material, derived from the hub secret so
// that every hub instance sharing the secret hashes subjects identically and
// signs checkpoints with the same key.
type Keys struct {
	// Suite is the suite new chains are written with.
	Suite cryptosuite.Name
	// Subject keys the subject hashes. It stays HMAC-SHA-256 whatever the
	// suite: the subject index must find a person across the whole trail,
	// and the trail keeps no plain ID numbers to rehash after a switch.
	Subject    SubjectKey
	Checkpoint cryptosuite.Signer
	// Trusted are the checkpoint public keys of every suite this secret
	// derives, so a verifier accepts checkpoints written before and after
	// a switch of suite, and no others.
	Trusted [][]byte
}

// DeriveKeys derives the subject HMAC key and the checkpoint signing key
// of suite from secret with HKDF, one label each, so no key reveals another
// or the secret. The default suite's keys are those the trail has always
// used.
func DeriveKeys(secret []byte, suite cryptosuite.Name) (Keys, error) {
	if len(secret) < 32 {
		return Keys{}, fmt.Errorf("audit: secret must be at least 32 bytes, got %d", len(secret))
	}
	s, err := cryptosuite.Get(string(suite))
	if err != nil {
		return Keys{}, fmt.Errorf("audit: %w", err)
	}
	suite = s.Name()
	sk, err := hkdf.Key(sha256.New, secret, nil, "yiku audit subject hmac v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("audit: derive subject key: %w", err)
	}
	k := Keys{Suite: suite, Subject: SubjectKey(sk)}
	for _, name := range cryptosuite.Names() {
		signer, err := checkpointKey(secret, name)
		if err != nil {
			return Keys{}, err
		}
		k.Trusted = append(k.Trusted, signer.PublicKey())
		if name == suite {
			k.Checkpoint = signer
		}
	}
	if k.Checkpoint == nil {
		return Keys{}, fmt.Errorf("audit: unknown suite %q", suite)
	}
	return k, nil
}

func checkpointKey(secret []byte, name cryptosuite.Name) (cryptosuite.Signer, error) {
	s := cryptosuite.Must(name)
	label := "yiku audit checkpoint ed25519 v1"
	if name == cryptosuite.SM {
		label = "yiku audit checkpoint sm2 v1"
	}
	seed, err := s.DeriveKey(secret, label, 32)
	if err != nil {
		return nil, fmt.Errorf("audit: derive checkpoint key: %w", err)
	}
	return s.SigningKey(seed)
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
