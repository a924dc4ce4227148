package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/schollz/progressbar/v3"

	"yiku/periodic"
)

// Target is a running hub and the provider credentials to publish with.
type Target struct {
	// Hub is the hub's base URL; only loopback addresses are accepted.
	Hub string
	// More holds the base URLs of further instances of the same hub (same
	// database and Kafka cluster): client c publishes to instance c mod n
	// of Hub and More. The status is read from Hub.
	More []string
	// Tokens maps a resource id to the bearer secret of its provider.
	Tokens map[string]string
	// Reader is a bearer secret allowed to read /api/v1/exchange/status.
	Reader string
}

// LoadConfig describes one publish run.
type LoadConfig struct {
	Kinds        []Kind
	Records      int
	Batch        int
	Clients      int
	InvalidShare float64
	Seed         uint64
	// FirstSubject offsets subject numbers, so runs can add new subjects.
	FirstSubject int
	Progress     io.Writer
	// CatchUpTimeout bounds the wait for the library to apply everything.
	CatchUpTimeout time.Duration
}

// LoadResult is what a publish run measured.
type LoadResult struct {
	Published, Accepted, Rejected int
	Batches, Failed, Retried      int
	PublishDuration               time.Duration
	// CatchUp is from the last publish answer to the library having
	// applied every accepted record.
	CatchUp time.Duration
	// EndToEnd is from the first publish to the library having caught up.
	EndToEnd       time.Duration
	P50, P99, PMax time.Duration
	// Backlog is how many accepted records the library had not yet applied
	// at the first status answer after the last publish, and SinkRate the records/s at
	// which it worked that backlog off (0 when there was none). While
	// publishing, the sink can go no faster than records arrive; working
	// off the backlog it runs alone, so this is its rate on this machine
	// (the exchange/library benchmark BenchmarkSinkAgainstRawUpsert
	// measures it on a backlog of 100,000 records).
	Backlog  int64
	SinkRate float64
	// Machine is the whole run (first publish to caught up) as a Stage:
	// the accepted records and the CPU every process on the machine used.
	Machine Stage
}

// CheckLoopback refuses a hub URL that is not on this machine.
func CheckLoopback(hub string) error {
	u, err := url.Parse(hub)
	if err != nil {
		return fmt.Errorf("loadgen: hub url: %w", err)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
		return nil
	}
	return fmt.Errorf("loadgen: load is only sent to a loopback hub, not %s", u.Host)
}

type status struct {
	TotalLag  int64 `json:"total_lag"`
	Resources []struct {
		Resource  string `json:"resource"`
		Versions  int64  `json:"versions"`
		EndOffset int64  `json:"end_offset"`
		Applied   int64  `json:"applied_offset"`
		Lag       int64  `json:"lag"`
	} `json:"resources"`
}

func (t Target) status(ctx context.Context, c *http.Client) (status, error) {
	var st status
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.Hub+"/api/v1/exchange/status?library_only=true", nil)
	if err != nil {
		return st, err
	}
	req.Header.Set("Authorization", "Bearer "+t.Reader)
	resp, err := c.Do(req)
	if err != nil {
		return st, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		return st, fmt.Errorf("loadgen: status %d: %s", resp.StatusCode, b)
	}
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// applied sums the offsets the library has applied over every resource
// topic: it grows by one per accepted record (duplicates included, which
// the library recognises and skips).
func applied(st status) int64 {
	var n int64
	for _, r := range st.Resources {
		n += r.Applied
	}
	return n
}

// Run publishes cfg.Records records over HTTP with cfg.Clients concurrent
// clients, retrying batches answered 429 or 503 after Retry-After, then
// waits for the library to catch up. Before the clock starts it publishes
// a warm-up batch of each kind and waits until the library has applied it
// (see warmUp).
func Run(ctx context.Context, t Target, cfg LoadConfig) (LoadResult, error) {
	for _, u := range append([]string{t.Hub}, t.More...) {
		if err := CheckLoopback(u); err != nil {
			return LoadResult{}, err
		}
	}
	client := &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients * 2}}
	if err := warmUp(ctx, client, t, cfg); err != nil {
		return LoadResult{}, err
	}
	before, err := t.status(ctx, client)
	if err != nil {
		return LoadResult{}, err
	}
	type job struct {
		kind  Kind
		first int
		size  int
	}
	jobs := make(chan job)
	var (
		res       LoadResult
		mu        sync.Mutex
		latencies []time.Duration
		accepted  atomic.Int64
		firstErr  error
	)
	bar := progressbar.NewOptions(cfg.Records, progressbar.OptionSetWriter(cfg.Progress), progressbar.OptionSetDescription("publishing"),
		progressbar.OptionShowCount(), progressbar.OptionShowIts(), progressbar.OptionSetItsString("records"), progressbar.OptionThrottle(200*time.Millisecond))
	start, clk := time.Now(), startClock()
	var wg sync.WaitGroup
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			t := t.instance(c)
			r := rand.New(rand.NewPCG(cfg.Seed, uint64(c)))
			for j := range jobs {
				body, _ := Batch(r, j.kind, j.first, j.size, cfg.InvalidShare)
				for attempt := 0; ; attempt++ {
					t0 := time.Now()
					acc, rej, retry, err := publishOnce(ctx, client, t, j.kind, body)
					d := time.Since(t0)
					mu.Lock()
					if err == nil && retry == 0 {
						latencies = append(latencies, d)
						res.Accepted += acc
						res.Rejected += rej
						res.Batches++
					}
					if retry > 0 {
						res.Retried++
					}
					if err != nil {
						res.Failed++
						if firstErr == nil {
							firstErr = err
						}
					}
					mu.Unlock()
					if retry > 0 && attempt < 20 && ctx.Err() == nil {
						time.Sleep(retry)
						continue
					}
					accepted.Add(int64(acc))
					break
				}
				_ = bar.Add(j.size)
			}
		}(c)
	}
	for i, n := 0, 0; n < cfg.Records && ctx.Err() == nil; i++ {
		size := min(cfg.Batch, cfg.Records-n)
		jobs <- job{kind: cfg.Kinds[i%len(cfg.Kinds)], first: cfg.FirstSubject + n, size: size}
		n += size
	}
	close(jobs)
	wg.Wait()
	_ = bar.Finish()
	res.Published = cfg.Records
	res.PublishDuration = time.Since(start)
	if firstErr != nil && res.Accepted == 0 {
		return res, firstErr
	}
	// Wait for the library to apply every accepted record's offset.
	published := time.Now()
	want := applied(before) + int64(res.Accepted)
	deadline := published.Add(cfg.CatchUpTimeout)
	// The backlog is what the first status answer shows unapplied; the
	// sink's rate is timed from that call's start, the latest moment
	// before its measurement (timing from the last publish would charge
	// the sink for records it applied before the measurement).
	var backlogAt time.Time
	for {
		asked := time.Now()
		st, err := t.status(ctx, client)
		if err == nil {
			v := applied(st)
			if backlogAt.IsZero() {
				res.Backlog, backlogAt = max(0, want-v), asked
			}
			if st.TotalLag == 0 && v >= want {
				res.CatchUp = time.Since(published)
				res.EndToEnd = time.Since(start)
				res.Machine = clk.stop(res.Accepted)
				if res.Backlog > 0 {
					res.SinkRate = float64(res.Backlog) / time.Since(backlogAt).Seconds()
				}
				break
			}
		}
		if time.Now().After(deadline) {
			return res, fmt.Errorf("loadgen: the library did not catch up within %s (want %d applied offsets)", cfg.CatchUpTimeout, want)
		}
		if err := periodic.Sleep(ctx, statusPoll); err != nil {
			return res, err
		}
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if n := len(latencies); n > 0 {
		res.P50 = nearestRank(latencies, 50)
		res.P99 = nearestRank(latencies, 99)
		res.PMax = latencies[n-1]
	}
	return res, nil
}

// instance is the target with client c's instance as Hub.
func (t Target) instance(c int) Target {
	urls := append([]string{t.Hub}, t.More...)
	t.Hub = urls[c%len(urls)]
	return t
}

// publishOnce posts one batch; retry > 0 asks the caller to retry after it.
func publishOnce(ctx context.Context, c *http.Client, t Target, kind Kind, body []byte) (acc, rej int, retry time.Duration, err error) {
	token, ok := t.Tokens[string(kind)]
	if !ok {
		return 0, 0, 0, fmt.Errorf("loadgen: no provider token for %s", kind)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Hub+"/api/v1/resources/"+string(kind)+"/records", bytes.NewReader(body))
	if err != nil {
		return 0, 0, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("loadgen: publish: %w", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return 0, 0, time.Duration(max(s, 1)) * time.Second, nil
	default:
		return 0, 0, 0, fmt.Errorf("loadgen: publish answered %d: %s", resp.StatusCode, data)
	}
	var out struct{ Accepted, Rejected int }
	if err := json.Unmarshal(data, &out); err != nil {
		return 0, 0, 0, fmt.Errorf("loadgen: publish answer: %w", err)
	}
	return out.Accepted, out.Rejected, 0, nil
}

// WarmUpRecords is the size of each kind's warm-up batch.
const WarmUpRecords = 10

// warmUp publishes WarmUpRecords valid records of each kind (subjects after
// the measured range) and waits until the library has applied them, so
// one-time work is not measured as if it happened on every batch: creating
// a resource topic on its first publish, and the library sink's consumer
// group taking a new topic into a new generation. With several instances
// each gets a warm-up batch of each kind (its producer connects on its
// first publish).
func warmUp(ctx context.Context, client *http.Client, t Target, cfg LoadConfig) error {
	before, err := t.status(ctx, client)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(cfg.Seed, 1<<32))
	var accepted int64
	for i := 0; i <= len(t.More); i++ {
		n, err := warmUpInstance(ctx, client, t.instance(i), cfg, r, cfg.FirstSubject+cfg.Records+i*WarmUpRecords)
		if err != nil {
			return err
		}
		accepted += n
	}
	want := applied(before) + accepted
	deadline := time.Now().Add(2 * time.Minute)
	for {
		st, err := t.status(ctx, client)
		if err == nil && st.TotalLag == 0 && applied(st) >= want {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("loadgen: the library did not apply the warm-up batches within 2m (want %d applied offsets)", want)
		}
		if err := periodic.Sleep(ctx, statusPoll); err != nil {
			return err
		}
	}
}

// warmUpInstance publishes one warm-up batch of each kind to t.Hub, with
// subjects from first on, and returns the records accepted.
func warmUpInstance(ctx context.Context, client *http.Client, t Target, cfg LoadConfig, r *rand.Rand, first int) (int64, error) {
	var accepted int64
	for _, kind := range cfg.Kinds {
		body, _ := Batch(r, kind, first, WarmUpRecords, 0)
		for attempt := 0; ; attempt++ {
			acc, _, retry, err := publishOnce(ctx, client, t, kind, body)
			if err != nil {
				return 0, fmt.Errorf("loadgen: warm-up batch of %s: %w", kind, err)
			}
			if retry == 0 {
				accepted += int64(acc)
				break
			}
			if attempt == 20 {
				return 0, fmt.Errorf("loadgen: warm-up batch of %s: the hub kept answering 429/503", kind)
			}
			if err := periodic.Sleep(ctx, retry); err != nil {
				return 0, err
			}
		}
	}
	return accepted, nil
}

// statusPoll is how often the run asks the hub for its exchange status
// while waiting for the library: each answer costs the hub a few Kafka and
// database round trips on the machine being measured.
const statusPoll = 50 * time.Millisecond

// nearestRank returns the p-th percentile (0 < p <= 100) of sorted by the
// nearest-rank method: the smallest value that at least p % of the values
// do not exceed. Of 100 batch latencies, the 99th percentile is the 99th
// smallest, not the slowest.
func nearestRank(sorted []time.Duration, p int) time.Duration {
	n := len(sorted)
	if n == 0 {
		return 0
	}
	return sorted[max(0, (n*p+99)/100-1)]
}
