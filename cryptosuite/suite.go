// Package cryptosuite owns the hub's cryptographic algorithms. A Suite names
// one coherent set — the hash of the audit chain, the keyed hash (HMAC) of
// subjects, the signature of audit checkpoints and bearer tokens, and the
// authenticated cipher for data at rest — so that callers ask a Suite
// instead of naming an algorithm. The audit chain, its checkpoints and bearer
// tokens do; record content hashes do not yet.
//
// Two suites exist: "default" (SHA-256, HMAC-SHA-256, Ed25519, AES-256-GCM)
// and "sm", the national commercial cryptography algorithms that the
// 密评 assessment (GB/T 39786-2021) expects (SM3 per GB/T 32905, HMAC-SM3,
// SM2 signatures with SM3 per GB/T 32918, SM4-GCM per GB/T 32907). What a
// suite wrote records the suite's name beside it, so a hub switched from one
// suite to the other keeps verifying and reading what the other wrote.
package cryptosuite

import (
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"hash"
	"strings"

	"github.com/emmansun/gmsm/sm3"
)

// Name identifies a suite in configuration and beside everything it wrote.
type Name string

const (
	Default Name = "default"
	SM      Name = "sm"
)

// Names lists the suites, default first.
func Names() []Name { return []Name{Default, SM} }

// Suite is one set of algorithms. The zero Suite is not usable; get one
// with Get or Must.
type Suite struct {
	name    Name
	newHash func() hash.Hash
	signer  signatureScheme
	aead    func(key []byte) (cipher.AEAD, error)
	keySize int
}

// Get returns the suite called name; "" is the default suite, so history
// written before suites were recorded reads as default.
func Get(name string) (Suite, error) {
	switch Name(strings.TrimSpace(name)) {
	case Default, "":
		return Suite{name: Default, newHash: sha256.New, signer: ed25519Scheme{}, aead: aesGCM, keySize: 32}, nil
	case SM:
		return Suite{name: SM, newHash: sm3.New, signer: sm2Scheme{}, aead: sm4GCM, keySize: 16}, nil
	}
	return Suite{}, fmt.Errorf("cryptosuite: unknown suite %q (want %q or %q)", name, Default, SM)
}

// Must is Get for names the program wrote itself.
func Must(name Name) Suite {
	s, err := Get(string(name))
	if err != nil {
		panic(err)
	}
	return s
}

// Name is the suite's name.
func (s Suite) Name() Name { return s.name }

// NewHash returns a fresh hash of the suite (SHA-256 or SM3; both 32 bytes).
func (s Suite) NewHash() hash.Hash { return s.newHash() }

// HashSize is the length of the suite's hash.
const HashSize = 32

// Sum hashes data.
func (s Suite) Sum(data []byte) [HashSize]byte {
	h := s.newHash()
	h.Write(data)
	var out [HashSize]byte
	h.Sum(out[:0])
	return out
}

// MAC returns the suite's keyed hash (HMAC over SHA-256 or SM3) with key.
func (s Suite) MAC(key []byte) hash.Hash { return hmac.New(s.newHash, key) }

// DeriveKey derives n bytes for purpose label from secret with HKDF over the
// suite's hash, so keys for different purposes (and different suites) are
// independent of each other and of the secret.
func (s Suite) DeriveKey(secret []byte, label string, n int) ([]byte, error) {
	k, err := hkdf.Key(s.newHash, secret, nil, label, n)
	if err != nil {
		return nil, fmt.Errorf("cryptosuite %s: derive %q: %w", s.name, label, err)
	}
	return k, nil
}

// CipherKeySize is the key length of the suite's authenticated cipher
// (32 bytes for AES-256, 16 for SM4).
func (s Suite) CipherKeySize() int { return s.keySize }

// AEAD returns the suite's authenticated cipher (AES-256-GCM or SM4-GCM)
// keyed with key, which must be CipherKeySize bytes.
func (s Suite) AEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != s.keySize {
		return nil, fmt.Errorf("cryptosuite %s: cipher key is %d bytes, want %d", s.name, len(key), s.keySize)
	}
	return s.aead(key)
}

// SigningKey derives the suite's signing key deterministically from seed
// (at least 32 bytes of secret material), so every hub instance that shares
// the hub secret signs with the same key.
func (s Suite) SigningKey(seed []byte) (Signer, error) {
	if len(seed) < 32 {
		return nil, fmt.Errorf("cryptosuite %s: signing seed is %d bytes, want at least 32", s.name, len(seed))
	}
	return s.signer.fromSeed(seed)
}

// Verifier returns a verifier for a public key in the suite's encoding (as
// Signer.PublicKey returns it).
func (s Suite) Verifier(pub []byte) (Verifier, error) { return s.signer.verifier(pub) }

// Signer signs messages with one private key.
type Signer interface {
	// Sign signs msg; the suite hashes it as its scheme prescribes (Ed25519
	// signs the message itself; SM2 signs SM3(Z_A ‖ msg)).
	Sign(msg []byte) ([]byte, error)
	// PublicKey is the public key's encoding: 32 bytes for Ed25519, the
	// uncompressed point (65 bytes, 0x04 ‖ x ‖ y) for SM2.
	PublicKey() []byte
	Verifier() Verifier
}

// Verifier checks signatures made by one key.
type Verifier interface {
	Verify(msg, sig []byte) bool
	PublicKey() []byte
}

type signatureScheme interface {
	fromSeed(seed []byte) (Signer, error)
	verifier(pub []byte) (Verifier, error)
}
