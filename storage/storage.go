// Package storage opens Yiku's database — PostgreSQL through pgx in
// production, SQLite through a pure-Go driver in the embedded mode — as a
// *gorm.DB with its dialect, and applies the embedded migrations. It holds no
// tables of its own: each part of the hub keeps its store next to its domain.
package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"github.com/jackc/pgx/v5/pgconn"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"yiku/fault"
	"yiku/migrations"
)

// DB is an open database with the dialect it speaks.
type DB struct {
	Gorm    *gorm.DB
	Dialect migrations.Dialect
}

// Open connects to url: postgres://… or postgresql://… for PostgreSQL,
// sqlite:PATH or a plain file path for SQLite. It does not migrate.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg := &gorm.Config{
		Logger:                 logger.Discard,
		SkipDefaultTransaction: true,
		PrepareStmt:            false,
		NowFunc:                func() time.Time { return time.Now().UTC() },
	}
	var (
		db      *gorm.DB
		err     error
		dialect migrations.Dialect
	)
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		dialect = migrations.Postgres
		db, err = gorm.Open(postgres.New(postgres.Config{DSN: url}), cfg)
	default:
		dialect = migrations.SQLite
		path := strings.TrimPrefix(url, "sqlite:")
		dsn := path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)"
		db, err = gorm.Open(sqlite.Open(dsn), cfg)
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", dialect, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("storage: %w", err)
	}
	if dialect == migrations.SQLite {
		// SQLite has one writer; one connection keeps writers from failing with
		// "database is locked" and keeps transactions simple.
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(32)
		sqlDB.SetMaxIdleConns(16)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("storage: reach %s: %w", dialect, err)
	}
	return &DB{Gorm: db, Dialect: dialect}, nil
}

// OpenRetry calls Open until it succeeds or the wait is over.
func OpenRetry(ctx context.Context, url string, wait time.Duration, log *slog.Logger) (*DB, error) {
	deadline := time.Now().Add(wait)
	for {
		db, err := Open(ctx, url)
		if err == nil {
			return db, nil
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return nil, err
		}
		log.Warn("database not reachable yet, retrying", "err", err)
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// SQL returns the underlying *sql.DB.
func (d *DB) SQL() *sql.DB {
	s, _ := d.Gorm.DB()
	return s
}

// Migrator returns the migration runner for this database's dialect.
func (d *DB) Migrator() (*migrations.Runner, error) {
	return migrations.New(d.SQL(), d.Dialect)
}

// MigrateUp applies every pending migration.
func (d *DB) MigrateUp(ctx context.Context) error {
	r, err := d.Migrator()
	if err != nil {
		return err
	}
	_, err = r.Up(ctx)
	return err
}

// Ping checks the database answers.
func (d *DB) Ping(ctx context.Context) error {
	return d.SQL().PingContext(ctx)
}

// Close closes the connection pool.
func (d *DB) Close() error {
	return d.SQL().Close()
}

// MapError turns driver errors into domain errors at the store edge, so no
// driver text reaches a client: not found, unique violations, foreign-key
// violations and a database that cannot be reached become fault kinds;
// everything else is wrapped as is.
func MapError(err error, what string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return fault.Wrap(err, fault.NotFound, "not_found", "%s not found", what)
	}
	if Unreachable(err) {
		return ErrUnreachable(err)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch pgErr.Code {
		case "23505":
			return fault.Wrap(err, fault.Conflict, "conflict", "%s already exists", what)
		case "23503":
			return fault.Wrap(err, fault.Invalid, "reference_missing", "%s refers to something that does not exist", what)
		}
	}
	msg := err.Error()
	switch {
	case strings.Contains(msg, "UNIQUE constraint failed"):
		return fault.Wrap(err, fault.Conflict, "conflict", "%s already exists", what)
	case strings.Contains(msg, "FOREIGN KEY constraint failed"):
		return fault.Wrap(err, fault.Invalid, "reference_missing", "%s refers to something that does not exist", what)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// ErrUnreachable is the one answer while the database is down: 503 with
// Retry-After, naming the dependency but not the driver's text.
func ErrUnreachable(err error) *fault.Error {
	fe := fault.Wrap(err, fault.Unavailable, "database_unavailable", "the database is unavailable; retry later")
	fe.RetryAfter = 5
	return fe
}
