// Package multirow writes many rows with few statements: multi-row INSERTs
// (INSERT INTO t (a, b) VALUES (?, ?), (?, ?) …), cut into chunks that stay
// under a driver's parameter limit, each with an optional tail such as an
// ON CONFLICT clause. It builds and runs statements only; it knows no table,
// opens no transaction (pass one to make the chunks atomic) and does not
// read results.
//
// Statements use "?" placeholders. Run them through gorm (Gorm), which
// rewrites them for PostgreSQL, or through database/sql on SQLite;
// database/sql on pgx wants $n placeholders and is not supported.
package multirow

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// MaxParams is the default parameter limit per statement: under both
// SQLite's 32,766 and PostgreSQL's 65,535.
const MaxParams = 30000

// Execer runs one statement: *sql.DB, *sql.Tx and *sql.Conn are Execers, and
// Gorm adapts a *gorm.DB.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// Statement describes the INSERT that Insert repeats per chunk.
type Statement struct {
	Table   string
	Columns []string
	// QuoteColumns writes each column name in double quotes.
	QuoteColumns bool
	// Suffix follows the VALUES list, e.g. "ON CONFLICT (id) DO NOTHING".
	Suffix string
	// MaxParams bounds the parameters of one statement; 0 means MaxParams.
	// A chunk holds MaxParams/len(Columns) rows, at least one.
	MaxParams int
}

// Insert writes rows, each holding one value per column in Columns order,
// with as few statements as st.MaxParams allows. It writes nothing for no
// rows. On an error the chunks before it stay written unless db is a
// transaction the caller rolls back.
func Insert(ctx context.Context, db Execer, st Statement, rows [][]any) error {
	n := len(st.Columns)
	if n == 0 {
		return fmt.Errorf("multirow: insert into %s: no columns", st.Table)
	}
	for i, r := range rows {
		if len(r) != n {
			return fmt.Errorf("multirow: insert into %s: row %d has %d values for %d columns", st.Table, i, len(r), n)
		}
	}
	limit := st.MaxParams
	if limit <= 0 {
		limit = MaxParams
	}
	per := max(1, limit/n)
	head := "INSERT INTO " + st.Table + " (" + st.ColumnList() + ") VALUES "
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
	tail := ""
	if st.Suffix != "" {
		tail = " " + st.Suffix
	}
	for lo := 0; lo < len(rows); lo += per {
		chunk := rows[lo:min(lo+per, len(rows))]
		var b strings.Builder
		b.Grow(len(head) + len(chunk)*(len(one)+2) + len(tail))
		b.WriteString(head)
		args := make([]any, 0, len(chunk)*n)
		for i, r := range chunk {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(one)
			args = append(args, r...)
		}
		b.WriteString(tail)
		if _, err := db.ExecContext(ctx, b.String(), args...); err != nil {
			return fmt.Errorf("multirow: insert into %s: %w", st.Table, err)
		}
	}
	return nil
}

// ColumnList is the statement's column list as its INSERT names it,
// comma-separated, each quoted if QuoteColumns is set: for a statement of
// another form over the same columns.
func (st Statement) ColumnList() string { return columnList(st.Columns, st.QuoteColumns) }

func columnList(cols []string, quote bool) string {
	if !quote {
		return strings.Join(cols, ", ")
	}
	q := make([]string, len(cols))
	for i, c := range cols {
		q[i] = `"` + c + `"`
	}
	return strings.Join(q, ", ")
}

// Gorm runs statements through db's Exec (inside db's transaction, if it is
// one), so gorm rewrites the "?" placeholders for the dialect.
func Gorm(db *gorm.DB) Execer { return gormExecer{db} }

type gormExecer struct{ db *gorm.DB }

func (g gormExecer) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	res := g.db.WithContext(ctx).Exec(query, args...)
	if res.Error != nil {
		return nil, res.Error
	}
	return gormResult(res.RowsAffected), nil
}

// gormResult is what gorm's Exec reports: rows affected only.
type gormResult int64

func (gormResult) LastInsertId() (int64, error) {
	return 0, errors.New("multirow: gorm reports no last insert id")
}

func (r gormResult) RowsAffected() (int64, error) { return int64(r), nil }
