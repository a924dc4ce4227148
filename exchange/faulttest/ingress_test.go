package faulttest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange"
	"yiku/exchange/library/librarytest"
	"yiku/exchange/loadgen"
	"yiku/hub/hubtest"
	"yiku/kafkaacl"
)

// ingressLoad is a department system publishing over Kafka beside the
// HTTP clients: the public security bureau's Kafka principal (made by the
// hub when its administrator enables Kafka ingress) produces population
// records, one a message keyed by the subject, to its ingress topic with
// acks=all. A batch the cluster did not acknowledge is produced again,
// unchanged, until it is (a record produced twice has one content hash,
// and the library applies it once). What the cluster acknowledged is
// accepted: it must reach the library exactly once like a 2xx publish.
type ingressLoad struct {
	w        *kafka.Writer
	next     atomic.Int64
	attempts atomic.Int64
	failures atomic.Int64 // produce calls the cluster did not acknowledge

	mu       sync.Mutex
	accepted map[string]string // subject -> record id
	pending  map[string]string // produced, not (yet) acknowledged
}

// ingressBatch is how many records one produce call carries.
const ingressBatch = 50

// startIngress enables Kafka ingress for the population provider on hub h
// (its administrator's API call) and returns the department system's
// producer.
func startIngress(t *testing.T, ctx context.Context, c *cluster, h *hubtest.Proc) *ingressLoad {
	t.Helper()
	url, tokens := h.Current()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/api/v1/departments/lx-psb/kafka-ingress", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+tokens["admin-psb"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var login kafkaacl.Login
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("enable Kafka ingress for lx-psb: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&login); err != nil {
		t.Fatal(err)
	}
	settings := c.kafka.Settings
	settings.Username, settings.Password, settings.PasswordFile = login.Username, login.Password, ""
	sec, err := broker.NewSecurity(settings)
	if err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: kafka.TCP(c.kafka.Brokers...), Transport: sec.Transport("faulttest-ingress"), Topic: login.Topic,
		Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: 5 * time.Millisecond, BatchSize: ingressBatch,
		MaxAttempts: 3, WriteTimeout: 10 * time.Second}
	t.Cleanup(func() { _ = w.Close() })
	return &ingressLoad{w: w, accepted: map[string]string{}, pending: map[string]string{}}
}

// run produces batches of new subjects until stop is closed, each batch
// again until the cluster acknowledges it or giveUp passes.
func (g *ingressLoad) run(ctx context.Context, stop <-chan struct{}, giveUp time.Time, seed uint64) {
	r := newRand(seed)
	for {
		if stopped(ctx, stop) {
			return
		}
		first := int(g.next.Add(ingressBatch)) - ingressBatch
		msgs := make([]kafka.Message, 0, ingressBatch)
		want := make(map[string]string, ingressBatch)
		for i := 0; i < ingressBatch; i++ {
			rec := loadgen.Person(r, 700000+first+i, 0)
			raw, _ := json.Marshal(rec)
			canon, _, err := exchange.Canonical(raw)
			if err != nil {
				panic(err) // loadgen makes valid JSON
			}
			subject := rec["id_number"].(string)
			want[subject] = exchange.ContentHash(canon)
			msgs = append(msgs, kafka.Message{Key: []byte(subject), Value: raw,
				Headers: []kafka.Header{{Key: exchange.HeaderResource, Value: []byte(resource)}}})
		}
		g.mu.Lock()
		for k, v := range want {
			g.pending[k] = v
		}
		g.mu.Unlock()
		for time.Now().Before(giveUp) && ctx.Err() == nil {
			g.attempts.Add(1)
			pctx, cancel := context.WithTimeout(ctx, 20*time.Second)
			err := g.w.WriteMessages(pctx, msgs...)
			cancel()
			if err == nil {
				g.mu.Lock()
				for k, v := range want {
					g.accepted[k] = v
					delete(g.pending, k)
				}
				g.mu.Unlock()
				break
			}
			g.failures.Add(1)
			time.Sleep(time.Second)
		}
	}
}

// acceptedRecords is every subject the cluster acknowledged, with its
// record id.
func (g *ingressLoad) acceptedRecords() map[string]string {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make(map[string]string, len(g.accepted))
	for k, v := range g.accepted {
		out[k] = v
	}
	return out
}

// waitApplied waits until every acknowledged record is in the library
// (the ingress consumer validates and routes them into the records topic;
// waitLibrary sees only that topic's lag), and returns how long it took.
func (g *ingressLoad) waitApplied(t *testing.T, ctx context.Context, lib database, wait time.Duration) time.Duration {
	t.Helper()
	acc := g.acceptedRecords()
	keys := make([]string, 0, len(acc))
	for k := range acc {
		keys = append(keys, k)
	}
	start := time.Now()
	for {
		n := 0
		for i := 0; i < len(keys); i += 5000 {
			n += librarytest.Present(t, ctx, lib.url, lib.dataKeys, resource, keys[i:min(i+5000, len(keys))])
		}
		if n == len(keys) {
			return time.Since(start)
		}
		if time.Since(start) > wait {
			t.Errorf("Kafka ingress: %d of the %d acknowledged records reached the library within %s", n, len(keys), wait)
			return time.Since(start)
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// figures summarises the ingress load for the log.
func (g *ingressLoad) figures() string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return fmt.Sprintf("Kafka ingress: %d records acknowledged, %d produced but never acknowledged, %d produce calls, %d not acknowledged (produced again)",
		len(g.accepted), len(g.pending), g.attempts.Load(), g.failures.Load())
}
