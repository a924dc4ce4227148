// Package diskspace keeps a hub whose data lives on a local disk (`yiku
// dev`: SQLite and the embedded broker's log in the data directory) from
// accepting writes it cannot keep: a Guard refuses them while the disk has
// less than a reserve free, and Full recognises the errors a full disk
// gives (ENOSPC, SQLite's SQLITE_FULL, PostgreSQL's 53100), so they answer
// 503 disk_full with Retry-After instead of 500.
package diskspace

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"syscall"
	"time"

	"yiku/fault"
)

// Reserve is the free space below which a Guard refuses writes: room for
// requests already past the guard (a publish body may be 16 MiB), the
// audit events of reads, and the broker's and the database's own
// bookkeeping.
const Reserve = 64 << 20

// RetryAfter is the Retry-After, in seconds, of a disk_full answer: space
// comes back when someone frees it, not in a moment.
const RetryAfter = 10

// ErrFull is the answer while the disk is full.
func ErrFull(err error) *fault.Error {
	fe := fault.Wrap(err, fault.Unavailable, "disk_full", "the hub's disk is full, so nothing can be written; retry later")
	fe.RetryAfter = RetryAfter
	return fe
}

// Free returns the bytes an unprivileged process may still write on the
// file system that holds dir.
func Free(dir string) (uint64, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return 0, fmt.Errorf("diskspace: statfs %s: %w", dir, err)
	}
	return st.Bavail * uint64(st.Bsize), nil
}

// Full reports whether err comes from a full disk.
func Full(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) {
		return true
	}
	var state interface{ SQLState() string }
	if errors.As(err, &state) && state.SQLState() == "53100" { // PostgreSQL disk_full
		return true
	}
	// SQLite's SQLITE_FULL, whose driver error has no type of its own to
	// match here.
	return strings.Contains(err.Error(), "database or disk is full")
}

// Guard answers whether dir's file system has at least reserve bytes
// free, measuring at most every interval.
type Guard struct {
	dir      string
	reserve  uint64
	interval time.Duration

	mu      sync.Mutex
	checked time.Time
	free    uint64
	err     error
}

// NewGuard returns a guard of dir with the given reserve, measuring free
// space at most every 250 ms.
func NewGuard(dir string, reserve uint64) *Guard {
	return &Guard{dir: dir, reserve: reserve, interval: 250 * time.Millisecond}
}

// Check returns nil while the disk has the reserve free, else a disk_full
// fault (503 with Retry-After). A statfs that fails lets writes through:
// the writes themselves then fail and Full classifies them.
func (g *Guard) Check() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if now := time.Now(); now.Sub(g.checked) >= g.interval {
		g.free, g.err = Free(g.dir)
		g.checked = now
	}
	if g.err != nil || g.free >= g.reserve {
		return nil
	}
	return ErrFull(fmt.Errorf("diskspace: %d bytes free on the file system of %s, under the reserve of %d", g.free, g.dir, g.reserve))
}

// Ready is Check as a readiness probe: an error names the shortfall.
func (g *Guard) Ready(context.Context) error {
	if err := g.Check(); err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.err
}
