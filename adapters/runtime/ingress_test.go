package runtime

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"yiku/adapters/examples"
	"yiku/hub/hubtest"
	"yiku/migrations"
)

// kafkaExportConfig is the market regulation bureau's export sent through
// the hub's Kafka ingress (hub_kafka) instead of HTTP.
const kafkaExportConfig = `department: lx-amr
hub:
  url: %s
  token: %s
  kafka:
    brokers: [%s]
    topic_prefix: %s
%s
state_dir: state
pipelines:
  - name: business-licences-kafka
    source:
      type: filedrop
      dir: %s
      pattern: "*.ndjson"
      settle: 100ms
    sink:
      type: hub_kafka
      resource: business-licence
      key_field: holder_id
    batch_size: 20
`

// TestKafkaSenderAndReceiverInOneRun runs, as one --once run, the market
// regulation bureau's export sent with the hub_kafka sink and the service
// centre's hub_subscription receiving business licences, the receiver
// listed first. The records reach the library only after the hub's
// ingress routed them; the receiver waits for the bureau's ingress lag,
// then for the library, and receives every licence. On PostgreSQL the
// test holds the hub's ingress worker (it looks idempotency keys up in a
// table locked here) until a second after the sender has ended, so a
// receiver that looked at the library alone would find nothing pending
// and stop without the export's licences.
func TestKafkaSenderAndReceiverInOneRun(t *testing.T) {
	h := hubtest.Start(t)
	ctx := context.Background()
	if err := examples.DevSeeder(h.Dir)(ctx); err != nil {
		t.Fatal(err)
	}
	base := libraryBaseline(t, h, "business-licence")

	dir := t.TempDir()
	body := fmt.Sprintf(kafkaExportConfig, h.URL, h.Secret("amr-system"), strings.Join(h.Brokers, ", "), h.Cfg.TopicPrefix, kafkaLogin(h),
		filepath.Join(h.Dir, "legacy", "amr-export"))
	cfg := loadConfigText(t, dir, body)
	sender, err := NewRunner(cfg, Options{Once: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	runners := append(loadExamples(t, h, h.Dir, "service-centre.yaml"), sender)
	g, err := NewGroup(runners...)
	if err != nil {
		t.Fatal(err)
	}

	if h.DB.Dialect == migrations.Postgres {
		tx := h.DB.Gorm.Begin()
		if err := tx.Exec("LOCK TABLE exchange_ingress_keys IN ACCESS EXCLUSIVE MODE").Error; err != nil {
			t.Fatal(err)
		}
		release := sync.OnceFunc(func() { tx.Rollback() })
		defer release()
		go func() {
			<-g.done
			time.Sleep(time.Second)
			release()
		}()
	}
	rctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	stats := g.Run(rctx)
	t.Logf("summary:\n%s", Summary(stats))
	st := map[string]Stats{}
	for _, s := range stats {
		if s.Err != nil {
			t.Fatalf("pipeline %s: %v", s.Pipeline, s.Err)
		}
		st[s.Pipeline] = s
	}
	if s := st["business-licences-kafka"]; s.Read != 50 || s.Written != 50 || s.Rejected != 0 {
		t.Fatalf("business-licences-kafka: %+v; want 50 read and sent", s)
	}
	in := st["licences-in"]
	table := receivedLicences(t, h.Dir)
	if in.Written != in.Read || in.Read != base.cur+50 || int64(len(table)) != in.Written {
		t.Fatalf("licences-in: %+v, table holds %d; want %d received and stored", in, len(table), base.cur+50)
	}
	for i := 0; i < 50; i++ {
		l := examples.Licence(i)
		if _, ok := table[l["licence_id"].(string)]; !ok {
			t.Fatalf("licence %d (%s) sent through the Kafka ingress did not reach the service centre", i, l["licence_id"])
		}
	}
}

// stubCheck answers false until its turn-th call, then true (never, when
// turn is 0), and counts its calls.
type stubCheck struct {
	mu    sync.Mutex
	turn  int
	calls int
}

func (s *stubCheck) check(context.Context) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls++
	return s.turn > 0 && s.calls >= s.turn, nil
}

func (s *stubCheck) Ingested(ctx context.Context) (bool, error) { return s.check(ctx) }
func (s *stubCheck) CaughtUp(ctx context.Context) (bool, error) { return s.check(ctx) }

func (s *stubCheck) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls
}

// TestCatchUpAsksTheIngressBeforeTheLibrary: the library is asked only
// once every sender's ingress has answered 0, and an ingress that never
// does ends the wait at CatchUpTimeout with a message naming it.
func TestCatchUpAsksTheIngressBeforeTheLibrary(t *testing.T) {
	runner := func(timeout time.Duration, sinks ...downstream) *Runner {
		g := &Group{done: make(chan struct{})}
		close(g.done)
		for _, d := range sinks {
			g.addDownstream(d)
		}
		return &Runner{opt: Options{CatchUpTimeout: timeout, Log: slog.New(slog.DiscardHandler)}, group: g}
	}
	amr, civil, lib := &stubCheck{turn: 2}, &stubCheck{turn: 1}, &stubCheck{turn: 1}
	r := runner(time.Minute, downstream{"lx-amr", "licences", &ingressProbe{amr, lib, t}}, downstream{"lx-civil", "marriages", &ingressProbe{civil, lib, t}})
	if err := r.catchUp(context.Background(), "in", lib); err != nil {
		t.Fatal(err)
	}
	if amr.count() != 2 || civil.count() != 1 || lib.count() != 1 {
		t.Fatalf("calls: amr %d, civil %d, library %d; want 2, 1, 1", amr.count(), civil.count(), lib.count())
	}

	stuck, lib := &stubCheck{}, &stubCheck{turn: 1}
	err := runner(300*time.Millisecond, downstream{"lx-amr", "licences", stuck}).catchUp(context.Background(), "in", lib)
	want := "the hub's Kafka ingress did not route what department lx-amr sent (pipeline licences) within 300ms"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("error %v, want %q", err, want)
	}
	if lib.count() != 0 {
		t.Fatal("the library was asked although the ingress never caught up")
	}
}

// ingressProbe is a Downstream that fails the test if the library was
// asked before it.
type ingressProbe struct {
	in, lib *stubCheck
	t       *testing.T
}

func (p *ingressProbe) Ingested(ctx context.Context) (bool, error) {
	if p.lib.count() != 0 {
		p.t.Error("the library was asked before the ingress")
	}
	return p.in.check(ctx)
}

// kafkaLogin is the hub.kafka block's login lines for the test hub's Kafka
// (its super user: the test is about the adapter, not the ACLs).
func kafkaLogin(h *hubtest.Hub) string {
	s := h.Kafka.Settings
	var b strings.Builder
	if s.Mechanism != "" {
		fmt.Fprintf(&b, "    sasl_mechanism: %s\n    username: %s\n    password_file: %s\n", s.Mechanism, s.Username, s.PasswordFile)
	}
	if s.TLS {
		fmt.Fprintf(&b, "    tls: true\n    ca_file: %s\n", s.CAFile)
	}
	return strings.TrimSuffix(b.String(), "\n")
}
