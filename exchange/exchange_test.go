package exchange

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"
	"time"

	"yiku/fault"
)

func TestCanonicalIsStableAndHashIdentifiesContent(t *testing.T) {
	a, _, err := Canonical([]byte(`{"name":"张三", "id_number":"431302199001010010","n":1.50,"h":"<b>"}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _, err := Canonical([]byte("{\n \"h\":\"<b>\",\"n\":1.50,\"id_number\":\"431302199001010010\",\"name\":\"张三\"}"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a, b) || ContentHash(a) != ContentHash(b) {
		t.Fatalf("canonical forms differ: %s / %s", a, b)
	}
	if want := `{"h":"<b>","id_number":"431302199001010010","n":1.50,"name":"张三"}`; string(a) != want {
		t.Fatalf("canonical %s, want %s", a, want)
	}
	for _, bad := range []string{`[1]`, `"x"`, `{"a":1} {"b":2}`, `{`} {
		if _, _, err := Canonical([]byte(bad)); err == nil {
			t.Errorf("Canonical(%s) accepted", bad)
		}
	}
}

func TestParseBatch(t *testing.T) {
	tests := []struct {
		name, format, body string
		max, want          int
		kind               fault.Kind
		code               string
	}{
		{"array", FormatJSON, `[{"a":1},{"b":2}]`, 10, 2, 0, ""},
		{"array with spaces", FormatJSON, " [ {\"a\":1} ,\n{\"b\":[1,2]} ] \n", 10, 2, 0, ""},
		{"ndjson", FormatNDJSON, "{\"a\":1}\n\n{\"b\":2}\r\n{\"c\":3}", 10, 3, 0, ""},
		{"empty array", FormatJSON, `[]`, 10, 0, fault.Invalid, "empty_batch"},
		{"empty ndjson", FormatNDJSON, "\n\n", 10, 0, fault.Invalid, "empty_batch"},
		{"object", FormatJSON, `{"a":1}`, 10, 0, fault.Invalid, "invalid_json"},
		{"too many", FormatJSON, `[{},{},{}]`, 2, 0, fault.TooLarge, "batch_too_large"},
		{"too many ndjson", FormatNDJSON, "{}\n{}\n{}", 2, 0, fault.TooLarge, "batch_too_large"},
		{"broken record", FormatJSON, `[{"a":1},{"b":}]`, 10, 0, fault.Invalid, "invalid_json"},
		{"unterminated", FormatJSON, `[{"a":1}`, 10, 0, fault.Invalid, "invalid_json"},
		{"trailing data", FormatJSON, `[{"a":1}] [`, 10, 0, fault.Invalid, "invalid_json"},
		{"broken line", FormatNDJSON, "{\"a\":1}\n{oops}", 10, 0, fault.Invalid, "invalid_json"},
		{"other format", "text/csv", "a,b", 10, 0, fault.Invalid, "unsupported_media_type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := ParseBatch([]byte(tc.body), tc.format, tc.max)
			if tc.code == "" {
				if err != nil || len(recs) != tc.want {
					t.Fatalf("got %d records, %v; want %d", len(recs), err, tc.want)
				}
				return
			}
			fe, ok := fault.As(err)
			if !ok || fe.Kind != tc.kind || fe.Code != tc.code {
				t.Fatalf("err %v, want %v %s", err, tc.kind, tc.code)
			}
		})
	}
}

func FuzzParseBatch(f *testing.F) {
	f.Add([]byte(`[{"a":1},{"b":"x"}]`), true)
	f.Add([]byte("{\"a\":1}\n{\"b\":2}"), false)
	f.Add([]byte(`[`), true)
	f.Fuzz(func(t *testing.T, body []byte, array bool) {
		format := FormatNDJSON
		if array {
			format = FormatJSON
		}
		recs, err := ParseBatch(body, format, 100)
		if err != nil {
			if _, ok := fault.As(err); !ok {
				t.Fatalf("unclassified error %v", err)
			}
			return
		}
		for _, r := range recs {
			if !json.Valid(r) {
				t.Fatalf("invalid record %q accepted", r)
			}
			// Canonical must never panic on what the parser lets through.
			_, _, _ = Canonical(r)
		}
	})
}

func FuzzCanonical(f *testing.F) {
	f.Add([]byte(`{"b":1,"a":"\u00e9<>&"}`))
	f.Add([]byte(`{"n":1e400}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, _, err := Canonical(raw)
		if err != nil {
			return
		}
		again, _, err := Canonical(c)
		if err != nil || !bytes.Equal(c, again) {
			t.Fatalf("canonical form is not a fixed point: %s -> %s (%v)", c, again, err)
		}
	})
}

func TestRecordMessageRoundTrip(t *testing.T) {
	data, _, _ := Canonical([]byte(`{"id_number":"431302199001010010","name":"张三"}`))
	now := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	rec := Record{Resource: "population", SubjectKey: "431302199001010010", ID: ContentHash(data), SchemaVersion: 2, Publisher: "lx-psb", TraceID: "t1", PublishedAt: now, Data: data}
	got, err := RecordFromMessage(context.Background(), rec.Message("yiku.records.population"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != rec.ID || got.SchemaVersion != 2 || got.Publisher != "lx-psb" || !got.PublishedAt.Equal(now) || !bytes.Equal(got.Data, data) || got.TraceID != "t1" {
		t.Fatalf("round trip %+v", got)
	}
	tomb := Record{Resource: "population", SubjectKey: "431302199001010010", ID: TombstoneID("population", "431302199001010010", "死亡注销"), DeleteReason: "死亡注销", PublishedAt: now}
	gt, err := RecordFromMessage(context.Background(), tomb.Message("t"), nil)
	if err != nil || !gt.Tombstone() || gt.DeleteReason != "死亡注销" {
		t.Fatalf("tombstone round trip %+v %v", gt, err)
	}
	// A message whose content does not match its record id is refused.
	m := rec.Message("t")
	m.Value = []byte(`{"id_number":"431302199001010010","name":"李四"}`)
	if _, err := RecordFromMessage(context.Background(), m, nil); err == nil {
		t.Fatal("tampered message accepted")
	}
}

func TestRateLimits(t *testing.T) {
	l := NewRateLimits(2)
	if l.Allow("a") != nil || l.Allow("a") != nil {
		t.Fatal("burst refused")
	}
	err := l.Allow("a")
	fe, ok := fault.As(err)
	if !ok || fe.Kind != fault.RateLimited || fe.RetryAfter < 1 {
		t.Fatalf("third call: %v", err)
	}
	if l.Allow("b") != nil {
		t.Fatal("another department limited")
	}
	if NewRateLimits(0).Allow("a") != nil {
		t.Fatal("zero rate limits")
	}
}
