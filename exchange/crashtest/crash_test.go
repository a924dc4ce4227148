package crashtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yiku/broker/brokertest"
	"yiku/cryptosuite"
	"yiku/exchange"
	"yiku/exchange/library/librarytest"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
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
// applying batches (lag > 0 and the applied offsets moving; the second kill
// is left out when the library has already applied everything, which a
// fast sink on an idle machine can do), restarts it each time, retries the batches that got no answer (same Idempotency-Key),
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
	bin := hubtest.BuildYiku(t, dir)
	hubtest.WriteKeys(t, dir, cryptosuite.Default)
	dbURL, kafka, prefix := storagetest.NewURL(t), brokertest.Start(t), brokertest.Prefix(t)
	hub := &hubProc{Proc: hubtest.Proc{T: t, Bin: bin, Dir: dir, Args: append([]string{"bench", "hub",
		"--database-url", dbURL, "--topic-prefix", prefix,
		"--http-addr", "127.0.0.1:0", "--jwt-key-file", filepath.Join(dir, "jwt.pem"), "--secret-key-file", filepath.Join(dir, "secret.key"), "--data-key-file", filepath.Join(dir, "data-keys.json"),
		"--data-dir", dir, "--log-level", "warn"}, kafka.Args()...)}}
	hub.Start(ctx)
	t.Cleanup(hub.Stop)

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
	done := 0
kill:
	for k := 0; k < kills; k++ {
		base := hub.status(ctx).Applied
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
			if st.Lag > 0 && st.Applied > base {
				t.Logf("kill %d: SIGKILL with %d applied, %d behind, %d batches handed out", k+1, st.Applied, st.Lag, min(next.Load(), int64(len(batches))))
				hub.Kill()
				killed = true
				continue
			}
			select {
			case <-published:
				if st.Lag == 0 && st.Applied >= int64(n) {
					// The first kill comes as the sink starts; a later one
					// may find everything published and applied already.
					if done == 0 {
						t.Fatalf("kill %d: the library caught up before the sink could be killed mid-batch; raise YIKU_CRASH_RECORDS", k+1)
					}
					t.Logf("kill %d: the library caught up before the sink could be killed again; %d kill(s) mid-batch", k+1, done)
					break kill
				}
			default:
			}
		}
		done++
		hub.Start(ctx)
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
	var st hubtest.ResourceStatus
	for {
		st = hub.status(ctx)
		if st.Lag == 0 && st.End >= int64(n) {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("library never caught up: %+v", st)
		case <-time.After(200 * time.Millisecond):
		}
	}
	t.Logf("published %d records in %d batches (%d batches re-sent after a kill); Kafka holds %d messages, the library applied them all", n, len(batches), retried.Load(), st.End)
	hub.Stop()

	if c := librarytest.Take(t, ctx, dbURL, filepath.Join(dir, "data-keys.json"), "population", want); !c.OK() {
		t.Fatal(c)
	}
}

// hubProc is the hub under test, a `yiku bench hub` process.
type hubProc struct{ hubtest.Proc }

// status reads the population resource's offsets and lag as the
// provider's system, which sees the population resource and only its own
// department's ingress.
func (h *hubProc) status(ctx context.Context) hubtest.ResourceStatus {
	return h.Status(ctx, "psb-system", "population")
}

// publish sends one batch until the hub answers 200 and returns how many
// records it accepted and how many tries it took.
func (h *hubProc) publish(ctx context.Context, body []byte, key string) (int, int, error) {
	for try := 1; ; try++ {
		url, tokens := h.Current()
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
