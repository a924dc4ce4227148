// Package fieldcrypt encrypts the sensitive fields of records at rest: in
// Kafka's internal records topics and in the library's tables. Each field
// value the catalog marks sensitive is replaced by a sealed string (see
// value.go) encrypted with its resource's data key; the other fields stay as
// they are, so validation, subject routing and the library's lookups work
// on them unchanged. The record id (the content hash) is computed over the
// plaintext canonical record before sealing, so duplicates and idempotent
// retries are recognised as before, and opening a sealed record gives back
// exactly the canonical bytes it hashes.
//
// Data keys are envelope-encrypted (package keyring): a resource's key is
// stored only wrapped by a key-encryption key, in the table
// record_data_keys (Store), with the id of that key and its suite. Rotation
// re-wraps the stored keys under the newest key-encryption key (Rewrap)
// and rewrites no record. A hub whose newest key-encryption key is of
// another suite gives a resource a new data key version of that suite for
// new writes; older versions stay for what they sealed.
//
// It holds no policy: which paths may open a record is the caller's
// (exchange/library: only the paths that serve an authorised read).
package fieldcrypt

import (
	"bytes"
	"context"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"yiku/cryptosuite"
	"yiku/keyring"
)

// StoredKey is one wrapped data key of a resource.
type StoredKey struct {
	Resource string
	Version  int
	Suite    cryptosuite.Name
	KEK      string // id of the key-encryption key that wraps it
	Wrapped  []byte
	Created  time.Time
}

// Store keeps the wrapped data keys (fieldcrypt/sqlstore).
type Store interface {
	// Keys returns the wrapped keys of resource, any order.
	Keys(ctx context.Context, resource string) ([]StoredKey, error)
	// AllKeys returns every wrapped key (for rotation).
	AllKeys(ctx context.Context) ([]StoredKey, error)
	// AddKey stores k unless its resource already has its version (another
	// hub instance made it first): then it stores nothing and returns nil.
	AddKey(ctx context.Context, k StoredKey) error
	// Rewrap replaces the wrapped form of a key if it is still old; it
	// reports whether it did.
	Rewrap(ctx context.Context, resource string, version int, old, wrapped []byte, kek string, at time.Time) (bool, error)
}

// Cipher seals and opens the sensitive fields of records. It caches each
// resource's unwrapped data keys for the life of the process (a data key
// never changes; rotation changes only its wrapping). Safe for concurrent
// use.
type Cipher struct {
	ring  *keyring.Ring
	store Store

	mu   sync.Mutex
	keys map[string]*resourceKeys
}

type resourceKeys struct {
	seal     *dataKey         // the version new values are sealed with; nil until needed
	versions map[int]*dataKey // every version opened so far
	index    *subjectIndex    // the subject index key; nil until needed
}

type dataKey struct {
	version int
	suite   cryptosuite.Name
	aead    cipher.AEAD
}

// New returns a cipher over the key-encryption keys of ring and the wrapped
// data keys of store.
func New(ring *keyring.Ring, store Store) *Cipher {
	return &Cipher{ring: ring, store: store, keys: map[string]*resourceKeys{}}
}

// Sealed reports whether data holds a sealed value anywhere (a quick test
// on the bytes; a record without one is opened as it is).
func Sealed(data []byte) bool { return bytes.Contains(data, quotedPrefix) }

// Seal returns the canonical record data of resource with the values of
// the sensitive fields sealed, and whether anything was sealed. A
// top-level value that merely looks sealed is sealed too, so that every
// sealed-looking value in storage is one this hub sealed and opening never
// mistakes a provider's text for a ciphertext.
func (c *Cipher) Seal(ctx context.Context, resource string, sensitive []string, data []byte) ([]byte, bool, error) {
	ms, err := members(data)
	if err != nil {
		return nil, false, fmt.Errorf("fieldcrypt: seal a record of %s: %w", resource, err)
	}
	var dk *dataKey
	var out, nonces, box, ad []byte
	last := 0
	for _, m := range ms {
		v := data[m.Start:m.End]
		if !contains(sensitive, m.Name) && !bytes.HasPrefix(v, quotedPrefix) {
			continue
		}
		if dk == nil {
			if dk, err = c.sealKey(ctx, resource); err != nil {
				return nil, false, err
			}
			out = make([]byte, 0, len(data)+len(ms)*64)
			// One read of the system's randomness for every nonce of the record.
			nonces = make([]byte, nonceSize*len(ms))
			if _, err := rand.Read(nonces); err != nil {
				return nil, false, fmt.Errorf("fieldcrypt: entropy: %w", err)
			}
		}
		nonce := nonces[:nonceSize:nonceSize]
		nonces = nonces[nonceSize:]
		ad = appendAAD(ad[:0], resource, m.Name, dk.version, dk.suite)
		box = append(box[:0], nonce...)
		box = dk.aead.Seal(box, nonce, v, ad)
		out = append(out, data[last:m.Start]...)
		out = appendSealed(out, dk.version, dk.suite, box)
		last = m.End
	}
	if dk == nil {
		return data, false, nil
	}
	return append(out, data[last:]...), true, nil
}

// Open returns the record data of resource with its sealed values opened:
// the canonical record it was sealed from. Data without a sealed value is
// returned as it is.
func (c *Cipher) Open(ctx context.Context, resource string, data []byte) ([]byte, error) {
	if !Sealed(data) {
		return data, nil
	}
	ms, err := members(data)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: open a record of %s: %w", resource, err)
	}
	out := make([]byte, 0, len(data))
	var raw, ad []byte
	last := 0
	for _, m := range ms {
		v := data[m.Start:m.End]
		if !bytes.HasPrefix(v, quotedPrefix) {
			continue
		}
		out = append(out, data[last:m.Start]...)
		if out, raw, ad, err = c.openValue(ctx, out, raw, ad, resource, m.Name, v); err != nil {
			return nil, err
		}
		last = m.End
	}
	return append(out, data[last:]...), nil
}

// openValue appends the plaintext of the sealed value v of field to out;
// raw and ad are scratch buffers it returns for reuse.
func (c *Cipher) openValue(ctx context.Context, out, raw, ad []byte, resource, field string, v []byte) ([]byte, []byte, []byte, error) {
	bad := func(err error) ([]byte, []byte, []byte, error) {
		return nil, nil, nil, fmt.Errorf("fieldcrypt: %s field %q: %w", resource, field, err)
	}
	// Sealed values hold no escapes (base64url, digits, dots, suite names).
	if len(v) < 2 || v[len(v)-1] != '"' {
		return bad(ErrSealed)
	}
	s, raw, err := parseSealedInto(raw, v[1:len(v)-1])
	if err != nil {
		return bad(err)
	}
	dk, err := c.openKey(ctx, resource, s.Version)
	if err != nil {
		return nil, nil, nil, err
	}
	if dk.suite != s.Suite {
		return bad(ErrSealed)
	}
	ad = appendAAD(ad[:0], resource, field, s.Version, s.Suite)
	out, err = dk.aead.Open(out, s.Nonce, s.Box, ad)
	if err != nil {
		return bad(ErrSealed)
	}
	return out, raw, ad, nil
}

func contains(names []string, name string) bool {
	for _, n := range names {
		if n == name {
			return true
		}
	}
	return false
}

// sealKey returns the data key new values of resource are sealed with: the
// newest version of the newest key-encryption key's suite, made and stored
// when the resource has none.
func (c *Cipher) sealKey(ctx context.Context, resource string) (*dataKey, error) {
	c.mu.Lock()
	rk := c.keys[resource]
	if rk != nil && rk.seal != nil {
		c.mu.Unlock()
		return rk.seal, nil
	}
	c.mu.Unlock()
	want := c.ring.NewestSuite()
	for attempt := 0; attempt < 3; attempt++ {
		stored, err := c.store.Keys(ctx, resource)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: data keys of %s: %w", resource, err)
		}
		var best *StoredKey
		top := 0
		for i, k := range stored {
			top = max(top, k.Version)
			if k.Suite == want && (best == nil || k.Version > best.Version) {
				best = &stored[i]
			}
		}
		if best != nil {
			dk, err := c.unwrap(*best)
			if err != nil {
				return nil, err
			}
			c.mu.Lock()
			rk := c.entry(resource)
			if prev, ok := rk.versions[dk.version]; ok {
				dk = prev
			}
			rk.versions[dk.version], rk.seal = dk, dk
			c.mu.Unlock()
			return dk, nil
		}
		// None of this suite yet: make one. Two instances may race; the
		// store keeps the first of a version and the loop reads it back.
		_, wrapped, err := c.ring.NewDataKey()
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: new data key of %s: %w", resource, err)
		}
		k := StoredKey{Resource: resource, Version: top + 1, Suite: want, KEK: c.ring.Newest(), Wrapped: wrapped, Created: time.Now().UTC()}
		if err := c.store.AddKey(ctx, k); err != nil {
			return nil, fmt.Errorf("fieldcrypt: store data key of %s: %w", resource, err)
		}
	}
	return nil, fmt.Errorf("fieldcrypt: no data key of suite %s for %s after three attempts", want, resource)
}

// openKey returns version of resource's data keys.
func (c *Cipher) openKey(ctx context.Context, resource string, version int) (*dataKey, error) {
	c.mu.Lock()
	if rk := c.keys[resource]; rk != nil {
		if dk := rk.versions[version]; dk != nil {
			c.mu.Unlock()
			return dk, nil
		}
	}
	c.mu.Unlock()
	stored, err := c.store.Keys(ctx, resource)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: data keys of %s: %w", resource, err)
	}
	for _, k := range stored {
		if k.Version != version {
			continue
		}
		dk, err := c.unwrap(k)
		if err != nil {
			return nil, err
		}
		c.mu.Lock()
		rk := c.entry(resource)
		if prev, ok := rk.versions[version]; ok {
			dk = prev
		}
		rk.versions[version] = dk
		c.mu.Unlock()
		return dk, nil
	}
	return nil, fmt.Errorf("fieldcrypt: %s has no data key version %d: %w", resource, version, ErrNoKey)
}

// entry is resource's cache entry; c.mu is held.
func (c *Cipher) entry(resource string) *resourceKeys {
	rk := c.keys[resource]
	if rk == nil {
		rk = &resourceKeys{versions: map[int]*dataKey{}}
		c.keys[resource] = rk
	}
	return rk
}

func (c *Cipher) unwrap(k StoredKey) (*dataKey, error) {
	key, err := c.ring.Unwrap(k.Wrapped)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: data key %d of %s (wrapped by %s): %w", k.Version, k.Resource, k.KEK, err)
	}
	if key.Suite() != k.Suite {
		return nil, fmt.Errorf("fieldcrypt: data key %d of %s is recorded as %s but wraps a %s key", k.Version, k.Resource, k.Suite, key.Suite())
	}
	aead, err := key.AEAD()
	if err != nil {
		return nil, err
	}
	if aead.NonceSize() != nonceSize || aead.Overhead() != tagSize {
		return nil, fmt.Errorf("fieldcrypt: suite %s: nonce %d and tag %d bytes, want %d and %d", k.Suite, aead.NonceSize(), aead.Overhead(), nonceSize, tagSize)
	}
	return &dataKey{version: k.Version, suite: k.Suite, aead: aead}, nil
}

// RewrapResult counts what Rewrap did.
type RewrapResult struct {
	Rewrapped int // keys moved under the newest key-encryption key of their suite
	Current   int // keys already under it
	// Failed names the keys that could not be unwrapped (their
	// key-encryption key is no longer in the key file).
	Failed []string
}

// Rewrap moves every stored data key under the newest key-encryption key of
// its suite (keyring.Ring.Rewrap) without touching the records it sealed.
// The hub runs it at start, so a `yiku keys rotate` takes effect for the
// stored keys at the next start of an instance.
func (c *Cipher) Rewrap(ctx context.Context) (RewrapResult, error) {
	var res RewrapResult
	all, err := c.store.AllKeys(ctx)
	if err != nil {
		return res, fmt.Errorf("fieldcrypt: rewrap: %w", err)
	}
	for _, k := range all {
		wrapped, err := c.ring.Rewrap(k.Wrapped)
		if err != nil {
			if errors.Is(err, keyring.ErrUnwrap) {
				res.Failed = append(res.Failed, fmt.Sprintf("%s v%d (%s)", k.Resource, k.Version, k.KEK))
				continue
			}
			return res, fmt.Errorf("fieldcrypt: rewrap %s v%d: %w", k.Resource, k.Version, err)
		}
		kek, err := keyring.KEKOf(wrapped)
		if err != nil {
			return res, fmt.Errorf("fieldcrypt: rewrap %s v%d: %w", k.Resource, k.Version, err)
		}
		if kek == k.KEK {
			res.Current++
			continue
		}
		ok, err := c.store.Rewrap(ctx, k.Resource, k.Version, k.Wrapped, wrapped, kek, time.Now().UTC())
		if err != nil {
			return res, fmt.Errorf("fieldcrypt: rewrap %s v%d: %w", k.Resource, k.Version, err)
		}
		if ok {
			res.Rewrapped++
		} else {
			res.Current++ // another instance re-wrapped it first
		}
	}
	return res, nil
}

// String summarises a rewrap for the log.
func (r RewrapResult) String() string {
	s := fmt.Sprintf("%d re-wrapped, %d current", r.Rewrapped, r.Current)
	if len(r.Failed) > 0 {
		s += ", cannot unwrap: " + strings.Join(r.Failed, ", ")
	}
	return s
}
