package faulttest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker/brokertest"
	"yiku/cryptosuite"
	"yiku/exchange"
	"yiku/exchange/library/librarytest"
	"yiku/exchange/loadgen"
	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/storage/storagetest"
)

// The gate and the cluster's description (kafka-up.sh prints the latter
// with YIKU_KAFKA_NODES=3).
const (
	envFaults   = "YIKU_TEST_FAULTS"
	envNodeDirs = "YIKU_TEST_KAFKA_NODE_DIRS"
)

const (
	clients   = 4
	batchSize = 100
	// hangAfter is how long a client waits for an answer before it counts
	// the request as hung. The hub gives up on Kafka after 15 s.
	hangAfter = 30 * time.Second
	resource  = "population"
	provider  = "psb-system"
)

// cluster is the three-node Kafka cluster of the environment.
type cluster struct {
	kafka    *brokertest.Kafka
	nodeDirs []string // node i's directory is nodeDirs[i-1]
	port     int      // YIKU_KAFKA_PORT the cluster was started with
}

// needCluster skips the test unless the fault suite is asked for and the
// environment has PostgreSQL and a Kafka cluster of three nodes.
func needCluster(t *testing.T) *cluster {
	t.Helper()
	if os.Getenv(envFaults) != "1" {
		t.Skipf("fault suite: set %s=1 with a three-node Kafka cluster and PostgreSQL (make test-faults)", envFaults)
	}
	if !storagetest.Postgres() {
		t.Skipf("fault suite: needs PostgreSQL; set %s (make test-faults does)", storagetest.EnvURL)
	}
	dirs := strings.Split(os.Getenv(envNodeDirs), ",")
	brokers := strings.Split(os.Getenv(brokertest.EnvBrokers), ",")
	if len(dirs) != 3 || len(brokers) != 3 {
		t.Skipf("fault suite: needs a three-node Kafka cluster (%s and %s from YIKU_KAFKA_NODES=3 deployments/local/kafka-up.sh)", brokertest.EnvBrokers, envNodeDirs)
	}
	_, p, _ := strings.Cut(brokers[0], ":")
	port, err := strconv.Atoi(p)
	if err != nil {
		t.Fatalf("%s=%s: %v", brokertest.EnvBrokers, os.Getenv(brokertest.EnvBrokers), err)
	}
	return &cluster{kafka: brokertest.Start(t), nodeDirs: dirs, port: port}
}

// pid is node's process id from its pid file.
func (c *cluster) pid(t *testing.T, node int) int {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(c.nodeDirs[node-1], "kafka.pid"))
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil {
		t.Fatalf("pid file of node %d: %v", node, err)
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !bytes.Contains(cmdline, []byte("kafka.Kafka")) || !bytes.Contains(cmdline, []byte(c.nodeDirs[node-1])) {
		t.Fatalf("pid %d of node %d is not that node's broker", pid, node)
	}
	return pid
}

// kill ends node with SIGKILL and waits until the process is gone.
func (c *cluster) kill(t *testing.T, node int) {
	t.Helper()
	pid := c.pid(t, node)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("SIGKILL node %d (pid %d): %v", node, pid, err)
	}
	for syscall.Kill(pid, 0) == nil {
		time.Sleep(20 * time.Millisecond)
	}
}

// restart starts the nodes that are not running with the project's own
// script, which waits until the metadata lists all three brokers again.
func (c *cluster) restart(t *testing.T) {
	t.Helper()
	// Under the load a restarted node takes up to a minute to be listed
	// on two cores; the script waits 90 s by default.
	localScript(t, "kafka-up.sh", "YIKU_KAFKA_NODES=3", "YIKU_KAFKA_PORT="+strconv.Itoa(c.port), "YIKU_KAFKA_WAIT=300")
}

// partitions is the records topic's partitions as the metadata shows them.
func (c *cluster) partitions(ctx context.Context, topic string) ([]kafka.Partition, error) {
	cl := &kafka.Client{Addr: kafka.TCP(c.kafka.Brokers...), Timeout: 5 * time.Second, Transport: c.kafka.Security.Transport("yiku-faulttest")}
	defer cl.Transport.(*kafka.Transport).CloseIdleConnections()
	md, err := cl.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return nil, err
	}
	if len(md.Topics) != 1 || md.Topics[0].Error != nil {
		return nil, fmt.Errorf("metadata of %s: %+v", topic, md.Topics)
	}
	return md.Topics[0].Partitions, nil
}

// fullISR waits until every partition of topic has all three replicas in
// sync again and returns when that was first seen.
func (c *cluster) fullISR(t *testing.T, ctx context.Context, topic string, wait time.Duration) time.Time {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		ps, err := c.partitions(ctx, topic)
		if err == nil {
			full := len(ps) > 0
			for _, p := range ps {
				if len(p.Isr) != 3 {
					full = false
				}
			}
			if full {
				return time.Now()
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the partitions of %s did not get three in-sync replicas back within %s: %v %+v", topic, wait, err, ps)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// startHub builds yiku and starts a `yiku bench hub` on a new database of
// the test PostgreSQL and the cluster, leaving the topic shape to the hub
// (replication 3, min.insync.replicas 2 on three brokers).
func startHub(t *testing.T, ctx context.Context, c *cluster) (h *hubtest.Proc, dbURL, prefix, bin string) {
	t.Helper()
	dir := t.TempDir()
	bin = hubtest.BuildYiku(t, dir)
	hubtest.WriteKeys(t, dir, cryptosuite.Default)
	dbURL, prefix = storagetest.NewURL(t), brokertest.Prefix(t)
	h = &hubtest.Proc{T: t, Bin: bin, Dir: dir, Args: hubArgs(c, dir, dbURL, prefix, "127.0.0.1:0")}
	h.Start(ctx)
	t.Cleanup(h.Stop)
	return h, dbURL, prefix, bin
}

// attempt is one HTTP publish request and its answer.
type attempt struct {
	start, end time.Time
	hub        int // index of the hub instance the request went to
	status     int // 0: no answer (transport error or hang)
	retryAfter string
	code       string // the error body's code
	hung       bool
	// refused: the connection was refused (nothing listened); dropped:
	// the connection broke before an answer came (status 0, not hung).
	refused, dropped bool
}

// batch is one publish batch: its records' subjects and content hashes,
// and how its attempts went.
type batch struct {
	key      string
	body     []byte
	want     map[string]string // subject -> record id
	attempts []attempt
	accepted int // records the 2xx answer accepted; 0 until then
}

// load publishes batches of new subjects from several clients until stop
// is closed, retrying a batch that got a 503, 429 or no answer with the
// same Idempotency-Key (after Retry-After) until it is accepted or until
// giveUp. A batch answered anything else is not retried. With several hub
// instances, client c sends each new batch to instance c mod n (its share
// of a load balancer's round robin) and a retry after a request without an
// answer to the next instance.
type load struct {
	hubs   []*hubtest.Proc
	prefix string
	// noAnswerOK: refused and dropped connections are the scenario's to
	// judge (a hub instance is killed or restarted), not a failure of
	// checkOutcome.
	noAnswerOK bool
	inflight   []atomic.Int64 // publishes in flight by instance
	clients    int            // concurrent clients
	lookups    *lookups       // an officer's lookups beside the publishes
	ingress    *ingressLoad   // a department system's Kafka ingress (nil: none)
	lib        database       // the database checkOutcome checked
	next       atomic.Int64   // next subject number
	seq        atomic.Int64   // next batch number

	mu      sync.Mutex
	batches []*batch
}

func newLoad(hubs []*hubtest.Proc, prefix string) *load {
	return &load{hubs: hubs, prefix: prefix, inflight: make([]atomic.Int64, len(hubs)), clients: clients, lookups: newLookups(hubs)}
}

func (l *load) run(ctx context.Context, stop <-chan struct{}, giveUp time.Time, seed uint64) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.lookups.run(ctx, stop)
	}()
	if l.ingress != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			l.ingress.run(ctx, stop, giveUp, seed^0x1ae5)
		}()
	}
	for c := 0; c < l.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := mrand.New(mrand.NewPCG(seed, uint64(c)))
			hc := newClient()
			for {
				if stopped(ctx, stop) {
					return
				}
				b := l.newBatch(r)
				l.publishAt(ctx, hc, b, giveUp, c%len(l.hubs))
			}
		}()
	}
	wg.Wait()
}

// stopped reports whether a load goroutine is to end: the scenario closed
// stop, or its context ended.
func stopped(ctx context.Context, stop <-chan struct{}) bool {
	select {
	case <-stop:
		return true
	case <-ctx.Done():
		return true
	default:
		return false
	}
}

// newClient is an HTTP client that gives up after hangAfter.
func newClient() *http.Client { return &http.Client{Timeout: hangAfter} }

func newRand(seed uint64) *mrand.Rand { return mrand.New(mrand.NewPCG(seed, 0)) }

func (l *load) newBatch(r *mrand.Rand) *batch {
	first := int(l.next.Add(batchSize)) - batchSize
	b := &batch{key: fmt.Sprintf("fault-%s-%d", l.prefix, l.seq.Add(1)), want: make(map[string]string, batchSize)}
	recs := make([]map[string]any, 0, batchSize)
	for i := 0; i < batchSize; i++ {
		rec := loadgen.Person(r, 900000+first+i, 0)
		raw, _ := json.Marshal(rec)
		canon, _, err := exchange.Canonical(raw)
		if err != nil {
			panic(err) // loadgen makes valid JSON
		}
		b.want[rec["id_number"].(string)] = exchange.ContentHash(canon)
		recs = append(recs, rec)
	}
	b.body, _ = json.Marshal(recs)
	l.mu.Lock()
	l.batches = append(l.batches, b)
	l.mu.Unlock()
	return b
}

func (l *load) publish(ctx context.Context, hc *http.Client, b *batch, giveUp time.Time) {
	l.publishAt(ctx, hc, b, giveUp, 0)
}

// publishAt publishes b to hub instance at, moving to the next instance
// after a request without an answer, and returns the instance it ended on.
func (l *load) publishAt(ctx context.Context, hc *http.Client, b *batch, giveUp time.Time, at int) int {
	for time.Now().Before(giveUp) && ctx.Err() == nil {
		url, tokens := l.hubs[at].Current()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/resources/"+resource+"/records", bytes.NewReader(b.body))
		if err != nil {
			panic(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens[provider])
		req.Header.Set("Idempotency-Key", b.key)
		a := attempt{start: time.Now(), hub: at}
		l.inflight[at].Add(1)
		resp, err := hc.Do(req)
		var data []byte
		if err == nil {
			data, err = io.ReadAll(resp.Body)
			resp.Body.Close()
			a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
		}
		a.end = time.Now()
		l.inflight[at].Add(-1)
		if err != nil {
			a.status = 0
			a.hung = a.end.Sub(a.start) >= hangAfter-time.Second
			a.refused = !a.hung && errors.Is(err, syscall.ECONNREFUSED)
			a.dropped = !a.hung && !a.refused
		}
		if a.status >= 400 {
			var e httpapi.ErrorBody
			_ = json.Unmarshal(data, &e)
			a.code = e.Error.Code
		}
		l.mu.Lock()
		b.attempts = append(b.attempts, a)
		l.mu.Unlock()
		switch {
		case a.status >= 200 && a.status < 300:
			var res exchange.PublishResult
			if json.Unmarshal(data, &res) == nil {
				l.mu.Lock()
				b.accepted = res.Accepted
				l.mu.Unlock()
			}
			return at
		case a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests:
			wait := time.Second
			if s, err := strconv.Atoi(a.retryAfter); err == nil && s > 0 {
				wait = time.Duration(s) * time.Second
			}
			time.Sleep(wait)
		case a.status == 0:
			at = (at + 1) % len(l.hubs)
			if len(l.hubs) == 1 {
				time.Sleep(200 * time.Millisecond)
			}
		default:
			return at // a client error or a 500: not retried, reported
		}
	}
	return at
}

// figures sums up a load run around a fault at faultAt.
type figures struct {
	Batches, Attempts int
	Accepted          int            // records of 2xx answers
	Ingress           int            // records the cluster acknowledged to the Kafka ingress producer
	Answers           map[string]int // attempts by status and error code
	// Missing503RetryAfter counts 503 and 429 answers without Retry-After,
	// Hung requests without an answer within hangAfter, Other answers that
	// are neither 2xx nor 503/429 nor a transport error; Refused and
	// Dropped count connections refused and broken before an answer.
	Missing503RetryAfter, Hung, Other, Refused, Dropped int
	// LastErrorAfterFault is from the fault to the end of the last attempt
	// that failed (0: none failed): after it every publish succeeded.
	LastErrorAfterFault time.Duration
	// FirstSuccessAfterFault is from the fault to the first 2xx answer
	// after the last failed one (after the fault itself when none failed).
	FirstSuccessAfterFault            time.Duration
	MaxLatency, MaxLatencyDuringFault time.Duration
	Abandoned                         []*batch // batches never answered 2xx
}

func (l *load) figures(faultAt, faultEnd time.Time) figures {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := figures{Batches: len(l.batches), Answers: map[string]int{}}
	if l.ingress != nil {
		f.Ingress = len(l.ingress.acceptedRecords())
	}
	for _, b := range l.batches {
		f.Accepted += b.accepted
		if b.accepted == 0 {
			f.Abandoned = append(f.Abandoned, b)
		}
		for _, a := range b.attempts {
			f.Attempts++
			lat := a.end.Sub(a.start)
			f.MaxLatency = max(f.MaxLatency, lat)
			during := a.end.After(faultAt) && a.start.Before(faultEnd)
			if during {
				f.MaxLatencyDuringFault = max(f.MaxLatencyDuringFault, lat)
			}
			label := strconv.Itoa(a.status)
			if a.code != "" {
				label += " " + a.code
			}
			switch {
			case a.refused:
				label = "connection refused"
			case a.dropped:
				label = "connection dropped"
			case a.status == 0:
				label = "no answer"
			}
			f.Answers[label]++
			ok := a.status >= 200 && a.status < 300
			switch {
			case ok:
			case a.status == http.StatusServiceUnavailable || a.status == http.StatusTooManyRequests:
				if a.retryAfter == "" {
					f.Missing503RetryAfter++
				}
			case a.hung:
				f.Hung++
			case a.refused:
				f.Refused++
			case a.dropped:
				f.Dropped++
			default:
				f.Other++
			}
			if !ok && a.end.After(faultAt) {
				f.LastErrorAfterFault = max(f.LastErrorAfterFault, a.end.Sub(faultAt))
			}
		}
	}
	recovered := faultAt.Add(f.LastErrorAfterFault)
	firstOK := time.Time{}
	for _, b := range l.batches {
		for _, a := range b.attempts {
			if a.status >= 200 && a.status < 300 && a.end.After(recovered) && (firstOK.IsZero() || a.end.Before(firstOK)) {
				firstOK = a.end
			}
		}
	}
	if !firstOK.IsZero() {
		f.FirstSuccessAfterFault = firstOK.Sub(faultAt)
	}
	return f
}

func (f figures) answers() string {
	keys := make([]string, 0, len(f.Answers))
	for k := range f.Answers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s: %d", k, f.Answers[k])
	}
	return strings.Join(parts, ", ")
}

// accepted is every subject of a batch answered 2xx, and every one the
// cluster acknowledged to the Kafka ingress producer, with its record id.
func (l *load) accepted() map[string]string {
	out := map[string]string{}
	if l.ingress != nil {
		out = l.ingress.acceptedRecords()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, b := range l.batches {
		if b.accepted > 0 {
			for k, v := range b.want {
				out[k] = v
			}
		}
	}
	return out
}

// waitLibrary waits until the library has applied everything the records
// topic holds, and returns how long that took.
func waitLibrary(t *testing.T, ctx context.Context, h *hubtest.Proc, wait time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	deadline := start.Add(wait)
	for {
		st := h.Status(ctx, provider, resource)
		if st.End > 0 && st.Lag == 0 {
			return time.Since(start)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the library did not catch up within %s: %+v", wait, st)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkOutcome checks what every fault scenario promises once the load
// has ended: no 500 and no hang, a Retry-After on every 503, every 2xx
// publish in the library exactly once, no batch left without a 2xx partly
// applied, every hub process of the load running and ready, and the audit
// chain intact; and the officer's lookups during the load answered only
// 200 or 503/429 with Retry-After. It returns the census.
func checkOutcome(t *testing.T, ctx context.Context, lib database, l *load, f figures) librarytest.Census {
	t.Helper()
	l.lib = lib
	noAnswer := 0
	if !l.noAnswerOK {
		noAnswer = f.Refused + f.Dropped
	}
	if f.Other > 0 || f.Hung > 0 || f.Missing503RetryAfter > 0 || noAnswer > 0 {
		t.Errorf("answers: %s; %d hung (no answer within %s), %d neither 2xx nor 503/429, %d 503 without Retry-After, %d without an answer",
			f.answers(), f.Hung, hangAfter, f.Other, f.Missing503RetryAfter, noAnswer)
	}
	for i, h := range l.hubs {
		if !h.Running() {
			t.Fatalf("hub instance %d is not running after the fault", i)
		}
		url, _ := h.Current()
		resp, err := http.Get(url + "/readyz")
		if err != nil {
			t.Fatalf("readyz of hub instance %d after the fault: %v", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Errorf("readyz of hub instance %d after the fault: %d", i, resp.StatusCode)
		}
	}
	groups := make([][]string, len(f.Abandoned))
	for i, b := range f.Abandoned {
		for k := range b.want {
			groups[i] = append(groups[i], k)
		}
	}
	if l.ingress != nil {
		took := l.ingress.waitApplied(t, ctx, lib, 3*time.Minute)
		t.Logf("FIGURES %s; all in the library %s after the load", l.ingress.figures(), took.Round(time.Millisecond))
	}
	census, present := lib.census(t, ctx, l.accepted(), groups)
	if !census.OK() {
		t.Errorf("library: %s", census)
	}
	for i, b := range f.Abandoned {
		if n := present[i]; n != 0 && n != len(groups[i]) {
			t.Errorf("batch %s got no 2xx (%d attempts) but %d of its %d records are in the library", b.key, len(b.attempts), n, len(groups[i]))
		}
	}
	t.Log("FIGURES " + l.lookups.check(t, l.noAnswerOK))
	args := []string{"audit", "verify", "--database-url", lib.url, "--secret-key-file", lib.secretKey, "--quiet"}
	out, err := lib.command(ctx, lib.bin, args...).CombinedOutput()
	if err != nil {
		t.Errorf("yiku audit verify: %v\n%s", err, out)
	}
	return census
}

// database is a hub's database as the checks reach it: its URL, the yiku
// binary and the hub's secret key for `yiku audit verify`, and, for a hub
// in a mount namespace of its own (ns > 0, the pid of a process in it),
// paths that are valid there: the checks then run in that namespace
// (nsenter), the census in a helper process of this test binary.
type database struct {
	url, bin, secretKey string
	// dataKeys is the hub's data key file, which opens the encrypted
	// sensitive fields of its records.
	dataKeys string
	ns       int
}

// command runs name in the database's mount namespace.
func (d database) command(ctx context.Context, name string, args ...string) *exec.Cmd {
	if d.ns == 0 {
		return exec.CommandContext(ctx, name, args...)
	}
	return exec.CommandContext(ctx, "nsenter", append([]string{"-t", strconv.Itoa(d.ns), "-U", "-m", "--preserve-credentials", name}, args...)...)
}

// censusRequest is what the census helper process is asked.
type censusRequest struct {
	URL      string
	DataKeys string
	Want     map[string]string
	Groups   [][]string
	Out      string
}

type censusAnswer struct {
	Census  librarytest.Census
	Present []int
}

// envCensus names the request file of TestCensusHelper.
const envCensus = "YIKU_FAULTTEST_CENSUS"

// census takes the library's census of want and counts how many of each
// group's subjects are in the library.
func (d database) census(t *testing.T, ctx context.Context, want map[string]string, groups [][]string) (librarytest.Census, []int) {
	t.Helper()
	if d.ns == 0 {
		present := make([]int, len(groups))
		for i, g := range groups {
			present[i] = librarytest.Present(t, ctx, d.url, d.dataKeys, resource, g)
		}
		return librarytest.Take(t, ctx, d.url, d.dataKeys, resource, want), present
	}
	dir := t.TempDir()
	req := censusRequest{URL: d.url, DataKeys: d.dataKeys, Want: want, Groups: groups, Out: filepath.Join(dir, "census.json")}
	data, _ := json.Marshal(req)
	if err := os.WriteFile(filepath.Join(dir, "request.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := d.command(ctx, os.Args[0], "-test.run=^TestCensusHelper$", "-test.count=1")
	cmd.Env = append(os.Environ(), envCensus+"="+filepath.Join(dir, "request.json"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("census in the hub's namespace: %v\n%s", err, out)
	}
	data, err := os.ReadFile(req.Out)
	if err != nil {
		t.Fatal(err)
	}
	var a censusAnswer
	if err := json.Unmarshal(data, &a); err != nil {
		t.Fatal(err)
	}
	return a.Census, a.Present
}

// TestCensusHelper is the census of database.census run in another mount
// namespace; it does nothing unless asked by YIKU_FAULTTEST_CENSUS.
func TestCensusHelper(t *testing.T) {
	path := os.Getenv(envCensus)
	if path == "" {
		t.Skip("run by the fault suite in a hub's mount namespace")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var req censusRequest
	if err := json.Unmarshal(data, &req); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a := censusAnswer{Census: librarytest.Take(t, ctx, req.URL, req.DataKeys, resource, req.Want), Present: make([]int, len(req.Groups))}
	for i, g := range req.Groups {
		a.Present[i] = librarytest.Present(t, ctx, req.URL, req.DataKeys, resource, g)
	}
	out, _ := json.Marshal(a)
	if err := os.WriteFile(req.Out, out, 0o600); err != nil {
		t.Fatal(err)
	}
}
