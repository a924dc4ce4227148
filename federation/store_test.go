package federation

import (
	"context"
	"testing"

	"yiku/catalog"
	"yiku/federation/peer"
	"yiku/storage/storagetest"
)

// An entry update delivered late never overwrites a newer one; a
// retirement always applies; entries the origin stopped offering retire.
func TestEntryRevisions(t *testing.T) {
	s := NewStore(storagetest.Open(t).Gorm)
	ctx := context.Background()
	put := func(id string, rev int, st catalog.Status, summary string) {
		t.Helper()
		e := Entry{PeeringID: "peer-1", ResourceID: id, OriginHub: "431302", OriginLevel: peer.LevelDistrict, OriginDept: "lx-civil",
			Revision: rev, Status: st, Resource: catalog.Resource{ID: id, Revision: rev, Summary: summary}}
		if err := s.PutEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	get := func(id string) Entry {
		t.Helper()
		e, ok, err := s.Entry(ctx, "peer-1", id)
		if err != nil || !ok {
			t.Fatalf("entry %s: %v %v", id, ok, err)
		}
		return e
	}
	put("a", 2, catalog.StatusPublished, "two")
	put("a", 1, catalog.StatusPublished, "one (late)")
	if e := get("a"); e.Revision != 2 || e.Resource.Summary != "two" {
		t.Fatalf("a late revision overwrote a newer one: %+v", e)
	}
	put("a", 3, catalog.StatusDeprecated, "three")
	if e := get("a"); e.Revision != 3 || e.Status != catalog.StatusDeprecated {
		t.Fatalf("a newer revision was not applied: %+v", e)
	}
	put("a", 1, catalog.StatusRetired, "")
	if e := get("a"); e.Status != catalog.StatusRetired {
		t.Fatalf("a retirement was not applied: %+v", e)
	}
	put("b", 1, catalog.StatusPublished, "b")
	put("c", 1, catalog.StatusPublished, "c")
	if err := s.RetireMissing(ctx, "peer-1", []string{"b"}); err != nil {
		t.Fatal(err)
	}
	if get("b").Status != catalog.StatusPublished || get("c").Status != catalog.StatusRetired {
		t.Fatalf("RetireMissing: b %s, c %s", get("b").Status, get("c").Status)
	}
	shown, err := s.Entries(ctx, []string{"peer-1"}, false)
	if err != nil || len(shown) != 1 || shown[0].ResourceID != "b" {
		t.Fatalf("entries without the retired: %+v %v", shown, err)
	}
	all, err := s.Entries(ctx, []string{"peer-1"}, true)
	if err != nil || len(all) != 3 {
		t.Fatalf("entries with the retired: %d %v", len(all), err)
	}
}

// A peering moves only from the states a step allows.
func TestPeeringSteps(t *testing.T) {
	s := NewStore(storagetest.Open(t).Gorm)
	ctx := context.Background()
	p, err := s.CreatePeering(ctx, Peering{Direction: Downstream, PeerHub: "431302", PeerLevel: peer.LevelDistrict, Fingerprint: "fp", Status: StatusPending})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.SetStatus(ctx, p.ID, []Status{StatusSuspended}, StatusActive, "x", ""); err == nil {
		t.Fatal("resumed a pending peering")
	}
	if p, err = s.SetStatus(ctx, p.ID, []Status{StatusPending}, StatusActive, "office", ""); err != nil || p.Status != StatusActive || p.DecidedBy != "office" {
		t.Fatalf("approve: %+v %v", p, err)
	}
	if got, ok, err := s.ByFingerprint(ctx, "fp"); err != nil || !ok || got.ID != p.ID {
		t.Fatalf("by fingerprint: %+v %v %v", got, ok, err)
	}
	if _, err := s.SetStatus(ctx, p.ID, []Status{StatusActive}, StatusEnded, "office", "over"); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := s.ByFingerprint(ctx, "fp"); ok {
		t.Fatal("an ended peering still serves its certificate")
	}
}

func TestCheckHub(t *testing.T) {
	for _, ok := range []string{"431302", "city-4313", "ld"} {
		if err := CheckHub(ok); err != nil {
			t.Errorf("CheckHub(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "x", "-ab", "UPPER", "a_b", "toolonghubid13"} {
		if CheckHub(bad) == nil {
			t.Errorf("CheckHub(%q) accepted", bad)
		}
	}
}
