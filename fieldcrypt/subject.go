package fieldcrypt

import (
	"context"
	"crypto/cipher"
	"crypto/hmac"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"yiku/cryptosuite"
	"yiku/keyring"
)

// A record's subject key (an ID number, a credit code) routes it: it is
// the Kafka message key that keeps a subject's records in order on one
// partition, and the column the library finds a subject's record by. When
// the catalog marks a resource's subject field sensitive, the hub keys the
// resource's records by a pseudonym of the subject instead:
//
//	ykp1.<key version>.<suite>.<base64url(nonce ‖ ciphertext ‖ tag)>
//
// It is a deterministic encryption of the subject (the SIV construction of
// RFC 5297 with the suite's parts): the nonce is the first 12 bytes of a
// keyed hash (HMAC-SHA-256 or HMAC-SM3) of the subject, and the subject is
// sealed under that nonce with the suite's cipher (AES-256-GCM or
// SM4-GCM). The same subject of the same resource always gets the same
// pseudonym, so ordering, compaction and lookups by subject work unchanged,
// and only equality is revealed; different subjects get different nonces
// (a collision needs about 2^48 subjects), so the cipher never reuses a
// nonce for two plaintexts. Unlike a bare keyed hash the pseudonym opens
// again with the key, so a row read in order of application (a
// subscription's feed) still names its subject to an authorised reader.
//
// Both keys are derived (HKDF, one label each) from the resource's first
// data key, version 1, which is never replaced: a later data key version of
// another suite seals new field values but does not change a subject's
// pseudonym. The resource and the key version are the cipher's additional
// data, so a pseudonym moved to another resource does not open.
const subjectPrefix = "ykp1."

// indexVersion is the data key version the subject index derives from.
const indexVersion = 1

// SealedSubject reports whether a record key is a subject pseudonym. The
// hub refuses subject keys that merely look like one (exchange), so every
// key with the prefix is one it made.
func SealedSubject(key string) bool { return strings.HasPrefix(key, subjectPrefix) }

// SubjectPrefix is the prefix that marks subject pseudonyms, reserved in
// subject keys.
const SubjectPrefix = subjectPrefix

type subjectIndex struct {
	version int
	suite   cryptosuite.Name
	mac     keyring.DataKey
	aead    cipher.AEAD
}

// SealSubject returns the pseudonym that records of resource about subject
// are keyed by, making the resource's first data key if it has none.
func (c *Cipher) SealSubject(ctx context.Context, resource, subject string) (string, error) {
	ix, err := c.indexKey(ctx, resource, true)
	if err != nil {
		return "", err
	}
	return ix.seal(resource, subject), nil
}

// FindSubject returns the pseudonym subject's records of resource would be
// keyed by, or "" when the resource has no data key yet (and so no record
// keyed by a pseudonym). Unlike SealSubject it never makes a key: it is on
// the read paths.
func (c *Cipher) FindSubject(ctx context.Context, resource, subject string) (string, error) {
	ix, err := c.indexKey(ctx, resource, false)
	if err != nil || ix == nil {
		return "", err
	}
	return ix.seal(resource, subject), nil
}

// OpenSubject returns the subject of a pseudonym of resource. A key that is
// not a pseudonym is returned as it is. A pseudonym that is malformed,
// altered, moved from another resource or not the canonical pseudonym of
// its subject is refused with ErrSealed.
func (c *Cipher) OpenSubject(ctx context.Context, resource, key string) (string, error) {
	if !SealedSubject(key) {
		return key, nil
	}
	bad := func(err error) (string, error) {
		return "", fmt.Errorf("fieldcrypt: %s subject key: %w", resource, err)
	}
	s, _, err := parseWithPrefix(nil, []byte(key), subjectPrefix)
	if err != nil {
		return bad(err)
	}
	ix, err := c.indexKey(ctx, resource, false)
	if err != nil {
		return "", err
	}
	if s.Version != indexVersion {
		return bad(ErrSealed)
	}
	if ix == nil {
		return bad(ErrNoKey)
	}
	if s.Suite != ix.suite {
		return bad(ErrSealed)
	}
	plain, err := ix.aead.Open(nil, s.Nonce, s.Box, subjectAAD(resource, ix.version, ix.suite))
	if err != nil || !hmac.Equal(ix.nonce(resource, string(plain)), s.Nonce) {
		return bad(ErrSealed)
	}
	return string(plain), nil
}

func subjectAAD(resource string, version int, suite cryptosuite.Name) []byte {
	b := append([]byte("yiku subject v1\x00"), resource...)
	b = append(b, 0)
	b = strconv.AppendInt(b, int64(version), 10)
	b = append(b, 0)
	return append(b, suite...)
}

// nonce is the synthetic nonce of subject: its keyed hash, cut to the
// cipher's nonce size.
func (ix *subjectIndex) nonce(resource, subject string) []byte {
	m := ix.mac.MAC()
	m.Write(subjectAAD(resource, ix.version, ix.suite))
	m.Write([]byte{0})
	m.Write([]byte(subject))
	return m.Sum(nil)[:nonceSize]
}

func (ix *subjectIndex) seal(resource, subject string) string {
	nonce := ix.nonce(resource, subject)
	box := ix.aead.Seal(nonce, nonce, []byte(subject), subjectAAD(resource, ix.version, ix.suite))
	out := make([]byte, 0, len(subjectPrefix)+16+b64.EncodedLen(len(box)))
	out = append(out, subjectPrefix...)
	out = strconv.AppendInt(out, int64(ix.version), 10)
	out = append(out, '.')
	out = append(out, ix.suite...)
	out = append(out, '.')
	return string(b64.AppendEncode(out, box))
}

// indexKey returns the subject index key of resource, derived from its
// data key version 1; with create, it makes that key when the resource has
// none, else it returns nil.
func (c *Cipher) indexKey(ctx context.Context, resource string, create bool) (*subjectIndex, error) {
	c.mu.Lock()
	if rk := c.keys[resource]; rk != nil && rk.index != nil {
		c.mu.Unlock()
		return rk.index, nil
	}
	c.mu.Unlock()
	for attempt := 0; attempt < 3; attempt++ {
		stored, err := c.store.Keys(ctx, resource)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: data keys of %s: %w", resource, err)
		}
		for _, k := range stored {
			if k.Version != indexVersion {
				continue
			}
			ix, err := c.deriveIndex(k)
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			rk := c.entry(resource)
			if rk.index == nil {
				rk.index = ix
			}
			ix = rk.index
			c.mu.Unlock()
			return ix, nil
		}
		if !create {
			return nil, nil
		}
		// The first data key of the resource, of the newest suite. Another
		// instance may make it at the same time; the store keeps the first.
		_, wrapped, err := c.ring.NewDataKey()
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: new data key of %s: %w", resource, err)
		}
		k := StoredKey{Resource: resource, Version: indexVersion, Suite: c.ring.NewestSuite(), KEK: c.ring.Newest(), Wrapped: wrapped, Created: time.Now().UTC()}
		if err := c.store.AddKey(ctx, k); err != nil {
			return nil, fmt.Errorf("fieldcrypt: store data key of %s: %w", resource, err)
		}
	}
	return nil, errors.New("fieldcrypt: no first data key of " + resource + " after three attempts")
}

func (c *Cipher) deriveIndex(k StoredKey) (*subjectIndex, error) {
	key, err := c.ring.Unwrap(k.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: data key %d of %s (wrapped by %s): %w", k.Version, k.Resource, k.KEK, err)
	}
	if key.Suite() != k.Suite {
		return nil, fmt.Errorf("fieldcrypt: data key %d of %s is recorded as %s but wraps a %s key", k.Version, k.Resource, k.Suite, key.Suite())
	}
	mac, err := key.Derive("yiku subject index mac v1")
	if err != nil {
		return nil, err
	}
	enc, err := key.Derive("yiku subject index cipher v1")
	if err != nil {
		return nil, err
	}
	aead, err := enc.AEAD()
	if err != nil {
		return nil, err
	}
	if aead.NonceSize() != nonceSize {
		return nil, fmt.Errorf("fieldcrypt: suite %s: nonce %d bytes, want %d", k.Suite, aead.NonceSize(), nonceSize)
	}
	return &subjectIndex{version: k.Version, suite: k.Suite, mac: mac, aead: aead}, nil
}
