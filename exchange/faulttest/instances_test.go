package faulttest

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"yiku/broker/brokertest"
	"yiku/cryptosuite"
	"yiku/hub/hubtest"
	"yiku/storage"
	"yiku/storage/storagetest"
)

// instances is how many hub instances the scale-out scenarios run; two
// clients send their new batches to each.
const instances = 3

// fleet is several hub instances (`yiku bench hub`) on one database, one
// cluster and one topic prefix, sharing the keys and the credentials in
// one directory, each on a loopback port of its own that it keeps across
// restarts (as behind a load balancer's fixed list). The library sinks
// of the instances form one consumer group, so the records topic's
// partitions are spread over them.
type fleet struct {
	hubs               []*hubtest.Proc
	dbURL, prefix, bin string
}

// hubArgs is the command line of a bench hub on dbURL and the cluster.
func hubArgs(c *cluster, dir, dbURL, prefix, addr string) []string {
	return append([]string{"bench", "hub",
		"--database-url", dbURL, "--topic-prefix", prefix,
		"--http-addr", addr, "--jwt-key-file", filepath.Join(dir, "jwt.pem"), "--secret-key-file", filepath.Join(dir, "secret.key"), "--data-key-file", filepath.Join(dir, "data-keys.json"),
		"--data-dir", dir, "--log-level", "warn"}, c.kafka.Args()...)
}

// startFleet starts n hub instances one after the other: the first seeds
// the demo district and writes credentials.json, the others find the
// database seeded and reuse its API keys.
func startFleet(t *testing.T, ctx context.Context, c *cluster, n int) *fleet {
	t.Helper()
	dir := t.TempDir()
	f := &fleet{bin: hubtest.BuildYiku(t, dir), dbURL: storagetest.NewURL(t), prefix: brokertest.Prefix(t)}
	hubtest.WriteKeys(t, dir, cryptosuite.Default)
	for i := 0; i < n; i++ {
		h := &hubtest.Proc{T: t, Bin: f.bin, Dir: dir, Args: hubArgs(c, dir, f.dbURL, f.prefix, freeAddr(t))}
		h.Start(ctx)
		t.Cleanup(h.Stop)
		f.hubs = append(f.hubs, h)
	}
	return f
}

// freeAddr is a loopback address with a port nothing listens on now.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// sinkWatch polls the library's stored offsets of the records topic's
// partitions and records, per partition, the longest time its offset
// stood still. Under the continuous load every partition gets records all
// the time, so a long stall is a partition no instance applies: the time
// a partition of a killed or stopping instance waits for another instance
// to take it over.
type sinkWatch struct {
	mu       sync.Mutex
	last     map[int]int64     // partition -> next offset last seen
	moved    map[int]time.Time // partition -> when it last moved
	maxStall map[int]time.Duration
	stallEnd map[int]time.Time // when the longest stall ended
	stalls   []stall           // every stall of a second or more
}

// stall is a time a partition's stored offset stood still.
type stall struct {
	partition  int
	start, end time.Time
}

// watchSink polls every 100 ms until stop is closed.
func watchSink(ctx context.Context, t *testing.T, f *fleet, topic string, stop <-chan struct{}) *sinkWatch {
	t.Helper()
	db, err := storage.Open(ctx, f.dbURL)
	if err != nil {
		t.Fatal(err)
	}
	w := &sinkWatch{last: map[int]int64{}, moved: map[int]time.Time{}, maxStall: map[int]time.Duration{}, stallEnd: map[int]time.Time{}}
	go func() {
		defer db.Close()
		for {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			var rows []struct {
				KafkaPartition int
				NextOffset     int64
			}
			if err := db.Gorm.WithContext(ctx).Raw("SELECT kafka_partition, next_offset FROM library_offsets WHERE topic = ?", topic).Scan(&rows).Error; err != nil {
				continue
			}
			now := time.Now()
			w.mu.Lock()
			for _, r := range rows {
				prev, seen := w.last[r.KafkaPartition]
				if !seen || r.NextOffset != prev {
					if seen {
						d := now.Sub(w.moved[r.KafkaPartition])
						if d > w.maxStall[r.KafkaPartition] {
							w.maxStall[r.KafkaPartition], w.stallEnd[r.KafkaPartition] = d, now
						}
						if d >= time.Second {
							w.stalls = append(w.stalls, stall{r.KafkaPartition, w.moved[r.KafkaPartition], now})
						}
					}
					w.last[r.KafkaPartition], w.moved[r.KafkaPartition] = r.NextOffset, now
				}
			}
			w.mu.Unlock()
		}
	}()
	return w
}

// longest is the longest stall of any partition and when it ended.
func (w *sinkWatch) longest() (int, time.Duration, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	p, d, end := -1, time.Duration(0), time.Time{}
	for part, s := range w.maxStall {
		if s > d {
			p, d, end = part, s, w.stallEnd[part]
		}
	}
	return p, d, end
}

// stallsSince lists the stalls of a second or more relative to t0.
func (w *sinkWatch) stallsSince(t0 time.Time) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var parts []string
	for _, s := range w.stalls {
		parts = append(parts, fmt.Sprintf("partition %d %.1f–%.1f s", s.partition, s.start.Sub(t0).Seconds(), s.end.Sub(t0).Seconds()))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

func (w *sinkWatch) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	parts := make([]int, 0, len(w.maxStall))
	for p := range w.maxStall {
		parts = append(parts, p)
	}
	sort.Ints(parts)
	var b strings.Builder
	for _, p := range parts {
		fmt.Fprintf(&b, " partition %d: longest stall %s;", p, w.maxStall[p].Round(time.Millisecond))
	}
	return strings.TrimSuffix(strings.TrimSpace(b.String()), ";")
}

// byHub counts attempts by hub instance and answer, for the report.
func (l *load) byHub() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	counts := make([]map[string]int, len(l.hubs))
	for i := range counts {
		counts[i] = map[string]int{}
	}
	for _, b := range l.batches {
		for _, a := range b.attempts {
			label := fmt.Sprint(a.status)
			switch {
			case a.refused:
				label = "refused"
			case a.dropped:
				label = "dropped"
			case a.hung:
				label = "hung"
			}
			counts[a.hub][label]++
		}
	}
	var parts []string
	for i, c := range counts {
		keys := make([]string, 0, len(c))
		for k := range c {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var s []string
		for _, k := range keys {
			s = append(s, fmt.Sprintf("%s: %d", k, c[k]))
		}
		parts = append(parts, fmt.Sprintf("instance %d {%s}", i, strings.Join(s, ", ")))
	}
	return strings.Join(parts, "; ")
}

// startLoad starts the load and the reader; the function it returns
// stops both and waits for them.
func startLoad(ctx context.Context, l *load, sub *reader) func() {
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		l.run(ctx, stop, time.Now().Add(4*time.Minute), uint64(time.Now().UnixNano()))
		close(done)
	}()
	readerDone := make(chan struct{})
	go func() {
		sub.run(ctx, stop)
		close(readerDone)
	}()
	return func() { close(stop); <-done; <-readerDone }
}

// inFlight waits until a publish to instance i is in flight (up to wait)
// and reports whether one was.
func (l *load) inFlight(i int, wait time.Duration) bool {
	deadline := time.Now().Add(wait)
	for time.Now().Before(deadline) {
		if l.inflight[i].Load() > 0 {
			return true
		}
		time.Sleep(time.Millisecond)
	}
	return false
}

// TestHubInstanceSIGKILLUnderLoad runs three hub instances on one
// database and cluster behind six clients (two send their new batches to
// each instance; a client whose request gets no answer sends it again,
// same Idempotency-Key, to the next instance), SIGKILLs one instance while a publish to it is in
// flight, and starts it again 15 s later. The other two carry on; the
// killed instance's library partitions are taken over by the other two
// when the consumer group rebalances. Afterwards: every 2xx publish in the
// library exactly once, no 500, no hang, the only requests without an
// answer are the ones to the killed instance while it was dead (in flight
// at the kill: dropped; after it: refused), all three instances ready,
// the audit chain intact, the subscription got every record once.
func TestHubInstanceSIGKILLUnderLoad(t *testing.T) {
	c := needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f := startFleet(t, ctx, c, instances)
	topic := f.prefix + ".records." + resource
	victim := instances - 1

	sub := subscribe(t, ctx, f.hubs[0])
	sub.hubs = f.hubs
	l := newLoad(f.hubs, f.prefix)
	l.clients, l.noAnswerOK = 2*instances, true
	first := l.newBatch(newRand(3))
	l.publish(ctx, newClient(), first, time.Now().Add(time.Minute))
	if first.accepted != batchSize {
		t.Fatalf("first batch: %+v", first.attempts)
	}
	l.ingress = startIngress(t, ctx, c, f.hubs[0])
	watchStop := make(chan struct{})
	watch := watchSink(ctx, t, f, topic, watchStop)
	wait := startLoad(ctx, l, sub)

	time.Sleep(5 * time.Second)
	if !l.inFlight(victim, 5*time.Second) {
		t.Fatalf("no publish to instance %d in flight within 5 s", victim)
	}
	killAt := time.Now()
	inflight := l.inflight[victim].Load()
	f.hubs[victim].Kill()
	t.Logf("SIGKILL hub instance %d with %d publishes in flight to it, after %d batches", victim, inflight, l.seq.Load())
	time.Sleep(15 * time.Second)
	restartAt := time.Now()
	f.hubs[victim].Start(ctx)
	upAt := time.Now()
	t.Logf("hub instance %d started again, listening after %s", victim, upAt.Sub(restartAt).Round(time.Millisecond))
	time.Sleep(10 * time.Second)
	wait()
	loadEnd := time.Now()

	catchUp := waitLibrary(t, ctx, f.hubs[0], 2*time.Minute)
	close(watchStop)
	fig := l.figures(killAt, restartAt)
	census := checkOutcome(t, ctx, database{url: f.dbURL, bin: f.bin, secretKey: f.hubs[0].Path("secret.key"), dataKeys: f.hubs[0].Path("data-keys.json")}, l, fig)
	// The only requests without an answer: to the killed instance, from
	// the kill until it listened again.
	bad := l.noAnswerOutside(map[int][2]time.Time{victim: {killAt, upAt}})
	if len(bad) > 0 {
		t.Errorf("%d requests without an answer other than to instance %d while it was dead, e.g. %s", len(bad), victim, bad[0])
	}
	part, longest, longestEnd := watch.longest()
	t.Logf("load %s; %d batches, %d attempts; answers: %s", loadEnd.Sub(killAt.Add(-5*time.Second)).Round(time.Second), fig.Batches, fig.Attempts, fig.answers())
	t.Logf("by instance: %s", l.byHub())
	t.Logf("library sink: %s; the longest (partition %d, %s) ended %s after the kill; stalls of 1 s or more from the kill: %s",
		watch, part, longest.Round(time.Millisecond), longestEnd.Sub(killAt).Round(time.Millisecond), watch.stallsSince(killAt))
	t.Logf("FIGURES records accepted %d, in library exactly once %d, duplicates %d, lost %d, other content %d, false successes %d, batches without 2xx %d; "+
		"connections refused %d, dropped %d; last failed answer %s after the kill, max latency %s; library caught up %s after the load",
		fig.Accepted, census.Exact, len(census.Duplicated), len(census.Missing), len(census.Wrong), len(census.Missing)+len(census.Wrong),
		len(fig.Abandoned), fig.Refused, fig.Dropped, fig.LastErrorAfterFault.Round(time.Millisecond),
		fig.MaxLatency.Round(time.Millisecond), catchUp.Round(time.Millisecond))
	sub.drain(t, ctx)
	t.Log(sub.check(t, ctx, l))
	if fig.Accepted+fig.Ingress != census.Want {
		t.Errorf("2xx answers accepted %d records and Kafka ingress %d, the census wants %d subjects", fig.Accepted, fig.Ingress, census.Want)
	}
}

// noAnswerOutside lists the requests without an answer that went to an
// instance outside its window (when it was down); instances without a
// window should have answered every request.
func (l *load) noAnswerOutside(down map[int][2]time.Time) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var bad []string
	for _, b := range l.batches {
		for _, a := range b.attempts {
			if !a.refused && !a.dropped {
				continue
			}
			w, ok := down[a.hub]
			if !ok || a.end.Before(w[0]) || a.start.After(w[1]) {
				bad = append(bad, fmt.Sprintf("batch %s to instance %d at %s (refused %v)", b.key, a.hub, a.start.Format(time.RFC3339Nano), a.refused))
			}
		}
	}
	return bad
}

// TestRollingSIGTERMUnderLoad runs three hub instances on one database and
// cluster behind six clients and restarts them one after the other under
// the load: SIGTERM, wait until the process has exited (HTTP drained: the
// listener closed at once, requests in flight answered; then the workers
// finish their batches), start it again on the same address, wait until
// it listens, 5 s, the next. A graceful drain fails nothing: every answer
// is a 2xx, and the only requests without an answer are connections
// refused by the instance being restarted, which the clients send again
// to the next instance. Afterwards the same checks as for every fault.
func TestRollingSIGTERMUnderLoad(t *testing.T) {
	c := needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	f := startFleet(t, ctx, c, instances)
	topic := f.prefix + ".records." + resource

	sub := subscribe(t, ctx, f.hubs[0])
	sub.hubs = f.hubs
	l := newLoad(f.hubs, f.prefix)
	l.clients, l.noAnswerOK = 2*instances, true
	first := l.newBatch(newRand(4))
	l.publish(ctx, newClient(), first, time.Now().Add(time.Minute))
	if first.accepted != batchSize {
		t.Fatalf("first batch: %+v", first.attempts)
	}
	l.ingress = startIngress(t, ctx, c, f.hubs[0])
	watchStop := make(chan struct{})
	watch := watchSink(ctx, t, f, topic, watchStop)
	wait := startLoad(ctx, l, sub)

	time.Sleep(5 * time.Second)
	firstAt := time.Now()
	type restart struct {
		inflight         int64
		drained, started time.Duration
		down             [2]time.Time
	}
	var rs []restart
	for i := range f.hubs {
		l.inFlight(i, 5*time.Second)
		r := restart{inflight: l.inflight[i].Load()}
		at := time.Now()
		f.hubs[i].Stop()
		r.drained = time.Since(at)
		if f.hubs[i].Running() {
			t.Fatalf("hub instance %d still runs after SIGTERM", i)
		}
		up := time.Now()
		f.hubs[i].Start(ctx)
		r.started = time.Since(up)
		r.down = [2]time.Time{at, time.Now()}
		rs = append(rs, r)
		t.Logf("instance %d: SIGTERM with %d publishes in flight to it; exited %s later; started again, listening after %s",
			i, r.inflight, r.drained.Round(time.Millisecond), r.started.Round(time.Millisecond))
		time.Sleep(5 * time.Second)
	}
	wait()
	loadEnd := time.Now()

	catchUp := waitLibrary(t, ctx, f.hubs[0], 2*time.Minute)
	close(watchStop)
	fig := l.figures(firstAt, loadEnd)
	census := checkOutcome(t, ctx, database{url: f.dbURL, bin: f.bin, secretKey: f.hubs[0].Path("secret.key"), dataKeys: f.hubs[0].Path("data-keys.json")}, l, fig)
	// Nothing but 2xx and refusals by the instance being restarted.
	for label, n := range fig.Answers {
		if label != "200" && label != "connection refused" {
			t.Errorf("%d answers %q during a rolling restart: a graceful drain fails nothing", n, label)
		}
	}
	down := map[int][2]time.Time{}
	for i, r := range rs {
		down[i] = r.down
	}
	if bad := l.noAnswerOutside(down); len(bad) > 0 {
		t.Errorf("%d requests without an answer outside their instance's restart, e.g. %s", len(bad), bad[0])
	}
	t.Logf("load %s; %d batches, %d attempts; answers: %s", loadEnd.Sub(firstAt.Add(-5*time.Second)).Round(time.Second), fig.Batches, fig.Attempts, fig.answers())
	t.Logf("by instance: %s", l.byHub())
	t.Logf("library sink: %s; stalls of 1 s or more from the first SIGTERM: %s", watch, watch.stallsSince(firstAt))
	t.Logf("FIGURES records accepted %d, in library exactly once %d, duplicates %d, lost %d, other content %d, false successes %d, batches without 2xx %d; "+
		"connections refused %d, dropped %d; max latency %s; library caught up %s after the load",
		fig.Accepted, census.Exact, len(census.Duplicated), len(census.Missing), len(census.Wrong), len(census.Missing)+len(census.Wrong),
		len(fig.Abandoned), fig.Refused, fig.Dropped, fig.MaxLatency.Round(time.Millisecond), catchUp.Round(time.Millisecond))
	sub.drain(t, ctx)
	t.Log(sub.check(t, ctx, l))
	if fig.Accepted+fig.Ingress != census.Want {
		t.Errorf("2xx answers accepted %d records and Kafka ingress %d, the census wants %d subjects", fig.Accepted, fig.Ingress, census.Want)
	}
}
