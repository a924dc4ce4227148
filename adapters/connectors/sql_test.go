package connectors

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"gorm.io/gorm"

	"yiku/adapters"
	"yiku/adapters/adaptertest"
	"yiku/storage/storagetest"
)

// EnvMySQL points the tests at a MySQL or MariaDB server (the project's
// deployments/local/mariadb-up.sh prints it).
const EnvMySQL = "YIKU_TEST_MYSQL_DSN"

// testDB is one empty database of a dialect for one test.
type testDB struct {
	driver, dsn string
	db          *gorm.DB
}

type dialect struct {
	name   string
	open   func(t *testing.T) testDB
	source string // DDL of the legacy table
	sink   string // DDL of the receiving table
}

func dialects() []dialect {
	return []dialect{
		{name: "sqlite", open: openSQLite,
			source: `CREATE TABLE legacy (id INTEGER PRIMARY KEY AUTOINCREMENT, k TEXT NOT NULL, name TEXT, seq TEXT, updated_at DATETIME, deleted INTEGER NOT NULL DEFAULT 0)`,
			sink:   `CREATE TABLE received (k TEXT PRIMARY KEY, name TEXT, seq TEXT)`},
		{name: "postgres", open: openPostgres,
			source: `CREATE TABLE legacy (id BIGSERIAL PRIMARY KEY, k TEXT NOT NULL, name TEXT, seq TEXT, updated_at TIMESTAMPTZ, deleted BOOLEAN NOT NULL DEFAULT false)`,
			sink:   `CREATE TABLE received (k TEXT PRIMARY KEY, name TEXT, seq TEXT)`},
		{name: "mariadb", open: openMySQL,
			source: `CREATE TABLE legacy (id BIGINT AUTO_INCREMENT PRIMARY KEY, k VARCHAR(64) NOT NULL, name VARCHAR(200), seq VARCHAR(20), updated_at DATETIME(6), deleted TINYINT NOT NULL DEFAULT 0) CHARACTER SET utf8mb4`,
			sink:   `CREATE TABLE received (k VARCHAR(64) PRIMARY KEY, name VARCHAR(200), seq VARCHAR(20)) CHARACTER SET utf8mb4`},
	}
}

func openSQLite(t *testing.T) testDB {
	path := t.TempDir() + "/legacy.db"
	return testDB{driver: "sqlite", dsn: path, db: mustOpen(t, DBSettings{Driver: "sqlite", DSN: path})}
}

func openPostgres(t *testing.T) testDB {
	if !storagetest.Postgres() {
		t.Skipf("%s is not set: PostgreSQL conformance skipped", storagetest.EnvURL)
	}
	u := storagetest.NewURL(t)
	return testDB{driver: "postgres", dsn: u, db: mustOpen(t, DBSettings{Driver: "postgres", DSN: u})}
}

func openMySQL(t *testing.T) testDB {
	base := os.Getenv(EnvMySQL)
	if base == "" {
		t.Skipf("%s is not set: MariaDB conformance skipped", EnvMySQL)
	}
	admin := mustOpen(t, DBSettings{Driver: "mysql", DSN: base})
	buf := make([]byte, 5)
	_, _ = rand.Read(buf)
	name := "yiku_a_" + hex.EncodeToString(buf)
	if err := admin.Exec("CREATE DATABASE " + name + " CHARACTER SET utf8mb4").Error; err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() { _ = admin.Exec("DROP DATABASE IF EXISTS " + name).Error; _ = closeDB(admin) })
	cfg, err := mysql.ParseDSN(base)
	if err != nil {
		t.Fatal(err)
	}
	cfg.DBName = name
	dsn := cfg.FormatDSN()
	return testDB{driver: "mysql", dsn: dsn, db: mustOpen(t, DBSettings{Driver: "mysql", DSN: dsn})}
}

// mustOpen opens a database without openDB's table check.
func mustOpen(t *testing.T, s DBSettings) *gorm.DB {
	t.Helper()
	s.Table = "x"
	dsn, err := s.dsn(adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	db, err := openDBNoCheck(context.Background(), s.Driver, dsn)
	if err != nil {
		t.Fatalf("open %s: %v", s.Driver, err)
	}
	t.Cleanup(func() { _ = closeDB(db) })
	return db
}

func (d testDB) exec(t *testing.T, sql string, args ...any) {
	t.Helper()
	if err := d.db.Exec(sql, args...).Error; err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

// clock hands out strictly increasing update times, as a legacy system's
// trigger would.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) next() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.t.IsZero() {
		c.t = time.Date(2024, 3, 1, 8, 0, 0, 0, time.UTC)
	}
	c.t = c.t.Add(1500 * time.Microsecond)
	return c.t
}

func TestSQLSourceConformance(t *testing.T) {
	for _, d := range dialects() {
		for _, mode := range []string{"id", "updated_at"} {
			t.Run(d.name+"/"+mode, func(t *testing.T) {
				adaptertest.RunSource(t, func(t *testing.T) adaptertest.SourceHarness {
					db := d.open(t)
					db.exec(t, d.source)
					clk := &clock{}
					cfg := SQLSourceConfig{DBSettings: DBSettings{Driver: db.driver, DSN: db.dsn, Table: "legacy"}, IDColumn: "id"}
					h := adaptertest.SourceHarness{Key: "k",
						NoDeletes: "polling by id alone never re-reads a row, so a tombstone set later is not seen; deletes need updated_column and tombstone_column"}
					if mode == "updated_at" {
						cfg.UpdatedColumn, cfg.TombstoneColumn = "updated_at", "deleted"
						h.Delete = func(t *testing.T, key string) {
							db.exec(t, "UPDATE legacy SET deleted = 1, updated_at = ? WHERE k = ?", clk.next(), key)
						}
						if d.name == "postgres" {
							h.Delete = func(t *testing.T, key string) {
								db.exec(t, "UPDATE legacy SET deleted = true, updated_at = ? WHERE k = ?", clk.next(), key)
							}
						}
					}
					h.New = func(t *testing.T) adapters.Source {
						s, err := NewSQLSource(cfg, adapters.Env{})
						if err != nil {
							t.Fatal(err)
						}
						return s
					}
					h.Feed = func(t *testing.T, recs []adapters.Record) {
						for _, r := range recs {
							db.exec(t, "INSERT INTO legacy (k, name, seq, updated_at) VALUES (?, ?, ?, ?)", r["k"], r["name"], r["seq"], clk.next())
						}
					}
					return h
				})
			})
		}
	}
}

func TestSQLSinkConformance(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			adaptertest.RunSink(t, func(t *testing.T) adaptertest.SinkHarness {
				db := d.open(t)
				db.exec(t, d.sink)
				return adaptertest.SinkHarness{
					Key: "k", Deletes: true,
					New: func(t *testing.T) adapters.Sink {
						s, err := NewSQLSink(SQLSinkConfig{DBSettings: DBSettings{Driver: db.driver, DSN: db.dsn, Table: "received"}, Key: []string{"k"}}, adapters.Env{})
						if err != nil {
							t.Fatal(err)
						}
						return s
					},
					Stored: func(t *testing.T) []adapters.Record {
						var rows []map[string]any
						if err := db.db.Table("received").Find(&rows).Error; err != nil {
							t.Fatal(err)
						}
						out := make([]adapters.Record, len(rows))
						for i, r := range rows {
							out[i] = adapters.Record{}
							for k, v := range r {
								out[i][k] = plainValue(v)
							}
						}
						return out
					},
				}
			})
		})
	}
}

// TestSQLSinkRejectsBadRowsKeepsOthers: one row the database refuses does
// not stop the rest of the batch.
func TestSQLSinkRejectsBadRowsKeepsOthers(t *testing.T) {
	for _, d := range dialects() {
		t.Run(d.name, func(t *testing.T) {
			db := d.open(t)
			ddl := map[string]string{
				"sqlite":   `CREATE TABLE received (k TEXT PRIMARY KEY, name TEXT NOT NULL, seq TEXT)`,
				"postgres": `CREATE TABLE received (k TEXT PRIMARY KEY, name TEXT NOT NULL, seq TEXT)`,
				"mariadb":  `CREATE TABLE received (k VARCHAR(64) PRIMARY KEY, name VARCHAR(200) NOT NULL, seq VARCHAR(20))`,
			}[d.name]
			db.exec(t, ddl)
			s, err := NewSQLSink(SQLSinkConfig{DBSettings: DBSettings{Driver: db.driver, DSN: db.dsn, Table: "received"}, Key: []string{"k"}}, adapters.Env{})
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Connect(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			msgs := []adapters.Message{
				{Record: adapters.Record{"k": "a", "name": "甲"}},
				{Record: adapters.Record{"k": "b", "name": nil}},
				{Record: adapters.Record{"k": "c", "name": "丙"}},
				{Record: adapters.Record{"name": "no key"}},
			}
			res, err := s.Write(context.Background(), msgs, "k")
			if err != nil {
				t.Fatal(err)
			}
			if res.Written != 2 || len(res.Rejected) != 2 || res.Rejected[0].Index != 1 || res.Rejected[1].Index != 3 {
				t.Fatalf("written %d, rejected %+v; want 2 written, records 1 and 3 rejected", res.Written, res.Rejected)
			}
			var n int64
			db.db.Table("received").Count(&n)
			if n != 2 {
				t.Fatalf("%d rows stored, want 2", n)
			}
		})
	}
}

func TestSQLConfigErrors(t *testing.T) {
	cases := []struct {
		name  string
		cfg   SQLSourceConfig
		field string
	}{
		{"no driver", SQLSourceConfig{DBSettings: DBSettings{DSN: "x", Table: "t"}, IDColumn: "id"}, "driver"},
		{"odd driver", SQLSourceConfig{DBSettings: DBSettings{Driver: "oracle", DSN: "x", Table: "t"}, IDColumn: "id"}, "driver"},
		{"two dsns", SQLSourceConfig{DBSettings: DBSettings{Driver: "sqlite", DSN: "x", DSNEnv: "Y", Table: "t"}, IDColumn: "id"}, "dsn"},
		{"injection", SQLSourceConfig{DBSettings: DBSettings{Driver: "sqlite", DSN: "x", Table: "t; drop table t"}, IDColumn: "id"}, "table"},
		{"no id", SQLSourceConfig{DBSettings: DBSettings{Driver: "sqlite", DSN: "x", Table: "t"}}, "id_column"},
		{"bad column", SQLSourceConfig{DBSettings: DBSettings{Driver: "sqlite", DSN: "x", Table: "t"}, IDColumn: "id", Columns: []string{"a b"}}, "columns[0]"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := NewSQLSource(tc.cfg, adapters.Env{})
			fe, ok := err.(*adapters.FieldError)
			if !ok || fe.Field != tc.field {
				t.Fatalf("want a field error on %s, got %v", tc.field, err)
			}
		})
	}
	if _, err := NewSQLSource(SQLSourceConfig{DBSettings: DBSettings{Driver: "sqlite", DSN: "x", Table: "t"}, IDColumn: "id"}, adapters.Env{}); err != nil {
		t.Fatalf("valid config refused: %v", err)
	}
}

func TestSQLMissingTableIsPermanent(t *testing.T) {
	db := openSQLite(t)
	s, _ := NewSQLSource(SQLSourceConfig{DBSettings: DBSettings{Driver: "sqlite", DSN: db.dsn, Table: "nope"}, IDColumn: "id"}, adapters.Env{})
	err := s.Connect(context.Background(), "")
	if !adapters.IsPermanent(err) {
		t.Fatalf("want a permanent error for a missing table, got %v", err)
	}
}
