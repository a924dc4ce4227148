package loadgen

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// LookupConfig describes one lookup run: Lookups answered lookups
// (POST /api/v1/lookups) of Applicant for service item Item, made by
// Clients concurrent clients as the officer whose bearer secret is
// Officer; client c asks instance c mod n of the target.
type LookupConfig struct {
	Lookups, Clients         int
	Officer                  string
	Applicant, Item, Purpose string
}

// LookupResult is what a lookup run measured.
type LookupResult struct {
	// Answered lookups got 200; Retried were answered 429 or 503 and
	// asked again after Retry-After; Failed got anything else.
	Answered, Retried, Failed int
	// FirstFailure is the first failed answer, for the report.
	FirstFailure  string
	Elapsed       time.Duration
	P50, P99, Max time.Duration
	// Machine is the run as a Stage: the answered lookups and the CPU
	// every process on the machine used meanwhile.
	Machine Stage
}

// Rate is answered lookups per second.
func (r LookupResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Answered) / r.Elapsed.Seconds()
}

// RunLookups makes cfg.Lookups lookups against t and measures them. A 429
// or 503 is asked again after its Retry-After; any other answer but 200
// counts as failed (and is not retried).
func RunLookups(ctx context.Context, t Target, cfg LookupConfig) (LookupResult, error) {
	if cfg.Lookups <= 0 || cfg.Clients <= 0 {
		return LookupResult{}, fmt.Errorf("loadgen: lookups and clients must be positive")
	}
	if cfg.Officer == "" {
		return LookupResult{}, fmt.Errorf("loadgen: no officer credential for lookups")
	}
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.Clients * 2}}
	// One lookup per instance first: the first answer warms the hub's
	// caches (policies, masking plans), which is not what is measured.
	for i := 0; i <= len(t.More); i++ {
		if _, _, err := lookupOnce(ctx, client, t.instance(i), cfg, "WARMUP-"+strconv.Itoa(i)); err != nil {
			return LookupResult{}, err
		}
	}
	var (
		next      atomic.Int64
		mu        sync.Mutex
		res       LookupResult
		latencies []time.Duration
		wg        sync.WaitGroup
		firstErr  error
	)
	clk := startClock()
	for c := 0; c < cfg.Clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			target := t.instance(c)
			for {
				n := next.Add(1)
				if n > int64(cfg.Lookups) || ctx.Err() != nil {
					return
				}
				for {
					start := time.Now()
					status, retry, err := lookupOnce(ctx, client, target, cfg, "BENCH-"+strconv.FormatInt(n, 10))
					lat := time.Since(start)
					mu.Lock()
					switch {
					case err != nil:
						if firstErr == nil {
							firstErr = err
						}
					case retry > 0:
						res.Retried++
					case status == http.StatusOK:
						res.Answered++
						latencies = append(latencies, lat)
					default:
						res.Failed++
						if res.FirstFailure == "" {
							res.FirstFailure = "status " + strconv.Itoa(status)
						}
					}
					mu.Unlock()
					if err != nil {
						return
					}
					if retry == 0 {
						break
					}
					time.Sleep(retry)
				}
			}
		}()
	}
	wg.Wait()
	res.Elapsed = time.Since(clk.start)
	res.Machine = clk.stop(res.Answered)
	if firstErr != nil {
		return res, firstErr
	}
	sort.Slice(latencies, func(i, j int) bool { return latencies[i] < latencies[j] })
	if n := len(latencies); n > 0 {
		res.P50 = nearestRank(latencies, 50)
		res.P99 = nearestRank(latencies, 99)
		res.Max = latencies[n-1]
	}
	return res, nil
}

// lookupOnce makes one lookup; retry > 0 asks the caller to ask again
// after it (a 429 or 503).
func lookupOnce(ctx context.Context, c *http.Client, t Target, cfg LookupConfig, caseNumber string) (status int, retry time.Duration, err error) {
	body, _ := json.Marshal(map[string]string{"applicant": cfg.Applicant, "service_item": cfg.Item, "case_number": caseNumber, "purpose": cfg.Purpose})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, t.Hub+"/api/v1/lookups", bytes.NewReader(body))
	if err != nil {
		return 0, 0, fmt.Errorf("loadgen: lookup request: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+cfg.Officer)
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, fmt.Errorf("loadgen: lookup at %s: %w", t.Hub, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("loadgen: lookup answer from %s: %w", t.Hub, err)
	}
	switch resp.StatusCode {
	case http.StatusOK:
		var r struct {
			Materials []json.RawMessage `json:"materials"`
		}
		if json.Unmarshal(data, &r) != nil || len(r.Materials) == 0 {
			return 0, 0, fmt.Errorf("loadgen: lookup at %s answered 200 without materials: %.200s", t.Hub, data)
		}
		return resp.StatusCode, 0, nil
	case http.StatusTooManyRequests, http.StatusServiceUnavailable:
		s, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		return resp.StatusCode, time.Duration(max(s, 1)) * time.Second, nil
	}
	return resp.StatusCode, 0, nil
}
