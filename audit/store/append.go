package store

import (
	"context"
	"fmt"
	"strings"

	"yiku/audit"
	"yiku/storage/multirow"
)

// Columns written by Append, in the order appendRows lays out arguments.
var (
	eventColumns = []string{"chain_id", "seq", "id", "at_us", "request_id", "principal_id", "principal_name", "department", "role",
		"action", "resource", "subjects", "fields", "purpose", "case_number", "outcome", "reason", "client_addr", "count", "prev_hash", "hash"}
	subjectColumns = []string{"subject_hash", "at_us", "chain_id", "seq"}
)

// Rows per INSERT statement on SQLite: well under its 32,766 parameters.
const (
	eventsPerInsert   = 500
	subjectsPerInsert = 1000
)

// The SQLite path's statements, cut at those row counts.
var (
	eventInsert   = multirow.Statement{Table: "audit_events", Columns: eventColumns, QuoteColumns: true, MaxParams: eventsPerInsert * len(eventColumns)}
	subjectInsert = multirow.Statement{Table: "audit_subjects", Columns: subjectColumns, QuoteColumns: true, MaxParams: subjectsPerInsert * len(subjectColumns)}
)

// appendRows writes entries and their subject rows through database/sql,
// without gorm's per-row reflection: Append runs once per group commit of
// the journal, on the path of every audited call. On PostgreSQL the whole
// group is one statement (a data-modifying WITH over unnest of one array
// per column): atomic on its own, one round trip, and the same statement
// text whatever the group's size, so pgx prepares it once per connection.
// SQLite uses a transaction of multi-row INSERTs.
func (s *Store) appendRows(ctx context.Context, entries []audit.Entry) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return fmt.Errorf("database handle: %w", err)
	}
	if s.db.Dialector.Name() == "postgres" {
		_, err := sqlDB.ExecContext(ctx, pgAppend, pgAppendArgs(entries)...)
		return err
	}
	events := make([][]any, len(entries))
	var subjects [][]any
	for i, e := range entries {
		events[i] = []any{e.Chain, e.Seq, e.ID, e.AtMicros, e.RequestID, e.PrincipalID, e.PrincipalName, e.Department, e.Role,
			e.Action, e.Resource, e.Subjects, e.Fields, e.Purpose, e.CaseNumber, e.Outcome, e.Reason, e.ClientAddr, e.Count, e.PrevHash, e.Hash}
		for _, h := range audit.SplitList(e.Subjects, " ") {
			subjects = append(subjects, []any{h, e.AtMicros, e.Chain, e.Seq})
		}
	}
	tx, err := sqlDB.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := multirow.Insert(ctx, tx, eventInsert, events); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := multirow.Insert(ctx, tx, subjectInsert, subjects); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// pgAppend inserts a group of events ($1–$21, one array per column of
// eventColumns) and their subject rows ($22–$25, subjectColumns).
var pgAppend = func() string {
	types := []string{"text", "bigint", "text", "bigint", "text", "text", "text", "text", "text",
		"text", "text", "text", "text", "text", "text", "text", "text", "text", "bigint", "bytea", "bytea"}
	var q strings.Builder
	q.WriteString("WITH e AS (INSERT INTO audit_events (" + eventInsert.ColumnList() + ") SELECT * FROM unnest(")
	for i, t := range types {
		if i > 0 {
			q.WriteString(", ")
		}
		fmt.Fprintf(&q, "$%d::%s[]", i+1, t)
	}
	q.WriteString(")) INSERT INTO audit_subjects (" + subjectInsert.ColumnList() + ") SELECT * FROM unnest($22::text[], $23::bigint[], $24::text[], $25::bigint[])")
	return q.String()
}()

func pgAppendArgs(entries []audit.Entry) []any {
	n := len(entries)
	var (
		chain, id, reqID, pid, pname, dept, role  = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		action, res, subs, fields, purpose, caseN = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		outcome, reason, addr                     = make([]string, n), make([]string, n), make([]string, n)
		seq, at, count                            = make([]int64, n), make([]int64, n), make([]int64, n)
		prev, hash                                = make([][]byte, n), make([][]byte, n)
		sHash, sChain                             []string
		sAt, sSeq                                 []int64
	)
	for i, e := range entries {
		chain[i], seq[i], id[i], at[i], reqID[i], pid[i], pname[i], dept[i], role[i] = e.Chain, e.Seq, e.ID, e.AtMicros, e.RequestID, e.PrincipalID, e.PrincipalName, e.Department, e.Role
		action[i], res[i], subs[i], fields[i], purpose[i], caseN[i] = e.Action, e.Resource, e.Subjects, e.Fields, e.Purpose, e.CaseNumber
		outcome[i], reason[i], addr[i], count[i], prev[i], hash[i] = e.Outcome, e.Reason, e.ClientAddr, e.Count, e.PrevHash, e.Hash
		for _, h := range audit.SplitList(e.Subjects, " ") {
			sHash, sAt, sChain, sSeq = append(sHash, h), append(sAt, e.AtMicros), append(sChain, e.Chain), append(sSeq, e.Seq)
		}
	}
	return []any{chain, seq, id, at, reqID, pid, pname, dept, role, action, res, subs, fields, purpose, caseN, outcome, reason, addr, count, prev, hash,
		sHash, sAt, sChain, sSeq}
}
