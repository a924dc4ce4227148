package multirow_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"gorm.io/gorm"

	"yiku/storage/multirow"
	"yiku/storage/storagetest"
)

// recorder keeps the statements it is asked to run.
type recorder struct {
	queries []string
	args    [][]any
	fail    int // fail the statement with this index (1-based); 0 never
}

var errBoom = errors.New("boom")

func (r *recorder) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	r.queries = append(r.queries, q)
	r.args = append(r.args, args)
	if len(r.queries) == r.fail {
		return nil, errBoom
	}
	return nil, nil
}

func rows(n, cols int) [][]any {
	out := make([][]any, n)
	for i := range out {
		out[i] = make([]any, cols)
		for c := range out[i] {
			out[i][c] = fmt.Sprintf("r%dc%d", i, c)
		}
	}
	return out
}

func values(n, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return strings.TrimSuffix(strings.Repeat(one+", ", n), ", ")
}

func TestInsertStatements(t *testing.T) {
	abc := []string{"a", "b", "c"}
	tests := []struct {
		name    string
		st      multirow.Statement
		rows    int
		queries []string
	}{
		{name: "no rows", st: multirow.Statement{Table: "t", Columns: abc}, rows: 0},
		{name: "one row", st: multirow.Statement{Table: "t", Columns: abc}, rows: 1,
			queries: []string{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)"}},
		{name: "suffix", st: multirow.Statement{Table: "t", Columns: abc, Suffix: "ON CONFLICT (a) DO NOTHING"}, rows: 2,
			queries: []string{"INSERT INTO t (a, b, c) VALUES (?, ?, ?), (?, ?, ?) ON CONFLICT (a) DO NOTHING"}},
		{name: "quoted columns", st: multirow.Statement{Table: "t", Columns: []string{"count", "seq"}, QuoteColumns: true}, rows: 1,
			queries: []string{`INSERT INTO t ("count", "seq") VALUES (?, ?)`}},
		{name: "chunk at the limit", st: multirow.Statement{Table: "t", Columns: abc, MaxParams: 6}, rows: 4,
			queries: []string{"INSERT INTO t (a, b, c) VALUES " + values(2, 3), "INSERT INTO t (a, b, c) VALUES " + values(2, 3)}},
		{name: "remainder chunk", st: multirow.Statement{Table: "t", Columns: abc, MaxParams: 7, Suffix: "ON CONFLICT DO NOTHING"}, rows: 5,
			queries: []string{
				"INSERT INTO t (a, b, c) VALUES " + values(2, 3) + " ON CONFLICT DO NOTHING",
				"INSERT INTO t (a, b, c) VALUES " + values(2, 3) + " ON CONFLICT DO NOTHING",
				"INSERT INTO t (a, b, c) VALUES " + values(1, 3) + " ON CONFLICT DO NOTHING",
			}},
		{name: "limit below one row", st: multirow.Statement{Table: "t", Columns: abc, MaxParams: 2}, rows: 2,
			queries: []string{"INSERT INTO t (a, b, c) VALUES (?, ?, ?)", "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"}},
		{name: "default limit", st: multirow.Statement{Table: "t", Columns: abc}, rows: multirow.MaxParams/3 + 1,
			queries: []string{"INSERT INTO t (a, b, c) VALUES " + values(multirow.MaxParams/3, 3), "INSERT INTO t (a, b, c) VALUES (?, ?, ?)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			in := rows(tt.rows, len(tt.st.Columns))
			if err := multirow.Insert(context.Background(), rec, tt.st, in); err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(rec.queries, tt.queries) {
				t.Fatalf("queries:\n got %.200q\nwant %.200q", rec.queries, tt.queries)
			}
			// The arguments are the rows' values, in order, over all statements.
			var got, want []any
			for _, a := range rec.args {
				got = append(got, a...)
			}
			for _, r := range in {
				want = append(want, r...)
			}
			if !slices.Equal(got, want) {
				t.Fatalf("arguments differ from the rows' values: got %d, want %d", len(got), len(want))
			}
			limit := tt.st.MaxParams
			if limit == 0 {
				limit = multirow.MaxParams
			}
			limit = max(limit, len(tt.st.Columns)) // one row goes whatever the limit
			for i, q := range rec.queries {
				n := strings.Count(q, "?")
				if n != len(rec.args[i]) || n > limit {
					t.Fatalf("statement %d: %d placeholders, %d arguments, limit %d", i, n, len(rec.args[i]), limit)
				}
			}
		})
	}
}

func TestInsertRefuses(t *testing.T) {
	ctx := context.Background()
	rec := &recorder{}
	if err := multirow.Insert(ctx, rec, multirow.Statement{Table: "t"}, rows(1, 1)); err == nil {
		t.Fatal("no columns: want an error")
	}
	bad := append(rows(2, 2), []any{"short"})
	if err := multirow.Insert(ctx, rec, multirow.Statement{Table: "t", Columns: []string{"a", "b"}}, bad); err == nil {
		t.Fatal("short row: want an error")
	}
	if len(rec.queries) != 0 {
		t.Fatalf("refused inserts ran %d statements", len(rec.queries))
	}
}

func TestInsertStopsAtFailure(t *testing.T) {
	rec := &recorder{fail: 2}
	err := multirow.Insert(context.Background(), rec, multirow.Statement{Table: "t", Columns: []string{"a"}, MaxParams: 1}, rows(5, 1))
	if !errors.Is(err, errBoom) || !strings.Contains(err.Error(), "insert into t") {
		t.Fatalf("err = %v, want boom naming the table", err)
	}
	if len(rec.queries) != 2 {
		t.Fatalf("ran %d statements after a failure, want 2", len(rec.queries))
	}
}

// TestInsertDatabase runs statements on the test database (PostgreSQL when
// YIKU_TEST_DATABASE_URL is set, else SQLite) through gorm, which rewrites
// the placeholders for PostgreSQL, and on SQLite through database/sql.
func TestInsertDatabase(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Open(t)
	if err := db.Gorm.Exec(`CREATE TABLE multirow_probe (id TEXT PRIMARY KEY, n INTEGER NOT NULL, "count" INTEGER NOT NULL)`).Error; err != nil {
		t.Fatal(err)
	}
	st := multirow.Statement{Table: "multirow_probe", Columns: []string{"id", "n", "count"}, QuoteColumns: true,
		Suffix: "ON CONFLICT (id) DO NOTHING", MaxParams: 7}
	in := [][]any{{"a", 1, 10}, {"b", 2, 20}, {"c", 3, 30}, {"a", 9, 90}, {"d", 4, 40}}
	if err := multirow.Insert(ctx, multirow.Gorm(db.Gorm), st, in); err != nil {
		t.Fatal(err)
	}
	check := func(want string) {
		t.Helper()
		var got []struct {
			ID    string
			N     int
			Count int
		}
		if err := db.Gorm.Raw(`SELECT id, n, "count" FROM multirow_probe ORDER BY id`).Scan(&got).Error; err != nil {
			t.Fatal(err)
		}
		if s := fmt.Sprint(got); s != want {
			t.Fatalf("rows %s, want %s", s, want)
		}
	}
	check("[{a 1 10} {b 2 20} {c 3 30} {d 4 40}]")

	// Inside a transaction the chunks are undone together.
	err := db.Gorm.Transaction(func(tx *gorm.DB) error {
		if err := multirow.Insert(ctx, multirow.Gorm(tx), st, [][]any{{"e", 5, 50}, {"f", 6, 60}, {"g", 7, 70}}); err != nil {
			return err
		}
		return errBoom
	})
	if !errors.Is(err, errBoom) {
		t.Fatal(err)
	}
	check("[{a 1 10} {b 2 20} {c 3 30} {d 4 40}]")

	if storagetest.Postgres() {
		return // database/sql on pgx wants $n placeholders
	}
	tx, err := db.SQL().BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := multirow.Insert(ctx, tx, st, [][]any{{"e", 5, 50}, {"b", 0, 0}}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	check("[{a 1 10} {b 2 20} {c 3 30} {d 4 40} {e 5 50}]")
}

func TestColumnList(t *testing.T) {
	cols := []string{"count", "seq"}
	for _, tc := range []struct {
		quote bool
		want  string
	}{
		{false, "count, seq"},
		{true, `"count", "seq"`},
	} {
		st := multirow.Statement{Table: "t", Columns: cols, QuoteColumns: tc.quote}
		if got := st.ColumnList(); got != tc.want {
			t.Errorf("ColumnList (quote %v) = %q, want %q", tc.quote, got, tc.want)
		}
	}
}
