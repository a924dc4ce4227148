package diskspace

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"

	"yiku/fault"
)

func TestFullRecognisesTheErrorsOfAFullDisk(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"ENOSPC from a write", &fs.PathError{Op: "write", Path: "/data/x", Err: syscall.ENOSPC}, true},
		{"ENOSPC wrapped", fmt.Errorf("library: apply: %w", &os.SyscallError{Syscall: "fallocate", Err: syscall.ENOSPC}), true},
		{"SQLite SQLITE_FULL", fmt.Errorf("audit: append 1 events: %w", errors.New("audit event: database or disk is full (13)")), true},
		{"PostgreSQL disk_full", fmt.Errorf("insert: %w", &pgconn.PgError{Code: "53100", Message: "could not extend file"}), true},
		{"another PostgreSQL error", &pgconn.PgError{Code: "23505"}, false},
		{"EACCES", &fs.PathError{Op: "open", Path: "/data/x", Err: syscall.EACCES}, false},
		{"nil", nil, false},
	} {
		if got := Full(tc.err); got != tc.want {
			t.Errorf("%s: Full(%v) = %v, want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestErrFullIsA503WithRetryAfter(t *testing.T) {
	fe := ErrFull(syscall.ENOSPC)
	if fe.Kind != fault.Unavailable || fe.Code != "disk_full" || fe.RetryAfter != RetryAfter || !errors.Is(fe, syscall.ENOSPC) {
		t.Fatalf("%+v", fe)
	}
}

func TestGuardRefusesUnderTheReserve(t *testing.T) {
	dir := t.TempDir()
	free, err := Free(dir)
	if err != nil || free == 0 {
		t.Fatalf("free %d, %v", free, err)
	}
	if err := NewGuard(dir, 0).Check(); err != nil {
		t.Fatalf("a reserve of 0: %v", err)
	}
	g := NewGuard(dir, free+1<<40) // more than this disk has free
	err = g.Check()
	if fe, ok := fault.As(err); !ok || fe.Code != "disk_full" {
		t.Fatalf("under the reserve: %v", err)
	}
	if g.Ready(context.Background()) == nil {
		t.Fatal("readiness under the reserve: nil")
	}
	// A directory that cannot be measured does not stop writes; the
	// writes themselves fail and Full classifies them.
	if err := NewGuard(dir+"/missing", 1<<62).Check(); err != nil {
		t.Fatalf("unmeasurable: %v", err)
	}
}
