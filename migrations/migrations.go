// Package migrations holds Yiku's versioned SQL migrations, one set per
// dialect (postgres/ for production, sqlite/ for the embedded mode), embedded
// in the binary and applied with goose. The SQL files are the source of truth
// for the schema; nothing calls gorm's AutoMigrate.
//
// Numbering: 00001 foundation (departments, principals, API keys, Casbin
// rules), then one range per part of the hub in the order they were built.
package migrations

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

//go:embed postgres/*.sql sqlite/*.sql
var files embed.FS

// Dialect names a migration set.
type Dialect string

const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// Status is one migration's state.
type Status struct {
	Version int64
	Name    string
	Applied bool
}

// Runner applies the embedded migrations of one dialect to a database.
type Runner struct {
	p *goose.Provider
}

// New prepares a runner. On PostgreSQL a session advisory lock keeps two hub
// instances starting at once from migrating concurrently.
func New(db *sql.DB, d Dialect) (*Runner, error) {
	sub, err := fs.Sub(files, string(d))
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", d, err)
	}
	var (
		gd   goose.Dialect
		opts []goose.ProviderOption
	)
	switch d {
	case Postgres:
		gd = goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, fmt.Errorf("migrations: locker: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	case SQLite:
		gd = goose.DialectSQLite3
	default:
		return nil, fmt.Errorf("migrations: unknown dialect %q", d)
	}
	p, err := goose.NewProvider(gd, db, sub, opts...)
	if err != nil {
		return nil, fmt.Errorf("migrations: %s: %w", d, err)
	}
	return &Runner{p: p}, nil
}

// Up applies every pending migration and returns how many ran.
func (r *Runner) Up(ctx context.Context) (int, error) {
	res, err := r.p.Up(ctx)
	if err != nil {
		return len(res), fmt.Errorf("migrations: up: %w", err)
	}
	return len(res), nil
}

// Down rolls back the latest applied migration.
func (r *Runner) Down(ctx context.Context) error {
	if _, err := r.p.Down(ctx); err != nil {
		return fmt.Errorf("migrations: down: %w", err)
	}
	return nil
}

// DownTo rolls back to version (0 rolls back everything).
func (r *Runner) DownTo(ctx context.Context, version int64) error {
	if _, err := r.p.DownTo(ctx, version); err != nil {
		return fmt.Errorf("migrations: down to %d: %w", version, err)
	}
	return nil
}

// Status lists every migration and whether it is applied.
func (r *Runner) Status(ctx context.Context) ([]Status, error) {
	st, err := r.p.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("migrations: status: %w", err)
	}
	out := make([]Status, 0, len(st))
	for _, s := range st {
		out = append(out, Status{Version: s.Source.Version, Name: s.Source.Path, Applied: s.State == goose.StateApplied})
	}
	return out, nil
}

// Version returns the highest applied version.
func (r *Runner) Version(ctx context.Context) (int64, error) {
	v, err := r.p.GetDBVersion(ctx)
	if err != nil {
		return 0, fmt.Errorf("migrations: version: %w", err)
	}
	return v, nil
}
