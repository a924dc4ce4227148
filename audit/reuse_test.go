package audit

import "testing"

func TestComputeReuseCountsLookupsWithARefusal(t *testing.T) {
	lookup := func(outcome Outcome, reason string) Event {
		return Event{Action: ActionLookup, Outcome: outcome, Reason: reason}
	}
	events := []Event{
		lookup(Allowed, "item=a supplied=2 not_available=0 not_permitted=0"),
		lookup(Allowed, "item=a supplied=1 not_available=1 not_permitted=1"), // one material refused
		lookup(Denied, "item=b supplied=0 not_available=0 not_permitted=1"),  // all refused
		lookup(Allowed, "item=c supplied=0 not_available=1 not_permitted=0"),
		lookup(Allowed, "item=d"),
		lookup(Allowed, "item=e not_permitted=x"),
		{Action: ActionReuse, Outcome: Allowed, Department: "lx-gsc", Resource: "population", Reason: ReuseReason("a", "id-card")},
		{Action: ActionReuse, Outcome: Denied, Department: "lx-gsc", Resource: "social-security", Reason: ReuseReason("a", "insurance") + " denied=no_grant"},
	}
	st := ComputeReuse(events, nil)
	if st.Lookups != 6 || st.LookupsDenied != 2 || st.Supplied != 1 {
		t.Fatalf("lookups %d, denied %d, supplied %d; want 6, 2, 1", st.Lookups, st.LookupsDenied, st.Supplied)
	}
}
