package lookupapi_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yiku/audit"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// BenchmarkLookups compares, in one run on one hub, a reuse lookup over HTTP
// (authentication, Casbin, the sharing gate, one library read of both
// records, masking and three durable, hash-chained audit events: the lookup
// and two reuse events) with the raw database point selects of the same two
// records through the same connection pool. Both run with the same number
// of concurrent callers. http-floor measures the HTTP round trip alone.
// Under `make bench` this is real PostgreSQL and Kafka.
//
//	go test -run '^$' -bench BenchmarkLookups -benchtime 10s ./lookup/lookupapi/
func BenchmarkLookups(b *testing.B) {
	h := hubtest.Start(b)
	h.WaitDemoLibrary(b)
	sqlDB, err := h.DB.Gorm.DB()
	if err != nil {
		b.Fatal(err)
	}
	const parallelism = 8 // × GOMAXPROCS callers
	records := [][2]string{{"population", lookupdemo.Citizen}, {"social-security", lookupdemo.Citizen}}
	// The raw selects ask for the key the library stores: the subject's
	// pseudonym where the subject field is sensitive (docs/keys.md).
	for i, r := range records {
		if h.Library.Fields == nil {
			break
		}
		p, err := h.Library.Fields.FindSubject(context.Background(), r[0], r[1])
		if err != nil {
			b.Fatal(err)
		}
		if p != "" {
			records[i][1] = p
		}
	}
	query := "SELECT data FROM library_records WHERE resource_id = ? AND subject_key = ?"
	if h.DB.Dialect == "postgres" {
		query = "SELECT data FROM library_records WHERE resource_id = $1 AND subject_key = $2"
	}

	b.Run("raw-select", func(b *testing.B) {
		lat := newLatencies()
		b.SetParallelism(parallelism)
		b.ResetTimer()
		lat.cpu0 = loadgen.MachineCPU()
		b.RunParallel(func(pb *testing.PB) {
			ctx := context.Background()
			var data []byte
			for pb.Next() {
				start := time.Now()
				for _, r := range records {
					if err := sqlDB.QueryRowContext(ctx, query, r[0], r[1]).Scan(&data); err != nil {
						b.Error(err)
						return
					}
				}
				lat.add(time.Since(start))
			}
		})
		lat.report(b)
	})

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	// Each lookup serves a case of its own, as at the window: a lookup
	// opens its case (one row and its materials written with the audit
	// events). lookup-same-case repeats one case number, so every lookup
	// updates the one case row and waits for the others on its lock.
	var caseSeq atomic.Int64
	b.Run("lookup", func(b *testing.B) {
		secret := h.Secret("officer-gsc")
		runHTTP(b, client, parallelism, func() *http.Request {
			body := []byte(`{"applicant":"` + lookupdemo.Citizen + `","service_item":"social-security-card","case_number":"BENCH-` +
				strconv.FormatInt(caseSeq.Add(1), 10) + `","purpose":"社会保障卡申领"}`)
			req, _ := http.NewRequest("POST", h.URL+"/api/v1/lookups", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			return req
		})
	})
	b.Run("lookup-same-case", func(b *testing.B) {
		secret := h.Secret("officer-gsc")
		body := []byte(`{"applicant":"` + lookupdemo.Citizen + `","service_item":"social-security-card","case_number":"BENCH-SAME","purpose":"社会保障卡申领"}`)
		runHTTP(b, client, parallelism, func() *http.Request {
			req, _ := http.NewRequest("POST", h.URL+"/api/v1/lookups", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			return req
		})
	})

	// Not a target, the floor of any audited lookup over HTTP: a bare
	// net/http server (no gin, authentication, policy, masking or JSON
	// encoding) whose handler does only what no design of an audited
	// lookup can leave out — one library read of both records (the
	// lookup's own query) and one durable, hash-chained audit event
	// through this hub's journal — and writes the stored bytes back. If
	// this floor runs below half the raw selects, so must every lookup.
	b.Run("floor-audited-read", func(b *testing.B) {
		lib := h.Library
		resources := []string{"population", "social-security"}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			rows, err := lib.CurrentOf(r.Context(), lookupdemo.Citizen, resources)
			if err == nil && len(rows) != len(resources) {
				err = fmt.Errorf("read %d of %d records", len(rows), len(resources))
			}
			if err == nil {
				err = h.Audit.Record(r.Context(), audit.Event{PrincipalID: "bench", Department: "bench", Action: audit.ActionLookup,
					Subjects: []string{lookupdemo.Citizen}, Purpose: "bench", CaseNumber: "BENCH-0001", Outcome: audit.Allowed, Count: len(rows)})
			}
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			for _, res := range resources {
				_, _ = w.Write(rows[res].DataBytes())
			}
		}))
		defer srv.Close()
		runHTTP(b, client, parallelism, func() *http.Request {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			return req
		})
	})

	// Not a target, a floor: the same HTTP client and server with the same
	// callers on /healthz (request id, logging, metrics and recovery
	// middleware; no authentication, database or audit), to show what HTTP
	// alone costs on this machine.
	b.Run("http-floor", func(b *testing.B) {
		runHTTP(b, client, parallelism, func() *http.Request {
			req, _ := http.NewRequest("GET", h.URL+"/healthz", nil)
			return req
		})
	})
}

// runHTTP sends requests from parallelism × GOMAXPROCS callers, expecting
// 200, and reports throughput and latency percentiles.
func runHTTP(b *testing.B, client *http.Client, parallelism int, newReq func() *http.Request) {
	lat := newLatencies()
	// Allocations of the whole process per request: the hub, its
	// background workers and the client; unlike the rates, they do not
	// depend on the machine's load.
	b.ReportAllocs()
	b.SetParallelism(parallelism)
	b.ResetTimer()
	lat.cpu0 = loadgen.MachineCPU()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req := newReq()
			start := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			lat.add(time.Since(start))
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
	})
	lat.report(b)
}

type latencies struct {
	mu sync.Mutex
	d  []time.Duration
	// cpu0 is the machine's CPU time when the timed loop started.
	cpu0 time.Duration
}

func newLatencies() *latencies { return &latencies{} }

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

func (l *latencies) report(b *testing.B) {
	b.StopTimer()
	if l.cpu0 > 0 && b.N > 0 {
		// CPU of every process on the machine (PostgreSQL, Kafka, this
		// process's hub and client) per operation: with the cores busy,
		// the ratio of two runs' rates is the inverse ratio of these.
		b.ReportMetric(float64((loadgen.MachineCPU()-l.cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	}
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	pct := func(p float64) float64 { return float64(l.d[int(p*float64(len(l.d)-1))].Microseconds()) / 1000 }
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "ops/s")
}
