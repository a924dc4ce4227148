package ingress

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/exchange"
)

func hdr(kv ...string) []kafka.Header {
	var out []kafka.Header
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, kafka.Header{Key: kv[i], Value: []byte(kv[i+1])})
	}
	return out
}

func TestParseMessage(t *testing.T) {
	tests := []struct {
		name      string
		msg       kafka.Message
		rules     []string
		version   int
		tombstone bool
	}{
		{"record", kafka.Message{Key: []byte("k"), Value: []byte(`{"a":1}`), Headers: hdr(HeaderResource, "population", HeaderSchemaVersion, "2", HeaderIdempotencyKey, "b-1")}, nil, 2, false},
		// The department is the topic's (only its Kafka principal may write
		// it), never a header's.
		{"a header naming another department", kafka.Message{Value: []byte(`{}`), Headers: hdr(HeaderResource, "population", "yiku-publisher", "lx-amr", "yiku-department", "lx-amr")}, nil, 0, false},
		{"latest version when absent", kafka.Message{Value: []byte(`{}`), Headers: hdr(HeaderResource, "population")}, nil, 0, false},
		{"empty version header", kafka.Message{Value: []byte(`{}`), Headers: hdr(HeaderResource, "population", HeaderSchemaVersion, "")}, nil, 0, false},
		{"tombstone", kafka.Message{Key: []byte("k"), Headers: hdr(HeaderResource, "population", HeaderDeleteReason, "moved away")}, nil, 0, true},
		{"no resource", kafka.Message{Value: []byte(`{}`)}, []string{"header"}, 0, false},
		{"bad version", kafka.Message{Value: []byte(`{}`), Headers: hdr(HeaderResource, "population", HeaderSchemaVersion, "two")}, []string{"header"}, 0, false},
		{"negative version", kafka.Message{Value: []byte(`{}`), Headers: hdr(HeaderResource, "population", HeaderSchemaVersion, "-1")}, []string{"header"}, 0, false},
		{"long key", kafka.Message{Value: []byte(`{}`), Headers: hdr(HeaderResource, "population", HeaderIdempotencyKey, strings.Repeat("x", 201))}, []string{"header"}, 0, false},
		{"empty without reason", kafka.Message{Key: []byte("k"), Headers: hdr(HeaderResource, "population")}, []string{"value"}, 0, true},
		{"tombstone without key", kafka.Message{Headers: hdr(HeaderResource, "population", HeaderDeleteReason, "x")}, []string{"subject_key"}, 0, true},
		{"not JSON", kafka.Message{Value: []byte(`{"a":`), Headers: hdr(HeaderResource, "population")}, []string{"type"}, 0, false},
		{"several faults", kafka.Message{Value: []byte(`nope`), Headers: hdr(HeaderSchemaVersion, "x")}, []string{"header", "header", "type"}, 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.msg.Topic, tc.msg.Partition, tc.msg.Offset = "p.ingress.lx-psb", 1, 42
			in, errs := ParseMessage("lx-psb", tc.msg)
			var rules []string
			for _, e := range errs {
				if e.Message == "" || e.Index != 0 {
					t.Errorf("rejection %+v lacks a message or has an index", e)
				}
				rules = append(rules, e.Rule)
			}
			if strings.Join(rules, ",") != strings.Join(tc.rules, ",") {
				t.Fatalf("rules %v, want %v", rules, tc.rules)
			}
			if len(errs) == 0 && (in.Version != tc.version || in.Tombstone != tc.tombstone || in.Department != "lx-psb") {
				t.Fatalf("parsed %+v", in)
			}
			if in.TraceID == "" {
				t.Fatal("no trace id")
			}
		})
	}
}

func TestDeadLetterMessageCarriesReasonsAndSource(t *testing.T) {
	src := kafka.Message{Topic: "p.ingress.lx-psb", Partition: 2, Offset: 17, Key: []byte("k"), Value: []byte(`{"a":1}`),
		Headers: hdr(HeaderResource, "population", HeaderDLQRule, "old")}
	reasons := []exchange.Rejection{{Pointer: "/id_number", Rule: "format", Message: "bad check digit"}, {Pointer: "/name", Rule: "required", Message: "missing"}}
	m := DeadLetterMessage("p.dlq.lx-psb", src, reasons, time.Date(2026, 11, 26, 8, 0, 0, 0, time.UTC))
	got := map[string][]string{}
	for _, h := range m.Headers {
		got[h.Key] = append(got[h.Key], string(h.Value))
	}
	want := map[string]string{HeaderResource: "population", HeaderDLQPointer: "/id_number", HeaderDLQRule: "format", HeaderDLQMessage: "bad check digit",
		HeaderDLQIndex: "0", HeaderDLQTopic: "p.ingress.lx-psb", HeaderDLQPartition: "2", HeaderDLQOffset: "17", HeaderDLQAt: "2026-11-26T08:00:00Z"}
	for k, v := range want {
		if len(got[k]) != 1 || got[k][0] != v {
			t.Errorf("header %s = %v, want [%s]", k, got[k], v)
		}
	}
	var back []exchange.Rejection
	if err := json.Unmarshal([]byte(got[HeaderDLQReasons][0]), &back); err != nil || len(back) != 2 || back[1].Rule != "required" {
		t.Fatalf("reasons header %v: %v", got[HeaderDLQReasons], err)
	}
	if m.Topic != "p.dlq.lx-psb" || string(m.Key) != "k" || string(m.Value) != `{"a":1}` {
		t.Fatalf("message %+v", m)
	}
}

// FuzzParseMessage: any message an adapter (or anyone with access to the
// topic) produces is parsed without panicking, and either refused with
// reasons or read into an Inbound with a resource.
func FuzzParseMessage(f *testing.F) {
	f.Add([]byte("k"), []byte(`{"a":1}`), "population", "1", "key", "")
	f.Add([]byte(""), []byte(""), "", "x", "", "reason")
	f.Add([]byte("k"), []byte(`[`), "population", "-3", strings.Repeat("x", 300), "")
	f.Fuzz(func(t *testing.T, key, value []byte, resource, version, idem, reason string) {
		hs := hdr(HeaderResource, resource, HeaderSchemaVersion, version, HeaderIdempotencyKey, idem)
		if reason != "" {
			hs = append(hs, kafka.Header{Key: HeaderDeleteReason, Value: []byte(reason)})
		}
		in, errs := ParseMessage("lx-psb", kafka.Message{Topic: "t", Key: key, Value: value, Headers: hs})
		if len(errs) > 0 {
			return
		}
		if in.Resource == "" || in.Version < 0 || len(in.IdempotencyKey) > MaxIdempotencyKey {
			t.Fatalf("accepted %+v", in)
		}
		if !in.Tombstone && !json.Valid(in.Value) {
			t.Fatalf("accepted a value that is not JSON: %q", in.Value)
		}
		if in.Tombstone && (len(in.Key) == 0 || in.DeleteReason == "") {
			t.Fatalf("accepted a tombstone without key or reason: %+v", in)
		}
	})
}
