package connectors

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/adapters"
	"yiku/exchange"
	"yiku/exchange/ingress"
	"yiku/hub/hubtest"
)

// ingressDrained waits until the hub's ingress consumer group has
// committed every message of the department's ingress topic.
func ingressDrained(t *testing.T, h *hubtest.Hub, topic string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl := h.Broker.Admin()
	group := h.Cfg.TopicPrefix + ".ingress"
	for {
		ends, err := h.Broker.EndOffsets(ctx, topic)
		if err != nil {
			t.Fatal(err)
		}
		parts := make([]int, 0, len(ends))
		for p := range ends {
			parts = append(parts, p)
		}
		resp, err := cl.OffsetFetch(ctx, &kafka.OffsetFetchRequest{GroupID: group, Topics: map[string][]int{topic: parts}})
		done := err == nil
		if done {
			for _, po := range resp.Topics[topic] {
				if end := ends[po.Partition]; end > 0 && po.CommittedOffset < end {
					done = false
				}
			}
		}
		if done {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the hub's ingress did not consume %s: %v", topic, err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func dlqHeader(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

// TestKafkaIngressSinkThroughHub sends a batch with the hub_kafka sink to
// the department's ingress topic of a running hub: the valid records reach
// the library, the malformed one lands on the department's dead-letter
// topic with the hub's reasons, and the same batch sent again (same
// idempotency key headers, as after a crash before the checkpoint) routes
// nothing again: the resource topic and the library gain no message and
// no version. A deletion sent as a tombstone deletes the subject.
func TestKafkaIngressSinkThroughHub(t *testing.T) {
	h := hubtest.Start(t)
	ctx := context.Background()
	topics := exchange.Topics{Prefix: h.Cfg.TopicPrefix}
	in := topics.Ingress("lx-civil")
	if err := h.Broker.EnsureTopics(ctx, in, topics.DeadLetters("lx-civil")); err != nil {
		t.Fatal(err)
	}
	civil := hubClient(t, h, "civil-system")
	s, err := NewKafkaSink(KafkaSinkConfig{Resource: "marriage-registration", KeyField: "id_number", DeleteReason: "婚姻登记系统删除记录"},
		adapters.Env{KafkaBrokers: h.Brokers, KafkaSecurity: h.Kafka.Security, TopicPrefix: h.Cfg.TopicPrefix, Department: "lx-civil", Hub: civil})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(ctx); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, seeded := settledLibrary(t, h, "marriage-registration", 0)
	topicSize := func() int64 {
		st, err := civil.ExchangeStatus(ctx)
		if err != nil {
			t.Fatal(err)
		}
		lag, _ := st.Resource("marriage-registration")
		return lag.EndOffset
	}
	sizeBefore := topicSize()

	var msgs []adapters.Message
	for i := 0; i < 6; i++ {
		msgs = append(msgs, adapters.Message{Record: marriage(i)})
	}
	msgs[2].Record["registration_type"] = "engagement"
	malformedKey := msgs[2].Record["id_number"].(string)
	res, err := s.Write(ctx, msgs, "marriage-7f3a")
	// A topic just created may take a moment to reach the broker's
	// metadata; the runtime retries such a failure, so does the test.
	for try := 0; err != nil && try < 50; try++ {
		time.Sleep(200 * time.Millisecond)
		res, err = s.Write(ctx, msgs, "marriage-7f3a")
	}
	if err != nil || res.Written != 6 || len(res.Rejected) != 0 {
		t.Fatalf("write: %+v %v", res, err)
	}
	recs, versions := settledLibrary(t, h, "marriage-registration", seeded+5)
	if recs = ours(recs, "id_number", suiteSubjects); len(recs) != 5 || versions != seeded+5 {
		t.Fatalf("library: %d of the batch's records, %d new versions; want 5 and 5", len(recs), versions-seeded)
	}
	ingressDrained(t, h, in)
	// The hub reports the bureau's ingress handled, as the sink sees it.
	if ok, err := s.(adapters.Downstream).Ingested(ctx); !ok || err != nil {
		t.Fatalf("ingested: %v %v, want the ingress lag 0", ok, err)
	}
	if st, err := civil.ExchangeStatus(ctx); err != nil {
		t.Fatal(err)
	} else if lag, ok := st.IngressOf("lx-civil"); !ok || lag.Topic != in || lag.EndOffset != 6 || lag.Consumed != 6 || lag.Lag != 0 || len(st.Ingress) != 1 {
		t.Fatalf("ingress status %+v, want lx-civil's alone with 6 consumed of 6", st.Ingress)
	}
	dead := h.TopicMessages(t, topics.DeadLetters("lx-civil"))
	if len(dead) != 1 || string(dead[0].Key) != malformedKey {
		t.Fatalf("dead letters: %d, want the one malformed record", len(dead))
	}
	if p, rule := dlqHeader(dead[0], ingress.HeaderDLQPointer), dlqHeader(dead[0], ingress.HeaderDLQRule); p != "/registration_type" || rule == "" {
		t.Fatalf("dead letter reason %s %s, want /registration_type", p, rule)
	}
	var reasons []exchange.Rejection
	if err := json.Unmarshal([]byte(dlqHeader(dead[0], ingress.HeaderDLQReasons)), &reasons); err != nil || len(reasons) == 0 {
		t.Fatalf("dead letter reasons %q: %v", dlqHeader(dead[0], ingress.HeaderDLQReasons), err)
	}
	if dlqHeader(dead[0], HeaderIdempotencyKey) != "marriage-7f3a-2" {
		t.Fatalf("the dead letter does not carry the record's idempotency key: %v", dead[0].Headers)
	}
	sizeAfterFirst := topicSize()
	if sizeAfterFirst-sizeBefore != 5 {
		t.Fatalf("the resource topic gained %d messages, want 5", sizeAfterFirst-sizeBefore)
	}

	// The adapter crashed before its checkpoint: the batch again.
	if res, err := s.Write(ctx, msgs, "marriage-7f3a"); err != nil || res.Written != 6 {
		t.Fatalf("re-send: %+v %v", res, err)
	}
	ingressDrained(t, h, in)
	if n := topicSize(); n != sizeAfterFirst {
		t.Fatalf("the re-sent batch added %d messages to the resource topic; the ingress must drop repeats", n-sizeAfterFirst)
	}
	if _, v := settledLibrary(t, h, "marriage-registration", seeded+5); v != seeded+5 {
		t.Fatalf("the re-sent batch added %d versions", v-seeded-5)
	}
	// A refused record is refused again: each send is its own dead letter.
	if dead := h.TopicMessages(t, topics.DeadLetters("lx-civil")); len(dead) != 2 {
		t.Fatalf("dead letters after the re-send: %d, want 2", len(dead))
	}

	// A deletion as a tombstone.
	del := []adapters.Message{{Record: adapters.Record{"id_number": msgs[0].Record["id_number"]}, Deleted: true}}
	if _, err := s.Write(ctx, del, "marriage-8b01"); err != nil {
		t.Fatal(err)
	}
	recs, _ = settledLibrary(t, h, "marriage-registration", seeded+6)
	if recs = ours(recs, "id_number", suiteSubjects); len(recs) != 4 {
		t.Fatalf("after the deletion the library holds %d of the batch's records, want 4", len(recs))
	}
}
