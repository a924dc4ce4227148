// Package keyring holds the hub's key-encryption keys (KEKs) and does
// envelope encryption with them: every protected object (a material file, a
// resource's records) is encrypted with its own random data key, and only
// that data key, wrapped by the newest KEK, is stored beside it. Rotation
// adds a KEK; what the older ones wrapped stays readable, and Rewrap moves a
// wrapped data key under the newest KEK without touching the data.
//
// The KEKs live in one JSON key file, mode 0600, written by Init and Rotate
// (`yiku keys init|rotate|status`). Each KEK records the crypto suite it is
// for (AES-256-GCM or SM4-GCM, package cryptosuite), and so does every
// wrapped data key, so a hub switched between suites keeps reading what the
// other suite wrote.
package keyring

import (
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"yiku/cryptosuite"
	"yiku/keyfile"
)

// KEK is one key-encryption key.
type KEK struct {
	ID      string           `json:"id"`
	Suite   cryptosuite.Name `json:"suite"`
	Created time.Time        `json:"created"`
	Key     []byte           `json:"key"` // base64 in the file
}

type file struct {
	Format int   `json:"format"`
	Keys   []KEK `json:"keys"` // newest first
}

const fileFormat = 1

// Ring is the loaded key file: its KEKs, newest first. A Ring is safe for
// concurrent use; it never changes after it is loaded.
type Ring struct {
	path string
	keys []KEK
	byID map[string]KEK
}

// DataKey is one data-encryption key with the suite whose cipher it keys.
type DataKey struct {
	suite cryptosuite.Suite
	key   []byte
}

// Suite is the suite the data key is for.
func (d DataKey) Suite() cryptosuite.Name { return d.suite.Name() }

// AEAD returns the suite's authenticated cipher keyed by the data key, for
// objects small enough to seal whole (a record's field); streams use
// NewWriter and NewReader.
func (d DataKey) AEAD() (cipher.AEAD, error) {
	a, err := d.suite.AEAD(d.key)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	return a, nil
}

// Derive returns a key of the same suite derived from d for one purpose,
// named by label (HKDF with the suite's hash), so that one stored data key
// can key several uses without any of them revealing d or another.
func (d DataKey) Derive(label string) (DataKey, error) {
	k, err := d.suite.DeriveKey(d.key, label, d.suite.CipherKeySize())
	if err != nil {
		return DataKey{}, fmt.Errorf("keyring: %w", err)
	}
	return DataKey{suite: d.suite, key: k}, nil
}

// MAC returns the suite's keyed hash (HMAC-SHA-256 or HMAC-SM3) keyed by d.
// A hash.Hash is not safe for concurrent use: call MAC for each use.
func (d DataKey) MAC() hash.Hash { return d.suite.MAC(d.key) }

// ErrUnwrap is returned when a wrapped data key cannot be opened: it was
// wrapped by a KEK this ring does not hold, or it was altered.
var ErrUnwrap = errors.New("keyring: cannot unwrap the data key (unknown key-encryption key, or altered)")

// Load reads the key file at path, refusing one that other local users may
// read (package keyfile).
func Load(path string) (*Ring, error) {
	if err := keyfile.CheckPrivate(path); err != nil {
		return nil, err
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	var f file
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("keyring: %s is not a key file: %w", path, err)
	}
	if f.Format != fileFormat {
		return nil, fmt.Errorf("keyring: %s has format %d, want %d", path, f.Format, fileFormat)
	}
	if len(f.Keys) == 0 {
		return nil, fmt.Errorf("keyring: %s holds no key", path)
	}
	r := &Ring{path: path, keys: f.Keys, byID: make(map[string]KEK, len(f.Keys))}
	for _, k := range f.Keys {
		s, err := cryptosuite.Get(string(k.Suite))
		if err != nil {
			return nil, fmt.Errorf("keyring: %s key %s: %w", path, k.ID, err)
		}
		if len(k.Key) != s.CipherKeySize() {
			return nil, fmt.Errorf("keyring: %s key %s is %d bytes, want %d for suite %s", path, k.ID, len(k.Key), s.CipherKeySize(), s.Name())
		}
		if k.ID == "" || len(k.ID) > 255 {
			return nil, fmt.Errorf("keyring: %s has a key without a valid id", path)
		}
		if _, dup := r.byID[k.ID]; dup {
			return nil, fmt.Errorf("keyring: %s has key %s twice", path, k.ID)
		}
		r.byID[k.ID] = k
	}
	return r, nil
}

// LoadOrInit loads path, creating it with one key of suite first when it
// does not exist (the dev mode's data directory).
func LoadOrInit(path string, suite cryptosuite.Name) (*Ring, error) {
	if _, err := os.Stat(path); errors.Is(err, os.ErrNotExist) {
		if _, err := Init(path, suite); err != nil {
			return nil, err
		}
	}
	return Load(path)
}

// Init creates a new key file at path holding one fresh KEK of suite. It
// refuses to overwrite an existing file: losing a KEK loses every object it
// wrapped.
func Init(path string, suite cryptosuite.Name) (KEK, error) {
	k, err := newKEK(suite, 1)
	if err != nil {
		return KEK{}, err
	}
	if err := write(path, file{Format: fileFormat, Keys: []KEK{k}}, true); err != nil {
		return KEK{}, err
	}
	return k, nil
}

// Rotate adds a fresh KEK of suite to the key file at path as its newest;
// the older keys stay so that what they wrapped stays readable.
func Rotate(path string, suite cryptosuite.Name) (KEK, error) {
	r, err := Load(path)
	if err != nil {
		return KEK{}, err
	}
	next := 1
	for _, k := range r.keys {
		if n, err := strconv.Atoi(strings.TrimPrefix(k.ID, "k")); err == nil && n >= next {
			next = n + 1
		}
	}
	k, err := newKEK(suite, next)
	if err != nil {
		return KEK{}, err
	}
	if err := write(path, file{Format: fileFormat, Keys: append([]KEK{k}, r.keys...)}, false); err != nil {
		return KEK{}, err
	}
	return k, nil
}

func newKEK(suite cryptosuite.Name, n int) (KEK, error) {
	s, err := cryptosuite.Get(string(suite))
	if err != nil {
		return KEK{}, fmt.Errorf("keyring: %w", err)
	}
	key := make([]byte, s.CipherKeySize())
	if _, err := rand.Read(key); err != nil {
		return KEK{}, fmt.Errorf("keyring: entropy: %w", err)
	}
	return KEK{ID: "k" + strconv.Itoa(n), Suite: s.Name(), Created: time.Now().UTC().Truncate(time.Second), Key: key}, nil
}

// write replaces path atomically (a 0600 temporary file renamed over it).
func write(path string, f file, create bool) error {
	if create {
		if _, err := os.Stat(path); err == nil {
			return fmt.Errorf("keyring: %s exists; it holds keys that wrap stored data, so it is never overwritten (use rotate)", path)
		}
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".keys-*")
	if err != nil {
		return fmt.Errorf("keyring: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: %w", err)
	}
	if _, err := tmp.Write(append(b, '\n')); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("keyring: write %s: %w", path, err)
	}
	if create {
		// Link fails if another init won the race; rename would replace it.
		if err := os.Link(tmp.Name(), path); err != nil {
			return fmt.Errorf("keyring: create %s: %w", path, err)
		}
		return nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("keyring: replace %s: %w", path, err)
	}
	return nil
}

// NewForTest returns a ring with one fresh in-memory KEK of suite.
func NewForTest(suite cryptosuite.Suite) *Ring {
	k, err := newKEK(suite.Name(), 1)
	if err != nil {
		panic(err)
	}
	return &Ring{keys: []KEK{k}, byID: map[string]KEK{k.ID: k}}
}

// KeyStatus describes one KEK without its key bytes.
type KeyStatus struct {
	ID          string           `json:"id"`
	Suite       cryptosuite.Name `json:"suite"`
	Created     time.Time        `json:"created"`
	Fingerprint string           `json:"fingerprint"`
	Newest      bool             `json:"newest"`
}

// Status lists the KEKs, newest first, without their key bytes.
func (r *Ring) Status() []KeyStatus {
	out := make([]KeyStatus, len(r.keys))
	for i, k := range r.keys {
		out[i] = KeyStatus{ID: k.ID, Suite: k.Suite, Created: k.Created, Fingerprint: fingerprint(k), Newest: i == 0}
	}
	return out
}

// NewestSuite is the suite of the KEK that wraps new data keys.
func (r *Ring) NewestSuite() cryptosuite.Name { return r.keys[0].Suite }

// Newest is the id of the KEK that wraps new data keys.
func (r *Ring) Newest() string { return r.keys[0].ID }

// Wrapped data key layout: "YKW1", then the KEK id and the suite name, each
// a length byte and its bytes, then the cipher's nonce and the sealed data
// key. The id and suite are the AEAD's additional data, so neither can be
// swapped.
var wrapMagic = []byte("YKW1")

// NewDataKey makes a fresh random data key for the newest KEK's suite and
// returns it with its wrapped form.
func (r *Ring) NewDataKey() (DataKey, []byte, error) {
	kek := r.keys[0]
	s := cryptosuite.Must(kek.Suite)
	dk := DataKey{suite: s, key: make([]byte, s.CipherKeySize())}
	if _, err := rand.Read(dk.key); err != nil {
		return DataKey{}, nil, fmt.Errorf("keyring: entropy: %w", err)
	}
	w, err := wrap(kek, dk.key)
	if err != nil {
		return DataKey{}, nil, err
	}
	return dk, w, nil
}

func wrap(kek KEK, key []byte) ([]byte, error) {
	s := cryptosuite.Must(kek.Suite)
	aead, err := s.AEAD(kek.Key)
	if err != nil {
		return nil, fmt.Errorf("keyring: %w", err)
	}
	head := make([]byte, 0, 6+len(kek.ID)+len(kek.Suite))
	head = append(head, wrapMagic...)
	head = append(head, byte(len(kek.ID)))
	head = append(head, kek.ID...)
	head = append(head, byte(len(kek.Suite)))
	head = append(head, kek.Suite...)
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("keyring: entropy: %w", err)
	}
	out := append(head, nonce...)
	return aead.Seal(out, nonce, key, head), nil
}

// Unwrap opens a wrapped data key.
func (r *Ring) Unwrap(wrapped []byte) (DataKey, error) {
	kek, head, rest, err := r.parse(wrapped)
	if err != nil {
		return DataKey{}, err
	}
	s := cryptosuite.Must(kek.Suite)
	aead, err := s.AEAD(kek.Key)
	if err != nil {
		return DataKey{}, fmt.Errorf("keyring: %w", err)
	}
	if len(rest) < aead.NonceSize() {
		return DataKey{}, ErrUnwrap
	}
	key, err := aead.Open(nil, rest[:aead.NonceSize()], rest[aead.NonceSize():], head)
	if err != nil || len(key) != s.CipherKeySize() {
		return DataKey{}, ErrUnwrap
	}
	return DataKey{suite: s, key: key}, nil
}

// Export returns the data key's bytes, to hand it to a peer hub over an
// authenticated channel (package federation): the only path on which a
// data key leaves the hub unwrapped.
func (d DataKey) Export() []byte { return append([]byte(nil), d.key...) }

// Import wraps the bytes of a data key of suite another hub exported under
// the newest KEK of that suite in this ring, and returns the wrapped form
// and that KEK's id. A ring without a KEK of the suite cannot hold it.
func (r *Ring) Import(suite cryptosuite.Name, key []byte) ([]byte, string, error) {
	s, err := cryptosuite.Get(string(suite))
	if err != nil {
		return nil, "", fmt.Errorf("keyring: import: %w", err)
	}
	if len(key) != s.CipherKeySize() {
		return nil, "", fmt.Errorf("keyring: import: a %s data key is %d bytes, not %d", suite, s.CipherKeySize(), len(key))
	}
	k, ok := r.newestOf(s.Name())
	if !ok {
		return nil, "", fmt.Errorf("keyring: import: the data key file has no key-encryption key of suite %s", suite)
	}
	w, err := wrap(k, key)
	return w, k.ID, err
}

// KEKOf names the KEK that wrapped a data key, without opening it.
func KEKOf(wrapped []byte) (string, error) {
	id, _, _, err := header(wrapped)
	return id, err
}

// Rewrap returns the same data key wrapped by the newest KEK (rotation
// without rewriting the data it encrypts).
func (r *Ring) Rewrap(wrapped []byte) ([]byte, error) {
	dk, err := r.Unwrap(wrapped)
	if err != nil {
		return nil, err
	}
	// A data key keys its own suite's cipher: the newest KEK of that suite
	// wraps it (the newest of all when the ring has none of it).
	kek, ok := r.newestOf(dk.suite.Name())
	if !ok {
		kek = r.keys[0]
	}
	return wrap(kek, dk.key)
}

// newestOf is the newest KEK of suite.
func (r *Ring) newestOf(suite cryptosuite.Name) (KEK, bool) {
	for _, k := range r.keys {
		if k.Suite == suite {
			return k, true
		}
	}
	return KEK{}, false
}

func header(wrapped []byte) (id string, suite string, n int, err error) {
	bad := fmt.Errorf("%w: not a wrapped data key", ErrUnwrap)
	if len(wrapped) < len(wrapMagic)+2 || string(wrapped[:4]) != string(wrapMagic) {
		return "", "", 0, bad
	}
	p := 4
	l := int(wrapped[p])
	p++
	if len(wrapped) < p+l+1 {
		return "", "", 0, bad
	}
	id = string(wrapped[p : p+l])
	p += l
	l = int(wrapped[p])
	p++
	if len(wrapped) < p+l {
		return "", "", 0, bad
	}
	suite = string(wrapped[p : p+l])
	return id, suite, p + l, nil
}

func (r *Ring) parse(wrapped []byte) (KEK, []byte, []byte, error) {
	id, suite, n, err := header(wrapped)
	if err != nil {
		return KEK{}, nil, nil, err
	}
	kek, ok := r.byID[id]
	if !ok || string(kek.Suite) != suite {
		return KEK{}, nil, nil, fmt.Errorf("%w: key %s is not in this key file", ErrUnwrap, id)
	}
	return kek, wrapped[:n], wrapped[n:], nil
}

// fingerprint is a short public identifier of a KEK (the first 8 bytes of
// its suite's hash over a label and the key, base64url).
func fingerprint(k KEK) string {
	s := cryptosuite.Must(k.Suite)
	h := s.Sum(append([]byte("yiku keyring fingerprint\x00"), k.Key...))
	return base64.RawURLEncoding.EncodeToString(h[:8])
}
