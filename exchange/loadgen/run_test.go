package loadgen_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sync"
	"testing"
	"time"

	"yiku/exchange/exchangeapi"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
)

// TestRunPublishesAndWaitsForTheLibrary runs the load tool's publish run
// against a hub: every record is answered, the invalid share is rejected,
// and the run returns only once the library holds every accepted record.
func TestRunPublishesAndWaitsForTheLibrary(t *testing.T) {
	h := hubtest.Start(t)
	// versions counts the two resources' versions once the library has
	// applied everything on their topics (the demo seed's records too).
	versions := func() int64 {
		var st exchangeapi.Status
		for deadline := time.Now().Add(time.Minute); ; time.Sleep(50 * time.Millisecond) {
			r := h.Do(http.MethodGet, "/api/v1/exchange/status", "catalog-admin", nil)
			if r.Status != http.StatusOK {
				t.Fatalf("status: %d %s", r.Status, r.Body)
			}
			r.JSON(t, &st)
			if st.TotalLag == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the library did not catch up: %+v", st.Resources)
			}
		}
		var n int64
		for _, res := range st.Resources {
			if res.Resource == string(loadgen.KindPopulation) || res.Resource == string(loadgen.KindLegalEntity) {
				n += res.Versions
			}
		}
		return n
	}
	target := loadgen.Target{Hub: h.URL, Reader: h.Secret("catalog-admin"), Tokens: map[string]string{
		string(loadgen.KindPopulation):  h.Secret("psb-system"),
		string(loadgen.KindLegalEntity): h.Secret("amr-system"),
	}}
	cfg := loadgen.LoadConfig{
		Kinds: []loadgen.Kind{loadgen.KindPopulation, loadgen.KindLegalEntity}, Records: 3000, Batch: 500, Clients: 2,
		InvalidShare: 0.1, Seed: 11, FirstSubject: 500000, Progress: io.Discard, CatchUpTimeout: 2 * time.Minute,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	before := versions()
	res, err := loadgen.Run(ctx, target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v", res)
	if res.Published != cfg.Records || res.Accepted+res.Rejected != cfg.Records || res.Failed != 0 {
		t.Fatalf("published %d, accepted %d + rejected %d, failed %d; want all %d answered", res.Published, res.Accepted, res.Rejected, res.Failed, cfg.Records)
	}
	if res.Rejected == 0 || res.Rejected > cfg.Records/5 {
		t.Fatalf("rejected %d of %d with an invalid share of %.0f %%", res.Rejected, cfg.Records, 100*cfg.InvalidShare)
	}
	if res.CatchUp <= 0 || res.EndToEnd < res.PublishDuration || res.P50 <= 0 || res.P99 < res.P50 || res.Backlog > int64(res.Accepted) {
		t.Fatalf("timings %+v", res)
	}
	// Every record has a subject of its own, so each accepted one is one
	// new version, and Run returned only once the library held them all
	// (the warm-up batches' valid records included).
	want := before + int64(res.Accepted) + int64(loadgen.WarmUpRecords*len(cfg.Kinds))
	if got := versions(); got != want {
		t.Fatalf("the library holds %d versions of the two resources, want %d (%d before, %d accepted, %d warm-up)",
			got, want, before, res.Accepted, loadgen.WarmUpRecords*len(cfg.Kinds))
	}
}

// TestRunSpreadsClientsOverInstances runs the load against two instances
// of one hub (same database and broker): client c publishes to instance c
// mod 2, each instance gets its warm-up batches, and every record is
// answered and applied once.
func TestRunSpreadsClientsOverInstances(t *testing.T) {
	a := hubtest.Start(t)
	b := hubtest.StartWith(t, hubtest.Options{Share: a})
	var mu sync.Mutex
	publishes := map[string]int{}
	counting := func(name, target string) string {
		u, err := url.Parse(target)
		if err != nil {
			t.Fatal(err)
		}
		proxy := httputil.NewSingleHostReverseProxy(u)
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPost {
				mu.Lock()
				publishes[name]++
				mu.Unlock()
			}
			proxy.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	target := loadgen.Target{Hub: counting("a", a.URL), More: []string{counting("b", b.URL)}, Reader: a.Secret("catalog-admin"), Tokens: map[string]string{
		string(loadgen.KindPopulation):  a.Secret("psb-system"),
		string(loadgen.KindLegalEntity): a.Secret("amr-system"),
	}}
	cfg := loadgen.LoadConfig{
		Kinds: []loadgen.Kind{loadgen.KindPopulation, loadgen.KindLegalEntity}, Records: 2000, Batch: 250, Clients: 2,
		Seed: 12, FirstSubject: 600000, Progress: io.Discard, CatchUpTimeout: 2 * time.Minute,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	res, err := loadgen.Run(ctx, target, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Accepted != cfg.Records || res.Failed != 0 {
		t.Fatalf("accepted %d of %d, failed %d", res.Accepted, cfg.Records, res.Failed)
	}
	// 8 batches taken by two clients as they come free (at least one
	// each), one client per instance, plus a warm-up batch of each kind
	// on each instance.
	mu.Lock()
	defer mu.Unlock()
	if publishes["a"] < 2+1 || publishes["b"] < 2+1 || publishes["a"]+publishes["b"] != 8+4 {
		t.Fatalf("publishes by instance: %v; want the 8 batches over both and 2 warm-up batches each", publishes)
	}
}
