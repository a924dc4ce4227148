package ingress

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
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

// Worker consumes the departments' ingress topics, one consumer per
// department, and hands each department's batches to the Ingester; it
// commits a batch's offsets only after the batch was handled, so a crash
// replays rather than loses. A department's consumer waits for nothing of
// another's: a slow record, a batch retried while Kafka or the database
// fails for it, or a department added or removed delays only that
// department's records.
type Worker struct {
	cfg     WorkerConfig
	ing     *Ingester
	admin   TopicCreator
	pruner  KeyPruner
	metrics *workerMetrics
}

type workerMetrics struct {
	records   *prometheus.CounterVec
	batch     prometheus.Histogram
	consumers prometheus.Gauge
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
		records:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_ingress_records_total", Help: "Kafka ingress records by outcome (routed, dead_letter, repeat)."}, []string{"outcome"}),
		batch:     prometheus.NewHistogram(prometheus.HistogramOpts{Name: "yiku_ingress_batch_seconds", Help: "Time to handle one ingress batch.", Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 10)}),
		consumers: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yiku_ingress_consumers", Help: "Department ingress consumers running in this instance."}),
	}
	if reg != nil {
		reg.MustRegister(m.records, m.batch, m.consumers)
	}
	return &Worker{cfg: cfg, ing: ing, admin: admin, pruner: pruner, metrics: m}
}

// Name names the worker.
func (w *Worker) Name() string { return "exchange-ingress" }

// Run keeps one consumer running per department until ctx ends: every
// DepartmentPoll it starts consumers for new departments (after creating
// their ingress and dead-letter topics) and stops those of departments
// that are gone, leaving the others running. It returns when every
// consumer has stopped.
func (w *Worker) Run(ctx context.Context) error {
	go w.pruneKeys(ctx)
	var wg sync.WaitGroup
	running := map[string]context.CancelFunc{}
	defer func() {
		for _, stop := range running {
			stop()
		}
		wg.Wait()
		w.metrics.consumers.Set(0)
	}()
	for {
		depts, err := w.departments(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			w.cfg.Log.Warn("ingress: departments", "err", err)
		} else {
			w.reconcile(ctx, depts, running, &wg)
		}
		if periodic.Sleep(ctx, w.cfg.DepartmentPoll) != nil {
			return nil
		}
	}
}

// reconcile starts consumers for the departments in depts that have none
// and stops those of departments no longer listed.
func (w *Worker) reconcile(ctx context.Context, depts []string, running map[string]context.CancelFunc, wg *sync.WaitGroup) {
	listed := make(map[string]bool, len(depts))
	var fresh []string
	for _, d := range depts {
		listed[d] = true
		if _, ok := running[d]; !ok {
			fresh = append(fresh, d)
		}
	}
	for d, stop := range running {
		if !listed[d] {
			stop()
			delete(running, d)
			w.metrics.consumers.Dec()
		}
	}
	if len(fresh) == 0 {
		return
	}
	topics := make([]string, 0, 2*len(fresh))
	for _, d := range fresh {
		topics = append(topics, w.ing.Topics.Ingress(d), w.ing.Topics.DeadLetters(d))
	}
	if err := w.admin.EnsureTopics(ctx, topics...); err != nil {
		if ctx.Err() == nil {
			w.cfg.Log.Warn("ingress: create ingress topics; retrying at the next poll", "departments", fresh, "err", err)
		}
		return
	}
	for _, d := range fresh {
		dctx, stop := context.WithCancel(ctx)
		running[d] = stop
		w.metrics.consumers.Inc()
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.runDepartment(dctx, d)
		}()
	}
}

func (w *Worker) departments(ctx context.Context) ([]string, error) {
	depts, err := w.cfg.Departments(ctx)
	if err != nil {
		return nil, err
	}
	slices.Sort(depts)
	return depts, nil
}

// runDepartment consumes one department's ingress topic until ctx ends,
// starting over after a Kafka error.
func (w *Worker) runDepartment(ctx context.Context, dept string) {
	for ctx.Err() == nil {
		if err := w.consume(ctx, dept); err != nil && ctx.Err() == nil {
			w.cfg.Log.Warn("ingress: consumer", "department", dept, "err", err)
			_ = periodic.Sleep(ctx, time.Second)
		}
	}
}

// consume reads dept's ingress topic until ctx ends. Every department's
// consumer is a member of the one consumer group, subscribed to its own
// topic only, so the group's assignment gives each member partitions of
// its department alone and the committed offsets (and the LagMeter's view
// of them) are those of a single shared group.
func (w *Worker) consume(ctx context.Context, dept string) error {
	r := w.cfg.Kafka.NewReader(kafka.ReaderConfig{
		GroupID: w.cfg.GroupID, GroupTopics: []string{w.ing.Topics.Ingress(dept)},
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
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("fetch: %w", err)
		}
		batch = append(batch, m)
		wctx, wcancel := context.WithTimeout(ctx, w.cfg.BatchWait)
		for len(batch) < w.cfg.BatchRecords {
			m, err := r.FetchMessage(wctx)
			if err != nil {
				break
			}
			batch = append(batch, m)
		}
		wcancel()
		if err := w.handle(ctx, dept, batch); err != nil {
			return nil // ctx ended mid-batch: uncommitted, read again later
		}
		if err := r.CommitMessages(context.WithoutCancel(ctx), batch...); err != nil {
			return fmt.Errorf("commit %d messages: %w", len(batch), err)
		}
	}
}

// handle retries the batch with back-off until it is handled or ctx ends:
// skipping it would lose records, and every refusal a record deserves is
// already a dead letter rather than an error.
func (w *Worker) handle(ctx context.Context, dept string, batch []kafka.Message) error {
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
		w.cfg.Log.Warn("ingress: batch failed; retrying", "department", dept, "messages", len(batch), "err", err)
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
