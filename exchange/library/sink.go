package library

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange"
	"yiku/fieldcrypt"
	"yiku/periodic"
)

// EndOffsets reads the next offset to be written per partition (broker.Client).
type EndOffsets interface {
	EndOffsets(ctx context.Context, topic string) (map[int]int64, error)
}

// SinkConfig configures the library sink.
type SinkConfig struct {
	// Kafka is the hub's broker client: the sink's readers and consumer
	// group connect with its brokers and security.
	Kafka *broker.Client
	// GroupID is the Kafka consumer group that spreads partitions over hub
	// instances; offsets are kept in the database, not in the group.
	GroupID string
	// BatchRecords is the most messages applied in one transaction.
	BatchRecords int
	// BatchWait is how long a partition gathers a batch after its first message.
	BatchWait time.Duration
	// TopicPoll is how often the sink looks for new resource topics.
	TopicPoll time.Duration
	// IdempotencyRetention is how long publish Idempotency-Keys are
	// remembered; older ones are pruned hourly.
	IdempotencyRetention time.Duration
	Log                  *slog.Logger
}

// Sink applies resource topics to the library.
type Sink struct {
	cfg     SinkConfig
	store   *Store
	ends    EndOffsets
	topics  exchange.Topics
	metrics *sinkMetrics
	backlog atomic.Int64
}

type sinkMetrics struct {
	applied *prometheus.CounterVec
	skipped *prometheus.CounterVec
	lag     *prometheus.GaugeVec
	batch   prometheus.Histogram
}

// NewSink builds the sink. reg may be nil.
func NewSink(cfg SinkConfig, store *Store, ends EndOffsets, topics exchange.Topics, reg prometheus.Registerer) *Sink {
	if cfg.BatchRecords <= 0 {
		cfg.BatchRecords = 2000
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 20 * time.Millisecond
	}
	if cfg.TopicPoll <= 0 {
		cfg.TopicPoll = 2 * time.Second
	}
	if cfg.IdempotencyRetention <= 0 {
		cfg.IdempotencyRetention = 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &sinkMetrics{
		applied: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_library_applied_versions_total", Help: "Record versions the library sink added, by resource."}, []string{"resource"}),
		skipped: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_library_skipped_messages_total", Help: "Messages the library sink could not read and skipped, by resource."}, []string{"resource"}),
		lag:     prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "yiku_library_lag_records", Help: "Records in a resource topic not yet applied to the library."}, []string{"resource"}),
		batch:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yiku_library_batch_seconds", Help: "Time to apply one sink batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10)}),
	}
	if reg != nil {
		reg.MustRegister(m.applied, m.skipped, m.lag, m.batch)
	}
	return &Sink{cfg: cfg, store: store, ends: ends, topics: topics, metrics: m}
}

// Name names the worker.
func (s *Sink) Name() string { return "library-sink" }

// Backlog returns the records in Kafka not yet in the library, as of the
// last lag measurement.
func (s *Sink) Backlog() int64 { return s.backlog.Load() }

// Run consumes until ctx ends. Each consumer-group generation runs one
// reader per assigned partition, starting at the offset stored in the
// database; a new resource topic starts a new generation.
func (s *Sink) Run(ctx context.Context) error {
	go s.measureLag(ctx)
	go s.pruneIdempotency(ctx)
	for ctx.Err() == nil {
		topics, err := s.store.Topics(ctx)
		if err != nil {
			s.cfg.Log.Warn("library sink: read topics", "err", err)
			_ = periodic.Sleep(ctx, s.cfg.TopicPoll)
			continue
		}
		if len(topics) == 0 {
			_ = periodic.Sleep(ctx, s.cfg.TopicPoll)
			continue
		}
		if err := s.runGroup(ctx, topics); err != nil && ctx.Err() == nil {
			s.cfg.Log.Warn("library sink: consumer group", "err", err)
			_ = periodic.Sleep(ctx, time.Second)
		}
	}
	return nil
}

// runGroup consumes the given topics until ctx ends or the topic set changes.
func (s *Sink) runGroup(ctx context.Context, topics map[string]string) error {
	names := slices.Sorted(maps.Values(topics))
	gctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cg, err := kafka.NewConsumerGroup(kafka.ConsumerGroupConfig{
		ID: s.cfg.GroupID, Brokers: s.cfg.Kafka.Config().Brokers, Dialer: s.cfg.Kafka.Dialer(), Topics: names,
		StartOffset: kafka.FirstOffset, HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second,
		RebalanceTimeout: 10 * time.Second, JoinGroupBackoff: 500 * time.Millisecond, WatchPartitionChanges: true,
		PartitionWatchInterval: 5 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("consumer group: %w", err)
	}
	defer cg.Close()
	go func() {
		// A new resource topic means a new subscription of the group.
		t := time.NewTicker(s.cfg.TopicPoll)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return
			case <-t.C:
				now, err := s.store.Topics(gctx)
				if err == nil && len(now) != len(topics) {
					cancel()
					return
				}
			}
		}
	}()
	for {
		gen, err := cg.Next(gctx)
		if err != nil {
			if gctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("next generation: %w", err)
		}
		for topic, parts := range gen.Assignments {
			resource, ok := s.topics.ResourceOf(topic)
			if !ok {
				continue
			}
			for _, pa := range parts {
				gen.Start(func(pctx context.Context) {
					// Stop with the generation or with the topic-set change.
					pctx, stop := context.WithCancel(pctx)
					defer stop()
					go func() {
						select {
						case <-gctx.Done():
							stop()
						case <-pctx.Done():
						}
					}()
					s.consumePartition(pctx, resource, topic, pa.ID)
				})
			}
		}
	}
}

// consumePartition applies one partition until ctx ends.
func (s *Sink) consumePartition(ctx context.Context, resource, topic string, partition int) {
	log := s.cfg.Log.With("topic", topic, "partition", partition)
	for ctx.Err() == nil {
		err := s.consumeFromStored(ctx, resource, topic, partition)
		if err == nil || ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrFenced) {
			log.Info("library sink: offset moved by another consumer; resuming from the stored offset")
			continue
		}
		log.Warn("library sink: partition failed; retrying", "err", err)
		_ = periodic.Sleep(ctx, time.Second)
	}
}

func (s *Sink) consumeFromStored(ctx context.Context, resource, topic string, partition int) error {
	next, err := s.store.StartOffset(ctx, topic, partition)
	if err != nil {
		return err
	}
	r := s.cfg.Kafka.NewReader(kafka.ReaderConfig{
		Topic: topic, Partition: partition,
		MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 100 * time.Millisecond, QueueCapacity: s.cfg.BatchRecords,
		ReadBackoffMin: 20 * time.Millisecond, ReadBackoffMax: 200 * time.Millisecond,
	})
	defer r.Close()
	start := next
	if start == 0 {
		start = kafka.FirstOffset
	}
	if err := r.SetOffset(start); err != nil {
		return fmt.Errorf("seek %s/%d to %d: %w", topic, partition, next, err)
	}
	batch := make([]Entry, 0, s.cfg.BatchRecords)
	for {
		batch = batch[:0]
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch: %w", err)
		}
		last := m.Offset
		if batch, err = s.appendEntry(ctx, batch, resource, m); err != nil {
			return err
		}
		wctx, cancel := context.WithTimeout(ctx, s.cfg.BatchWait)
		for len(batch) < s.cfg.BatchRecords {
			m, err := r.FetchMessage(wctx)
			if err != nil {
				break
			}
			last = m.Offset
			if batch, err = s.appendEntry(ctx, batch, resource, m); err != nil {
				cancel()
				return err
			}
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		t0 := time.Now()
		// The batch is retried until it applies: advancing past it would
		// lose records, and the stored offset stays where it was.
		for {
			added, err := s.store.Apply(ctx, resource, topic, partition, next, last+1, batch)
			if err == nil {
				s.metrics.applied.WithLabelValues(resource).Add(float64(added))
				s.metrics.batch.Observe(time.Since(t0).Seconds())
				break
			}
			if errors.Is(err, ErrFenced) || ctx.Err() != nil {
				return err
			}
			s.cfg.Log.Warn("library sink: apply failed; retrying", "topic", topic, "partition", partition, "err", err)
			_ = periodic.Sleep(ctx, 500*time.Millisecond)
		}
		next = last + 1
	}
}

// appendEntry adds m to batch. It fails (and the partition is read again
// from its stored offset after a pause) only for a sealed record it cannot
// open yet: its data key could not be loaded, or the hub has no data key
// file; skipping it would lose it.
func (s *Sink) appendEntry(ctx context.Context, batch []Entry, resource string, m kafka.Message) ([]Entry, error) {
	rec, err := exchange.RecordFromMessage(ctx, m, s.store.Fields)
	if errors.Is(err, exchange.ErrUnopened) && !errors.Is(err, fieldcrypt.ErrSealed) {
		return batch, err
	}
	if err == nil && rec.Resource != resource {
		err = fmt.Errorf("record of %s on the topic of %s", rec.Resource, resource)
	}
	if err != nil {
		// Only the hub writes resource topics; a message it cannot read is
		// counted and logged, never applied and never allowed to block the partition.
		s.metrics.skipped.WithLabelValues(resource).Inc()
		s.cfg.Log.Error("library sink: skipping unreadable message", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", err)
		return batch, nil
	}
	return append(batch, Entry{Record: rec, Partition: m.Partition, Offset: m.Offset}), nil
}

// ResourceLag is how far the library is behind one resource topic.
type ResourceLag struct {
	Resource string `json:"resource"`
	Topic    string `json:"topic"`
	// EndOffset is the sum over partitions of the next offset Kafka writes.
	EndOffset int64 `json:"end_offset"`
	// Applied is the sum over partitions of the next offset the sink reads.
	Applied int64 `json:"applied_offset"`
	Lag     int64 `json:"lag"`
}

// Lag measures the library's lag per resource topic now.
func (s *Sink) Lag(ctx context.Context) ([]ResourceLag, error) {
	topics, err := s.store.Topics(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]ResourceLag, 0, len(topics))
	for _, resource := range slices.Sorted(maps.Keys(topics)) {
		topic := topics[resource]
		ends, err := s.ends.EndOffsets(ctx, topic)
		if err != nil {
			return nil, err
		}
		applied, err := s.store.Offsets(ctx, topic)
		if err != nil {
			return nil, err
		}
		l := ResourceLag{Resource: resource, Topic: topic}
		for p, end := range ends {
			a := applied[p]
			l.EndOffset += end
			l.Applied += a
			l.Lag += max(0, end-a)
		}
		out = append(out, l)
	}
	return out, nil
}

func (s *Sink) measureLag(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		lags, err := s.Lag(ctx)
		if err != nil {
			continue
		}
		var total int64
		for _, l := range lags {
			s.metrics.lag.WithLabelValues(l.Resource).Set(float64(l.Lag))
			total += l.Lag
		}
		s.backlog.Store(total)
	}
}

// pruneIdempotency forgets old publish Idempotency-Keys every hour, so the
// table does not grow without bound.
func (s *Sink) pruneIdempotency(ctx context.Context) {
	periodic.Run(ctx, time.Hour, s.cfg.Log, "library sink: prune idempotency keys", func(ctx context.Context) error {
		_, err := s.store.PruneIdempotency(ctx, time.Now().Add(-s.cfg.IdempotencyRetention))
		return err
	})
}
