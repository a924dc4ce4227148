package exchangeapi_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"regexp"
	"testing"

	"yiku/exchange"
	"yiku/exchange/loadgen"
	"yiku/exchange/subscription"
	"yiku/hub/hubtest"
)

var hex64 = regexp.MustCompile(`^[0-9a-f]{64}$`)

// A reader with a partial view must not be able to confirm a guess of a
// whole record by hashing it: the record id it sees is keyed. The
// provider, who sees everything, keeps the library's content hash; every
// way a reader gets the record (read, pull, Kafka egress) shows the same
// stable keyed id.
func TestRecordIDsOfPartialViewsAreKeyed(t *testing.T) {
	h := hubtest.Start(t)
	rec := loadgen.Person(rand.New(rand.NewPCG(3, 3)), 42, 0)
	subject := rec["id_number"].(string)

	r := h.Do(http.MethodPost, "/api/v1/subscriptions", "gsc-system", map[string]any{"resource": "population", "purpose": purpose, "egress": true})
	if r.Status != http.StatusCreated {
		t.Fatalf("subscribe: %d %s", r.Status, r.Body)
	}
	var s sub
	r.JSON(t, &s)

	publish(t, h, "population", "psb-system", rec)
	// What a reader who guessed the whole record would compute.
	raw, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	canon, _, err := exchange.Canonical(raw)
	if err != nil {
		t.Fatal(err)
	}
	guess := exchange.ContentHash(canon)

	// The provider sees the library's id: the integrity hash of the record.
	own := waitRecord(t, h, "population", subject, "psb-system", "")
	if own.RecordID != guess {
		t.Fatalf("provider's record id %s, want the content hash %s", own.RecordID, guess)
	}

	// A reader on the unconditional share sees a masked record under a keyed id.
	first := waitRecord(t, h, "population", subject, "gsc-system", "")
	second := waitRecord(t, h, "population", subject, "gsc-system", "")
	if first.RecordID == guess || !hex64.MatchString(first.RecordID) {
		t.Fatalf("reader's record id %q: the unkeyed content hash or not 64 hex digits", first.RecordID)
	}
	if second.RecordID != first.RecordID {
		t.Fatalf("two reads of one record: ids %s and %s", first.RecordID, second.RecordID)
	}
	if first.Record["id_number"] == subject || first.Record["birth_date"] != "***" {
		t.Fatalf("reader's record not masked as planned: %v", first.Record)
	}

	// Pull and Kafka egress show the reader the same id (the demo
	// population records come along).
	waitLagZero(t, h)
	p := pull(t, h, s.ID, "", 100)
	eg := readEgress(t, h, s.EgressTopic, len(p.Records))
	for mode, ds := range map[string][]subscription.Delivery{"pull": p.Records, "egress": eg} {
		n := 0
		for _, d := range ds {
			if d.RecordID == guess || !hex64.MatchString(d.RecordID) {
				t.Errorf("%s: record id %q: the unkeyed content hash or not 64 hex digits", mode, d.RecordID)
			}
			if d.RecordID == first.RecordID {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%s: %d deliveries with the read's record id %s, want 1", mode, n, first.RecordID)
		}
	}
}
