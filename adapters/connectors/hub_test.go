package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"yiku/adapters"
	"yiku/adapters/adaptertest"
	"yiku/adapters/client"
	"yiku/adapters/examples"
	"yiku/exchange/library"
	"yiku/hub/hubtest"
)

func hubClient(t *testing.T, h *hubtest.Hub, principal string) *client.Client {
	t.Helper()
	c, err := client.New(h.URL, h.Secret(principal), client.WithRetries(5, 50*time.Millisecond, time.Second))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// settledLibrary waits until the library holds at least minVersions
// versions of resource and the count stops moving, then returns the
// current (not deleted) records and the number of versions.
func settledLibrary(t *testing.T, h *hubtest.Hub, resource string, minVersions int64) ([]adapters.Record, int64) {
	t.Helper()
	// First until the hub reports it applied everything published to the
	// resource (the demo seed's records too), then until the count holds.
	c := hubClient(t, h, "civil-system")
	deadline := time.Now().Add(60 * time.Second)
	for {
		st, err := c.ExchangeStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if lag, ok := st.Resource(resource); !ok || lag.Lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub's library did not catch up with %s", resource)
		}
		time.Sleep(200 * time.Millisecond)
	}
	lib := h.Library
	var last int64 = -1
	deadline = time.Now().Add(30 * time.Second)
	for {
		_, ver, err := lib.Counts(context.Background(), resource)
		if err != nil {
			t.Fatal(err)
		}
		if ver >= minVersions && ver == last {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("library of %s did not settle (%d versions, want at least %d)", resource, ver, minVersions)
		}
		last = ver
		time.Sleep(400 * time.Millisecond)
	}
	rows, err := lib.After(context.Background(), resource, 0, 100000)
	if err != nil {
		t.Fatal(err)
	}
	latest := map[string]library.Row{}
	for _, r := range rows {
		latest[r.SubjectKey] = r
	}
	var out []adapters.Record
	for _, r := range latest {
		if r.Deleted {
			continue
		}
		data, err := lib.Plain(context.Background(), r)
		if err != nil {
			t.Fatal(err)
		}
		var rec adapters.Record
		if err := json.Unmarshal(data, &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	return out, int64(len(rows))
}

func marriage(i int) adapters.Record {
	return adapters.Record{
		"registration_number": fmt.Sprintf("J431302-2024-%06d", i+1),
		"registration_type":   "marriage", "id_number": examples.ResidentID(i, true), "name": "王伟",
		"spouse_id_number": examples.ResidentID(i, false), "spouse_name": "李芳",
		"registration_date": "2024-05-20", "registration_office": "娄星区民政局婚姻登记处",
	}
}

// suiteSubjects are the subject keys the suite writes; the test hub also
// holds the demo seed's records, which the suite leaves alone.
var suiteSubjects = func() map[string]bool {
	m := map[string]bool{}
	for i := 0; i < 100; i++ {
		m[examples.ResidentID(i, true)] = true
	}
	return m
}()

func ours(recs []adapters.Record, key string, keys map[string]bool) []adapters.Record {
	var out []adapters.Record
	for _, r := range recs {
		if k, _ := r[key].(string); keys[k] {
			out = append(out, r)
		}
	}
	return out
}

func TestHubSinkConformance(t *testing.T) {
	adaptertest.RunSink(t, func(t *testing.T) adaptertest.SinkHarness {
		h := hubtest.Start(t)
		env := adapters.Env{Hub: hubClient(t, h, "civil-system"), Department: "lx-civil"}
		return adaptertest.SinkHarness{
			Key: "id_number", Deletes: true, Record: marriage,
			KeyOf: func(i int) string { return examples.ResidentID(i, true) },
			New: func(t *testing.T) adapters.Sink {
				s, err := NewHubSink(HubSinkConfig{Resource: "marriage-registration"}, env)
				if err != nil {
					t.Fatal(err)
				}
				return s
			},
			Stored: func(t *testing.T) []adapters.Record {
				recs, _ := settledLibrary(t, h, "marriage-registration", 1)
				return ours(recs, "id_number", suiteSubjects)
			},
		}
	})
}

// TestHubSinkResentBatchAddsNoVersion: the same batch sent again with the
// same key (a crash between the hub's answer and the checkpoint) leaves
// the library with one version per record; the hub's refusals come back
// per record with its pointer and rule.
func TestHubSinkResentBatchAddsNoVersion(t *testing.T) {
	h := hubtest.Start(t)
	env := adapters.Env{Hub: hubClient(t, h, "civil-system")}
	s, err := NewHubSink(HubSinkConfig{Resource: "marriage-registration"}, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, seeded := settledLibrary(t, h, "marriage-registration", 0)
	var msgs []adapters.Message
	for i := 0; i < 10; i++ {
		msgs = append(msgs, adapters.Message{Record: marriage(i)})
	}
	msgs[4].Record["registration_type"] = "engagement"
	for round := 0; round < 3; round++ {
		res, err := s.Write(context.Background(), msgs, "batch-1")
		if err != nil {
			t.Fatal(err)
		}
		if res.Written != 9 || len(res.Rejected) != 1 || res.Rejected[0].Index != 4 || res.Rejected[0].Reasons[0].Pointer != "/registration_type" {
			t.Fatalf("round %d: written %d rejected %+v", round, res.Written, res.Rejected)
		}
	}
	recs, versions := settledLibrary(t, h, "marriage-registration", seeded+9)
	if recs = ours(recs, "id_number", suiteSubjects); len(recs) != 9 || versions != seeded+9 {
		t.Fatalf("library: %d records, %d versions; want 9 and 9", len(recs), versions)
	}
}

func TestHubSinkUnknownResourceIsPermanent(t *testing.T) {
	h := hubtest.Start(t)
	s, err := NewHubSink(HubSinkConfig{Resource: "no-such-resource"}, adapters.Env{Hub: hubClient(t, h, "civil-system")})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Connect(context.Background()); !adapters.IsPermanent(err) {
		t.Fatalf("want a permanent error, got %v", err)
	}
}

func TestHubSubscriptionConformance(t *testing.T) {
	adaptertest.RunSource(t, func(t *testing.T) adaptertest.SourceHarness {
		h := hubtest.Start(t)
		amr := hubClient(t, h, "amr-system")
		gsc := adapters.Env{Hub: hubClient(t, h, "gsc-system")}
		_, published := settledLibrary(t, h, "business-licence", 0)
		licenceID := func(i int) string { return examples.Licence(i)["licence_id"].(string) }
		idx := map[string]int{}
		for i := 0; i < 40; i++ {
			idx[licenceID(i)] = i
		}
		// The hub masks holder_id (the subject key) for the service
		// centre, so records are told apart by licence_id; a deletion
		// carries the subject's last version, licence_id included.
		return adaptertest.SourceHarness{
			Key:   "licence_id",
			KeyOf: licenceID,
			Delete: func(t *testing.T, key string) {
				i, ok := idx[key]
				if !ok {
					t.Fatalf("no licence %s", key)
				}
				if _, err := amr.Delete(context.Background(), "business-licence", examples.USCC(i), "营业执照注销"); err != nil {
					t.Fatal(err)
				}
				published++
				settledLibrary(t, h, "business-licence", published)
			},
			New: func(t *testing.T) adapters.Source {
				s, err := NewHubSub(HubSubConfig{Resource: "business-licence", Purpose: "企业开办审批核验营业执照"}, gsc)
				if err != nil {
					t.Fatal(err)
				}
				return onlyKeys{Source: s, key: "licence_id", keys: idx}
			},
			Feed: func(t *testing.T, recs []adapters.Record) {
				var vals []any
				for _, r := range recs {
					vals = append(vals, examples.Licence(idx[r["licence_id"].(string)]))
				}
				res, err := amr.PublishAll(context.Background(), "business-licence", vals, "")
				if err != nil || res.Accepted != len(vals) {
					t.Fatalf("publish: %+v %v", res, err)
				}
				// The subscription reads the library, which the hub fills
				// from Kafka; wait until the records are there.
				published += int64(len(vals))
				settledLibrary(t, h, "business-licence", published)
			},
		}
	})
}

// onlyKeys passes on the suite's records and drops the demo seed's, which
// the test hub's library also holds.
type onlyKeys struct {
	adapters.Source
	key  string
	keys map[string]int
}

func (o onlyKeys) Read(ctx context.Context, max int) (adapters.Batch, error) {
	b, err := o.Source.Read(ctx, max)
	if err != nil {
		return b, err
	}
	kept := b.Messages[:0]
	for _, m := range b.Messages {
		if k, _ := m.Record[o.key].(string); o.has(k) {
			kept = append(kept, m)
		}
	}
	b.Messages = kept
	return b, nil
}

func (o onlyKeys) has(k string) bool {
	_, ok := o.keys[k]
	return ok
}
