package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"

	"yiku/audit"
)

// Columns written by Append, in the order appendRows lays out arguments.
var (
	eventColumns = []string{"chain_id", "seq", "id", "at_us", "request_id", "principal_id", "principal_name", "department", "role",
		"action", "resource", "subjects", "fields", "purpose", "case_number", "outcome", "reason", "client_addr", "count", "prev_hash", "hash"}
	subjectColumns = []string{"subject_hash", "at_us", "chain_id", "seq"}
)

// Rows per INSERT statement: both well under PostgreSQL's 65,535 and
// SQLite's 32,766 parameters.
const (
	eventsPerInsert   = 500
	subjectsPerInsert = 1000
)

// execer is a *sql.DB or a *sql.Tx.
type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// appendRows writes entries and their subject rows through database/sql,
// without gorm's per-row reflection: Append runs once per group commit of
// the journal, on the path of every audited call. On PostgreSQL a group
// that fits in one statement of each kind is written as one statement (a
// data-modifying WITH), which is atomic on its own and costs one round
// trip; larger groups, and SQLite, use a transaction.
func (s *Store) appendRows(ctx context.Context, entries []audit.Entry) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("database handle: %w", err)
	}
	pg := s.db.Dialector.Name() == "postgres"
	events := make([][]any, len(entries))
	var subjects [][]any
	for i, e := range entries {
		events[i] = []any{e.Chain, e.Seq, e.ID, e.AtMicros, e.RequestID, e.PrincipalID, e.PrincipalName, e.Department, e.Role,
			e.Action, e.Resource, e.Subjects, e.Fields, e.Purpose, e.CaseNumber, e.Outcome, e.Reason, e.ClientAddr, e.Count, e.PrevHash, e.Hash}
		for _, h := range audit.SplitList(e.Subjects, " ") {
			subjects = append(subjects, []any{h, e.AtMicros, e.Chain, e.Seq})
		}
	}
	if pg && len(events) <= eventsPerInsert && len(subjects) <= subjectsPerInsert {
		var q strings.Builder
		args := make([]any, 0, len(events)*len(eventColumns)+len(subjects)*len(subjectColumns))
		if len(subjects) > 0 {
			q.WriteString("WITH e AS (")
			args = insertSQL(&q, "audit_events", eventColumns, events, pg, args)
			q.WriteString(") ")
			args = insertSQL(&q, "audit_subjects", subjectColumns, subjects, pg, args)
		} else {
			args = insertSQL(&q, "audit_events", eventColumns, events, pg, args)
		}
		_, err := sqlDB.ExecContext(ctx, q.String(), args...)
		return err
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := insertChunks(ctx, tx, "audit_events", eventColumns, events, eventsPerInsert, pg); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := insertChunks(ctx, tx, "audit_subjects", subjectColumns, subjects, subjectsPerInsert, pg); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

func insertChunks(ctx context.Context, db execer, table string, cols []string, rows [][]any, per int, pg bool) error {
	for lo := 0; lo < len(rows); lo += per {
		chunk := rows[lo:min(lo+per, len(rows))]
		var q strings.Builder
		args := insertSQL(&q, table, cols, chunk, pg, make([]any, 0, len(chunk)*len(cols)))
		if _, err := db.ExecContext(ctx, q.String(), args...); err != nil {
			return err
		}
	}
	return nil
}

// insertSQL writes a multi-row INSERT of rows into q, numbering PostgreSQL
// parameters after those already in args, and returns args with the rows'
// values appended.
func insertSQL(q *strings.Builder, table string, cols []string, rows [][]any, pg bool, args []any) []any {
	q.WriteString("INSERT INTO ")
	q.WriteString(table)
	q.WriteString(" (")
	for i, c := range cols {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('"')
		q.WriteString(c)
		q.WriteByte('"')
	}
	q.WriteString(") VALUES ")
	for i, r := range rows {
		if i > 0 {
			q.WriteString(", ")
		}
		q.WriteByte('(')
		for j, v := range r {
			if j > 0 {
				q.WriteString(", ")
			}
			args = append(args, v)
			if pg {
				q.WriteByte('$')
				q.WriteString(strconv.Itoa(len(args)))
			} else {
				q.WriteByte('?')
			}
		}
		q.WriteByte(')')
	}
	return args
}
