package main

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"yiku/exchange"
)

// The copy for Kafka Connect must be what JsonConverter with schemas reads:
// a schema whose fields are exactly the payload's keys, and the same record
// the library sink gets from the hub's message.
func TestConnectMessageIsTheSameRecordWithSchemas(t *testing.T) {
	at := time.Date(2026, 12, 4, 8, 30, 1, 123456000, time.FixedZone("CST", 8*3600))
	r := exchange.Record{Resource: "population", SubjectKey: "110101199003070012", ID: "ab12", SchemaVersion: 2,
		Publisher: "gongan", TraceID: "tr-1", PublishedAt: at, Data: []byte(`{"name":"张三","id":"110101199003070012"}`)}
	m, err := connectMessage(r)
	if err != nil {
		t.Fatal(err)
	}
	var key, value struct {
		Schema  connectSchema  `json:"schema"`
		Payload map[string]any `json:"payload"`
	}
	if err := json.Unmarshal(m.Key, &key); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(m.Value, &value); err != nil {
		t.Fatal(err)
	}
	wantKey := map[string]any{"resource_id": "population", "subject_key": "110101199003070012"}
	if !reflect.DeepEqual(key.Payload, wantKey) || key.Schema.Type != "struct" {
		t.Fatalf("key = %s", m.Key)
	}
	wantValue := map[string]any{"resource_id": "population", "subject_key": "110101199003070012", "record_id": "ab12",
		"schema_version": float64(2), "publisher": "gongan", "data": `{"name":"张三","id":"110101199003070012"}`,
		"trace_id": "tr-1", "published_at": "2026-12-04T00:30:01.123456Z"}
	if !reflect.DeepEqual(value.Payload, wantValue) {
		t.Fatalf("value payload = %v\nwant %v", value.Payload, wantValue)
	}
	for _, e := range []struct {
		s connectSchema
		p map[string]any
	}{{key.Schema, key.Payload}, {value.Schema, value.Payload}} {
		if len(e.s.Fields) != len(e.p) {
			t.Fatalf("schema %s has %d fields, payload %d", e.s.Name, len(e.s.Fields), len(e.p))
		}
		for _, f := range e.s.Fields {
			if _, ok := e.p[f.Field]; !ok {
				t.Errorf("schema %s names %s, which the payload lacks", e.s.Name, f.Field)
			}
		}
	}
	// The hub's own message of the same record carries the same key and data.
	hub := r.Message("")
	if string(hub.Key) != r.SubjectKey || string(hub.Value) != value.Payload["data"] {
		t.Fatalf("hub message key %q value %q differ from the copy", hub.Key, hub.Value)
	}
}

func TestConnectMessageRefusesTombstones(t *testing.T) {
	r := exchange.Record{Resource: "population", SubjectKey: "1", ID: "x", DeleteReason: "moved"}
	if _, err := connectMessage(r); err == nil {
		t.Fatal("a deletion was copied; the comparison upserts only")
	}
}

func TestParseProcessStat(t *testing.T) {
	// A command name with a space and a parenthesis, as /proc allows.
	line := "4242 (java (x) y) S 1 4242 4242 0 -1 4194560 100 0 0 0 1234 567 0 0 20 0 40 0 100 0 0"
	d, err := parseProcessStat(line)
	if err != nil {
		t.Fatal(err)
	}
	if want := (1234 + 567) * 10 * time.Millisecond; d != want {
		t.Fatalf("cpu = %s, want %s", d, want)
	}
	if _, err := parseProcessStat("4242 no parens"); err == nil {
		t.Fatal("a line without a command name was read")
	}
}

func TestJDBCTargetOf(t *testing.T) {
	got, err := jdbcTargetOf("postgres://yiku:s3cret@127.0.0.1:45432/yiku_x?sslmode=disable")
	if err != nil {
		t.Fatal(err)
	}
	want := jdbcTarget{url: "jdbc:postgresql://127.0.0.1:45432/yiku_x?sslmode=disable", user: "yiku", password: "s3cret"}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
	if _, err := jdbcTargetOf("mysql://root@tcp(127.0.0.1)/x"); err == nil {
		t.Fatal("a MySQL DSN was taken for PostgreSQL")
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{3, 1, 2}); m != 2 {
		t.Fatalf("median = %v", m)
	}
	if m := median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Fatalf("median = %v", m)
	}
}
