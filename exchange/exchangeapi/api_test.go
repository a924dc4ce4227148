package exchangeapi_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"yiku/exchange"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
)

const purpose = "办理社会救助审核"

type publishResult struct {
	Resource      string `json:"resource"`
	SchemaVersion int    `json:"schema_version"`
	Accepted      int    `json:"accepted"`
	Rejected      int    `json:"rejected"`
	Errors        []exchange.Rejection
	Offsets       []exchange.PartitionRange
	Replayed      bool
}

type errorBody struct {
	Error struct {
		Code    string
		Details []struct {
			Record  *int
			Pointer string
			Rule    string
			Reason  string
		}
	}
}

type readResult struct {
	Current  *recordView
	Versions []recordView
	Fields   []string
}

type recordView struct {
	RecordID string `json:"record_id"`
	Version  int
	Deleted  bool
	Record   map[string]any
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// waitRecord polls the library until the subject's current record has id.
func waitRecord(t *testing.T, h *hubtest.Hub, resource, subject, reader, recordID string) recordView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.Do(http.MethodGet, "/api/v1/resources/"+resource+"/records/"+subject+"?purpose="+url.QueryEscape(purpose), reader, nil)
		if r.Status == http.StatusOK {
			var out readResult
			r.JSON(t, &out)
			if out.Current != nil && (recordID == "" || out.Current.RecordID == recordID) {
				return *out.Current
			}
		} else if r.Status != http.StatusNotFound {
			t.Fatalf("read %s/%s: %d %s", resource, subject, r.Status, r.Body)
		}
		if time.Now().After(deadline) {
			t.Fatalf("record %s/%s did not reach the library: last %d %s", resource, subject, r.Status, r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPublishMixedBatchReachesLibraryAndIdempotencyKeyReplays(t *testing.T) {
	h := hubtest.Start(t)
	r := rand.New(rand.NewPCG(7, 7))
	recs := []map[string]any{loadgen.Person(r, 1, 0), loadgen.Person(r, 2, 0), loadgen.Person(r, 3, 0), loadgen.Person(r, 4, 0), loadgen.Person(r, 5, 0)}
	// Record 1: a wrong check digit; record 3: no name; record 4: an unknown sex code.
	id1 := recs[1]["id_number"].(string)
	last := id1[17]
	bad := byte('0')
	if last == '0' {
		bad = '1'
	}
	recs[1]["id_number"] = id1[:17] + string(bad)
	delete(recs[3], "name")
	recs[4]["sex"] = "7"
	body := mustJSON(t, recs)

	resp := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", body, "Idempotency-Key", "batch-0001")
	if resp.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", resp.Status, resp.Body)
	}
	var res publishResult
	resp.JSON(t, &res)
	if res.Accepted != 2 || res.Rejected != 3 || res.Resource != "population" {
		t.Fatalf("publish result %+v", res)
	}
	want := map[int][2]string{1: {"/id_number", "format"}, 3: {"", "required"}, 4: {"/sex", "enum"}}
	if len(res.Errors) != 3 {
		t.Fatalf("errors %+v", res.Errors)
	}
	for _, e := range res.Errors {
		w, ok := want[e.Index]
		if !ok || e.Pointer != w[0] || e.Rule != w[1] || e.Message == "" {
			t.Errorf("rejection %+v, want %v", e, w)
		}
	}
	total := 0
	for _, o := range res.Offsets {
		total += o.Count
	}
	if total != 2 {
		t.Fatalf("offsets %+v cover %d records, want 2", res.Offsets, total)
	}

	// The valid records reach the library, masked for a reader.
	subject := recs[0]["id_number"].(string)
	cur := waitRecord(t, h, "population", subject, "gsc-system", "")
	if cur.Version != 1 {
		t.Fatalf("version %d", cur.Version)
	}
	if got := cur.Record["id_number"]; got == subject || !strings.Contains(got.(string), "****") {
		t.Fatalf("id_number not masked for the reader: %v", got)
	}
	waitRecord(t, h, "population", recs[2]["id_number"].(string), "gsc-system", "")
	if r := h.Do(http.MethodGet, "/api/v1/resources/population/records/"+recs[1]["id_number"].(string)+"?purpose=x", "gsc-system", nil); r.Status != http.StatusNotFound {
		t.Fatalf("invalid record readable: %d %s", r.Status, r.Body)
	}

	// The same batch with the same key: the stored answer, nothing published.
	again := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", body, "Idempotency-Key", "batch-0001")
	var res2 publishResult
	again.JSON(t, &res2)
	if again.Status != http.StatusOK || !res2.Replayed || res2.Accepted != 2 || fmt.Sprint(res2.Offsets) != fmt.Sprint(res.Offsets) {
		t.Fatalf("replay: %d %s", again.Status, again.Body)
	}
	// The same key for another batch is a conflict.
	other := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", mustJSON(t, recs[:1]), "Idempotency-Key", "batch-0001")
	if other.Status != http.StatusConflict {
		t.Fatalf("reused key: %d %s", other.Status, other.Body)
	}
	// Publishing identical content without a key adds no version.
	h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", mustJSON(t, recs[:1]))
	waitLagZero(t, h)
	hist := h.Do(http.MethodGet, "/api/v1/resources/population/records/"+subject+"?history=true&purpose=x", "gsc-system", nil)
	var hr readResult
	hist.JSON(t, &hr)
	if len(hr.Versions) != 1 {
		t.Fatalf("history after duplicate publishes: %s", hist.Body)
	}
}

func waitLagZero(t *testing.T, h *hubtest.Hub) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		r := h.Do(http.MethodGet, "/api/v1/exchange/status", "catalog-admin", nil)
		var st struct {
			TotalLag  int64 `json:"total_lag"`
			Resources []struct {
				Resource  string
				EndOffset int64 `json:"end_offset"`
			}
		}
		r.JSON(t, &st)
		if r.Status == http.StatusOK && st.TotalLag == 0 && len(st.Resources) > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("library lag did not reach 0: %s", r.Body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestPublishRules(t *testing.T) {
	h := hubtest.Start(t)
	r := rand.New(rand.NewPCG(1, 1))
	good := mustJSON(t, []any{loadgen.Person(r, 10, 0)})
	tests := []struct {
		name, path, who, ct string
		body                []byte
		status              int
		code                string
	}{
		{"not the provider", "/api/v1/resources/population/records", "amr-system", "application/json", good, http.StatusForbidden, "not_provider"},
		{"officer may not publish", "/api/v1/resources/population/records", "officer-gsc", "application/json", good, http.StatusForbidden, "forbidden"},
		{"unknown resource", "/api/v1/resources/no-such/records", "psb-system", "application/json", good, http.StatusNotFound, ""},
		{"not an array", "/api/v1/resources/population/records", "psb-system", "application/json", []byte(`{"id_number":"x"}`), http.StatusBadRequest, "invalid_json"},
		{"empty", "/api/v1/resources/population/records", "psb-system", "application/json", []byte(`[]`), http.StatusBadRequest, "empty_batch"},
		{"wrong type", "/api/v1/resources/population/records", "psb-system", "text/plain", good, http.StatusBadRequest, "unsupported_media_type"},
		{"atomic with an invalid record", "/api/v1/resources/population/records?atomic=true", "psb-system", "application/json", []byte(`[{"id_number":"431302199001010010","name":"张三"},{"name":"李四"}]`), http.StatusBadRequest, "records_invalid"},
		{"unknown version", "/api/v1/resources/population/records?version=99", "psb-system", "application/json", good, http.StatusNotFound, ""},
		{"bad atomic", "/api/v1/resources/population/records?atomic=maybe", "psb-system", "application/json", good, http.StatusBadRequest, "invalid_query"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Do(http.MethodPost, tc.path, tc.who, tc.body, "Content-Type", tc.ct)
			if resp.Status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.Status, tc.status, resp.Body)
			}
			if tc.code != "" {
				var e errorBody
				resp.JSON(t, &e)
				if e.Error.Code != tc.code {
					t.Fatalf("code %q, want %q", e.Error.Code, tc.code)
				}
			}
		})
	}
	// NDJSON works too.
	nd := string(mustJSON(t, loadgen.Person(r, 11, 0))) + "\n\n" + string(mustJSON(t, loadgen.Person(r, 12, 0))) + "\n"
	resp := h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", nd, "Content-Type", "application/x-ndjson")
	var res publishResult
	resp.JSON(t, &res)
	if resp.Status != http.StatusOK || res.Accepted != 2 {
		t.Fatalf("ndjson: %d %s", resp.Status, resp.Body)
	}
}
