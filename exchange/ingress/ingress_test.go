package ingress_test

import (
	"context"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange"
	"yiku/exchange/ingress"
	"yiku/exchange/library"
	"yiku/exchange/loadgen"
	"yiku/fault"
	"yiku/hub/hubtest"
)

// TestIngressRoutesValidAndDeadLettersInvalid produces raw records to
// lx-psb's ingress topic as an adapter does: the valid ones reach the
// library, the invalid ones (bad check digit, another department's
// resource, no resource header) land on lx-psb's dead-letter topic with
// their reasons and source position, a repeated idempotency key is dropped,
// and a corrected dead letter replayed over HTTP reaches the library.
func TestIngressRoutesValidAndDeadLettersInvalid(t *testing.T) {
	h := hubtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	topics := exchange.Topics{Prefix: h.Cfg.TopicPrefix}
	r := rand.New(rand.NewPCG(11, 5))

	good1, good2 := loadgen.Person(r, 101, 0), loadgen.Person(r, 102, 0)
	badCheck := loadgen.Person(r, 103, 0)
	fixed := badCheck["id_number"].(string)
	badCheck["id_number"] = fixed[:17] + wrongDigit(fixed[17])
	entity := loadgen.Entity(r, 104, 0)
	noHeader := loadgen.Person(r, 105, 0)

	msg := func(resource string, rec map[string]any, key, idem string) kafka.Message {
		v, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var hs []kafka.Header
		if resource != "" {
			hs = append(hs, kafka.Header{Key: ingress.HeaderResource, Value: []byte(resource)})
		}
		hs = append(hs, kafka.Header{Key: ingress.HeaderSchemaVersion, Value: []byte("0")})
		if idem != "" {
			hs = append(hs, kafka.Header{Key: ingress.HeaderIdempotencyKey, Value: []byte(idem)})
		}
		return kafka.Message{Key: []byte(key), Value: v, Headers: hs}
	}
	msgs := []kafka.Message{
		msg("population", good1, good1["id_number"].(string), "b1-0"),
		msg("population", badCheck, badCheck["id_number"].(string), "b1-1"),
		msg("legal-entity", entity, entity["credit_code"].(string), "b1-2"),
		msg("", noHeader, noHeader["id_number"].(string), "b1-3"),
		msg("population", good2, good2["id_number"].(string), "b1-4"),
		// The adapter re-sends its first record: dropped as a repeat.
		msg("population", good1, good1["id_number"].(string), "b1-0"),
	}
	ingressTopic := topics.Ingress("lx-psb")
	if err := h.Broker.EnsureTopics(ctx, ingressTopic); err != nil {
		t.Fatal(err)
	}
	w := &kafka.Writer{Addr: h.Broker.Addr(), Transport: h.Broker.Transport(), Topic: ingressTopic, Balancer: &kafka.Murmur2Balancer{}, RequiredAcks: kafka.RequireAll, BatchTimeout: time.Millisecond}
	defer w.Close()
	if err := w.WriteMessages(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	lib := h.Library
	for _, rec := range []map[string]any{good1, good2} {
		row := waitLibrary(t, lib, "population", rec["id_number"].(string))
		if row.Publisher != "lx-psb" || row.Version != 1 {
			t.Fatalf("library row %+v", row)
		}
	}

	// The dead-letter topic holds the three refused records with reasons.
	dead := readTopic(t, ctx, h.Broker, topics.DeadLetters("lx-psb"), 3)
	want := map[string][2]string{ // subject key -> pointer, rule
		badCheck["id_number"].(string): {"/id_number", "format"},
		entity["credit_code"].(string): {"", "not_provider"},
		noHeader["id_number"].(string): {"", "header"},
	}
	for _, m := range dead {
		w, ok := want[string(m.Key)]
		if !ok {
			t.Fatalf("unexpected dead letter %s", m.Key)
		}
		if got := header(m, ingress.HeaderDLQPointer); got != w[0] {
			t.Errorf("%s: pointer %q, want %q", m.Key, got, w[0])
		}
		if got := header(m, ingress.HeaderDLQRule); got != w[1] {
			t.Errorf("%s: rule %q, want %q", m.Key, got, w[1])
		}
		if header(m, ingress.HeaderDLQMessage) == "" || header(m, ingress.HeaderDLQIndex) != "0" {
			t.Errorf("%s: message/index headers missing", m.Key)
		}
		var reasons []exchange.Rejection
		if err := json.Unmarshal([]byte(header(m, ingress.HeaderDLQReasons)), &reasons); err != nil || len(reasons) == 0 {
			t.Errorf("%s: reasons header %q: %v", m.Key, header(m, ingress.HeaderDLQReasons), err)
		}
		if header(m, ingress.HeaderDLQTopic) != ingressTopic || header(m, ingress.HeaderDLQPartition) == "" {
			t.Errorf("%s: source headers %v", m.Key, m.Headers)
		}
		off, err := strconv.ParseInt(header(m, ingress.HeaderDLQOffset), 10, 64)
		if err != nil || off < 0 || off > 5 {
			t.Errorf("%s: source offset %q", m.Key, header(m, ingress.HeaderDLQOffset))
		}
		delete(want, string(m.Key))
	}
	if len(want) != 0 {
		t.Fatalf("missing dead letters: %v", want)
	}

	// The department lists them; another department sees none of them.
	var page struct {
		DeadLetters []ingress.DeadLetter `json:"dead_letters"`
	}
	resp := h.Do(http.MethodGet, "/api/v1/dead-letters?status=pending", "psb-system", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("list: %d %s", resp.Status, resp.Body)
	}
	resp.JSON(t, &page)
	if len(page.DeadLetters) != 3 {
		t.Fatalf("dead letters %+v", page.DeadLetters)
	}
	var target ingress.DeadLetter
	for _, dl := range page.DeadLetters {
		if dl.SubjectKey == badCheck["id_number"].(string) {
			target = dl
		}
	}
	if target.ID == "" || target.Resource != "population" || target.Reasons[0].Pointer != "/id_number" {
		t.Fatalf("dead letter of the bad record: %+v", target)
	}
	if r := h.Do(http.MethodGet, "/api/v1/dead-letters/"+target.ID, "amr-system", nil); r.Status != http.StatusNotFound {
		t.Fatalf("another department reads the dead letter: %d %s", r.Status, r.Body)
	}
	var letter ingress.Letter
	resp = h.Do(http.MethodGet, "/api/v1/dead-letters/"+target.ID, "psb-system", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("get: %d %s", resp.Status, resp.Body)
	}
	resp.JSON(t, &letter)
	var orig map[string]any
	if err := json.Unmarshal(letter.Record, &orig); err != nil || orig["id_number"] != badCheck["id_number"] {
		t.Fatalf("dead letter record %s: %v", letter.Record, err)
	}

	// Replaying it unchanged is refused with the same per-record error.
	resp = h.Do(http.MethodPost, "/api/v1/dead-letters/"+target.ID+"/replay", "psb-system", nil)
	if resp.Status != http.StatusBadRequest {
		t.Fatalf("replay unchanged: %d %s", resp.Status, resp.Body)
	}
	var e struct {
		Error struct {
			Code    string
			Details []fault.Detail
		}
	}
	resp.JSON(t, &e)
	if e.Error.Code != "records_invalid" || len(e.Error.Details) == 0 || e.Error.Details[0].Pointer != "/id_number" {
		t.Fatalf("replay unchanged: %s", resp.Body)
	}

	// Corrected, it is published and reaches the library.
	orig["id_number"] = fixed
	resp = h.Do(http.MethodPost, "/api/v1/dead-letters/"+target.ID+"/replay", "psb-system", map[string]any{"record": orig})
	if resp.Status != http.StatusOK {
		t.Fatalf("replay corrected: %d %s", resp.Status, resp.Body)
	}
	var rr ingress.ReplayResult
	resp.JSON(t, &rr)
	if rr.DeadLetter.Status != ingress.StatusReplayed || rr.Publish.Accepted != 1 || rr.DeadLetter.ReplayedBy != "psb-system" {
		t.Fatalf("replay result %+v", rr)
	}
	row := waitLibrary(t, lib, "population", fixed)
	if row.RecordID != rr.DeadLetter.ReplayedRecordID {
		t.Fatalf("library holds %s, replay says %s", row.RecordID, rr.DeadLetter.ReplayedRecordID)
	}
	if r := h.Do(http.MethodPost, "/api/v1/dead-letters/"+target.ID+"/replay", "psb-system", map[string]any{"record": orig}); r.Status != http.StatusConflict {
		t.Fatalf("second replay: %d %s", r.Status, r.Body)
	}

	// The repeat was dropped: good1 has one version only, and only three
	// records went to the dead letters.
	hist, err := lib.History(ctx, "population", good1["id_number"].(string))
	if err != nil || len(hist) != 1 {
		t.Fatalf("history of the repeated record: %d versions, %v", len(hist), err)
	}
}

func waitLibrary(t *testing.T, lib *library.Store, resource, subject string) library.Row {
	t.Helper()
	deadline := time.Now().Add(45 * time.Second)
	for {
		row, err := lib.Current(context.Background(), resource, subject)
		if err == nil {
			return row
		}
		if fault.KindOf(err) != fault.NotFound {
			t.Fatal(err)
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s/%s did not reach the library", resource, subject)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func readTopic(t *testing.T, ctx context.Context, bc *broker.Client, topic string, n int) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 45*time.Second)
	defer cancel()
	var out []kafka.Message
	// Dead letters go to any partition; read each from the start.
	for p := 0; p < 3 && len(out) < n; p++ {
		r := bc.NewReader(kafka.ReaderConfig{Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		end := waitEnd(t, ctx, bc, topic, p, n)
		for int64(len(out)) < int64(n) && end > 0 {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	if len(out) != n {
		t.Fatalf("%s holds %d messages, want %d", topic, len(out), n)
	}
	return out
}

// waitEnd waits until the topic's partitions together hold n messages and
// returns partition p's end offset.
func waitEnd(t *testing.T, ctx context.Context, bc *broker.Client, topic string, p, n int) int64 {
	t.Helper()
	c := bc.Admin()
	for {
		req := &kafka.ListOffsetsRequest{Topics: map[string][]kafka.OffsetRequest{topic: {kafka.LastOffsetOf(0), kafka.LastOffsetOf(1), kafka.LastOffsetOf(2)}}}
		resp, err := c.ListOffsets(ctx, req)
		if err == nil {
			var total, mine int64
			for _, po := range resp.Topics[topic] {
				total += po.LastOffset
				if po.Partition == p {
					mine = po.LastOffset
				}
			}
			if total >= int64(n) {
				return mine
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%s never held %d messages", topic, n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func header(m kafka.Message, key string) string {
	for _, h := range m.Headers {
		if h.Key == key {
			return string(h.Value)
		}
	}
	return ""
}

func wrongDigit(c byte) string {
	if c == '0' {
		return "1"
	}
	return "0"
}
