package verify

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"unsafe"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"yiku/audit"
)

// readPgx calls fn with a source on pgx's binary protocol, which reads raw
// column bytes without allocating per row; the walk on database/sql spends
// most of its time converting and copying values. It reports handled=false
// when db is not on pgx.
func readPgx(ctx context.Context, db *sql.DB, fn func(source) error) (handled bool, err error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("audit verify: connection: %w", err)
	}
	defer conn.Close()
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		handled = true
		tx, err := sc.Conn().BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return fmt.Errorf("audit verify: begin: %w", err)
		}
		defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
		return fn(pgxSource{tx})
	})
	return handled, err
}

type pgxSource struct{ tx pgx.Tx }

var binaryResults = pgx.QueryResultFormats{pgx.BinaryFormatCode}

func (s pgxSource) entries(ctx context.Context, query string, args []any, fn func(*audit.Entry) error) error {
	rows, err := s.tx.Query(ctx, query, append([]any{binaryResults}, args...)...)
	if err != nil {
		return fmt.Errorf("audit verify: read events: %w", err)
	}
	defer rows.Close()
	var e audit.Entry
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 21 {
			return fmt.Errorf("audit verify: %d columns, want 21", len(v))
		}
		// The strings alias the row buffer; the walker copies what it keeps.
		e.Chain, e.Seq, e.ID, e.AtMicros = str(v[0]), i64(v[1]), str(v[2]), i64(v[3])
		e.RequestID, e.PrincipalID, e.PrincipalName, e.Department = str(v[4]), str(v[5]), str(v[6]), str(v[7])
		e.Role, e.Action, e.Resource, e.Subjects, e.Fields = str(v[8]), str(v[9]), str(v[10]), str(v[11]), str(v[12])
		e.Purpose, e.CaseNumber, e.Outcome, e.Reason, e.ClientAddr = str(v[13]), str(v[14]), str(v[15]), str(v[16]), str(v[17])
		e.Count, e.PrevHash, e.Hash = i64(v[18]), v[19], v[20]
		if err := fn(&e); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit verify: read events: %w", err)
	}
	return nil
}

func (s pgxSource) subjects(ctx context.Context, fn func(chain string, seq int64, hash string, at int64) error) error {
	rows, err := s.tx.Query(ctx, selectSubjects, binaryResults)
	if err != nil {
		return fmt.Errorf("audit verify: read subject index: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		v := rows.RawValues()
		if len(v) != 4 {
			return fmt.Errorf("audit verify: %d subject index columns, want 4", len(v))
		}
		if err := fn(str(v[0]), i64(v[1]), str(v[2]), i64(v[3])); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit verify: read subject index: %w", err)
	}
	return nil
}

func str(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

func i64(b []byte) int64 {
	if len(b) != 8 {
		return -1
	}
	return int64(binary.BigEndian.Uint64(b))
}
