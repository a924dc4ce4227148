package library_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/broker/brokertest"
	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/exchange/loadgen"
	"yiku/storage/storagetest"
)

// BenchmarkSinkAgainstRawUpsert measures the library sink alone — Kafka
// consumer group, one reader per partition, compare-and-set against the
// current records, history insert, current upsert and stored offsets in one
// transaction per batch — draining a backlog of sinkRecords population
// records already in their resource topic, and in the same run the raw
// baseline: the same rows written with the sink's own two statements
// through plain pgx (loadgen.PostgresUpsertArrays), 2,000 rows per
// transaction, one connection per partition. It reports both rates and
// sink/raw (the exchange issue's target: at least 0.8). PostgreSQL and
// Kafka only (the raw baseline is PostgreSQL's array form):
//
//	export $(deployments/local/services-up.sh)
//	go test -run '^$' -bench SinkAgainstRawUpsert ./exchange/library/
func BenchmarkSinkAgainstRawUpsert(b *testing.B) {
	if !storagetest.Postgres() {
		b.Skip("needs PostgreSQL (" + storagetest.EnvURL + ")")
	}
	const (
		sinkRecords = 100000
		partitions  = 3
	)
	ctx := context.Background()
	db, dbURL := storagetest.OpenURL(b)
	kafkaCfg := brokertest.Start(b).Config()
	kafkaCfg.Partitions = partitions
	prefix := brokertest.Prefix(b)
	bc := broker.New(kafkaCfg)
	b.Cleanup(func() { _ = bc.Close() })
	store := library.NewStore(db)

	var sinkRate, rawRate float64
	b.StopTimer()
	for i := 0; i < b.N; i++ {
		sample, err := loadgen.NewSample(loadgen.KindPopulation, sinkRecords, uint64(i+1))
		if err != nil {
			b.Fatal(err)
		}
		// Each iteration its own resource and topic, so every row is new.
		resource := fmt.Sprintf("population-%d", i)
		topics := exchange.Topics{Prefix: prefix}
		topic := topics.Records(resource)
		if err := bc.EnsureTopics(ctx, topic); err != nil {
			b.Fatal(err)
		}
		w := &kafka.Writer{Addr: bc.Addr(), Transport: bc.Transport(), Topic: topic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll,
			BatchSize: 5000, BatchBytes: 16 << 20, BatchTimeout: 2 * time.Millisecond, Compression: kafka.Lz4}
		msgs := make([]kafka.Message, len(sample.Records))
		for j := range sample.Records {
			sample.Records[j].Resource = resource
			r := sample.Records[j]
			msgs[j] = r.Message("")
			msgs[j].Topic = ""
		}
		// A new topic takes a moment to reach every broker's metadata.
		for try := 0; ; try++ {
			err := w.WriteMessages(ctx, msgs...)
			if err == nil {
				break
			}
			if !errors.Is(err, kafka.UnknownTopicOrPartition) || try == 50 {
				b.Fatal(err)
			}
			time.Sleep(200 * time.Millisecond)
		}
		_ = w.Close()
		if err := store.RegisterTopic(ctx, resource, topic); err != nil {
			b.Fatal(err)
		}

		b.StartTimer()
		sctx, cancel := context.WithCancel(ctx)
		sink := library.NewSink(library.SinkConfig{Kafka: bc, GroupID: topic + ".library", TopicPoll: 100 * time.Millisecond}, store, bc, topics, nil)
		done := make(chan struct{})
		go func() { defer close(done); _ = sink.Run(sctx) }()
		// The clock starts at the first applied batch, so joining the
		// consumer group is not counted (the raw baseline connects before
		// its clock starts too).
		var t0 time.Time
		var a0 int64
		for {
			n := appliedOffsets(b, store, topic)
			if t0.IsZero() && n > 0 {
				t0, a0 = time.Now(), n
			}
			if n >= int64(sinkRecords) {
				sinkRate += float64(n-a0) / time.Since(t0).Seconds()
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
		b.StopTimer()

		r, err := loadgen.PostgresUpsertArrays(ctx, dbURL, sample, 2000, partitions)
		if err != nil {
			b.Fatal(err)
		}
		rawRate += r.Rate()
	}
	sinkRate, rawRate = sinkRate/float64(b.N), rawRate/float64(b.N)
	b.ReportMetric(sinkRate, "sink-rec/s")
	b.ReportMetric(rawRate, "raw-rec/s")
	b.ReportMetric(sinkRate/rawRate, "sink/raw")
}

func appliedOffsets(b *testing.B, store *library.Store, topic string) int64 {
	b.Helper()
	offs, err := store.Offsets(context.Background(), topic)
	if err != nil {
		b.Fatal(err)
	}
	var n int64
	for _, o := range offs {
		n += o
	}
	return n
}
