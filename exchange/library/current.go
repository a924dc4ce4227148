package library

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"yiku/fault"
	"yiku/migrations"
)

// maxCurrentOf bounds how many resources one CurrentOf call reads, so the
// SQLite statement stays well under its parameter limit.
const maxCurrentOf = 500

// CurrentOf returns the current version of one subject's record in each of
// resources (deleted subjects included, with Deleted set), by resource id,
// in one query. Resources that hold no record of the subject are absent
// from the map. It reads through database/sql directly (no gorm statement
// building or reflection): it is on the path of every reuse lookup.
func (s *Store) CurrentOf(ctx context.Context, subject string, resources []string) (map[string]Row, error) {
	out := make(map[string]Row, len(resources))
	if len(resources) == 0 {
		return out, nil
	}
	if len(resources) > maxCurrentOf {
		return nil, fmt.Errorf("library: current of %d resources at once; at most %d", len(resources), maxCurrentOf)
	}
	// The keys the subject's records may be stored under (subjectKeys):
	// the subject, and on a hub with data keys the pseudonym of each
	// resource that has one.
	keys := []string{subject}
	var pseudonym map[string]string
	if s.Fields != nil {
		pseudonym = make(map[string]string, len(resources))
		for _, res := range resources {
			p, err := s.Fields.FindSubject(ctx, res, subject)
			if err != nil {
				return nil, fault.Wrap(err, fault.Unavailable, "record_keys_unavailable", "the data key of %s could not be loaded; retry", res)
			}
			if p != "" {
				pseudonym[res] = p
				keys = append(keys, p)
			}
		}
	}
	sqlDB, err := s.sqlDB()
	if err != nil {
		return nil, err
	}
	const cols = "SELECT resource_id, subject_key, record_id, version, schema_version, publisher, data, deleted, delete_reason, trace_id, kafka_partition, kafka_offset, published_at, applied_at FROM library_records"
	var rows *sql.Rows
	if s.dialect == migrations.Postgres {
		// One statement text whatever the number of resources, so pgx's
		// per-connection statement cache prepares it once.
		rows, err = sqlDB.QueryContext(ctx, cols+" WHERE subject_key = ANY($1) AND resource_id = ANY($2)", keys, resources)
	} else {
		args := make([]any, 0, len(keys)+len(resources))
		for _, k := range keys {
			args = append(args, k)
		}
		for _, r := range resources {
			args = append(args, r)
		}
		rows, err = sqlDB.QueryContext(ctx, cols+" WHERE subject_key IN (?"+strings.Repeat(", ?", len(keys)-1)+") AND resource_id IN (?"+strings.Repeat(", ?", len(resources)-1)+")", args...)
	}
	if err != nil {
		return nil, fmt.Errorf("library: current of %d resources: %w", len(resources), err)
	}
	defer rows.Close()
	for rows.Next() {
		var r Row
		var data sql.NullString
		if err := rows.Scan(&r.ResourceID, &r.SubjectKey, &r.RecordID, &r.Version, &r.SchemaVersion, &r.Publisher, &data, &r.Deleted, &r.DeleteReason,
			&r.TraceID, &r.KafkaPartition, &r.KafkaOffset, &r.PublishedAt, &r.AppliedAt); err != nil {
			return nil, fmt.Errorf("library: current of %d resources: scan: %w", len(resources), err)
		}
		if r.SubjectKey != subject && r.SubjectKey != pseudonym[r.ResourceID] {
			continue // another resource's pseudonym of the subject
		}
		if prev, ok := out[r.ResourceID]; ok && !r.AppliedAt.After(prev.AppliedAt) {
			continue // keyed both ways: the newer one is current
		}
		r.SubjectKey = subject
		if data.Valid {
			r.Data = &data.String
		}
		out[r.ResourceID] = r
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("library: current of %d resources: %w", len(resources), err)
	}
	return out, nil
}

func (s *Store) sqlDB() (*sql.DB, error) {
	sqlDB, err := s.db.DB()
	if err != nil {
		return nil, fmt.Errorf("library: database handle: %w", err)
	}
	return sqlDB, nil
}
