// Command connectbench puts the library sink beside the way a data engineer
// would otherwise move records from Kafka into PostgreSQL: a Kafka Connect
// worker running the Debezium JDBC sink connector. In each run it generates
// the same population records twice over — into a resource topic in the
// hub's own record format, which the library sink (exchange/library) applies
// to library_records, and as a copy in Kafka Connect's JSON-with-schemas
// form, which the JDBC sink upserts into connect_records, keyed like the
// library by (resource_id, subject_key) — then times each sink draining its
// topic alone: records per second, the machine's CPU per record
// (/proc/stat, every process) and each sink's own process CPU per record.
// It checks that both tables end up with the same record for every subject,
// and prints the medians over the runs.
//
// scripts/bench-connect.sh starts the services and the Connect worker and
// runs it:
//
//	go run ./scripts/connectbench --database-url postgres://… --kafka-brokers 127.0.0.1:59092 \
//	    --kafka-sasl-mechanism SCRAM-SHA-512 --kafka-username yiku --kafka-password-file … \
//	    --kafka-ca-file … --connect-url http://127.0.0.1:58083 --connect-pid 1234
//
// Each invocation works in a new database and new topics, and drops and
// deletes them at the end.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/exchange/loadgen"
	"yiku/storage"
)

type options struct {
	databaseURL string
	kafka       broker.SecuritySettings
	brokers     string
	connectURL  string
	connectPID  int
	kafkaPID    int
	warmup      int
	records     int
	runs        int
	partitions  int
	batch       int
	unnest      bool
	keep        bool
	timeout     time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.databaseURL, "database-url", "", "PostgreSQL URL of a user who may create databases (a new one is made for the run)")
	flag.StringVar(&o.brokers, "kafka-brokers", "", "Kafka bootstrap brokers, comma separated")
	flag.StringVar(&o.kafka.Mechanism, "kafka-sasl-mechanism", "", "SASL mechanism (SCRAM-SHA-512, SCRAM-SHA-256, PLAIN) or empty")
	flag.StringVar(&o.kafka.Username, "kafka-username", "", "SASL user (it creates topics; the Connect worker logs in as the same user)")
	flag.StringVar(&o.kafka.PasswordFile, "kafka-password-file", "", "file holding the SASL password")
	flag.StringVar(&o.kafka.CAFile, "kafka-ca-file", "", "PEM CA of the brokers' certificates (turns TLS on)")
	flag.StringVar(&o.connectURL, "connect-url", "", "REST URL of the Kafka Connect worker (loopback only)")
	flag.IntVar(&o.connectPID, "connect-pid", 0, "pid of the Kafka Connect worker, for its process CPU")
	flag.IntVar(&o.kafkaPID, "kafka-pid", 0, "pid of the Kafka broker, for its process CPU (0: not measured)")
	flag.IntVar(&o.warmup, "warmup", 2, "runs before the measured ones, shown but left out of the medians (the worker's JVM compiles its hot code in them)")
	flag.IntVar(&o.records, "records", 200000, "records per run")
	flag.IntVar(&o.runs, "runs", 3, "runs; the figures are their medians")
	flag.IntVar(&o.partitions, "partitions", 3, "partitions of each topic; the JDBC sink gets as many tasks")
	flag.IntVar(&o.batch, "batch", 2000, "JDBC sink batch.size and its consumer's max.poll.records (the library sink applies up to 2,000 records per transaction)")
	flag.BoolVar(&o.unnest, "unnest", false, "turn on the JDBC sink's dialect.postgres.unnest.insert.enabled")
	flag.BoolVar(&o.keep, "keep", false, "keep the database and topics afterwards")
	flag.DurationVar(&o.timeout, "timeout", 20*time.Minute, "longest wait for one sink to apply one run")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "connectbench:", err)
		os.Exit(1)
	}
}

func (o options) check() error {
	switch {
	case o.databaseURL == "" || o.brokers == "" || o.connectURL == "":
		return errors.New("--database-url, --kafka-brokers and --connect-url are required")
	case o.connectPID <= 0:
		return errors.New("--connect-pid is required (the worker's process CPU is part of the result)")
	case o.records < 1000 || o.runs < 1 || o.partitions < 1 || o.batch < 1 || o.warmup < 0 || o.kafkaPID < 0:
		return errors.New("--records (at least 1000), --runs, --partitions and --batch must be positive, --warmup and --kafka-pid not negative")
	}
	u, err := url.Parse(o.connectURL)
	if err != nil {
		return fmt.Errorf("--connect-url: %w", err)
	}
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" && h != "::1" {
		return fmt.Errorf("--connect-url: only a worker on this machine is measured, not %s", u.Host)
	}
	return nil
}

// bench is one invocation: its database, Kafka client and worker.
type bench struct {
	o       options
	db      *storage.DB
	pg      *pgx.Conn
	kc      *broker.Client
	store   *library.Store
	connect connectClient
	jdbc    jdbcTarget
	topics  exchange.Topics
	id      string
	pgPID   int
}

func run(ctx context.Context, o options, out io.Writer) error {
	if err := o.check(); err != nil {
		return err
	}
	o.kafka.TLS = o.kafka.CAFile != ""
	sec, err := broker.NewSecurity(o.kafka)
	if err != nil {
		return fmt.Errorf("kafka settings: %w", err)
	}
	b := &bench{o: o, id: strconv.FormatInt(time.Now().Unix(), 36), connect: connectClient{base: strings.TrimRight(o.connectURL, "/")}}
	b.topics = exchange.Topics{Prefix: "connectbench" + b.id}
	b.kc = broker.New(broker.Config{Brokers: strings.Split(o.brokers, ","), ClientID: "yiku-connectbench", Security: sec, Partitions: o.partitions, Replication: 1})
	defer b.kc.Close()

	dbURL, dbName, dropDB, err := newDatabase(ctx, o.databaseURL, "yiku_connectbench_"+b.id)
	if err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			if err := dropDB(); err != nil {
				fmt.Fprintln(os.Stderr, "connectbench:", err)
			}
		}()
	}
	if b.jdbc, err = jdbcTargetOf(dbURL); err != nil {
		return err
	}
	if b.db, err = storage.Open(ctx, dbURL); err != nil {
		return fmt.Errorf("open %s: %w", dbName, err)
	}
	defer b.db.Close()
	if err := b.db.MigrateUp(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", dbName, err)
	}
	b.store = library.NewStore(b.db)
	if b.pg, err = pgx.Connect(ctx, dbURL); err != nil {
		return fmt.Errorf("connect %s: %w", dbName, err)
	}
	defer b.pg.Close(context.Background())
	if _, err := b.pg.Exec(ctx, connectTableDDL); err != nil {
		return fmt.Errorf("create connect_records: %w", err)
	}
	if b.pgPID, err = postmasterPID(ctx, b.pg); err != nil {
		return err
	}
	if !o.keep {
		defer func() {
			dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := b.kc.DeleteTopicsWithPrefix(dctx, b.topics.Prefix+"."); err != nil {
				fmt.Fprintln(os.Stderr, "connectbench: delete topics:", err)
			}
		}()
	}
	plugin, err := b.connect.jdbcSinkVersion(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "connectbench: %d population records per run, %d runs, %d partitions; database %s; Kafka %s (%s)\n",
		o.records, o.runs, o.partitions, dbName, o.brokers, sec.Protocol())
	fmt.Fprintf(out, "  Debezium JDBC sink %s on the Kafka Connect worker at %s (pid %d): batch.size %d, max.poll.records %d, %d tasks, unnest %v\n",
		plugin, o.connectURL, o.connectPID, o.batch, o.batch, o.partitions, o.unnest)

	fmt.Fprintf(out, "  CPU of the processes: the sink's own (this one, or the worker), PostgreSQL (postmaster %d and its children)", b.pgPID)
	if o.kafkaPID > 0 {
		fmt.Fprintf(out, ", the Kafka broker (pid %d)", o.kafkaPID)
	}
	fmt.Fprintln(out)
	var yiku, conn []measure
	for i := 1; i <= o.warmup+o.runs; i++ {
		switch {
		case i == 1 && o.warmup > 0:
			fmt.Fprintf(out, "warm-up: %d run(s), not counted\n", o.warmup)
		case i == o.warmup+1:
			fmt.Fprintf(out, "measured: %d run(s)\n", o.runs)
		}
		y, c, err := b.runOnce(ctx, i, out)
		if err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		if i > o.warmup {
			yiku, conn = append(yiku, y), append(conn, c)
		}
	}
	report(out, yiku, conn)
	return nil
}

// runOnce publishes one sample to both topics, lets each sink drain its
// topic alone (in alternating order, so neither always runs on a warmer
// machine) and checks the two tables agree.
func (b *bench) runOnce(ctx context.Context, i int, out io.Writer) (yiku, conn measure, err error) {
	sample, err := loadgen.NewSample(loadgen.KindPopulation, b.o.records, uint64(i))
	if err != nil {
		return yiku, conn, err
	}
	resource := fmt.Sprintf("population-%d", i)
	recTopic := b.topics.Records(resource)
	connTopic := b.topics.Prefix + ".connect." + resource
	if err := b.kc.EnsureTopicsWith(ctx, b.o.partitions, recTopic, connTopic); err != nil {
		return yiku, conn, err
	}
	recMsgs := make([]kafka.Message, len(sample.Records))
	connMsgs := make([]kafka.Message, len(sample.Records))
	for j := range sample.Records {
		sample.Records[j].Resource = resource
		// PostgreSQL keeps microseconds: both sinks then store the same instant.
		sample.Records[j].PublishedAt = sample.Records[j].PublishedAt.Truncate(time.Microsecond)
		r := sample.Records[j]
		recMsgs[j] = r.Message("")
		if connMsgs[j], err = connectMessage(r); err != nil {
			return yiku, conn, err
		}
	}
	if err := b.produce(ctx, recTopic, recMsgs); err != nil {
		return yiku, conn, err
	}
	if err := b.produce(ctx, connTopic, connMsgs); err != nil {
		return yiku, conn, err
	}
	fmt.Fprintf(out, "run %d: %d records in %s and %s (load average %s)\n", i, len(sample.Records), recTopic, connTopic, loadAverage())

	yikuFirst := i%2 == 1
	for k := 0; k < 2; k++ {
		if (k == 0) == yikuFirst {
			if yiku, err = b.runLibrarySink(ctx, resource, recTopic); err != nil {
				return yiku, conn, fmt.Errorf("library sink: %w", err)
			}
			fmt.Fprintf(out, "  library sink         %s\n", yiku)
		} else {
			if conn, err = b.runJDBCSink(ctx, i, resource, connTopic); err != nil {
				return yiku, conn, fmt.Errorf("JDBC sink: %w", err)
			}
			fmt.Fprintf(out, "  Debezium JDBC sink   %s\n", conn)
		}
	}
	if err := b.sameRecords(ctx, resource, len(sample.Records)); err != nil {
		return yiku, conn, err
	}
	fmt.Fprintf(out, "  both tables hold the same %d records\n", len(sample.Records))
	return yiku, conn, nil
}

func (b *bench) produce(ctx context.Context, topic string, msgs []kafka.Message) error {
	w := &kafka.Writer{Addr: b.kc.Addr(), Transport: b.kc.Transport(), Topic: topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 5000, BatchBytes: 16 << 20, BatchTimeout: 2 * time.Millisecond, Compression: kafka.Lz4}
	defer w.Close()
	// A new topic takes a moment to reach every broker's metadata.
	for try := 0; ; try++ {
		err := w.WriteMessages(ctx, msgs...)
		if err == nil {
			return nil
		}
		if !errors.Is(err, kafka.UnknownTopicOrPartition) || try == 50 {
			return fmt.Errorf("produce to %s: %w", topic, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// runLibrarySink runs the hub's library sink, in this process, until
// library_records holds every record of resource.
func (b *bench) runLibrarySink(ctx context.Context, resource, topic string) (measure, error) {
	if err := b.store.RegisterTopic(ctx, resource, topic); err != nil {
		return measure{}, err
	}
	sctx, cancel := context.WithCancel(ctx)
	sink := library.NewSink(library.SinkConfig{Kafka: b.kc, GroupID: topic + ".library", TopicPoll: 100 * time.Millisecond}, b.store, b.kc, b.topics, nil)
	done := make(chan struct{})
	go func() { defer close(done); _ = sink.Run(sctx) }()
	m, err := b.await(ctx, "library_records", resource, "self", nil)
	cancel()
	<-done
	return m, err
}

// runJDBCSink creates the JDBC sink connector on the worker for topic,
// waits until connect_records holds every record of resource and deletes
// the connector.
func (b *bench) runJDBCSink(ctx context.Context, i int, resource, topic string) (measure, error) {
	name := fmt.Sprintf("yiku-connectbench-%s-%d", b.id, i)
	if err := b.connect.create(ctx, name, b.jdbcConfig(topic)); err != nil {
		return measure{}, err
	}
	m, err := b.await(ctx, "connect_records", resource, strconv.Itoa(b.o.connectPID), func() error { return b.connect.failed(ctx, name) })
	dctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if derr := b.connect.delete(dctx, name); derr != nil && err == nil {
		err = derr
	}
	return m, err
}

// jdbcConfig is the connector's configuration: upserts keyed by the
// message key into connect_records, which already exists (no schema
// evolution), one task per partition, the worker's JSON converters.
func (b *bench) jdbcConfig(topic string) map[string]string {
	return map[string]string{
		"connector.class":                        "io.debezium.connector.jdbc.JdbcSinkConnector",
		"tasks.max":                              strconv.Itoa(b.o.partitions),
		"topics":                                 topic,
		"connection.url":                         b.jdbc.url,
		"connection.username":                    b.jdbc.user,
		"connection.password":                    b.jdbc.password,
		"insert.mode":                            "upsert",
		"primary.key.mode":                       "record_key",
		"delete.enabled":                         "false",
		"schema.evolution":                       "none",
		"collection.name.format":                 "connect_records",
		"batch.size":                             strconv.Itoa(b.o.batch),
		"consumer.override.max.poll.records":     strconv.Itoa(b.o.batch),
		"dialect.postgres.unnest.insert.enabled": strconv.FormatBool(b.o.unnest),
	}
}

// await polls the row count of resource in table every 250 ms until it
// reaches the sample size. The clock starts at the first poll that sees a
// row, so joining the consumer group (and, for the connector, starting its
// tasks) is not counted, as in BenchmarkSinkAgainstRawUpsert; the rows
// already there then are left out of the rate. Both sinks are polled the
// same way, so the polling costs them alike. Every 2 s failed (when not
// nil) says whether the sink has given up.
func (b *bench) await(ctx context.Context, table, resource, pid string, failed func() error) (measure, error) {
	q := "SELECT count(*) FROM " + table + " WHERE resource_id = $1"
	deadline := time.Now().Add(b.o.timeout)
	var (
		started bool
		t0      time.Time
		n0      int64
		cpu0    time.Duration
		proc0   cpuSample
		err     error
	)
	for poll := 1; ; poll++ {
		var n int64
		if err := b.pg.QueryRow(ctx, q, resource).Scan(&n); err != nil {
			return measure{}, fmt.Errorf("count %s: %w", table, err)
		}
		now := time.Now()
		if !started && n > 0 {
			started, t0, n0, cpu0 = true, now, n, loadgen.MachineCPU()
			if proc0, err = b.sampleCPU(pid); err != nil {
				return measure{}, err
			}
		}
		if n >= int64(b.o.records) {
			m := measure{records: n - n0, elapsed: now.Sub(t0), machine: loadgen.MachineCPU() - cpu0}
			p, err := b.sampleCPU(pid)
			if err != nil {
				return measure{}, err
			}
			m.process, m.postgres, m.kafka = p.process-proc0.process, p.postgres-proc0.postgres, p.kafka-proc0.kafka
			if m.records == 0 {
				return measure{}, fmt.Errorf("every row of %s appeared before the first poll; use more --records", table)
			}
			return m, nil
		}
		if now.After(deadline) {
			return measure{}, fmt.Errorf("%s holds %d of %d records after %s", table, n, b.o.records, b.o.timeout)
		}
		if failed != nil && poll%8 == 0 {
			if err := failed(); err != nil {
				return measure{}, fmt.Errorf("%s holds %d of %d records: %w", table, n, b.o.records, err)
			}
		}
		select {
		case <-ctx.Done():
			return measure{}, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// sameRecords checks both sinks wrote the same record for every subject.
func (b *bench) sameRecords(ctx context.Context, resource string, want int) error {
	var n int64
	err := b.pg.QueryRow(ctx, `SELECT count(*) FROM library_records l JOIN connect_records c USING (resource_id, subject_key)
		WHERE l.resource_id = $1 AND l.record_id = c.record_id AND l.data = c.data AND l.publisher = c.publisher
		AND l.schema_version = c.schema_version AND l.published_at = c.published_at`, resource).Scan(&n)
	if err != nil {
		return fmt.Errorf("compare tables: %w", err)
	}
	if n != int64(want) {
		return fmt.Errorf("library_records and connect_records agree on %d of %d records of %s", n, want, resource)
	}
	return nil
}

// cpuSample is the CPU the sink's process, PostgreSQL and the broker have
// used so far.
type cpuSample struct{ process, postgres, kafka time.Duration }

func (b *bench) sampleCPU(pid string) (cpuSample, error) {
	var s cpuSample
	var err error
	if s.process, err = processCPU(pid); err != nil {
		return s, err
	}
	if s.postgres, err = treeCPU(b.pgPID); err != nil {
		return s, err
	}
	if b.o.kafkaPID > 0 {
		if s.kafka, err = processCPU(strconv.Itoa(b.o.kafkaPID)); err != nil {
			return s, err
		}
	}
	return s, nil
}

// postmasterPID is the pid of the PostgreSQL server: the parent of this
// connection's backend. Only a server on this machine can be measured.
func postmasterPID(ctx context.Context, pg *pgx.Conn) (int, error) {
	var backend int
	if err := pg.QueryRow(ctx, "SELECT pg_backend_pid()").Scan(&backend); err != nil {
		return 0, fmt.Errorf("backend pid: %w", err)
	}
	b, err := os.ReadFile("/proc/" + strconv.Itoa(backend) + "/stat")
	if err != nil {
		return 0, fmt.Errorf("PostgreSQL's backend %d is not a process here (is the database on this machine?): %w", backend, err)
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	f := strings.Fields(s[i+1:])
	if i < 0 || len(f) < 2 {
		return 0, fmt.Errorf("backend %d: unreadable /proc stat", backend)
	}
	ppid, err := strconv.Atoi(f[1])
	if err != nil {
		return 0, fmt.Errorf("backend %d: parent pid: %w", backend, err)
	}
	return ppid, nil
}
