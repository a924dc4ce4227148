package crashtest

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"yiku/broker/brokertest"
	"yiku/cryptosuite"
	"yiku/demo"
	"yiku/exchange"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/storage"
	"yiku/storage/storagetest"
)

const (
	batchSize = 1000
	clients   = 4
	kills     = 2
)

// TestSIGKILLDuringSinkBatchesLosesAndDuplicatesNothing publishes
// YIKU_CRASH_RECORDS (default 40,000) population records over HTTP to a
// `yiku bench hub` process, SIGKILLs it twice while the library sink is
// applying batches (lag > 0 and the applied offsets moving), restarts it
// each time, retries the batches that got no answer (same Idempotency-Key),
// and then checks the library: every record is there once, as version 1,
// with the content hash of what was published, and the history holds no
// second copy, although Kafka holds duplicates of the retried batches.
func TestSIGKILLDuringSinkBatchesLosesAndDuplicatesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: skipped with -short")
	}
	if !storagetest.Postgres() {
		t.Skipf("crash test: needs PostgreSQL (serve mode); set %s as `make test` does", storagetest.EnvURL)
	}
	// Enough records that the library is still behind when the killer
	// looks: the sink works off 20,000 in well under a second.
	n := 40000
	if s := os.Getenv("YIKU_CRASH_RECORDS"); s != "" {
		v, err := strconv.Atoi(s)
		if err != nil || v < batchSize {
			t.Fatalf("YIKU_CRASH_RECORDS=%q: want a whole number >= %d", s, batchSize)
		}
		n = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()

	dir := t.TempDir()
	bin := buildYiku(t, dir)
	hubtest.WriteKeys(t, dir, cryptosuite.Default)
	dbURL, kafka, prefix := storagetest.NewURL(t), brokertest.Start(t), brokertest.Prefix(t)
	hub := &hubProc{t: t, bin: bin, dir: dir, args: append([]string{"bench", "hub",
		"--database-url", dbURL, "--topic-prefix", prefix,
		"--http-addr", "127.0.0.1:0", "--jwt-key-file", filepath.Join(dir, "jwt.pem"), "--secret-key-file", filepath.Join(dir, "secret.key"),
		"--data-dir", dir, "--log-level", "warn"}, kafka.Args()...)}
	hub.start(ctx)
	t.Cleanup(hub.stop)

	// The records, one subject each, and what the library must end up with.
	r := mrand.New(mrand.NewPCG(uint64(time.Now().UnixNano()), 9))
	first := 700000 + r.IntN(100000)*10
	batches := make([][]byte, 0, n/batchSize+1)
	want := make(map[string]string, n) // subject -> record id
	for lo := 0; lo < n; lo += batchSize {
		recs := make([]map[string]any, 0, batchSize)
		for i := lo; i < min(lo+batchSize, n); i++ {
			rec := loadgen.Person(r, first+i, 0)
			raw, err := json.Marshal(rec)
			if err != nil {
				t.Fatal(err)
			}
			canon, _, err := exchange.Canonical(raw)
			if err != nil {
				t.Fatal(err)
			}
			want[rec["id_number"].(string)] = exchange.ContentHash(canon)
			recs = append(recs, rec)
		}
		body, err := json.Marshal(recs)
		if err != nil {
			t.Fatal(err)
		}
		batches = append(batches, body)
	}
	if len(want) != n {
		t.Fatalf("generated %d distinct subjects, want %d", len(want), n)
	}

	// Publishers: every batch is retried until the hub answers 200; a batch
	// without an answer (the hub died under it) is sent again with its key.
	var (
		next     atomic.Int64
		accepted atomic.Int64
		retried  atomic.Int64
		wg       sync.WaitGroup
		pubErr   = make(chan error, clients)
	)
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				b := int(next.Add(1)) - 1
				if b >= len(batches) {
					return
				}
				got, tries, err := hub.publish(ctx, batches[b], fmt.Sprintf("crash-%s-%d", prefix, b))
				if err != nil {
					pubErr <- err
					return
				}
				accepted.Add(int64(got))
				retried.Add(int64(tries - 1))
			}
		}()
	}
	published := make(chan struct{})
	go func() { wg.Wait(); close(published) }()

	// The killer: SIGKILL while the sink is mid-work, i.e. the library is
	// behind (lag > 0) and has applied records since the hub (re)started.
	for k := 0; k < kills; k++ {
		base := hub.status(ctx).applied
		killed := false
		for !killed {
			select {
			case err := <-pubErr:
				t.Fatal(err)
			case <-ctx.Done():
				t.Fatal("timed out before the kill")
			case <-time.After(20 * time.Millisecond):
			}
			st := hub.status(ctx)
			if st.lag > 0 && st.applied > base {
				t.Logf("kill %d: SIGKILL with %d applied, %d behind, %d batches handed out", k+1, st.applied, st.lag, min(next.Load(), int64(len(batches))))
				hub.kill()
				killed = true
				continue
			}
			select {
			case <-published:
				if st.lag == 0 && st.applied >= int64(n) {
					t.Fatalf("kill %d: the library caught up before the sink could be killed mid-batch; raise YIKU_CRASH_RECORDS", k+1)
				}
			default:
			}
		}
		hub.start(ctx)
	}
	select {
	case <-published:
	case err := <-pubErr:
		t.Fatal(err)
	case <-ctx.Done():
		t.Fatal("timed out publishing")
	}
	if accepted.Load() != int64(n) {
		t.Fatalf("the hub accepted %d of %d valid records", accepted.Load(), n)
	}

	// Wait for the library to catch up with everything Kafka holds.
	var st status
	for {
		st = hub.status(ctx)
		if st.lag == 0 && st.end >= int64(n) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("library never caught up: %+v", st)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("published %d records in %d batches (%d batches re-sent after a kill); Kafka holds %d messages, the library applied them all", n, len(batches), retried.Load(), st.end)
	hub.stop()

	checkLibrary(t, ctx, dbURL, want)
}

// checkLibrary reads the library rows of want's subjects: each current
// record must be version 1 with the published content (its record id and
// the hash of its data), and the history must hold exactly one version
// per subject.
func checkLibrary(t *testing.T, ctx context.Context, dbURL string, want map[string]string) {
	t.Helper()
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var current []struct {
		SubjectKey string
		RecordID   string
		Version    int
		Data       string
	}
	if err := db.Gorm.Raw("SELECT subject_key, record_id, version, data FROM library_records WHERE resource_id = 'population'").Scan(&current).Error; err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, c := range current {
		id, ok := want[c.SubjectKey]
		if !ok {
			continue // the demo's own records
		}
		seen++
		sum := sha256.Sum256([]byte(c.Data))
		if c.RecordID != id || hex.EncodeToString(sum[:]) != id || c.Version != 1 {
			t.Fatalf("subject %s: record %s version %d (data hash %x), want record %s version 1", c.SubjectKey, c.RecordID, c.Version, sum, id)
		}
	}
	if seen != len(want) {
		t.Fatalf("library holds %d of %d published subjects", seen, len(want))
	}
	var history []struct {
		SubjectKey string
		N          int
	}
	if err := db.Gorm.Raw("SELECT subject_key, COUNT(*) AS n FROM library_history WHERE resource_id = 'population' GROUP BY subject_key").Scan(&history).Error; err != nil {
		t.Fatal(err)
	}
	versions := 0
	for _, h := range history {
		if _, ok := want[h.SubjectKey]; !ok {
			continue
		}
		if h.N != 1 {
			t.Fatalf("subject %s has %d versions in the history, want 1", h.SubjectKey, h.N)
		}
		versions++
	}
	if versions != len(want) {
		t.Fatalf("history holds %d of %d subjects", versions, len(want))
	}
}

// hubProc is the hub under test, a `yiku bench hub` process.
type hubProc struct {
	t    *testing.T
	bin  string
	dir  string
	args []string

	mu     sync.Mutex
	cmd    *exec.Cmd
	url    string
	token  map[string]string
	exited chan struct{}
}

func (h *hubProc) start(ctx context.Context) {
	h.t.Helper()
	cmd := exec.Command(h.bin, h.args...)
	cmd.Stdout = io.Discard
	stderr, err := cmd.StderrPipe()
	if err != nil {
		h.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		h.t.Fatalf("start hub: %v", err)
	}
	exited := make(chan struct{})
	ready := make(chan string, 1)
	var tail bytes.Buffer
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			tailMu.Lock()
			if tail.Len() < 16<<10 {
				tail.WriteString(line + "\n")
			}
			tailMu.Unlock()
			if _, addr, ok := strings.Cut(line, "listening on "); ok {
				select {
				case ready <- strings.Fields(strings.TrimSuffix(addr, ","))[0]:
				default:
				}
			}
		}
		_ = cmd.Wait()
		close(exited)
	}()
	select {
	case u := <-ready:
		h.mu.Lock()
		h.cmd, h.url, h.exited = cmd, strings.TrimSuffix(u, ","), exited
		h.mu.Unlock()
	case <-exited:
		tailMu.Lock()
		defer tailMu.Unlock()
		h.t.Fatalf("hub exited during start:\n%s", tail.String())
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		h.t.Fatal("hub did not start within 90s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		h.t.Fatal(ctx.Err())
	}
	h.loadCredentials()
}

func (h *hubProc) loadCredentials() {
	data, err := os.ReadFile(filepath.Join(h.dir, "credentials.json"))
	if err != nil {
		h.t.Fatal(err)
	}
	var creds []demo.Credential
	if err := json.Unmarshal(data, &creds); err != nil {
		h.t.Fatal(err)
	}
	tokens := map[string]string{}
	for _, c := range creds {
		tokens[c.Principal] = c.Secret
	}
	h.mu.Lock()
	h.token = tokens
	h.mu.Unlock()
}

func (h *hubProc) kill() {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// stop ends the hub gracefully (SIGTERM), or kills it after 30 s.
func (h *hubProc) stop() {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

func (h *hubProc) current() (string, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url, h.token
}

// publish sends one batch until the hub answers 200 and returns how many
// records it accepted and how many tries it took.
func (h *hubProc) publish(ctx context.Context, body []byte, key string) (int, int, error) {
	for try := 1; ; try++ {
		url, tokens := h.current()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/resources/population/records", bytes.NewReader(body))
		if err != nil {
			return 0, try, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tokens["psb-system"])
		req.Header.Set("Idempotency-Key", key)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			data, rerr := io.ReadAll(resp.Body)
			resp.Body.Close()
			switch {
			case rerr != nil:
			case resp.StatusCode == http.StatusOK:
				var res exchange.PublishResult
				if err := json.Unmarshal(data, &res); err != nil {
					return 0, try, fmt.Errorf("publish %s: %w", key, err)
				}
				if res.Rejected != 0 {
					return 0, try, fmt.Errorf("publish %s: %d valid records rejected: %s", key, res.Rejected, data)
				}
				return res.Accepted, try, nil
			case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
			default:
				return 0, try, fmt.Errorf("publish %s: %d %s", key, resp.StatusCode, data)
			}
		}
		if ctx.Err() != nil {
			return 0, try, ctx.Err()
		}
		time.Sleep(200 * time.Millisecond)
	}
}

type status struct{ end, applied, lag int64 }

// status reads the population topic's end offsets, applied offsets and
// lag from the exchange status; a hub that does not answer reads as zero.
func (h *hubProc) status(ctx context.Context) status {
	url, tokens := h.current()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/exchange/status", nil)
	if err != nil {
		return status{}
	}
	// The provider's system sees the population resource and only its own
	// department's ingress, so each poll costs the hub one ingress-lag
	// lookup rather than one per department.
	req.Header.Set("Authorization", "Bearer "+tokens["psb-system"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return status{}
	}
	defer resp.Body.Close()
	var out struct {
		Resources []struct {
			Resource  string
			EndOffset int64 `json:"end_offset"`
			Applied   int64 `json:"applied_offset"`
			Lag       int64
		}
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return status{}
	}
	for _, r := range out.Resources {
		if r.Resource == "population" {
			return status{end: r.EndOffset, applied: r.Applied, lag: r.Lag}
		}
	}
	return status{}
}

func buildYiku(t *testing.T, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "yiku")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("build yiku: no go tool on PATH: %v", err)
	}
	cmd := exec.Command(gobin, "build", "-o", bin, "yiku/cmd/yiku")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build yiku: %v\n%s", err, out)
	}
	return bin
}
