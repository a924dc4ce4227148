package audit

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"strings"

	"yiku/cryptosuite"
)

// Keys are the audit trail's key material, derived from the hub secret so
// that every hub instance sharing the secret hashes subjects identically and
// signs checkpoints with the same key.
type Keys struct {
	// Suite is the suite new chains are written with.
	Suite cryptosuite.Name
	// Subject keys the subject hashes: HMAC-SHA-256 or HMAC-SM3. Its suite
	// is the one the trail began with, not necessarily Suite: the subject
	// index must find a person across the whole trail, and the trail keeps
	// no plain ID numbers to rehash after a switch. DeriveKeys gives the
	// key of suite; the journal pins the trail's first suite
	// (WithSubjectSuite).
	Subject    SubjectKey
	subjects   map[cryptosuite.Name]SubjectKey
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
	// The default suite's subject key is the one the trail has always used.
	sk, err := hkdf.Key(sha256.New, secret, nil, "yiku audit subject hmac v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("audit: derive subject key: %w", err)
	}
	smk, err := cryptosuite.Must(cryptosuite.SM).DeriveKey(secret, "yiku audit subject hmac-sm3 v1", 32)
	if err != nil {
		return Keys{}, fmt.Errorf("audit: derive subject key: %w", err)
	}
	k := Keys{Suite: suite, subjects: map[cryptosuite.Name]SubjectKey{
		cryptosuite.Default: {suite: cryptosuite.Default, key: sk},
		cryptosuite.SM:      {suite: cryptosuite.SM, key: smk},
	}}
	k.Subject = k.subjects[suite]
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

// WithSubjectSuite returns k hashing subjects with the subject key of
// suite (the suite the trail began with).
func (k Keys) WithSubjectSuite(suite cryptosuite.Name) (Keys, error) {
	sk, ok := k.subjects[suite]
	if !ok {
		return Keys{}, fmt.Errorf("audit: no subject key of suite %q", suite)
	}
	k.Subject = sk
	return k, nil
}

// SubjectKey keys the HMAC that replaces subjects' ID numbers and credit
// codes in the trail. A reviewer searching by ID number gets the same hash,
// but the trail alone does not reveal whose data was read.
type SubjectKey struct {
	suite cryptosuite.Name
	key   []byte
}

// Suite is the suite whose keyed hash the key is for.
func (k SubjectKey) Suite() cryptosuite.Name { return k.suite }

// Hash returns the keyed hash of a subject key (ID number, credit code,
// licence holder id): HMAC-SHA-256, or HMAC-SM3 for a trail begun under
// the sm suite. Case and surrounding space do not matter: a resident ID's
// check character "x" and "X" hash alike.
func (k SubjectKey) Hash(subject string) string {
	var m hash.Hash
	if k.suite == cryptosuite.SM {
		m = cryptosuite.Must(cryptosuite.SM).MAC(k.key)
	} else {
		m = hmac.New(sha256.New, k.key)
	}
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
