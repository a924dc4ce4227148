package hub_test

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net/http"
	"strconv"
	"syscall"
	"testing"
	"time"

	"yiku/config"
	"yiku/cryptosuite"
	"yiku/exchange/library"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// BenchmarkFieldEncryption measures, in one run, what encrypting the
// sensitive fields at rest costs: the same work on a hub of the default
// suite without a data key file (records in clear), one of the default
// suite with one (AES-256-GCM) and one of the sm suite (SM4-GCM; its audit
// chain and tokens use SM3 and SM2 too), in turn, so all see the same
// machine. Per iteration each
// hub takes one 1,000-record population batch over HTTP, end to end (the
// publish answered, then the library holding every record: the sink opens
// each sealed record to check its content hash), and 100 reuse lookups of
// the demo citizen (two records opened, masked, audited). It reports this
// process's CPU (getrusage: both hubs and the client; in embedded mode the
// broker and SQLite too, with real services not PostgreSQL's and Kafka's,
// which store a few more bytes per record but do no cryptography) per
// record and per lookup, the wall time of each, and the ratios encrypted /
// clear. On a shared machine the process's CPU is the figure to trust:
// the whole machine's is mostly other work. Under `make bench` this is real
// PostgreSQL and Kafka.
//
//	go test -run '^$' -bench BenchmarkFieldEncryption -benchtime 20x ./hub/
func BenchmarkFieldEncryption(b *testing.B) {
	clear := hubtest.StartWith(b, hubtest.Options{Suite: cryptosuite.Default, Configure: func(c *config.Config) { c.DataKeyFile = "" }})
	sealed := hubtest.StartWith(b, hubtest.Options{Suite: cryptosuite.Default})
	sealedSM := hubtest.StartWith(b, hubtest.Options{Suite: cryptosuite.SM})
	if clear.Keys != nil || sealed.Keys == nil || sealedSM.Keys == nil || sealedSM.Keys.NewestSuite() != cryptosuite.SM {
		b.Fatal("want one hub without data keys, one with AES-256-GCM keys and one with SM4-GCM keys")
	}
	for _, h := range []*hubtest.Hub{clear, sealed, sealedSM} {
		h.WaitDemoLibrary(b)
	}
	client := &http.Client{Timeout: 30 * time.Second}

	type side struct {
		h                       *hubtest.Hub
		lib                     *library.Store
		pubCPU, pubWall         time.Duration
		lookCPU, lookWall       time.Duration
		records, lookups, cases int
		have                    int64
	}
	sides := []*side{{h: clear}, {h: sealed}, {h: sealedSM}}
	for _, s := range sides {
		s.lib = library.NewStore(s.h.DB)
		cur, _, err := s.lib.Counts(context.Background(), "population")
		if err != nil {
			b.Fatal(err)
		}
		s.have = cur
	}
	const batch, lookups = 1000, 100
	rnd := rand.New(rand.NewPCG(16, 16))
	first := 100_000

	publish := func(s *side, body []byte, valid int) {
		cpu0, t0 := processCPU(), time.Now()
		req, _ := http.NewRequest(http.MethodPost, s.h.URL+"/api/v1/resources/population/records", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+s.h.Secret("psb-system"))
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("publish: %d", resp.StatusCode)
		}
		want := s.have + int64(valid)
		for {
			cur, _, err := s.lib.Counts(context.Background(), "population")
			if err != nil {
				b.Fatal(err)
			}
			if cur >= want {
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.have = want
		s.pubCPU += processCPU() - cpu0
		s.pubWall += time.Since(t0)
		s.records += valid
	}
	lookup := func(s *side) {
		secret := s.h.Secret("officer-gsc")
		cpu0, t0 := processCPU(), time.Now()
		for range lookups {
			s.cases++
			body := []byte(`{"applicant":"` + lookupdemo.Citizen + `","service_item":"social-security-card","case_number":"BENCH-` +
				strconv.Itoa(s.cases) + `","purpose":"社会保障卡申领"}`)
			req, _ := http.NewRequest(http.MethodPost, s.h.URL+"/api/v1/lookups", bytes.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+secret)
			req.Header.Set("Content-Type", "application/json")
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("lookup: %d", resp.StatusCode)
			}
		}
		s.lookCPU += processCPU() - cpu0
		s.lookWall += time.Since(t0)
		s.lookups += lookups
	}

	b.ResetTimer()
	i := 0
	for b.Loop() {
		body, valid := loadgen.Batch(rnd, loadgen.KindPopulation, first, batch, 0)
		first += batch
		// Rotate which side goes first, so none always follows another's work.
		order := append(append([]*side{}, sides[i%3:]...), sides[:i%3]...)
		for _, s := range order {
			publish(s, body, valid)
		}
		for _, s := range order {
			lookup(s)
		}
		i++
	}
	b.StopTimer()
	per := func(d time.Duration, n int) float64 { return float64(d.Microseconds()) / float64(n) }
	c := sides[0]
	b.ReportMetric(per(c.pubCPU, c.records), "clear-publish-cpu-µs/record")
	b.ReportMetric(per(c.lookCPU, c.lookups), "clear-lookup-cpu-µs/op")
	for _, s := range []struct {
		name string
		*side
	}{{"aes", sides[1]}, {"sm4", sides[2]}} {
		b.ReportMetric(per(s.pubCPU, s.records), s.name+"-publish-cpu-µs/record")
		b.ReportMetric(per(s.pubCPU, s.records)/per(c.pubCPU, c.records), s.name+"-publish-cpu-ratio")
		b.ReportMetric(float64(s.pubWall)/float64(c.pubWall), s.name+"-publish-wall-ratio")
		b.ReportMetric(per(s.lookCPU, s.lookups), s.name+"-lookup-cpu-µs/op")
		b.ReportMetric(per(s.lookCPU, s.lookups)/per(c.lookCPU, c.lookups), s.name+"-lookup-cpu-ratio")
		b.ReportMetric(float64(s.lookWall)/float64(c.lookWall), s.name+"-lookup-wall-ratio")
	}
}

// processCPU is the user and system CPU this process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
