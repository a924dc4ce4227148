package exchangeapi_test

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"testing"

	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
)

// TestConcurrentPublishesWithOneIdempotencyKeyProduceOnce: of several
// requests sent at once with one key and one batch, exactly one publishes;
// the others get its stored answer or 503 idempotency_in_progress, and a
// retry afterwards gets the stored answer.
func TestConcurrentPublishesWithOneIdempotencyKeyProduceOnce(t *testing.T) {
	h := hubtest.Start(t)
	r := rand.New(rand.NewPCG(11, 3))
	var recs []map[string]any
	for i := range 50 {
		recs = append(recs, loadgen.Person(r, i+1, 0))
	}
	body := mustJSON(t, recs)
	const n = 8
	responses := make([]hubtest.Response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			responses[i] = h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", body, "Idempotency-Key", "concurrent-0001")
		}()
	}
	close(start)
	wg.Wait()
	published, replayed, inProgress := 0, 0, 0
	for _, resp := range responses {
		switch resp.Status {
		case http.StatusOK:
			var res publishResult
			resp.JSON(t, &res)
			if res.Accepted != len(recs) {
				t.Fatalf("answer %s: want all %d records accepted", resp.Body, len(recs))
			}
			if res.Replayed {
				replayed++
			} else {
				published++
			}
		case http.StatusServiceUnavailable:
			var e errorBody
			resp.JSON(t, &e)
			if e.Error.Code != "idempotency_in_progress" || resp.Header.Get("Retry-After") == "" {
				t.Fatalf("503 %s: want idempotency_in_progress with Retry-After", resp.Body)
			}
			inProgress++
		default:
			t.Fatalf("%d %s", resp.Status, resp.Body)
		}
	}
	if published != 1 {
		t.Fatalf("%d requests published the batch (%d replayed, %d in progress), want exactly 1", published, replayed, inProgress)
	}
	again := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", body, "Idempotency-Key", "concurrent-0001")
	var res publishResult
	again.JSON(t, &res)
	if again.Status != http.StatusOK || !res.Replayed {
		t.Fatalf("retry after completion: %d %s, want the stored answer", again.Status, again.Body)
	}
	// A batch refused whole frees its key: the corrected batch may use it.
	bad := mustJSON(t, []map[string]any{{"id_number": "not an id"}})
	if resp := h.Do(http.MethodPost, "/api/v1/resources/population/records?atomic=true", "psb-system", bad, "Idempotency-Key", "refused-0001"); resp.Status != http.StatusBadRequest {
		t.Fatalf("atomic bad batch: %d %s", resp.Status, resp.Body)
	}
	if resp := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", mustJSON(t, recs[:1]), "Idempotency-Key", "refused-0001"); resp.Status != http.StatusOK {
		t.Fatalf("key of a refused batch not freed: %d %s", resp.Status, resp.Body)
	}
}
