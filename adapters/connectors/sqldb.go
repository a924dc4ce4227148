package connectors

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/mysql"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"yiku/adapters"
)

// DBSettings locate a department database. Exactly one of DSN and DSNEnv is
// set; DSNEnv keeps passwords out of the config file.
type DBSettings struct {
	// Driver is postgres, mysql (also MariaDB) or sqlite.
	Driver string `yaml:"driver"`
	// DSN: postgres://user:pass@host/db, user:pass@tcp(host:3306)/db for
	// mysql, a file path for sqlite (relative to the adapter.yaml).
	DSN    string `yaml:"dsn"`
	DSNEnv string `yaml:"dsn_env"`
	// Table is the table read or written, optionally schema-qualified.
	Table string `yaml:"table"`
}

var identRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$`)

func checkIdent(field, s string) error {
	if !identRE.MatchString(s) {
		return adapters.Fieldf(field, "%q is not a plain SQL identifier (letters, digits, underscore)", s)
	}
	return nil
}

func (s *DBSettings) check() error {
	switch s.Driver {
	case "postgres", "mysql", "sqlite":
	case "":
		return adapters.Fieldf("driver", "a driver is required: postgres, mysql or sqlite")
	default:
		return adapters.Fieldf("driver", "unknown driver %q: use postgres, mysql or sqlite", s.Driver)
	}
	if (s.DSN == "") == (s.DSNEnv == "") {
		return adapters.Fieldf("dsn", "set exactly one of dsn and dsn_env")
	}
	if s.Table == "" {
		return adapters.Fieldf("table", "a table is required")
	}
	return checkIdent("table", s.Table)
}

func (s *DBSettings) dsn(env adapters.Env) (string, error) {
	dsn := s.DSN
	if s.DSNEnv != "" {
		dsn = os.Getenv(s.DSNEnv)
		if dsn == "" {
			return "", adapters.Permanent(fmt.Errorf("environment variable %s (dsn_env) is empty", s.DSNEnv))
		}
	}
	if s.Driver == "sqlite" {
		path := strings.TrimPrefix(dsn, "sqlite:")
		if !filepath.IsAbs(path) && env.Dir != "" {
			path = filepath.Join(env.Dir, path)
		}
		dsn = path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)"
	}
	if s.Driver == "mysql" && !strings.Contains(dsn, "parseTime=") {
		sep := "?"
		if strings.Contains(dsn, "?") {
			sep = "&"
		}
		dsn += sep + "parseTime=true&loc=UTC"
	}
	return dsn, nil
}

// openDB connects to the department database.
func openDB(ctx context.Context, s DBSettings, env adapters.Env) (*gorm.DB, error) {
	dsn, err := s.dsn(env)
	if err != nil {
		return nil, err
	}
	db, err := openDBNoCheck(ctx, s.Driver, dsn)
	if err != nil {
		return nil, err
	}
	if !db.WithContext(ctx).Migrator().HasTable(s.Table) {
		_ = closeDB(db)
		return nil, adapters.Permanent(fmt.Errorf("table %s does not exist", s.Table))
	}
	return db, nil
}

func openDBNoCheck(ctx context.Context, driver, dsn string) (*gorm.DB, error) {
	var dial gorm.Dialector
	switch driver {
	case "postgres":
		dial = postgres.New(postgres.Config{DSN: dsn})
	case "mysql":
		dial = mysql.Open(dsn)
	default:
		dial = sqlite.Open(dsn)
	}
	db, err := gorm.Open(dial, &gorm.Config{Logger: logger.Discard, SkipDefaultTransaction: true})
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, fmt.Errorf("open %s database: %w", driver, err)
	}
	if driver == "sqlite" {
		sqlDB.SetMaxOpenConns(1)
	} else {
		sqlDB.SetMaxOpenConns(4)
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := sqlDB.PingContext(pctx); err != nil {
		_ = sqlDB.Close()
		return nil, fmt.Errorf("reach %s database: %w", driver, err)
	}
	return db, nil
}

func closeDB(db *gorm.DB) error {
	if db == nil {
		return nil
	}
	sqlDB, err := db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// plainValue turns driver values into JSON-friendly ones.
func plainValue(v any) any {
	switch x := v.(type) {
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC()
	}
	return v
}

func isTruthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case int64:
		return x != 0
	case int32:
		return x != 0
	case int:
		return x != 0
	case uint8:
		return x != 0
	case float64:
		return x != 0
	}
	switch strings.ToLower(strings.TrimSpace(fmt.Sprint(plainValue(v)))) {
	case "", "0", "false", "f", "n", "no", "否":
		return false
	}
	return true
}
