package console_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"
	"time"

	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// libraryRecords is how many generated population records the benchmark
// adds to the demo data.
const libraryRecords = 100_000

// BenchmarkPages measures each main console page's server time (the HTTP
// round trip on loopback: session, in-process API calls with their audit
// events, rendering) with the demo data plus 100,000 library records, and
// reports the p50 and p95 of the requests. Under `make bench` this is real
// PostgreSQL and Kafka; docs/performance.md has the figures.
//
//	go test -run '^$' -bench BenchmarkPages -benchtime 200x ./console/
func BenchmarkPages(b *testing.B) {
	h := hubtest.Start(b)
	h.WaitDemoLibrary(b)
	fillLibrary(b, h, libraryRecords)

	lookupForm := func(caseNo string) url.Values {
		return url.Values{"applicant": {lookupdemo.Citizen}, "service_item": {lookupdemo.ItemSocialSecurity},
			"case_number": {caseNo}, "purpose": {lookupdemo.ItemSocialSecurity + "::社会保障卡申领"}}
	}
	pages := []struct {
		name, who, path string
		form            func(i int) url.Values
	}{
		{"lookup-form", "officer-gsc", "/console/lookup", nil},
		{"lookup-result", "officer-gsc", "/console/lookup", func(i int) url.Values { return lookupForm(fmt.Sprintf("BENCH-%d", i)) }},
		{"my-data", "citizen-demo", "/console/my-data", nil},
		{"audit-search", "reviewer", "/console/audit", nil},
		{"audit-by-subject", "reviewer", "/console/audit?subject=" + lookupdemo.Citizen, nil},
		{"anomalies", "reviewer", "/console/anomalies", nil},
		{"share-requests", "admin-hrss", "/console/share-requests", nil},
		{"all-share-requests", "catalog-admin", "/console/share-requests", nil},
		{"access", "admin-gsc", "/console/access", nil},
		{"resources", "catalog-admin", "/console/resources", nil},
		{"departments", "catalog-admin", "/console/departments", nil},
		{"reuse", "catalog-admin", "/console/reuse", nil},
		{"docs", "catalog-admin", "/docs", nil},
		{"objections", "admin-hrss", "/console/objections", nil},
		{"freshness", "catalog-admin", "/console/supervision/freshness", nil},
		{"assessment-report", "catalog-admin", "/console/supervision/reports", nil},
		// The API calls behind the two slowest pages, alone: what the
		// console adds is the difference.
		{"api-my-data-access", "citizen-demo", "api:/api/v1/my-data-access", nil},
		{"api-anomalies", "reviewer", "api:/api/v1/audit/anomalies", nil},
	}
	for _, p := range pages {
		b.Run(p.name, func(b *testing.B) {
			c := newClient(b, h.URL)
			api, isAPI := strings.CutPrefix(p.path, "api:")
			token := ""
			if !isAPI {
				c.signIn(h, p.who)
				_, page := c.get(p.path)
				token = csrf(b, page)
			}
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				start := time.Now()
				var code int
				if isAPI {
					req, _ := http.NewRequest(http.MethodGet, h.URL+api, nil)
					req.Header.Set("Authorization", "Bearer "+h.Secret(p.who))
					code, _ = c.do(req)
				} else if p.form != nil {
					f := p.form(i)
					f.Set("csrf", token)
					code, _ = c.post(p.path, f)
				} else {
					code, _ = c.get(p.path)
				}
				lat = append(lat, time.Since(start))
				if code != http.StatusOK {
					b.Fatalf("%s: %d", p.path, code)
				}
			}
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(lat[len(lat)*95/100].Microseconds())/1000, "p95-ms")
		})
	}
}

// fillLibrary publishes n generated population records and waits until the
// library holds them.
func fillLibrary(b *testing.B, h *hubtest.Hub, n int) {
	b.Helper()
	lib := h.Library
	before, _, err := lib.Counts(context.Background(), "population")
	if err != nil {
		b.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 2))
	const batch = 5000
	for first := 1_000_000; first < 1_000_000+n; first += batch {
		body, _ := loadgen.Batch(r, loadgen.KindPopulation, first, batch, 0)
		for {
			res := h.Do("POST", "/api/v1/resources/population/records", "psb-system", body)
			if res.Status == http.StatusTooManyRequests || res.Status == http.StatusServiceUnavailable {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			if res.Status >= 300 {
				b.Fatalf("publish: %d %s", res.Status, res.Body)
			}
			break
		}
	}
	deadline := time.Now().Add(10 * time.Minute)
	for {
		cur, _, err := lib.Counts(context.Background(), "population")
		if err != nil {
			b.Fatal(err)
		}
		if cur >= before+int64(n) {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("library holds %d of %d population records", cur, before+int64(n))
		}
		time.Sleep(200 * time.Millisecond)
	}
}
