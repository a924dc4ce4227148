package fieldcrypt

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"yiku/cryptosuite"
)

// A hub that shares a resource upward hands its data keys of that resource
// to the upstream hub, which keeps them wrapped under its own
// key-encryption keys, apart from its own keys (Under), so that it can
// open the records MirrorMaker copied before it re-seals them under its
// own keys (package federation).

// ExportedKey is one data key of a resource in the clear, as handed to a
// peer hub over the peer API's mutual TLS.
type ExportedKey struct {
	Version int              `json:"version"`
	Suite   cryptosuite.Name `json:"suite"`
	Key     []byte           `json:"key"`
}

// ExportKeys returns every data key of resource, oldest version first.
func (c *Cipher) ExportKeys(ctx context.Context, resource string) ([]ExportedKey, error) {
	stored, err := c.store.Keys(ctx, resource)
	if err != nil {
		return nil, fmt.Errorf("fieldcrypt: data keys of %s: %w", resource, err)
	}
	out := make([]ExportedKey, 0, len(stored))
	for _, k := range stored {
		key, err := c.ring.Unwrap(k.Wrapped)
		if err != nil {
			return nil, fmt.Errorf("fieldcrypt: data key %d of %s (wrapped by %s): %w", k.Version, k.Resource, k.KEK, err)
		}
		out = append(out, ExportedKey{Version: k.Version, Suite: k.Suite, Key: key.Export()})
	}
	slices.SortFunc(out, func(a, b ExportedKey) int { return a.Version - b.Version })
	return out, nil
}

// ImportKeys stores keys (another hub's data keys of one resource) as the
// keys of resource, each wrapped under this hub's newest key-encryption
// key of its suite. A version already stored is kept as it is. It returns
// how many versions it stored.
func (c *Cipher) ImportKeys(ctx context.Context, resource string, keys []ExportedKey) (int, error) {
	have, err := c.store.Keys(ctx, resource)
	if err != nil {
		return 0, fmt.Errorf("fieldcrypt: data keys of %s: %w", resource, err)
	}
	known := make(map[int]bool, len(have))
	for _, h := range have {
		known[h.Version] = true
	}
	n := 0
	for _, k := range keys {
		if k.Version < 1 || k.Version > maxVersion {
			return n, fmt.Errorf("fieldcrypt: import a key of %s: version %d", resource, k.Version)
		}
		if known[k.Version] {
			continue
		}
		wrapped, kek, err := c.ring.Import(k.Suite, k.Key)
		if err != nil {
			return n, fmt.Errorf("fieldcrypt: import key %d of %s: %w", k.Version, resource, err)
		}
		if err := c.store.AddKey(ctx, StoredKey{Resource: resource, Version: k.Version, Suite: k.Suite, KEK: kek, Wrapped: wrapped, Created: time.Now().UTC()}); err != nil {
			return n, fmt.Errorf("fieldcrypt: store key %d of %s: %w", k.Version, resource, err)
		}
		known[k.Version] = true
		n++
	}
	return n, nil
}

// Under returns a cipher over the same key-encryption keys whose data keys
// of resource r are those stored as prefix+r: the keys a peer hub handed
// over (ImportKeys under the same prefix), kept apart from this hub's own
// keys of resources that happen to have the same id. Resource ids in
// sealed values and pseudonyms stay the peer's own. It never makes a key
// for sealing under prefix: it only opens.
func (c *Cipher) Under(prefix string) *Cipher {
	return New(c.ring, prefixed{Store: c.store, prefix: prefix})
}

type prefixed struct {
	Store
	prefix string
}

func (p prefixed) Keys(ctx context.Context, resource string) ([]StoredKey, error) {
	ks, err := p.Store.Keys(ctx, p.prefix+resource)
	for i := range ks {
		ks[i].Resource = resource
	}
	return ks, err
}

func (p prefixed) AddKey(context.Context, StoredKey) error {
	return fmt.Errorf("fieldcrypt: a peer's keys are only imported, never made here")
}

func (p prefixed) Rewrap(ctx context.Context, resource string, version int, old, wrapped []byte, kek string, at time.Time) (bool, error) {
	return p.Store.Rewrap(ctx, p.prefix+resource, version, old, wrapped, kek, at)
}

func (p prefixed) AllKeys(ctx context.Context) ([]StoredKey, error) {
	all, err := p.Store.AllKeys(ctx)
	var out []StoredKey
	for _, k := range all {
		if r, ok := strings.CutPrefix(k.Resource, p.prefix); ok {
			k.Resource = r
			out = append(out, k)
		}
	}
	return out, err
}
