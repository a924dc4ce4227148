package federation_test

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/segmentio/kafka-go"

	"yiku/catalog/seed"
	"yiku/federation"
	"yiku/fieldcrypt"
	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

// TestSealedRecordsCrossTheBoundary: with data key files on both hubs, the
// records of an upward-shared resource cross sealed. The district hands the
// city its data keys of the resource over the peer API; the city's mirror
// sink opens each copy with them, checks it, and stores it sealed under
// its own keys, keyed by its own pseudonym of the subject. The copies are
// made here as MirrorMaker makes them (the same bytes, keys and headers,
// into <district hub>.<topic> on the city's broker; the MirrorMaker test
// runs the real one). Before the keys arrive a copy waits; nothing is
// skipped.
func TestSealedRecordsCrossTheBoundary(t *testing.T) {
	p := startPair(t)
	ctx := context.Background()
	if p.district.Keys == nil || p.city.Keys == nil {
		t.Fatal("both hubs need a data key file")
	}
	p.peer(t)
	if r := p.district.Do("PUT", "/api/v1/federation/upward/"+seed.MarriageRegistration, "admin-civil", nil); r.Status != http.StatusOK {
		t.Fatalf("mark: %d %s", r.Status, r.Body)
	}
	cityID := federation.MirrorResourceID(districtHub, seed.MarriageRegistration)
	eventually(t, "the city registers the district's resource", func() bool {
		_, err := p.city.Catalog.Resource(ctx, cityID)
		return err == nil
	})
	subjects := []string{lookupdemo.Citizen, lookupdemo.Citizen2, lookupdemo.Spouse}
	var recs []map[string]any
	for i := 0; i < 9; i++ {
		recs = append(recs, marriage(subjects[i%3], lookupdemo.Spouse, 100+i))
	}
	if r := p.district.Do("POST", "/api/v1/resources/"+seed.MarriageRegistration+"/records", "civil-system", recs); r.Status != http.StatusOK {
		t.Fatalf("publish: %d %s", r.Status, r.Body)
	}
	// The district's records topic, copied as MirrorMaker copies it.
	src := p.district.Cfg.TopicPrefix + ".records." + seed.MarriageRegistration
	msgs := p.district.TopicMessages(t, src)
	if len(msgs) < 9 {
		t.Fatalf("%d messages on %s", len(msgs), src)
	}
	dst := districtHub + "." + src
	if err := p.city.Broker.EnsureTopicsWith(ctx, p.district.Cfg.TopicPartitions, dst); err != nil {
		t.Fatal(err)
	}
	copies := make([]kafka.Message, len(msgs))
	for i, m := range msgs {
		if !fieldcrypt.SealedSubject(string(m.Key)) {
			t.Fatalf("the district keys a marriage record by %q", m.Key)
		}
		copies[i] = kafka.Message{Topic: dst, Key: m.Key, Value: m.Value, Headers: m.Headers}
	}
	if err := p.city.Broker.Produce(ctx, copies...); err != nil {
		t.Fatal(err)
	}

	// The city applies every copy, opened and sealed again under its keys.
	eventually(t, "the city library applies every copied record", func() bool {
		_, versions, err := p.city.Library.Counts(ctx, cityID)
		return err == nil && versions == int64(len(msgs))
	})
	checkCityCopies(t, ctx, p, cityID, subjects)
	// The hand-over is in both trails' terms: the city audited it.
	var n int64
	if err := p.city.DB.Gorm.Raw("SELECT COUNT(*) FROM audit_events WHERE action = 'federation.keys.receive' AND resource = ?", seed.MarriageRegistration).Scan(&n).Error; err != nil || n == 0 {
		t.Fatalf("federation.keys.receive events at the city: %d, %v", n, err)
	}
}

// checkCityCopies: the city's copy cityID of the district's marriage
// registrations holds each subject's versions as the district's library
// does, in the same order — the same record ids, versions and plaintext,
// published by the origin department's stand-in — sealed again under the
// city's own keys, and keyed by the city's own pseudonyms: no ID number in
// clear in its key column, and none of the district's pseudonyms.
func checkCityCopies(t *testing.T, ctx context.Context, p *pair, cityID string, subjects []string) {
	t.Helper()
	districtLib, cityLib := p.district.Library, p.city.Library
	for _, subj := range subjects {
		dh, err := districtLib.History(ctx, seed.MarriageRegistration, subj)
		if err != nil {
			t.Fatal(err)
		}
		ch, err := cityLib.History(ctx, cityID, subj)
		if err != nil {
			t.Fatalf("history at the city by ID number: %v", err)
		}
		if len(ch) != len(dh) || len(dh) == 0 {
			t.Fatalf("subject %s: %d versions at the city, %d at the district", subj, len(ch), len(dh))
		}
		for i := range dh {
			if ch[i].RecordID != dh[i].RecordID || ch[i].Version != dh[i].Version || ch[i].Publisher != districtHub+"_"+dh[i].Publisher {
				t.Fatalf("subject %s version %d: city %s v%d by %s, district %s v%d by %s", subj, i, ch[i].RecordID, ch[i].Version, ch[i].Publisher,
					dh[i].RecordID, dh[i].Version, dh[i].Publisher)
			}
			cp, err := cityLib.Plain(ctx, ch[i])
			if err != nil {
				t.Fatal(err)
			}
			dp, err := districtLib.Plain(ctx, dh[i])
			if err != nil {
				t.Fatal(err)
			}
			if string(cp) != string(dp) || !fieldcrypt.Sealed(ch[i].DataBytes()) || string(ch[i].DataBytes()) == string(dh[i].DataBytes()) {
				t.Fatalf("subject %s version %d: the city holds %s, sealed as %s; the district %s", subj, i, cp, ch[i].DataBytes(), dp)
			}
		}
	}
	keysOf := func(h *hubtest.Hub, resource string) []string {
		var keys []string
		if err := h.DB.Gorm.Raw("SELECT DISTINCT subject_key FROM library_history WHERE resource_id = ?", resource).Scan(&keys).Error; err != nil {
			t.Fatal(err)
		}
		return keys
	}
	districtKeys := keysOf(p.district, seed.MarriageRegistration)
	for _, k := range keysOf(p.city, cityID) {
		if !fieldcrypt.SealedSubject(k) || slices.Contains(districtKeys, k) {
			t.Fatalf("the city keys a record by %q", k)
		}
	}
}
