package library

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"yiku/exchange"
	"yiku/fault"
	"yiku/fieldcrypt"
	"yiku/migrations"
	"yiku/storage"
	"yiku/storage/multirow"
)

// Store reads and writes the library tables.
type Store struct {
	db      *gorm.DB
	dialect migrations.Dialect
	// Fields opens records whose sensitive fields are encrypted (package
	// fieldcrypt), for the sink's content check and for Plain; nil on a
	// hub without a data key file. Rows are stored as Kafka carried them.
	Fields exchange.Sealer
}

// NewStore returns the library store on db.
func NewStore(db *storage.DB) *Store { return &Store{db: db.Gorm, dialect: db.Dialect} }

var (
	_ exchange.IdempotencyStore = (*Store)(nil)
	_ exchange.TopicRegistry    = (*Store)(nil)
)

// Row is one library record version (current or historical).
type Row struct {
	Seq            int64     `json:"seq,omitempty" gorm:"column:seq"`
	ResourceID     string    `json:"resource" gorm:"column:resource_id"`
	SubjectKey     string    `json:"subject_key" gorm:"column:subject_key"`
	RecordID       string    `json:"record_id" gorm:"column:record_id"`
	Version        int       `json:"version" gorm:"column:version"`
	SchemaVersion  int       `json:"schema_version" gorm:"column:schema_version"`
	Publisher      string    `json:"publisher" gorm:"column:publisher"`
	Data           *string   `json:"-" gorm:"column:data"`
	Deleted        bool      `json:"deleted" gorm:"column:deleted"`
	DeleteReason   string    `json:"delete_reason,omitempty" gorm:"column:delete_reason"`
	TraceID        string    `json:"trace_id,omitempty" gorm:"column:trace_id"`
	KafkaPartition int       `json:"partition" gorm:"column:kafka_partition"`
	KafkaOffset    int64     `json:"offset" gorm:"column:kafka_offset"`
	PublishedAt    time.Time `json:"published_at" gorm:"column:published_at"`
	AppliedAt      time.Time `json:"applied_at" gorm:"column:applied_at"`
}

// DataBytes returns the record as stored, nil for a tombstone: its
// sensitive fields still sealed when the hub encrypts them (Store.Plain
// opens them).
func (r Row) DataBytes() []byte {
	if r.Data == nil {
		return nil
	}
	return []byte(*r.Data)
}

// Plain returns the row's record with its sensitive fields decrypted: the
// canonical record as published, nil for a tombstone. Only the paths that
// serve an authorised read call it (record reads, subscriptions, lookups),
// after the sharing gate allowed the read; masking applies to what it
// returns.
func (s *Store) Plain(ctx context.Context, r Row) ([]byte, error) {
	data := r.DataBytes()
	if data == nil {
		return nil, nil
	}
	if s.Fields == nil {
		if fieldcrypt.Sealed(data) {
			// An operator's mistake, not the caller's: a 503 that says
			// what to configure rather than a 500.
			return nil, fault.New(fault.Unavailable, "record_keys_missing",
				"a record of %s has encrypted fields and this hub has no data key file; an operator starts it with the --data-key-file the records were written under", r.ResourceID)
		}
		return data, nil
	}
	plain, err := s.Fields.Open(ctx, r.ResourceID, data)
	if err != nil {
		return nil, fmt.Errorf("library: open a record of %s: %w", r.ResourceID, err)
	}
	return plain, nil
}

const rowColumns = "resource_id, subject_key, record_id, version, schema_version, publisher, data, deleted, delete_reason, trace_id, kafka_partition, kafka_offset, published_at, applied_at"

// Current returns the current version of a subject's record (deleted
// subjects included, with Deleted set). Its errors, like every error of the
// library, never name the subject: they are logged, and the subject key is
// an ID number.
func (s *Store) Current(ctx context.Context, resource, subject string) (Row, error) {
	keys, err := s.subjectKeys(ctx, resource, subject)
	if err != nil {
		return Row{}, err
	}
	var rows []Row
	err = s.db.WithContext(ctx).Raw("SELECT 0 AS seq, "+rowColumns+" FROM library_records WHERE resource_id = ? AND subject_key IN ?", resource, keys).Scan(&rows).Error
	if err != nil {
		return Row{}, fmt.Errorf("library: current %s: %w", resource, err)
	}
	if len(rows) == 0 {
		return Row{}, fault.NotFoundf("record_not_found", "no record of %s for this subject", resource)
	}
	cur := rows[0]
	for _, r := range rows[1:] {
		if r.AppliedAt.After(cur.AppliedAt) {
			cur = r
		}
	}
	cur.SubjectKey = subject
	return cur, nil
}

// History returns every version of a subject's record, oldest first: in
// the order they were applied, which is the order of versions, also across
// the two keys a subject may be stored under (subjectKeys).
func (s *Store) History(ctx context.Context, resource, subject string) ([]Row, error) {
	keys, err := s.subjectKeys(ctx, resource, subject)
	if err != nil {
		return nil, err
	}
	var rows []Row
	err = s.db.WithContext(ctx).Raw("SELECT seq, "+rowColumns+" FROM library_history WHERE resource_id = ? AND subject_key IN ? ORDER BY seq", resource, keys).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("library: history %s: %w", resource, err)
	}
	if len(rows) == 0 {
		return nil, fault.NotFoundf("record_not_found", "no record of %s for this subject", resource)
	}
	for i := range rows {
		rows[i].SubjectKey = subject
	}
	return rows, nil
}

// subjectKeys returns the keys subject's records of resource may be
// stored under: the subject itself and, on a hub with data keys, its
// pseudonym (package fieldcrypt) when the resource has one. A resource is
// keyed one way at a time, by whether its subject field is sensitive; both
// are asked for so that records keyed before a change of that marking stay
// found.
func (s *Store) subjectKeys(ctx context.Context, resource, subject string) ([]string, error) {
	if s.Fields == nil {
		return []string{subject}, nil
	}
	p, err := s.Fields.FindSubject(ctx, resource, subject)
	if err != nil {
		return nil, fault.Wrap(err, fault.Unavailable, "record_keys_unavailable", "the data key of %s could not be loaded; retry", resource)
	}
	if p == "" {
		return []string{subject}, nil
	}
	return []string{p, subject}, nil
}

// Subject returns the subject of a stored subject key: the key itself, or
// the subject its pseudonym stands for.
func (s *Store) Subject(ctx context.Context, resource, key string) (string, error) {
	if !fieldcrypt.SealedSubject(key) {
		return key, nil
	}
	if s.Fields == nil {
		return "", fault.New(fault.Unavailable, "record_keys_missing",
			"a record of %s is keyed by an encrypted subject and this hub has no data key file; an operator starts it with the --data-key-file the records were written under", resource)
	}
	subject, err := s.Fields.OpenSubject(ctx, resource, key)
	if err != nil {
		return "", fmt.Errorf("library: open a subject key of %s: %w", resource, err)
	}
	return subject, nil
}

// After returns up to limit versions of resource applied after seq, in
// the order they were applied (and hence in order per subject), each with
// its subject (a pseudonym opened).
func (s *Store) After(ctx context.Context, resource string, seq int64, limit int) ([]Row, error) {
	var rows []Row
	err := s.db.WithContext(ctx).Raw("SELECT seq, "+rowColumns+" FROM library_history WHERE resource_id = ? AND seq > ? ORDER BY seq LIMIT ?", resource, seq, limit).Scan(&rows).Error
	if err != nil {
		return nil, fmt.Errorf("library: versions of %s after %d: %w", resource, seq, err)
	}
	for i := range rows {
		if rows[i].SubjectKey, err = s.Subject(ctx, resource, rows[i].SubjectKey); err != nil {
			return nil, err
		}
	}
	return rows, nil
}

// Counts returns how many subjects resource holds (deleted ones excluded)
// and how many versions its history has.
func (s *Store) Counts(ctx context.Context, resource string) (current, versions int64, err error) {
	if err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM library_records WHERE resource_id = ? AND deleted = ?", resource, false).Scan(&current).Error; err != nil {
		return 0, 0, fmt.Errorf("library: count %s: %w", resource, err)
	}
	if err := s.db.WithContext(ctx).Raw("SELECT COUNT(*) FROM library_history WHERE resource_id = ?", resource).Scan(&versions).Error; err != nil {
		return 0, 0, fmt.Errorf("library: count history %s: %w", resource, err)
	}
	return current, versions, nil
}

// An idempotency key's row holds its request's hash and, once the request
// completed, its response; an empty response marks a reservation whose
// request is still being published (a completed response is a JSON object,
// never empty).

// ReserveIdempotencyKey implements exchange.IdempotencyStore. The insert
// is the claim: of two requests with one key, the database lets one insert
// and the other finds its row.
func (s *Store) ReserveIdempotencyKey(ctx context.Context, scope, key, requestHash string, now, staleBefore time.Time) (exchange.IdempotentEntry, bool, error) {
	db := s.db.WithContext(ctx)
	// A row may be pruned between the insert and the read; a second round
	// then inserts.
	for range 2 {
		res := db.Exec("INSERT INTO exchange_idempotency (scope, idem_key, request_hash, response, created_at) VALUES (?, ?, ?, '', ?) ON CONFLICT (scope, idem_key) DO NOTHING",
			scope, key, requestHash, now.UTC())
		if res.Error != nil {
			return exchange.IdempotentEntry{}, false, fmt.Errorf("library: reserve idempotency key: %w", res.Error)
		}
		if res.RowsAffected == 1 {
			return exchange.IdempotentEntry{}, true, nil
		}
		var rows []struct {
			RequestHash string
			Response    string
			CreatedAt   time.Time
		}
		if err := db.Raw("SELECT request_hash, response, created_at FROM exchange_idempotency WHERE scope = ? AND idem_key = ?", scope, key).Scan(&rows).Error; err != nil {
			return exchange.IdempotentEntry{}, false, fmt.Errorf("library: idempotency key: %w", err)
		}
		if len(rows) == 0 {
			continue
		}
		e := exchange.IdempotentEntry{RequestHash: rows[0].RequestHash, Response: []byte(rows[0].Response), Pending: rows[0].Response == ""}
		if !e.Pending || e.RequestHash != requestHash || !rows[0].CreatedAt.Before(staleBefore) {
			return e, false, nil
		}
		// A reservation whose request died: take it over, unless another
		// retry took it first (the condition then no longer holds).
		res = db.Exec("UPDATE exchange_idempotency SET created_at = ? WHERE scope = ? AND idem_key = ? AND response = '' AND created_at < ?",
			now.UTC(), scope, key, staleBefore.UTC())
		if res.Error != nil {
			return exchange.IdempotentEntry{}, false, fmt.Errorf("library: take over idempotency key: %w", res.Error)
		}
		return e, res.RowsAffected == 1, nil
	}
	return exchange.IdempotentEntry{}, false, errors.New("library: reserve idempotency key: the key was pruned twice while reserving it")
}

// CompleteIdempotencyKey implements exchange.IdempotencyStore.
func (s *Store) CompleteIdempotencyKey(ctx context.Context, scope, key, requestHash string, response []byte) error {
	if len(response) == 0 {
		return errors.New("library: complete idempotency key: empty response")
	}
	res := s.db.WithContext(ctx).Exec("UPDATE exchange_idempotency SET response = ? WHERE scope = ? AND idem_key = ? AND request_hash = ? AND response = ''",
		string(response), scope, key, requestHash)
	if res.Error != nil {
		return fmt.Errorf("library: complete idempotency key: %w", res.Error)
	}
	if res.RowsAffected == 0 {
		// The reservation was pruned (its request outlived the retention):
		// store the result anew so a retry still finds it.
		err := s.db.WithContext(ctx).Exec("INSERT INTO exchange_idempotency (scope, idem_key, request_hash, response, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (scope, idem_key) DO NOTHING",
			scope, key, requestHash, string(response), time.Now().UTC()).Error
		if err != nil {
			return fmt.Errorf("library: complete idempotency key: %w", err)
		}
	}
	return nil
}

// ReleaseIdempotencyKey implements exchange.IdempotencyStore.
func (s *Store) ReleaseIdempotencyKey(ctx context.Context, scope, key, requestHash string) error {
	err := s.db.WithContext(ctx).Exec("DELETE FROM exchange_idempotency WHERE scope = ? AND idem_key = ? AND request_hash = ? AND response = ''", scope, key, requestHash).Error
	if err != nil {
		return fmt.Errorf("library: release idempotency key: %w", err)
	}
	return nil
}

// PruneIdempotency forgets idempotency keys older than before.
func (s *Store) PruneIdempotency(ctx context.Context, before time.Time) (int64, error) {
	res := s.db.WithContext(ctx).Exec("DELETE FROM exchange_idempotency WHERE created_at < ?", before.UTC())
	if res.Error != nil {
		return 0, fmt.Errorf("library: prune idempotency keys: %w", res.Error)
	}
	return res.RowsAffected, nil
}

// RegisterTopic implements exchange.TopicRegistry.
func (s *Store) RegisterTopic(ctx context.Context, resource, topic string) error {
	err := s.db.WithContext(ctx).Exec("INSERT INTO exchange_topics (resource_id, topic, created_at) VALUES (?, ?, ?) ON CONFLICT (resource_id) DO NOTHING",
		resource, topic, time.Now().UTC()).Error
	if err != nil {
		return fmt.Errorf("library: register topic %s: %w", topic, err)
	}
	return nil
}

// Topics returns the registered resource topics, by resource id.
func (s *Store) Topics(ctx context.Context) (map[string]string, error) {
	var rows []struct {
		ResourceID string
		Topic      string
	}
	if err := s.db.WithContext(ctx).Raw("SELECT resource_id, topic FROM exchange_topics").Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("library: topics: %w", err)
	}
	out := make(map[string]string, len(rows))
	for _, r := range rows {
		out[r.ResourceID] = r.Topic
	}
	return out, nil
}

// Offsets returns the sink's next offset per partition of topic.
func (s *Store) Offsets(ctx context.Context, topic string) (map[int]int64, error) {
	var rows []struct {
		KafkaPartition int
		NextOffset     int64
	}
	if err := s.db.WithContext(ctx).Raw("SELECT kafka_partition, next_offset FROM library_offsets WHERE topic = ?", topic).Scan(&rows).Error; err != nil {
		return nil, fmt.Errorf("library: offsets of %s: %w", topic, err)
	}
	out := make(map[int]int64, len(rows))
	for _, r := range rows {
		out[r.KafkaPartition] = r.NextOffset
	}
	return out, nil
}

// StartOffset returns where the sink resumes on a partition, creating its
// offset row (at 0) the first time.
func (s *Store) StartOffset(ctx context.Context, topic string, partition int) (int64, error) {
	db := s.db.WithContext(ctx)
	if err := db.Exec("INSERT INTO library_offsets (topic, kafka_partition, next_offset, updated_at) VALUES (?, ?, 0, ?) ON CONFLICT (topic, kafka_partition) DO NOTHING",
		topic, partition, time.Now().UTC()).Error; err != nil {
		return 0, fmt.Errorf("library: init offset %s/%d: %w", topic, partition, err)
	}
	var next int64
	if err := db.Raw("SELECT next_offset FROM library_offsets WHERE topic = ? AND kafka_partition = ?", topic, partition).Scan(&next).Error; err != nil {
		return 0, fmt.Errorf("library: offset %s/%d: %w", topic, partition, err)
	}
	return next, nil
}

// ErrFenced means another consumer moved the partition's offset since this
// one read it: the batch was not applied and the caller must re-read its
// start offset.
var ErrFenced = errors.New("library: partition offset moved; batch not applied")

// Entry is one record message to apply, with where Kafka stored it.
type Entry struct {
	exchange.Record
	Partition int
	Offset    int64
}

type current struct {
	SubjectKey string
	RecordID   string
	Version    int
}

// Apply applies a batch of one partition's messages to the library and
// moves the partition's stored offset from `from` to `next`, in one
// transaction. If the stored offset is not `from`, nothing is applied and
// ErrFenced is returned. A record whose id equals its subject's current
// record id is skipped (a duplicate publish), so re-applying is harmless.
// It returns how many versions it added.
func (s *Store) Apply(ctx context.Context, resource, topic string, partition int, from, next int64, batch []Entry) (int, error) {
	added := 0
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Exec("UPDATE library_offsets SET next_offset = ?, updated_at = ? WHERE topic = ? AND kafka_partition = ? AND next_offset = ?",
			next, time.Now().UTC(), topic, partition, from)
		if res.Error != nil {
			return fmt.Errorf("move offset: %w", res.Error)
		}
		if res.RowsAffected != 1 {
			return ErrFenced
		}
		if len(batch) == 0 {
			return nil
		}
		n, err := s.applyRecords(ctx, tx, resource, batch)
		added = n
		return err
	})
	if err != nil {
		if errors.Is(err, ErrFenced) {
			return 0, ErrFenced
		}
		return 0, fmt.Errorf("library: apply %s/%d [%d,%d): %w", topic, partition, from, next, err)
	}
	return added, nil
}

// version is one record version to write.
type version struct {
	Entry
	Version int
	data    *string
}

func newVersion(e Entry, n int) version {
	v := version{Entry: e, Version: n}
	if e.Data != nil {
		d := string(e.Data)
		v.data = &d
	}
	return v
}

func (s *Store) applyRecords(ctx context.Context, tx *gorm.DB, resource string, batch []Entry) (int, error) {
	pg := s.dialect == migrations.Postgres
	subjects := make([]string, 0, len(batch))
	seen := make(map[string]bool, len(batch))
	for _, e := range batch {
		if !seen[e.SubjectKey] {
			seen[e.SubjectKey] = true
			subjects = append(subjects, e.SubjectKey)
		}
	}
	cur := make(map[string]current, len(subjects))
	if pg {
		if err := pgReadCurrentRows(tx, resource, subjects, cur); err != nil {
			return 0, fmt.Errorf("read current: %w", err)
		}
	} else {
		for lo := 0; lo < len(subjects); lo += 1000 {
			var rows []current
			part := subjects[lo:min(lo+1000, len(subjects))]
			if err := tx.Raw("SELECT subject_key, record_id, version FROM library_records WHERE resource_id = ? AND subject_key IN ?", resource, part).Scan(&rows).Error; err != nil {
				return 0, fmt.Errorf("read current: %w", err)
			}
			for _, r := range rows {
				cur[r.SubjectKey] = r
			}
		}
	}
	history := make([]version, 0, len(batch))
	last := make(map[string]int, len(subjects)) // subject -> index in history
	order := make([]string, 0, len(subjects))
	for _, e := range batch {
		c := cur[e.SubjectKey]
		if c.RecordID == e.ID {
			continue
		}
		c = current{SubjectKey: e.SubjectKey, RecordID: e.ID, Version: c.Version + 1}
		cur[e.SubjectKey] = c
		v := newVersion(e, c.Version)
		if _, ok := last[e.SubjectKey]; !ok {
			order = append(order, e.SubjectKey)
		}
		last[e.SubjectKey] = len(history)
		history = append(history, v)
	}
	if len(history) == 0 {
		return 0, nil
	}
	now := time.Now().UTC()
	if pg {
		var hist, latest columns
		for _, v := range history {
			hist.add(v)
		}
		for _, k := range order {
			latest.add(history[last[k]])
		}
		if err := pgWrite(tx, resource, &hist, &latest, now); err != nil {
			return 0, err
		}
		return len(history), nil
	}
	row := func(v version) []any {
		var data any
		if v.data != nil {
			data = *v.data
		}
		return []any{resource, v.SubjectKey, v.ID, v.Version, v.SchemaVersion, v.Publisher, data, v.Tombstone(), v.DeleteReason, v.TraceID, v.Partition, v.Offset, v.PublishedAt.UTC(), now}
	}
	historyRows := make([][]any, len(history))
	for i, v := range history {
		historyRows[i] = row(v)
	}
	cols := strings.Split(rowColumns, ", ")
	exec := multirow.Gorm(tx)
	if err := multirow.Insert(ctx, exec, multirow.Statement{Table: "library_history", Columns: cols,
		Suffix: "ON CONFLICT (resource_id, kafka_partition, kafka_offset) DO NOTHING"}, historyRows); err != nil {
		return 0, fmt.Errorf("insert history: %w", err)
	}
	upd := make([]string, 0, len(cols))
	for _, c := range cols[2:] {
		upd = append(upd, c+" = excluded."+c)
	}
	currentRows := make([][]any, 0, len(order))
	for _, k := range order {
		currentRows = append(currentRows, row(history[last[k]]))
	}
	if err := multirow.Insert(ctx, exec, multirow.Statement{Table: "library_records", Columns: cols,
		Suffix: "ON CONFLICT (resource_id, subject_key) DO UPDATE SET " + strings.Join(upd, ", ")}, currentRows); err != nil {
		return 0, fmt.Errorf("upsert current: %w", err)
	}
	return len(history), nil
}

// MaxSeq returns the seq of the last version of resource applied (0 if none).
func (s *Store) MaxSeq(ctx context.Context, resource string) (int64, error) {
	var seq *int64
	if err := s.db.WithContext(ctx).Raw("SELECT MAX(seq) FROM library_history WHERE resource_id = ?", resource).Scan(&seq).Error; err != nil {
		return 0, fmt.Errorf("library: last seq of %s: %w", resource, err)
	}
	if seq == nil {
		return 0, nil
	}
	return *seq, nil
}
