package connectors

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/adapters"
	"yiku/adapters/adaptertest"
	"yiku/broker/brokertest"
	"yiku/exchange/subscription"
)

// vendorAPI is a department vendor's paged JSON API over a growing list.
type vendorAPI struct {
	mu    sync.Mutex
	items []adapters.Record
}

func (v *vendorAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if r.Header.Get("X-Api-Key") != "vendor-secret" {
		http.Error(w, "no key", http.StatusUnauthorized)
		return
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	size, _ := strconv.Atoi(r.URL.Query().Get("size"))
	from := (page - 1) * size
	items := []adapters.Record{}
	for i := from; i >= 0 && i < len(v.items) && i < from+size; i++ {
		items = append(items, v.items[i])
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"code": 0, "data": map[string]any{"total": len(v.items), "items": items}})
}

func TestHTTPPullConformance(t *testing.T) {
	t.Setenv("VENDOR_KEY", "vendor-secret")
	adaptertest.RunSource(t, func(t *testing.T) adaptertest.SourceHarness {
		api := &vendorAPI{}
		srv := httptest.NewServer(api)
		t.Cleanup(srv.Close)
		return adaptertest.SourceHarness{
			Key:       "k",
			NoDeletes: "a paged HTTP API lists the items it holds; an item removed from it leaves no tombstone to read",
			New: func(t *testing.T) adapters.Source {
				s, err := NewHTTPPull(HTTPPullConfig{URL: srv.URL + "/api/records?status=valid", Items: "data.items", PageSize: 6,
					Headers: map[string]string{"X-Api-Key": "env:VENDOR_KEY"}})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Feed: func(t *testing.T, recs []adapters.Record) {
				api.mu.Lock()
				defer api.mu.Unlock()
				api.items = append(api.items, recs...)
			},
		}
	})
}

func TestHTTPPullRefusalIsPermanent(t *testing.T) {
	srv := httptest.NewServer(&vendorAPI{})
	defer srv.Close()
	s, err := NewHTTPPull(HTTPPullConfig{URL: srv.URL, Items: "data.items"})
	if err != nil {
		t.Fatal(err)
	}
	_ = s.Connect(context.Background(), "")
	if _, err := s.Read(context.Background(), 10); !adapters.IsPermanent(err) {
		t.Fatalf("a 401 must stop the pipeline, got %v", err)
	}
}

// receiver is a department system's webhook endpoint: it drops repeated
// Idempotency-Keys, checks the signature and applies records by key.
type receiver struct {
	mu     sync.Mutex
	seen   map[string]bool
	byKey  map[string]adapters.Record
	secret []byte
	bad    int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	if !subscription.Verify(rc.secret, r.Header.Get("X-Yiku-Signature"), body, time.Now(), 5*time.Minute) {
		rc.mu.Lock()
		rc.bad++
		rc.mu.Unlock()
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	if rc.seen[key] {
		w.WriteHeader(http.StatusOK)
		return
	}
	var in struct {
		Records []adapters.Record `json:"records"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	for _, rec := range in.Records {
		k, _ := rec["k"].(string)
		if rec["_deleted"] == true {
			delete(rc.byKey, k)
			continue
		}
		rc.byKey[k] = rec
	}
	rc.seen[key] = true
	w.WriteHeader(http.StatusNoContent)
}

func TestWebhookConformance(t *testing.T) {
	t.Setenv("HOOK_SECRET", "s3cret")
	adaptertest.RunSink(t, func(t *testing.T) adaptertest.SinkHarness {
		rc := &receiver{seen: map[string]bool{}, byKey: map[string]adapters.Record{}, secret: []byte("s3cret")}
		srv := httptest.NewServer(rc)
		t.Cleanup(srv.Close)
		return adaptertest.SinkHarness{
			Key: "k", Deletes: true,
			New: func(t *testing.T) adapters.Sink {
				s, err := NewWebhook(WebhookConfig{URL: srv.URL, SecretEnv: "HOOK_SECRET"})
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Stored: func(t *testing.T) []adapters.Record {
				rc.mu.Lock()
				defer rc.mu.Unlock()
				if rc.bad > 0 {
					t.Fatalf("%d requests with a bad signature", rc.bad)
				}
				var out []adapters.Record
				for _, r := range rc.byKey {
					out = append(out, r)
				}
				return out
			},
		}
	})
}

func TestWebhookStatusHandling(t *testing.T) {
	status := http.StatusServiceUnavailable
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(status) }))
	defer srv.Close()
	s, _ := NewWebhook(WebhookConfig{URL: srv.URL})
	_ = s.Connect(context.Background())
	msgs := []adapters.Message{{Record: adapters.Record{"k": "1"}}}
	if _, err := s.Write(context.Background(), msgs, "k"); err == nil || adapters.IsPermanent(err) {
		t.Fatalf("503 must be retried, got %v", err)
	}
	status = http.StatusForbidden
	if _, err := s.Write(context.Background(), msgs, "k"); !adapters.IsPermanent(err) {
		t.Fatalf("403 must stop the pipeline, got %v", err)
	}
}

// TestKafkaIngressSink: records reach <prefix>.ingress.<department> keyed
// by subject, with the headers the hub's ingress reads; a re-sent batch
// carries the same idempotency keys, so the ingress can drop repeats.
func TestKafkaIngressSink(t *testing.T) {
	k := brokertest.Start(t)
	prefix := brokertest.Prefix(t)
	bc := k.Client(t)
	topic := prefix + ".ingress.lx-civil"
	if err := bc.EnsureTopicsWith(context.Background(), 1, topic); err != nil {
		t.Fatal(err)
	}
	s, err := NewKafkaSink(KafkaSinkConfig{Resource: "marriage-registration", KeyField: "id_number"},
		adapters.Env{KafkaBrokers: k.Brokers, KafkaSecurity: k.Security, TopicPrefix: prefix, Department: "lx-civil"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	msgs := []adapters.Message{
		{Record: adapters.Record{"id_number": "11010519491231002X", "name": "张三"}},
		{Record: adapters.Record{"name": "no key"}},
		{Record: adapters.Record{"id_number": "440524188001010014"}, Deleted: true},
	}
	for i := 0; i < 2; i++ {
		res, err := s.Write(context.Background(), msgs, "batch-7")
		// A topic just created may take a moment to reach every broker's
		// metadata; the runtime retries such a failure, so does the test.
		for try := 0; err != nil && try < 50; try++ {
			time.Sleep(200 * time.Millisecond)
			res, err = s.Write(context.Background(), msgs, "batch-7")
		}
		if err != nil {
			t.Fatal(err)
		}
		if res.Written != 2 || len(res.Rejected) != 1 || res.Rejected[0].Index != 1 {
			t.Fatalf("written %d rejected %+v", res.Written, res.Rejected)
		}
	}
	r := bc.NewReader(kafka.ReaderConfig{Topic: topic, Partition: 0, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	keys := map[string]int{}
	for i := 0; i < 4; i++ {
		m, err := r.ReadMessage(ctx)
		if err != nil {
			t.Fatalf("message %d: %v", i, err)
		}
		h := map[string]string{}
		for _, x := range m.Headers {
			h[x.Key] = string(x.Value)
		}
		if h[HeaderResource] != "marriage-registration" || h[HeaderIdempotencyKey] == "" {
			t.Fatalf("headers %v", h)
		}
		keys[h[HeaderIdempotencyKey]]++
		if string(m.Key) == "440524188001010014" && (m.Value != nil || h[HeaderDeleteReason] == "") {
			t.Fatalf("a delete must be a tombstone with a reason: %q %v", m.Value, h)
		}
	}
	if len(keys) != 2 {
		t.Fatalf("idempotency keys %v: want 2 distinct keys, each sent twice", keys)
	}
}
