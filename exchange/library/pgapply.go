package library

import (
	"fmt"
	"time"

	"gorm.io/gorm"
)

// On PostgreSQL a batch is written with one statement per table whose
// rows arrive as arrays (unnest): the statement text is the same for every
// batch, so pgx prepares it once, and the server parses 14 parameters
// instead of 14 per row. The order of the history rows (their seq) is the
// order of the arrays.
const (
	pgReadCurrent = `SELECT subject_key, record_id, version FROM library_records WHERE resource_id = $1 AND subject_key = ANY($2::text[])`
	pgRows        = `SELECT $1::text, u.subject_key, u.record_id, u.version, u.schema_version, u.publisher, u.data, u.deleted, u.delete_reason, u.trace_id, u.kafka_partition, u.kafka_offset, u.published_at, $13::timestamptz
		FROM unnest($2::text[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::bool[], $9::text[], $10::text[], $11::int[], $12::bigint[], $14::timestamptz[])
		WITH ORDINALITY AS u(subject_key, record_id, version, schema_version, publisher, data, deleted, delete_reason, trace_id, kafka_partition, kafka_offset, published_at, ord)
		ORDER BY u.ord`
)

// PGInsertHistory and PGUpsertCurrent are the sink's two write statements on
// PostgreSQL. Their arguments: $1 the resource id; $2–$12 and $14 one array
// per row column (subject_key text[], record_id text[], version int[],
// schema_version int[], publisher text[], data text[], deleted bool[],
// delete_reason text[], trace_id text[], kafka_partition int[],
// kafka_offset bigint[], published_at timestamptz[]); $13 applied_at.
// Exported so the load tool's raw baseline runs exactly the statements the
// sink runs, through plain pgx: the ratio then measures the hub's overhead
// (Kafka, compare-and-set, offsets), not a difference in SQL.
const (
	PGInsertHistory = `INSERT INTO library_history (` + rowColumns + `) ` + pgRows + ` ON CONFLICT (resource_id, kafka_partition, kafka_offset) DO NOTHING`
	PGUpsertCurrent = `INSERT INTO library_records (` + rowColumns + `) ` + pgRows + ` ON CONFLICT (resource_id, subject_key) DO UPDATE SET
		record_id = excluded.record_id, version = excluded.version, schema_version = excluded.schema_version, publisher = excluded.publisher,
		data = excluded.data, deleted = excluded.deleted, delete_reason = excluded.delete_reason, trace_id = excluded.trace_id,
		kafka_partition = excluded.kafka_partition, kafka_offset = excluded.kafka_offset, published_at = excluded.published_at, applied_at = excluded.applied_at`
)

// columns holds a batch's rows column by column, as the array parameters.
type columns struct {
	subject, recordID, publisher, deleteReason, traceID []string
	version, schemaVersion, partition                   []int32
	offset                                              []int64
	data                                                []*string
	deleted                                             []bool
	publishedAt                                         []time.Time
}

func (c *columns) add(v version) {
	c.subject = append(c.subject, v.SubjectKey)
	c.recordID = append(c.recordID, v.ID)
	c.version = append(c.version, int32(v.Version))
	c.schemaVersion = append(c.schemaVersion, int32(v.SchemaVersion))
	c.publisher = append(c.publisher, v.Publisher)
	c.data = append(c.data, v.data)
	c.deleted = append(c.deleted, v.Tombstone())
	c.deleteReason = append(c.deleteReason, v.DeleteReason)
	c.traceID = append(c.traceID, v.TraceID)
	c.partition = append(c.partition, int32(v.Partition))
	c.offset = append(c.offset, v.Offset)
	c.publishedAt = append(c.publishedAt, v.PublishedAt.UTC())
}

func (c *columns) args(resource string, now time.Time) []any {
	return []any{resource, c.subject, c.recordID, c.version, c.schemaVersion, c.publisher, c.data, c.deleted, c.deleteReason,
		c.traceID, c.partition, c.offset, now, c.publishedAt}
}

// PGArgs lays out entries, entries[i] as version versions[i] of its
// subject, as the arguments of PGInsertHistory and PGUpsertCurrent, the
// way the sink does.
func PGArgs(resource string, entries []Entry, versions []int, now time.Time) []any {
	var c columns
	for i, e := range entries {
		c.add(newVersion(e, versions[i]))
	}
	return c.args(resource, now)
}

// pgReadCurrentRows reads the current record ids and versions of subjects.
func pgReadCurrentRows(tx *gorm.DB, resource string, subjects []string, into map[string]current) error {
	rows, err := tx.Statement.ConnPool.QueryContext(tx.Statement.Context, pgReadCurrent, resource, subjects)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var c current
		if err := rows.Scan(&c.SubjectKey, &c.RecordID, &c.Version); err != nil {
			return err
		}
		into[c.SubjectKey] = c
	}
	return rows.Err()
}

// pgWrite upserts the current rows and inserts the history rows. Versions
// of one resource must commit in seq order, so that a cursor over
// library_history.seq never skips a row committed late: the history insert
// (which draws seq values) takes a per-resource advisory lock held to the
// commit. Everything before it — moving the partition's offset, reading
// and upserting the current rows — needs no lock, because a subject's
// records all arrive on one partition and one partition is applied by one
// transaction at a time (the offset compare-and-set fences any other); so
// the partitions of a resource serialise only on the history insert and
// the commit.
func pgWrite(tx *gorm.DB, resource string, history, latest *columns, now time.Time) error {
	ctx := tx.Statement.Context
	if _, err := tx.Statement.ConnPool.ExecContext(ctx, PGUpsertCurrent, latest.args(resource, now)...); err != nil {
		return fmt.Errorf("upsert current: %w", err)
	}
	if _, err := tx.Statement.ConnPool.ExecContext(ctx, "SELECT pg_advisory_xact_lock(hashtext($1))", "library:"+resource); err != nil {
		return fmt.Errorf("lock %s: %w", resource, err)
	}
	if _, err := tx.Statement.ConnPool.ExecContext(ctx, PGInsertHistory, history.args(resource, now)...); err != nil {
		return fmt.Errorf("insert history: %w", err)
	}
	return nil
}
