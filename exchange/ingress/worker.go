package ingress

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/periodic"
)

// TopicCreator creates topics (broker.Client).
type TopicCreator interface {
	EnsureTopics(ctx context.Context, topics ...string) error
}

// WorkerConfig configures the ingress worker.
type WorkerConfig struct {
	// Kafka is the hub's broker client: the worker's consumer connects
	// with its brokers and security.
	Kafka *broker.Client
	// GroupID is the consumer group all hub instances share.
	GroupID string
	// Departments lists the department codes whose ingress topics to read.
	Departments func(ctx context.Context) ([]string, error)
	// BatchRecords is the most messages handled (and committed) at once.
	BatchRecords int
	// BatchWait is how long a batch gathers after its first message.
	BatchWait time.Duration
	// DepartmentPoll is how often new departments are looked for.
	DepartmentPoll time.Duration
	// KeyRetention is how long idempotency keys are remembered.
	KeyRetention time.Duration
	Log          *slog.Logger
}

// KeyPruner forgets old idempotency keys (Store).
type KeyPruner interface {
	PruneKeys(ctx context.Context, before time.Time) (int64, error)
}

// Worker consumes every department's ingress topic in one consumer group
// and hands batches to the Ingester; it commits a batch's offsets only
// after the batch was handled, so a crash replays rather than loses.
type Worker struct {
	cfg     WorkerConfig
	ing     *Ingester
	admin   TopicCreator
	pruner  KeyPruner
	metrics *workerMetrics
}

type workerMetrics struct {
	records *prometheus.CounterVec
	batch   prometheus.Histogram
}

// NewWorker builds the worker. reg and pruner may be nil.
func NewWorker(cfg WorkerConfig, ing *Ingester, admin TopicCreator, pruner KeyPruner, reg prometheus.Registerer) *Worker {
	if cfg.BatchRecords <= 0 {
		cfg.BatchRecords = 500
	}
	if cfg.BatchWait <= 0 {
		cfg.BatchWait = 50 * time.Millisecond
	}
	if cfg.DepartmentPoll <= 0 {
		cfg.DepartmentPoll = 10 * time.Second
	}
	if cfg.KeyRetention <= 0 {
		cfg.KeyRetention = 7 * 24 * time.Hour
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	m := &workerMetrics{
		records: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_ingress_records_total", Help: "Kafka ingress records by outcome (routed, dead_letter, repeat)."}, []string{"outcome"}),
		batch:   prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yiku_ingress_batch_seconds", Help: "Time to handle one ingress batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10)}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.batch)
	}
	return &Worker{cfg: cfg, ing: ing, admin: admin, pruner: pruner, metrics: m}
}

// Name names the worker.
func (w *Worker) Name() string { return "exchange-ingress" }

// Run consumes until ctx ends; a new department restarts the group
// subscription with its topics.
func (w *Worker) Run(ctx context.Context) error {
	go w.pruneKeys(ctx)
	for ctx.Err() == nil {
		depts, err := w.departments(ctx)
		if err == nil && len(depts) == 0 {
			err = errNoDepartments
		}
		if err != nil {
			w.cfg.Log.Warn("ingress: departments", "err", err)
			_ = periodic.Sleep(ctx, w.cfg.DepartmentPoll)
			continue
		}
		if err := w.consume(ctx, depts); err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("ingress: consumer", "err", err)
			_ = periodic.Sleep(ctx, time.Second)
		}
	}
	return nil
}

func (w *Worker) departments(ctx context.Context) ([]string, error) {
	depts, err := w.cfg.Departments(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(depts)
	return depts, nil
}

// consume reads the ingress topics of depts until ctx ends or the
// department list changes.
func (w *Worker) consume(ctx context.Context, depts []string) error {
	topics := make([]string, 0, 2*len(depts))
	ingress := make([]string, 0, len(depts))
	for _, d := range depts {
		ingress = append(ingress, w.ing.Topics.Ingress(d))
		topics = append(topics, w.ing.Topics.Ingress(d), w.ing.Topics.DeadLetters(d))
	}
	if err := w.admin.EnsureTopics(ctx, topics...); err != nil {
		return fmt.Errorf("create ingress topics: %w", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		t := time.NewTicker(w.cfg.DepartmentPoll)
		defer t.Stop()
		for {
			select {
			case <-cctx.Done():
				return
			case <-t.C:
				now, err := w.departments(cctx)
				if err == nil && !slices.Equal(now, depts) {
					cancel()
					return
				}
			}
		}
	}()
	r := w.cfg.Kafka.NewReader(kafka.ReaderConfig{
		GroupID: w.cfg.GroupID, GroupTopics: ingress,
		StartOffset: kafka.FirstOffset, MinBytes: 1, MaxBytes: 16 << 20, MaxWait: 250 * time.Millisecond,
		QueueCapacity: w.cfg.BatchRecords, CommitInterval: 0,
		HeartbeatInterval: time.Second, SessionTimeout: 10 * time.Second, RebalanceTimeout: 10 * time.Second,
		JoinGroupBackoff: 500 * time.Millisecond, ReadBackoffMin: 50 * time.Millisecond, ReadBackoffMax: 500 * time.Millisecond,
		WatchPartitionChanges: true, PartitionWatchInterval: 5 * time.Second,
	})
	defer r.Close()
	batch := make([]kafka.Message, 0, w.cfg.BatchRecords)
	for {
		batch = batch[:0]
		m, err := r.FetchMessage(cctx)
		if err != nil {
			if cctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch: %w", err)
		}
		batch = append(batch, m)
		wctx, wcancel := context.WithTimeout(cctx, w.cfg.BatchWait)
		for len(batch) < w.cfg.BatchRecords {
			m, err := r.FetchMessage(wctx)
			if err != nil {
				break
			}
			batch = append(batch, m)
		}
		wcancel()
		if err := w.handle(cctx, batch); err != nil {
			return nil // ctx ended mid-batch: uncommitted, read again later
		}
		if err := r.CommitMessages(context.WithoutCancel(cctx), batch...); err != nil {
			return fmt.Errorf("commit %d messages: %w", len(batch), err)
		}
	}
}

// handle retries the batch with back-off until it is handled or ctx ends:
// skipping it would lose records, and every refusal a record deserves is
// already a dead letter rather than an error.
func (w *Worker) handle(ctx context.Context, batch []kafka.Message) error {
	backoff := 200 * time.Millisecond
	for {
		t0 := time.Now()
		out, err := w.ing.Handle(ctx, batch)
		if err == nil {
			w.metrics.batch.Observe(time.Since(t0).Seconds())
			w.metrics.records.WithLabelValues("routed").Add(float64(out.Routed))
			w.metrics.records.WithLabelValues("dead_letter").Add(float64(out.DeadLetter))
			w.metrics.records.WithLabelValues("repeat").Add(float64(out.Repeats))
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		w.cfg.Log.Warn("ingress: batch failed; retrying", "messages", len(batch), "err", err)
		_ = periodic.Sleep(ctx, backoff)
		backoff = min(2*backoff, 10*time.Second)
	}
}

// pruneKeys forgets old idempotency keys every hour, so the table does not
// grow without bound.
func (w *Worker) pruneKeys(ctx context.Context) {
	if w.pruner == nil {
		return
	}
	periodic.Run(ctx, time.Hour, w.cfg.Log, "ingress: prune idempotency keys", func(ctx context.Context) error {
		_, err := w.pruner.PruneKeys(ctx, time.Now().Add(-w.cfg.KeyRetention))
		return err
	})
}
