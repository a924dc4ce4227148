// Package storagetest gives each test its own migrated database: a fresh
// PostgreSQL database when YIKU_TEST_DATABASE_URL is set (as `make test` does),
// otherwise a SQLite file in the test's temp dir.
package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	"yiku/storage"
)

// EnvURL names the variable that points tests at a real PostgreSQL server.
const EnvURL = "YIKU_TEST_DATABASE_URL"

// Postgres reports whether tests run against a real PostgreSQL server.
func Postgres() bool { return os.Getenv(EnvURL) != "" }

// Open returns a migrated database that only this test uses; it is dropped
// when the test ends.
func Open(t testing.TB) *storage.DB {
	t.Helper()
	db, _ := OpenURL(t)
	return db
}

// OpenURL is Open, also returning the URL so a test can start a second hub
// instance (or a subprocess) on the same database.
func OpenURL(t testing.TB) (*storage.DB, string) {
	t.Helper()
	ctx := context.Background()
	u := NewURL(t)
	db, err := storage.Open(ctx, u)
	if err != nil {
		t.Fatalf("storagetest: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.MigrateUp(ctx); err != nil {
		t.Fatalf("storagetest: migrate: %v", err)
	}
	return db, u
}

// NewURL creates an empty database for this test and returns its URL,
// without migrating it.
func NewURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		return "sqlite:" + t.TempDir() + "/yiku.db"
	}
	ctx := context.Background()
	admin, err := storage.Open(ctx, base)
	if err != nil {
		t.Fatalf("storagetest: reach %s: %v", EnvURL, err)
	}
	defer admin.Close()
	name := "yiku_t_" + randHex(6)
	if err := admin.Gorm.Exec("CREATE DATABASE " + name).Error; err != nil {
		t.Fatalf("storagetest: create database: %v", err)
	}
	t.Cleanup(func() {
		a, err := storage.Open(context.Background(), base)
		if err != nil {
			return
		}
		defer a.Close()
		_ = a.Gorm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error
	})
	pu, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storagetest: parse %s: %v", EnvURL, err)
	}
	pu.Path = "/" + name
	return pu.String()
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
