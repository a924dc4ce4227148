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

// walkPgx streams the entries through pgx's binary protocol, reading raw
// column bytes without allocating per row; the walk on database/sql spends
// most of its time converting and copying values. It reports ok=false when
// db is not on pgx.
func walkPgx(ctx context.Context, db *sql.DB, w *walker, progress func(int64)) (bool, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return false, fmt.Errorf("audit verify: connection: %w", err)
	}
	defer conn.Close()
	handled := false
	err = conn.Raw(func(dc any) error {
		sc, ok := dc.(*stdlib.Conn)
		if !ok {
			return nil
		}
		handled = true
		return walkRows(ctx, sc.Conn(), w, progress)
	})
	return handled, err
}

func walkRows(ctx context.Context, c *pgx.Conn, w *walker, progress func(int64)) error {
	rows, err := c.Query(ctx, selectEntries, pgx.QueryResultFormats{pgx.BinaryFormatCode})
	if err != nil {
		return fmt.Errorf("audit verify: read events: %w", err)
	}
	defer rows.Close()
	var e audit.Entry
	buf := make([]byte, 0, 1024)
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
		buf = w.step(&e, buf)
		w.rep.Events++
		if progress != nil && w.rep.Events&8191 == 0 {
			progress(w.rep.Events)
			if err := ctx.Err(); err != nil {
				return err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("audit verify: read events: %w", err)
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
