// Package adaptertest is the conformance suite every connector passes:
// RunSource checks a source delivers each record once in order, resumes
// from any checkpoint, reports ErrNoData when drained and picks up records
// added later; RunSink checks a sink stores what it is given, that writing
// a batch again (as after a crash) changes nothing, and that deletes
// remove. Connector packages call them with a harness over a real backing
// system (a database, a folder, an HTTP server).
package adaptertest

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"yiku/adapters"
)

// SourceHarness connects the suite to one source over its backing system.
type SourceHarness struct {
	// New returns a fresh, unconnected source over the backing system.
	New func(t *testing.T) adapters.Source
	// Feed adds records to the backing system (rows, a file, API items).
	// Each record carries Key; the suite gives them unique values.
	Feed func(t *testing.T, recs []adapters.Record)
	// Key names the field identifying a record.
	Key string
	// Delete, if set, marks the record with this key deleted (a tombstone)
	// in the backing system; the source must then deliver a delete.
	Delete func(t *testing.T, key string)
	// NoDeletes, when Delete is nil, says why the source cannot deliver
	// deletes (the delete case is skipped with this reason). A harness sets
	// one of the two.
	NoDeletes string
	// Settle, if set, is waited before reading what was fed (for sources
	// that only read files that stopped changing).
	Settle time.Duration
	// KeyOf, if set, gives the i-th record's key (when the backing system
	// needs keys of its own shape, such as credit codes); default K000000….
	KeyOf func(i int) string
}

// RunSource runs the source conformance tests; newHarness builds a fresh
// backing system for each test.
func RunSource(t *testing.T, newHarnessRaw func(t *testing.T) SourceHarness) {
	var kf func(int) string
	newHarness := func(t *testing.T) SourceHarness {
		h := newHarnessRaw(t)
		kf = h.KeyOf
		if kf == nil {
			kf = key
		}
		return h
	}
	keys := func(from, to int) []string { return keysOf(kf, from, to) }
	records := func(k string, from, to int) []adapters.Record { return recordsOf(kf, k, from, to) }
	key := func(i int) string { return kf(i) }
	t.Run("ReadBeforeConnect", func(t *testing.T) {
		h := newHarness(t)
		s := h.New(t)
		if _, err := s.Read(context.Background(), 10); !errors.Is(err, adapters.ErrNotConnected) {
			t.Fatalf("Read before Connect: got %v, want ErrNotConnected", err)
		}
	})
	t.Run("DeliversEveryRecordOnce", func(t *testing.T) {
		h := newHarness(t)
		h.Feed(t, records(h.Key, 0, 25))
		s := connect(t, h, "")
		got, _ := drain(t, s, 7)
		checkKeys(t, h.Key, got, keys(0, 25))
	})
	t.Run("ResumesFromCheckpoint", func(t *testing.T) {
		h := newHarness(t)
		h.Feed(t, records(h.Key, 0, 20))
		s := connect(t, h, "")
		b, err := s.Read(context.Background(), 8)
		if err != nil {
			t.Fatalf("first read: %v", err)
		}
		if b.To == "" || b.To == b.From {
			t.Fatalf("batch positions from %q to %q do not advance", b.From, b.To)
		}
		_ = s.Close()
		// A crash before the checkpoint: a restart from the position before
		// the batch reads it again (at-least-once) with the same positions,
		// so the batch gets the same idempotency key.
		s1 := connect(t, h, b.From)
		again, err := s1.Read(context.Background(), 8)
		if err != nil {
			t.Fatalf("re-read: %v", err)
		}
		if again.From != b.From || again.To != b.To || len(again.Messages) != len(b.Messages) {
			t.Fatalf("re-read from %q: got %d records %q..%q, want %d records %q..%q", b.From, len(again.Messages), again.From, again.To, len(b.Messages), b.From, b.To)
		}
		for i := range b.Messages {
			if fmt.Sprint(again.Messages[i].Record[h.Key]) != fmt.Sprint(b.Messages[i].Record[h.Key]) {
				t.Fatalf("re-read record %d is %v, want %v", i, again.Messages[i].Record[h.Key], b.Messages[i].Record[h.Key])
			}
		}
		_ = s1.Close()
		// A restart from the checkpoint after the batch reads the rest,
		// nothing twice.
		first := records(h.Key, 0, 0)
		for _, m := range b.Messages {
			first = append(first, m.Record)
		}
		ack(t, b)
		s2 := connect(t, h, b.To)
		rest, _ := drain(t, s2, 5)
		checkKeys(t, h.Key, append(first, rest...), keys(0, 20))
	})
	t.Run("PicksUpLaterRecords", func(t *testing.T) {
		h := newHarness(t)
		h.Feed(t, records(h.Key, 0, 5))
		s := connect(t, h, "")
		got, _ := drain(t, s, 100)
		h.Feed(t, records(h.Key, 5, 9))
		more, _ := drain(t, s, 100)
		checkKeys(t, h.Key, append(got, more...), keys(0, 9))
	})
	t.Run("DeliversDeletes", func(t *testing.T) {
		h := newHarness(t)
		if h.Delete == nil {
			if h.NoDeletes == "" {
				t.Fatal("the harness sets neither Delete nor NoDeletes (the reason the source has no deletes)")
			}
			t.Skip(h.NoDeletes)
		}
		h.Feed(t, records(h.Key, 0, 3))
		s := connect(t, h, "")
		drain(t, s, 10)
		h.Delete(t, key(1))
		_, msgs := drain(t, s, 10)
		var found bool
		for _, m := range msgs {
			if fmt.Sprint(m.Record[h.Key]) == key(1) {
				found = m.Deleted
			}
		}
		if !found {
			t.Fatalf("no delete of %s among %d messages after the tombstone", key(1), len(msgs))
		}
	})
}

// SinkHarness connects the suite to one sink over its backing system.
type SinkHarness struct {
	// New returns a fresh, unconnected sink over the backing system.
	New func(t *testing.T) adapters.Sink
	// Stored returns what the backing system now holds, one record per
	// stored copy (so duplicates show), with at least the Key field.
	Stored func(t *testing.T) []adapters.Record
	Key    string
	// Deletes says the backing system removes a record on a delete;
	// otherwise a delete must be stored as a marked record.
	Deletes bool
	// Record builds a valid record for key i (defaults to {Key: key(i), "name": …}).
	Record func(i int) adapters.Record
	// KeyOf gives the i-th record's key, matching Record (default K000000…).
	KeyOf func(i int) string
}

// RunSink runs the sink conformance tests.
func RunSink(t *testing.T, newHarnessRaw func(t *testing.T) SinkHarness) {
	var kf func(int) string
	newHarness := func(t *testing.T) SinkHarness {
		h := newHarnessRaw(t)
		kf = h.KeyOf
		if kf == nil {
			kf = key
		}
		return h
	}
	keys := func(from, to int) []string { return keysOf(kf, from, to) }
	key := func(i int) string { return kf(i) }
	t.Run("WriteBeforeConnect", func(t *testing.T) {
		h := newHarness(t)
		s := h.New(t)
		if _, err := s.Write(context.Background(), msgs(h, 0, 1), "k0"); !errors.Is(err, adapters.ErrNotConnected) {
			t.Fatalf("Write before Connect: got %v, want ErrNotConnected", err)
		}
	})
	t.Run("StoresWhatItIsGiven", func(t *testing.T) {
		h := newHarness(t)
		s := connectSink(t, h)
		res, err := s.Write(context.Background(), msgs(h, 0, 12), "batch-a")
		if err != nil {
			t.Fatalf("write: %v", err)
		}
		if res.Written != 12 || len(res.Rejected) != 0 {
			t.Fatalf("written %d, rejected %v; want 12, none", res.Written, res.Rejected)
		}
		checkKeys(t, h.Key, h.Stored(t), keys(0, 12))
	})
	t.Run("RepeatedBatchIsIdempotent", func(t *testing.T) {
		h := newHarness(t)
		s := connectSink(t, h)
		batch := msgs(h, 0, 6)
		for i := 0; i < 3; i++ {
			if _, err := s.Write(context.Background(), batch, "batch-same"); err != nil {
				t.Fatalf("write %d: %v", i, err)
			}
		}
		// A new sink instance (a restarted adapter) re-sends it once more.
		_ = s.Close()
		s2 := connectSink(t, h)
		if _, err := s2.Write(context.Background(), batch, "batch-same"); err != nil {
			t.Fatalf("write after restart: %v", err)
		}
		checkKeys(t, h.Key, h.Stored(t), keys(0, 6))
	})
	t.Run("LaterVersionWins", func(t *testing.T) {
		h := newHarness(t)
		s := connectSink(t, h)
		if _, err := s.Write(context.Background(), msgs(h, 0, 3), "v1"); err != nil {
			t.Fatal(err)
		}
		m := msgs(h, 1, 2)
		m[0].Record["name"] = "changed"
		if _, err := s.Write(context.Background(), m, "v2"); err != nil {
			t.Fatal(err)
		}
		stored := h.Stored(t)
		if h.Deletes {
			checkKeys(t, h.Key, stored, keys(0, 3))
		}
		var seen bool
		for _, r := range stored {
			if fmt.Sprint(r[h.Key]) == key(1) && r["name"] == "changed" {
				seen = true
			}
		}
		if !seen {
			t.Fatalf("the update of %s is not stored: %v", key(1), stored)
		}
	})
	t.Run("Deletes", func(t *testing.T) {
		h := newHarness(t)
		s := connectSink(t, h)
		if _, err := s.Write(context.Background(), msgs(h, 0, 3), "d1"); err != nil {
			t.Fatal(err)
		}
		del := msgs(h, 1, 2)
		del[0].Deleted = true
		res, err := s.Write(context.Background(), del, "d2")
		if err != nil || len(res.Rejected) != 0 {
			t.Fatalf("delete: %v %v", err, res.Rejected)
		}
		stored := h.Stored(t)
		if h.Deletes {
			checkKeys(t, h.Key, stored, []string{key(0), key(2)})
			return
		}
		var marked bool
		for _, r := range stored {
			if fmt.Sprint(r[h.Key]) == key(1) && r["_deleted"] == true {
				marked = true
			}
		}
		if !marked {
			t.Fatalf("the delete of %s is not stored: %v", key(1), stored)
		}
	})
}

// Key returns the suite's i-th record key.
func key(i int) string { return fmt.Sprintf("K%06d", i) }

// Key is exported for harnesses that build records themselves.
func Key(i int) string { return key(i) }

func keysOf(kf func(int) string, from, to int) []string {
	out := []string{}
	for i := from; i < to; i++ {
		out = append(out, kf(i))
	}
	return out
}

func recordsOf(kf func(int) string, k string, from, to int) []adapters.Record {
	out := []adapters.Record{}
	for i := from; i < to; i++ {
		out = append(out, adapters.Record{k: kf(i), "name": fmt.Sprintf("名称%d", i), "seq": fmt.Sprint(i)})
	}
	return out
}

func msgs(h SinkHarness, from, to int) []adapters.Message {
	kf := h.KeyOf
	if kf == nil {
		kf = key
	}
	var out []adapters.Message
	for i := from; i < to; i++ {
		var r adapters.Record
		if h.Record != nil {
			r = h.Record(i)
		} else {
			r = adapters.Record{h.Key: kf(i), "name": fmt.Sprintf("名称%d", i)}
		}
		out = append(out, adapters.Message{Record: r, Origin: fmt.Sprintf("test#%d", i)})
	}
	return out
}

func connect(t *testing.T, h SourceHarness, from string) adapters.Source {
	t.Helper()
	if h.Settle > 0 {
		time.Sleep(h.Settle)
	}
	s := h.New(t)
	if err := s.Connect(context.Background(), from); err != nil {
		t.Fatalf("connect from %q: %v", from, err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func connectSink(t *testing.T, h SinkHarness) adapters.Sink {
	t.Helper()
	s := h.New(t)
	if err := s.Connect(context.Background()); err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func ack(t *testing.T, b adapters.Batch) {
	t.Helper()
	if b.Ack != nil {
		if err := b.Ack(context.Background()); err != nil {
			t.Fatalf("ack: %v", err)
		}
	}
}

// drain reads until ErrNoData, acknowledging each batch, and checks every
// batch's positions chain; it returns the records and the messages.
func drain(t *testing.T, s adapters.Source, max int) ([]adapters.Record, []adapters.Message) {
	t.Helper()
	var (
		recs []adapters.Record
		all  []adapters.Message
		last = "\x00"
	)
	for i := 0; i < 10000; i++ {
		b, err := s.Read(context.Background(), max)
		if errors.Is(err, adapters.ErrNoData) {
			return recs, all
		}
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(b.Messages) > max {
			t.Fatalf("batch of %d messages, asked for at most %d", len(b.Messages), max)
		}
		if last != "\x00" && b.From != last {
			t.Fatalf("batch starts at %q, the previous ended at %q", b.From, last)
		}
		last = b.To
		for _, m := range b.Messages {
			if m.Err != nil {
				t.Fatalf("message %s: %v", m.Origin, m.Err)
			}
			all = append(all, m)
			if !m.Deleted {
				recs = append(recs, m.Record)
			}
		}
		ack(t, b)
	}
	t.Fatal("source never ran dry")
	return nil, nil
}

func checkKeys(t *testing.T, k string, got []adapters.Record, want []string) {
	t.Helper()
	var g []string
	for _, r := range got {
		g = append(g, fmt.Sprint(r[k]))
	}
	sort.Strings(g)
	w := append([]string{}, want...)
	sort.Strings(w)
	if fmt.Sprint(g) != fmt.Sprint(w) {
		t.Fatalf("keys:\n got %v\nwant %v", g, w)
	}
}
