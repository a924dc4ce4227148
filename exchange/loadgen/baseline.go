package loadgen

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/schemas"
)

// Sample is generated data shared by every baseline: raw records as a
// department sends them and their canonical form, subject and id.
type Sample struct {
	Kind    Kind
	Raw     [][]byte
	Records []exchange.Record
}

// NewSample generates n valid records of kind.
func NewSample(kind Kind, n int, seed uint64) (Sample, error) {
	r := rand.New(rand.NewPCG(seed, 99))
	s := Sample{Kind: kind}
	for i := 0; i < n; i++ {
		var rec map[string]any
		if kind == KindLegalEntity {
			rec = Entity(r, i, 0)
		} else {
			rec = Person(r, i, 0)
		}
		raw, err := json.Marshal(rec)
		if err != nil {
			return Sample{}, err
		}
		canon, _, err := exchange.Canonical(raw)
		if err != nil {
			return Sample{}, err
		}
		s.Raw = append(s.Raw, raw)
		s.Records = append(s.Records, exchange.Record{Resource: string(kind), SubjectKey: rec[kind.SubjectKey()].(string), ID: exchange.ContentHash(canon),
			SchemaVersion: 1, Publisher: "bench", PublishedAt: time.Now(), Data: canon})
	}
	return s, nil
}

// Validation measures records/s validating the sample on the compiled base
// schema alone, on every CPU.
func Validation(s Sample) (Stage, error) {
	sch, err := schemas.CompileBase(string(s.Kind))
	if err != nil {
		return Stage{}, err
	}
	workers := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	errs := make([]error, workers)
	clk := startClock()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(s.Raw); i += workers {
				doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(s.Raw[i]))
				if err == nil {
					err = sch.Validate(doc)
				}
				if err != nil {
					errs[w] = fmt.Errorf("loadgen: record %d: %w", i, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return Stage{}, err
		}
	}
	return clk.stop(len(s.Raw)), nil
}

// KafkaProduce measures records/s producing the sample's messages (same
// keys, values and headers as the hub) with a plain kafka-go Writer,
// acks=all, lz4, in batches of batch records from clients goroutines.
func KafkaProduce(ctx context.Context, bc *broker.Client, topic string, s Sample, batch, clients int) (Stage, error) {
	w := &kafka.Writer{Addr: bc.Addr(), Transport: bc.Transport(), Topic: topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
		BatchSize: batch, BatchBytes: 16 << 20, BatchTimeout: 2 * time.Millisecond, Compression: kafka.Lz4, AllowAutoTopicCreation: true}
	defer w.Close()
	msgs := make([]kafka.Message, len(s.Records))
	for i, r := range s.Records {
		m := r.Message("")
		m.Topic = ""
		msgs[i] = m
	}
	// Create the topic and warm the connection outside the measurement.
	if err := w.WriteMessages(ctx, msgs[0]); err != nil {
		return Stage{}, fmt.Errorf("loadgen: raw produce warm-up: %w", err)
	}
	clk := startClock()
	var wg sync.WaitGroup
	errs := make(chan error, clients)
	chunks := make(chan []kafka.Message)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range chunks {
				if err := w.WriteMessages(ctx, ch...); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for lo := 0; lo < len(msgs); lo += batch {
		chunks <- msgs[lo:min(lo+batch, len(msgs))]
	}
	close(chunks)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Stage{}, fmt.Errorf("loadgen: raw produce: %w", err)
	}
	return clk.stop(len(msgs)), nil
}

// PostgresUpsert measures records/s writing the sample's rows the way the
// library does — a history insert and a current-record upsert per batch,
// multi-row statements, one transaction per batch — into scratch tables
// with the library's shape, with plain pgx.
func PostgresUpsert(ctx context.Context, dbURL string, s Sample, batch int) (Stage, error) {
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return Stage{}, fmt.Errorf("loadgen: raw upsert: connect: %w", err)
	}
	defer conn.Close(ctx)
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	suffix := hex.EncodeToString(b)
	cur, hist := "bench_records_"+suffix, "bench_history_"+suffix
	ddl := append([]string{"CREATE TABLE " + cur + " (LIKE library_records INCLUDING ALL)"}, scratchHistory(hist)...)
	for _, q := range ddl {
		if _, err := conn.Exec(ctx, q); err != nil {
			return Stage{}, fmt.Errorf("loadgen: raw upsert: %s: %w", q, err)
		}
	}
	defer func() {
		_, _ = conn.Exec(context.WithoutCancel(ctx), "DROP TABLE IF EXISTS "+cur+", "+hist)
	}()
	cols := []string{"resource_id", "subject_key", "record_id", "version", "schema_version", "publisher", "data", "deleted", "delete_reason", "trace_id", "kafka_partition", "kafka_offset", "published_at", "applied_at"}
	upd := make([]string, 0, len(cols))
	for _, c := range cols[2:] {
		upd = append(upd, c+" = excluded."+c)
	}
	clk := startClock()
	now := time.Now().UTC()
	for lo := 0; lo < len(s.Records); lo += batch {
		recs := s.Records[lo:min(lo+batch, len(s.Records))]
		tx, err := conn.Begin(ctx)
		if err != nil {
			return Stage{}, err
		}
		args := make([]any, 0, len(recs)*len(cols))
		var vals strings.Builder
		for i, r := range recs {
			if i > 0 {
				vals.WriteString(", ")
			}
			vals.WriteByte('(')
			for k := range cols {
				if k > 0 {
					vals.WriteString(", ")
				}
				fmt.Fprintf(&vals, "$%d", i*len(cols)+k+1)
			}
			vals.WriteByte(')')
			args = append(args, r.Resource, r.SubjectKey, r.ID, 1, r.SchemaVersion, r.Publisher, string(r.Data), false, "", "", 0, int64(lo+i), r.PublishedAt.UTC(), now)
		}
		list := strings.Join(cols, ", ")
		if _, err := tx.Exec(ctx, "INSERT INTO "+hist+" ("+list+") VALUES "+vals.String()+" ON CONFLICT (resource_id, kafka_partition, kafka_offset) DO NOTHING", args...); err != nil {
			_ = tx.Rollback(ctx)
			return Stage{}, fmt.Errorf("loadgen: raw history insert: %w", err)
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+cur+" ("+list+") VALUES "+vals.String()+" ON CONFLICT (resource_id, subject_key) DO UPDATE SET "+strings.Join(upd, ", "), args...); err != nil {
			_ = tx.Rollback(ctx)
			return Stage{}, fmt.Errorf("loadgen: raw upsert: %w", err)
		}
		if err := tx.Commit(ctx); err != nil {
			return Stage{}, err
		}
	}
	st := clk.stop(len(s.Records))
	if err := checkRows(ctx, conn, hist, cur, s); err != nil {
		return Stage{}, err
	}
	return st, nil
}

// scratchHistory creates table as a copy of library_history with a seq
// sequence of its own: LIKE copies seq's default, which would draw numbers
// from the hub's own history sequence.
func scratchHistory(table string) []string {
	return []string{
		"CREATE TABLE " + table + " (LIKE library_history INCLUDING ALL)",
		"ALTER TABLE " + table + " ALTER COLUMN seq DROP DEFAULT",
		"ALTER TABLE " + table + " ALTER COLUMN seq ADD GENERATED BY DEFAULT AS IDENTITY",
	}
}

// PostgresUpsertArrays measures records/s writing the sample's rows with
// the library sink's own statements (library.PGInsertHistory and
// library.PGUpsertCurrent: one statement per table, rows as array
// parameters laid out by library.PGArgs), batch rows per transaction per resource, from writers
// connections at once (the sink writes each partition on its own), into
// scratch copies of the library's tables in a schema of their own, with
// plain pgx.
func PostgresUpsertArrays(ctx context.Context, dbURL string, s Sample, batch, writers int) (Stage, error) {
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		return Stage{}, fmt.Errorf("loadgen: raw upsert: %w", err)
	}
	b := make([]byte, 4)
	_, _ = crand.Read(b)
	schema := "bench_" + hex.EncodeToString(b)
	admin, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return Stage{}, fmt.Errorf("loadgen: raw upsert: connect: %w", err)
	}
	defer admin.Close(context.WithoutCancel(ctx))
	for _, q := range append([]string{
		"CREATE SCHEMA " + schema,
		"CREATE TABLE " + schema + ".library_records (LIKE library_records INCLUDING ALL)",
	}, scratchHistory(schema+".library_history")...) {
		if _, err := admin.Exec(ctx, q); err != nil {
			return Stage{}, fmt.Errorf("loadgen: raw upsert: %s: %w", q, err)
		}
	}
	defer func() { _, _ = admin.Exec(context.WithoutCancel(ctx), "DROP SCHEMA "+schema+" CASCADE") }()
	cfg.RuntimeParams["search_path"] = schema

	type chunk struct {
		resource string
		args     []any
	}
	now := time.Now().UTC()
	var chunks []chunk
	for lo := 0; lo < len(s.Records); {
		res := s.Records[lo].Resource
		hi := lo
		for hi < len(s.Records) && hi-lo < batch && s.Records[hi].Resource == res {
			hi++
		}
		entries, versions := make([]library.Entry, hi-lo), make([]int, hi-lo)
		for i, r := range s.Records[lo:hi] {
			entries[i], versions[i] = library.Entry{Record: r, Offset: int64(lo + i)}, 1
		}
		chunks = append(chunks, chunk{res, library.PGArgs(res, entries, versions, now)})
		lo = hi
	}
	conns := make([]*pgx.Conn, writers)
	for i := range conns {
		if conns[i], err = pgx.ConnectConfig(ctx, cfg); err != nil {
			return Stage{}, fmt.Errorf("loadgen: raw upsert: connect: %w", err)
		}
		defer conns[i].Close(context.WithoutCancel(ctx))
	}
	write := func(conn *pgx.Conn, c chunk) error {
		tx, err := conn.Begin(ctx)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx)) //nolint:errcheck // after Commit a no-op
		if _, err := tx.Exec(ctx, library.PGInsertHistory, c.args...); err != nil {
			return fmt.Errorf("history insert: %w", err)
		}
		if _, err := tx.Exec(ctx, library.PGUpsertCurrent, c.args...); err != nil {
			return fmt.Errorf("current upsert: %w", err)
		}
		return tx.Commit(ctx)
	}
	clk := startClock()
	work := make(chan chunk)
	errs := make(chan error, writers)
	var wg sync.WaitGroup
	for _, conn := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for c := range work {
				if err := write(conn, c); err != nil {
					errs <- fmt.Errorf("loadgen: raw upsert %s: %w", c.resource, err)
					for range work {
					}
					return
				}
			}
		}()
	}
	for _, c := range chunks {
		work <- c
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return Stage{}, err
	}
	st := clk.stop(len(s.Records))
	if err := checkRows(ctx, admin, schema+".library_history", schema+".library_records", s); err != nil {
		return Stage{}, err
	}
	return st, nil
}

// checkRows confirms a raw baseline wrote every row: one history row per
// record and one current row per (resource, subject).
func checkRows(ctx context.Context, conn *pgx.Conn, hist, cur string, s Sample) error {
	subjects := map[[2]string]bool{}
	for _, r := range s.Records {
		subjects[[2]string{r.Resource, r.SubjectKey}] = true
	}
	var nh, nc int
	if err := conn.QueryRow(ctx, "SELECT (SELECT count(*) FROM "+hist+"), (SELECT count(*) FROM "+cur+")").Scan(&nh, &nc); err != nil {
		return fmt.Errorf("loadgen: raw upsert: count rows: %w", err)
	}
	if nh != len(s.Records) || nc != len(subjects) {
		return fmt.Errorf("loadgen: raw upsert wrote %d history and %d current rows, want %d and %d", nh, nc, len(s.Records), len(subjects))
	}
	return nil
}
