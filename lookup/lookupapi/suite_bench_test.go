package lookupapi_test

import (
	"bytes"
	"net/http"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"yiku/cryptosuite"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// BenchmarkLookupsBySuite runs the same reuse lookup against two hubs in
// one run, one on the default suite (SHA-256 audit chain, EdDSA tokens) and
// one on the national suite (SM3 audit chain, SM2 tokens), each on its own
// database, with the same callers. The proc-cpu-µs/op of sm over default is
// the national suite's cost per lookup (docs/performance.md): the hubs, the
// clients and, on SQLite, the database run in this process, so its CPU is
// not disturbed by other work on the machine as cpu-µs/op (the machine's) is.
//
//	go test -run '^$' -bench BenchmarkLookupsBySuite -benchtime 5s ./lookup/lookupapi/
func BenchmarkLookupsBySuite(b *testing.B) {
	const parallelism = 8 // × GOMAXPROCS callers
	hubs := map[cryptosuite.Name]*hubtest.Hub{}
	for _, s := range []cryptosuite.Name{cryptosuite.Default, cryptosuite.SM} {
		hubs[s] = hubtest.StartWith(b, hubtest.Options{Suite: s})
		hubs[s].WaitDemoLibrary(b)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConns: 256, MaxIdleConnsPerHost: 256}, Timeout: 30 * time.Second}
	var caseSeq atomic.Int64
	// Alternate the suites twice, so a change in the machine's load during
	// the run shows as a difference between the rounds of one suite.
	for round := 1; round <= 2; round++ {
		for _, s := range []cryptosuite.Name{cryptosuite.Default, cryptosuite.SM} {
			h := hubs[s]
			b.Run(string(s)+"-"+strconv.Itoa(round), func(b *testing.B) {
				secret := h.Secret("officer-gsc")
				cpu0 := processCPU(b)
				defer func() {
					if b.N > 0 {
						b.ReportMetric(float64((processCPU(b)-cpu0).Microseconds())/float64(b.N), "proc-cpu-µs/op")
					}
				}()
				runHTTP(b, client, parallelism, func() *http.Request {
					body := []byte(`{"applicant":"` + lookupdemo.Citizen + `","service_item":"social-security-card","case_number":"BENCH-SUITE-` +
						strconv.FormatInt(caseSeq.Add(1), 10) + `","purpose":"社会保障卡申领"}`)
					req, _ := http.NewRequest("POST", h.URL+"/api/v1/lookups", bytes.NewReader(body))
					req.Header.Set("Authorization", "Bearer "+secret)
					req.Header.Set("Content-Type", "application/json")
					return req
				})
			})
		}
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
