package serviceitem

import (
	"context"
	"sync"
	"time"
)

// Cache is a read-through cache of items by code for the lookup hot path.
// An entry lives for TTL, so a change made on another hub instance is seen
// within TTL; changes made through this instance's Service are not cached
// stale because the cache is keyed by code and dropped on Forget.
type Cache struct {
	Source interface {
		Get(ctx context.Context, code string) (Item, error)
	}
	TTL time.Duration

	mu      sync.RWMutex
	entries map[string]cacheEntry
}

type cacheEntry struct {
	it  Item
	exp time.Time
}

const maxCached = 4096

// Get returns the item, from the cache while it is fresh. Misses and errors
// (unknown items included) go to the source and are not cached.
func (c *Cache) Get(ctx context.Context, code string) (Item, error) {
	now := time.Now()
	c.mu.RLock()
	e, ok := c.entries[code]
	c.mu.RUnlock()
	if ok && now.Before(e.exp) {
		return e.it, nil
	}
	it, err := c.Source.Get(ctx, code)
	if err != nil {
		return Item{}, err
	}
	c.mu.Lock()
	if c.entries == nil || len(c.entries) >= maxCached {
		c.entries = map[string]cacheEntry{}
	}
	c.entries[code] = cacheEntry{it: it, exp: now.Add(c.TTL)}
	c.mu.Unlock()
	return it, nil
}

// Forget drops an item from the cache.
func (c *Cache) Forget(code string) {
	c.mu.Lock()
	delete(c.entries, code)
	c.mu.Unlock()
}

// ForgetAll empties the cache (a material type changed: the items naming it
// read their resource from it).
func (c *Cache) ForgetAll() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
