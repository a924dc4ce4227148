package runtime

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/sethvargo/go-retry"

	"yiku/adapters"
	"yiku/adapters/client"
	"yiku/adapters/mapping"
	"yiku/periodic"
)

// Options adjust a run.
type Options struct {
	// Once stops each pipeline when its source has nothing more to read,
	// instead of polling forever.
	Once bool
	Log  *slog.Logger
	// Progress, if set, receives the progress line (a terminal).
	Progress io.Writer
	// MaxBackoff caps the wait between retries (default 30s).
	MaxBackoff time.Duration
	// MinBackoff is the first retry wait (default 200ms).
	MinBackoff time.Duration
	// CatchUpTimeout bounds how long a one-shot run's receiving pipeline
	// (one reading from the hub), once the run's other pipelines have
	// ended, waits for the hub's Kafka ingress to route what the run's
	// hub_kafka sinks sent and for its library to apply what was published
	// (default 2m, both waits together).
	CatchUpTimeout time.Duration
}

// Stats counts what one pipeline did.
type Stats struct {
	// Department is the config's department.
	Department string
	Pipeline   string
	Read       int64
	Written    int64
	Rejected   int64
	Batches    int64
	Errors     int64
	// RejectFile is where refused records went.
	RejectFile string
	Err        error
}

// Runner runs the pipelines of one config.
type Runner struct {
	cfg     *Config
	opt     Options
	env     adapters.Env
	ckpt    *Checkpoints
	metrics *Metrics
	stats   []*pipeStats
	group   *Group
}

type pipeStats struct {
	read, written, rejected, batches, errs atomic.Int64
}

func newHubClient(url, token string) (*client.Client, error) {
	return client.New(url, token, client.WithUserAgent("yiku-adapter"), client.WithRetries(3, 200*time.Millisecond, 5*time.Second))
}

// NewRunner prepares a run: it resolves the hub credential and opens the
// checkpoint file. Nothing connects until Run.
func NewRunner(cfg *Config, opt Options) (*Runner, error) {
	if opt.Log == nil {
		opt.Log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if opt.MaxBackoff == 0 {
		opt.MaxBackoff = 30 * time.Second
	}
	if opt.MinBackoff == 0 {
		opt.MinBackoff = 200 * time.Millisecond
	}
	if opt.CatchUpTimeout == 0 {
		opt.CatchUpTimeout = 2 * time.Minute
	}
	r := &Runner{cfg: cfg, opt: opt, metrics: NewMetrics()}
	r.env = adapters.Env{Dir: cfg.Dir(), Department: cfg.Department, Log: opt.Log}
	if h := cfg.Hub; h != nil {
		token, err := hubToken(h, cfg.Dir())
		if err != nil {
			return nil, err
		}
		hc, err := newHubClient(h.URL, token)
		if err != nil {
			return nil, err
		}
		r.env.Hub = hc
		if h.Kafka != nil {
			r.env.KafkaBrokers, r.env.TopicPrefix = h.Kafka.Brokers, h.Kafka.TopicPrefix
			if r.env.KafkaSecurity, err = h.Kafka.Security(cfg.Dir(), true); err != nil {
				return nil, fmt.Errorf("adapter: %w", err)
			}
		}
	}
	if err := os.MkdirAll(r.stateDir(), 0o750); err != nil {
		return nil, fmt.Errorf("adapter: state dir: %w", err)
	}
	ck, err := OpenCheckpoints(filepath.Join(r.stateDir(), "checkpoints.json"))
	if err != nil {
		return nil, err
	}
	r.ckpt = ck
	for range cfg.Pipelines {
		r.stats = append(r.stats, &pipeStats{})
	}
	return r, nil
}

func (r *Runner) stateDir() string {
	if r.cfg.StateDir == "" {
		return filepath.Join(r.cfg.Dir(), ".yiku-adapter")
	}
	if filepath.IsAbs(r.cfg.StateDir) {
		return r.cfg.StateDir
	}
	return filepath.Join(r.cfg.Dir(), r.cfg.StateDir)
}

func hubToken(h *HubConfig, dir string) (string, error) {
	switch {
	case h.Token != "":
		return h.Token, nil
	case h.TokenEnv != "":
		t := os.Getenv(h.TokenEnv)
		if t == "" {
			return "", fmt.Errorf("adapter: environment variable %s (hub.token_env) is empty", h.TokenEnv)
		}
		return t, nil
	}
	path := h.Credentials.File
	if !filepath.IsAbs(path) {
		path = filepath.Join(dir, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("adapter: hub.credentials: %w", err)
	}
	var creds []struct {
		Principal string `json:"principal"`
		Secret    string `json:"secret"`
	}
	if err := json.Unmarshal(data, &creds); err != nil {
		return "", fmt.Errorf("adapter: hub.credentials: %s: %w", path, err)
	}
	for _, c := range creds {
		if c.Principal == h.Credentials.Principal {
			return c.Secret, nil
		}
	}
	return "", fmt.Errorf("adapter: hub.credentials: no principal %q in %s", h.Credentials.Principal, path)
}

// Metrics returns the run's metrics.
func (r *Runner) Metrics() *Metrics { return r.metrics }

// Run runs every pipeline until ctx ends (or, with Once, until every
// source is drained) and returns each pipeline's stats. A pipeline that
// fails permanently stops alone; the others go on.
func (r *Runner) Run(ctx context.Context) []Stats {
	return (&Group{runners: []*Runner{r}, done: make(chan struct{})}).Run(ctx)
}

// Group runs the configs of several departments' adapters in one process
// as one run: one progress line, one summary. In a one-shot run (Once) a
// receiving pipeline, whose source reads from the hub (adapters.Upstream),
// does not stop at its first "no data": it waits until every other
// pipeline of the run has ended, the hub's Kafka ingress has routed what
// the run's Kafka sinks (adapters.Downstream) sent, and the hub's library
// has applied what was published, then drains what is left. So the worked
// example's publishing and receiving departments run together, in any
// order, and the receiver still gets every record the others sent.
type Group struct {
	runners []*Runner
	// senders counts the pipelines that have not ended yet, receiving
	// pipelines excepted (they leave it as soon as their source is built).
	senders sync.WaitGroup
	done    chan struct{}

	mu sync.Mutex
	// downstream lists the run's sinks whose records the hub takes in
	// asynchronously, once connected.
	downstream []downstream
}

// downstream is one pipeline's sink that sends through the hub's ingress.
type downstream struct {
	department, pipeline string
	sink                 adapters.Downstream
}

func (g *Group) addDownstream(d downstream) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.downstream = append(g.downstream, d)
}

func (g *Group) downstreamSinks() []downstream {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.downstream)
}

// NewGroup groups runners. Two configs may not share a state folder (the
// checkpoints would overwrite each other) or a metrics address.
func NewGroup(runners ...*Runner) (*Group, error) {
	dirs, addrs := map[string]string{}, map[string]string{}
	for _, r := range runners {
		dir := r.stateDir()
		if other, ok := dirs[dir]; ok {
			return nil, fmt.Errorf("adapter: %s and %s share the state folder %s", other, r.cfg.path, dir)
		}
		dirs[dir] = r.cfg.path
		if a := r.cfg.MetricsAddr; a != "" {
			if other, ok := addrs[a]; ok {
				return nil, fmt.Errorf("adapter: %s and %s both serve metrics on %s", other, r.cfg.path, a)
			}
			addrs[a] = r.cfg.path
		}
	}
	return &Group{runners: runners, done: make(chan struct{})}, nil
}

// Run runs every pipeline of every runner and returns their stats in
// config order.
func (g *Group) Run(ctx context.Context) []Stats {
	type job struct {
		r *Runner
		i int
	}
	var jobs []job
	for _, r := range g.runners {
		r.group = g
		if r.cfg.MetricsAddr != "" {
			stop := r.serveMetrics(ctx)
			defer stop()
		}
		for i := range r.cfg.Pipelines {
			jobs = append(jobs, job{r, i})
		}
	}
	g.senders.Add(len(jobs))
	go func() {
		g.senders.Wait()
		close(g.done)
	}()
	stopProgress := g.progress(ctx)
	var wg sync.WaitGroup
	errs := make([]error, len(jobs))
	for n, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			leave := sync.OnceFunc(g.senders.Done)
			defer leave()
			errs[n] = j.r.runPipeline(ctx, j.i, leave)
		}()
	}
	wg.Wait()
	stopProgress()
	out := make([]Stats, len(jobs))
	for n, j := range jobs {
		s := j.r.stats[j.i]
		out[n] = Stats{Department: j.r.cfg.Department, Pipeline: j.r.cfg.Pipelines[j.i].Name, Read: s.read.Load(), Written: s.written.Load(),
			Rejected: s.rejected.Load(), Batches: s.batches.Load(), Errors: s.errs.Load(), RejectFile: j.r.rejectPath(j.i), Err: errs[n]}
	}
	return out
}

func (r *Runner) rejectPath(i int) string {
	p := r.cfg.Pipelines[i]
	if p.RejectFile == "" {
		return filepath.Join(r.stateDir(), p.Name+".rejects.ndjson")
	}
	if filepath.IsAbs(p.RejectFile) {
		return p.RejectFile
	}
	return filepath.Join(r.cfg.Dir(), p.RejectFile)
}

// backoff returns a fresh exponential back-off with jitter and a cap.
func (r *Runner) backoff() retry.Backoff {
	b := retry.NewExponential(r.opt.MinBackoff)
	b = retry.WithCappedDuration(r.opt.MaxBackoff, b)
	return retry.WithJitterPercent(20, b)
}

// retrying calls fn until it succeeds, fails permanently or ctx ends,
// backing off between attempts.
func (r *Runner) retrying(ctx context.Context, name, stage string, fn func() error) error {
	b := r.backoff()
	for {
		err := fn()
		if err == nil || adapters.IsPermanent(err) || ctx.Err() != nil {
			return err
		}
		i := r.index(name)
		r.stats[i].errs.Add(1)
		r.metrics.Errors.WithLabelValues(name, stage).Inc()
		wait, _ := b.Next()
		r.opt.Log.Warn("adapter: retrying", "pipeline", name, "stage", stage, "in", wait.Round(time.Millisecond), "err", err)
		if err := periodic.Sleep(ctx, wait); err != nil {
			return err
		}
	}
}

func (r *Runner) index(name string) int {
	for i, p := range r.cfg.Pipelines {
		if p.Name == name {
			return i
		}
	}
	return 0
}

// runPipeline runs pipeline i; a receiving pipeline calls leave as soon as
// its source is built, so that it does not wait for itself.
func (r *Runner) runPipeline(ctx context.Context, i int, leave func()) error {
	p := r.cfg.Pipelines[i]
	log := r.opt.Log.With("pipeline", p.Name)
	src, err := r.cfg.source(i, r.env)
	if err != nil {
		return fmt.Errorf("pipeline %s: source: %w", p.Name, err)
	}
	upstream, receiving := src.(adapters.Upstream)
	if receiving {
		leave()
	}
	caughtUp := false
	sink, err := r.cfg.sink(i, r.env)
	if err != nil {
		return fmt.Errorf("pipeline %s: sink: %w", p.Name, err)
	}
	var mapper *mapping.Mapper
	if p.Mapping != nil {
		if mapper, err = mapping.New(*p.Mapping); err != nil {
			return fmt.Errorf("pipeline %s: mapping: %w", p.Name, err)
		}
	}
	rejects, err := OpenRejectFile(r.rejectPath(i))
	if err != nil {
		return err
	}
	defer rejects.Close()
	if err := r.retrying(ctx, p.Name, "sink", func() error { return sink.Connect(ctx) }); err != nil {
		return fmt.Errorf("pipeline %s: connect sink: %w", p.Name, err)
	}
	defer sink.Close()
	if d, ok := sink.(adapters.Downstream); ok && r.group != nil {
		r.group.addDownstream(downstream{department: r.cfg.Department, pipeline: p.Name, sink: d})
	}
	if err := r.retrying(ctx, p.Name, "source", func() error { return src.Connect(ctx, r.ckpt.Get(p.Name)) }); err != nil {
		return fmt.Errorf("pipeline %s: connect source: %w", p.Name, err)
	}
	defer src.Close()
	log.Info("adapter: pipeline started", "from", r.ckpt.Get(p.Name))
	st := r.stats[i]
	b := r.backoff()
	for {
		if err := ctx.Err(); err != nil {
			return nil
		}
		batch, err := src.Read(ctx, p.BatchSize)
		switch {
		case r.opt.Once && errors.Is(err, adapters.ErrSettling):
			// A one-shot run waits for input about to become readable.
			if periodic.Sleep(ctx, min(p.PollInterval.D(), 250*time.Millisecond)) != nil {
				return nil
			}
			continue
		case errors.Is(err, adapters.ErrNoData):
			b = r.backoff()
			if r.opt.Once && receiving && !caughtUp {
				// Drained for now; wait for the run's publishers and the
				// hub's library, then read what they added.
				if err := r.catchUp(ctx, p.Name, upstream); err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return fmt.Errorf("pipeline %s: %w", p.Name, err)
				}
				caughtUp = true
				continue
			}
			if r.opt.Once {
				return nil
			}
			if periodic.Sleep(ctx, p.PollInterval.D()) != nil {
				return nil
			}
			continue
		case err != nil && ctx.Err() != nil:
			return nil
		case adapters.IsPermanent(err):
			return fmt.Errorf("pipeline %s: read: %w", p.Name, err)
		case err != nil:
			st.errs.Add(1)
			r.metrics.Errors.WithLabelValues(p.Name, "source").Inc()
			wait, _ := b.Next()
			log.Warn("adapter: source unavailable, backing off", "in", wait.Round(time.Millisecond), "err", err)
			// Reconnect from the checkpoint: a source that failed mid-read
			// may hold a position past what was written.
			_ = src.Close()
			if periodic.Sleep(ctx, wait) != nil {
				return nil
			}
			if err := r.retrying(ctx, p.Name, "source", func() error { return src.Connect(ctx, r.ckpt.Get(p.Name)) }); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("pipeline %s: reconnect source: %w", p.Name, err)
			}
			continue
		}
		b = r.backoff()
		if err := r.deliver(ctx, i, batch, mapper, sink, rejects); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
	}
}

// catchUp waits until every other pipeline of the run has ended, then
// until the hub's Kafka ingress has routed what the run's Kafka sinks sent
// (adapters.Downstream) and only then until the hub's library has applied
// everything published (src.CaughtUp): records still in the ingress are
// not yet in the library's lag. Both waits together take at most
// Options.CatchUpTimeout.
func (r *Runner) catchUp(ctx context.Context, name string, src adapters.Upstream) error {
	var sent []downstream
	if r.group != nil {
		select {
		case <-r.group.done:
		default:
			r.opt.Log.Info("adapter: waiting for the run's other pipelines to finish", "pipeline", name)
			select {
			case <-r.group.done:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		sent = r.group.downstreamSinks()
	}
	deadline := time.Now().Add(r.opt.CatchUpTimeout)
	for _, d := range sent {
		r.opt.Log.Info("adapter: waiting for the hub's ingress to route what was sent", "pipeline", name, "department", d.department, "sender", d.pipeline)
		if err := awaitTrue(ctx, deadline, d.sink.Ingested); err != nil {
			var late *lateError
			if errors.As(err, &late) {
				return fmt.Errorf("the hub's Kafka ingress did not route what department %s sent (pipeline %s) within %s (%s)", d.department, d.pipeline, r.opt.CatchUpTimeout, late.last)
			}
			return fmt.Errorf("ask the hub whether its ingress routed what department %s sent (pipeline %s): %w", d.department, d.pipeline, err)
		}
	}
	if err := awaitTrue(ctx, deadline, src.CaughtUp); err != nil {
		var late *lateError
		if errors.As(err, &late) {
			return fmt.Errorf("the hub's library did not apply what was published within %s (%s)", r.opt.CatchUpTimeout, late.last)
		}
		return fmt.Errorf("ask the hub whether its library caught up: %w", err)
	}
	return nil
}

// lateError is awaitTrue's answer when its deadline passed; last says what
// the final check answered.
type lateError struct{ last string }

func (e *lateError) Error() string { return "deadline passed: " + e.last }

// awaitTrue asks check every 250ms until it answers true. It returns a
// permanent error at once, a *lateError once deadline has passed, and
// ctx's error when ctx ends; other errors are retried.
func awaitTrue(ctx context.Context, deadline time.Time, check func(context.Context) (bool, error)) error {
	for {
		ok, err := check(ctx)
		switch {
		case err == nil && ok:
			return nil
		case adapters.IsPermanent(err):
			return err
		case time.Now().After(deadline):
			last := "the hub still reported records waiting"
			if err != nil {
				last = "last error: " + err.Error()
			}
			return &lateError{last: last}
		}
		if err := periodic.Sleep(ctx, 250*time.Millisecond); err != nil {
			return err
		}
	}
}

// deliver maps a batch, writes it, records rejects, then checkpoints and
// acknowledges. The order makes delivery at-least-once: a crash before the
// checkpoint re-reads the batch, and its idempotency key (from the source
// position and content) makes the repeat harmless at the hub.
func (r *Runner) deliver(ctx context.Context, i int, batch adapters.Batch, mapper *mapping.Mapper, sink adapters.Sink, rejects *RejectFile) error {
	p := r.cfg.Pipelines[i]
	st := r.stats[i]
	now := time.Now().UTC()
	var (
		out    []adapters.Message
		raw    []adapters.Record
		reject []Reject
	)
	for _, m := range batch.Messages {
		if m.Err != nil {
			reject = append(reject, Reject{At: now, Pipeline: p.Name, Origin: m.Origin, Stage: "source", Reasons: []adapters.Reason{{Rule: "parse", Message: m.Err.Error()}}, Record: m.Record})
			continue
		}
		rec := m.Record
		if mapper != nil {
			mapped, err := mapper.Apply(m.Record)
			if err != nil {
				var me *mapping.Error
				reasons := []adapters.Reason{{Rule: "mapping", Message: err.Error()}}
				if errors.As(err, &me) {
					reasons = me.Reasons
				}
				reject = append(reject, Reject{At: now, Pipeline: p.Name, Origin: m.Origin, Stage: "mapping", Reasons: reasons, Record: m.Record})
				continue
			}
			rec = mapped
		}
		out = append(out, adapters.Message{Record: rec, Deleted: m.Deleted, Origin: m.Origin})
		raw = append(raw, m.Record)
	}
	key, err := batchKey(p.Name, batch, out)
	if err != nil {
		return fmt.Errorf("pipeline %s: %w", p.Name, err)
	}
	var res adapters.Result
	if len(out) > 0 {
		err := r.retrying(ctx, p.Name, "sink", func() error {
			var werr error
			res, werr = sink.Write(ctx, out, key)
			return werr
		})
		if err != nil {
			return fmt.Errorf("pipeline %s: write: %w", p.Name, err)
		}
	}
	for _, rj := range res.Rejected {
		if rj.Index < 0 || rj.Index >= len(out) {
			continue
		}
		reject = append(reject, Reject{At: now, Pipeline: p.Name, Origin: out[rj.Index].Origin, Stage: "sink", Reasons: rj.Reasons, Record: raw[rj.Index]})
	}
	if err := rejects.Write(reject); err != nil {
		return fmt.Errorf("pipeline %s: %w", p.Name, err)
	}
	if testHookBeforeCheckpoint != nil {
		testHookBeforeCheckpoint(p.Name)
	}
	if err := r.ckpt.Save(p.Name, batch.To); err != nil {
		return fmt.Errorf("pipeline %s: %w", p.Name, err)
	}
	if batch.Ack != nil {
		if err := r.retrying(ctx, p.Name, "ack", func() error { return batch.Ack(ctx) }); err != nil {
			return fmt.Errorf("pipeline %s: acknowledge: %w", p.Name, err)
		}
	}
	st.read.Add(int64(len(batch.Messages)))
	st.written.Add(int64(res.Written))
	st.rejected.Add(int64(len(reject)))
	st.batches.Add(1)
	r.metrics.Read.WithLabelValues(p.Name).Add(float64(len(batch.Messages)))
	r.metrics.Written.WithLabelValues(p.Name).Add(float64(res.Written))
	for _, rj := range reject {
		r.metrics.Rejected.WithLabelValues(p.Name, rj.Stage).Inc()
	}
	r.metrics.Batches.WithLabelValues(p.Name).Inc()
	r.metrics.LastWrite.WithLabelValues(p.Name).SetToCurrentTime()
	return nil
}

// testHookBeforeCheckpoint, when set (by the crash test's child process
// only), runs after a batch is written and before its checkpoint is saved.
var testHookBeforeCheckpoint func(pipeline string)

// batchKey is the idempotency key of a batch: the pipeline, the source
// positions around it and a hash of the mapped records. A batch re-read
// after a crash has the same positions and content and so the same key; a
// re-read that picked up more rows has another key, which is right, as the
// hub would otherwise answer it with the first, shorter batch's result.
func batchKey(pipeline string, b adapters.Batch, out []adapters.Message) (string, error) {
	h := sha256.New()
	h.Write([]byte(pipeline + "\x00" + b.From + "\x00" + b.To + "\x00"))
	enc := json.NewEncoder(h)
	for _, m := range out {
		if err := enc.Encode(struct {
			R adapters.Record `json:"r"`
			D bool            `json:"d"`
		}{m.Record, m.Deleted}); err != nil {
			return "", fmt.Errorf("batch key: %w", err)
		}
	}
	return pipeline + "-" + hex.EncodeToString(h.Sum(nil)[:16]), nil
}

func (r *Runner) serveMetrics(ctx context.Context) func() {
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(r.metrics.Registry, promhttp.HandlerOpts{}))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ln, err := net.Listen("tcp", r.cfg.MetricsAddr)
	if err != nil {
		r.opt.Log.Error("adapter: metrics endpoint not served", "addr", r.cfg.MetricsAddr, "err", err)
		return func() {}
	}
	r.opt.Log.Info("adapter: metrics at http://" + ln.Addr().String() + "/metrics")
	go func() { _ = srv.Serve(ln) }()
	return func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}
}
