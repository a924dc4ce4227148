package kafkaacl

import (
	"slices"
	"testing"
)

func allow(principal string, t ResourceType, name string, p Pattern, op Operation) Binding {
	return Binding{Principal: principal, Type: t, Name: name, Pattern: p, Operation: op, Permission: Allow, Host: AnyHost}
}

func TestDesired(t *testing.T) {
	scope := Scope{Prefix: "yiku", Hub: "User:yiku"}
	hub := []Binding{
		allow("User:yiku", Group, "yiku.", Prefixed, All),
		allow("User:yiku", Topic, "yiku.", Prefixed, All),
	}
	psb := IngressState{Department: "lx-psb", User: scope.DepartmentUser("lx-psb"), Topic: "yiku.ingress.lx-psb"}
	sub := EgressState{Subscription: "s1", User: scope.SubscriptionUser("s1"), Topic: "yiku.egress.s1", Group: "yiku.egress.s1", Readable: true}
	tests := []struct {
		name  string
		state State
		want  []Binding
	}{
		{"nothing enabled: the hub alone", State{Scope: scope}, hub},
		{"no hub principal (no SASL): no hub bindings", State{Scope: Scope{Prefix: "yiku"}}, nil},
		{"a department writes its own ingress topic only",
			State{Scope: scope, Ingress: []IngressState{psb}},
			append(slices.Clone(hub), allow("User:yiku-dept-lx-psb", Topic, "yiku.ingress.lx-psb", Literal, Write))},
		{"a readable egress subscription reads its topic and group",
			State{Scope: scope, Egress: []EgressState{sub}},
			append(slices.Clone(hub),
				allow("User:yiku-sub-s1", Group, "yiku.egress.s1", Literal, Read),
				allow("User:yiku-sub-s1", Topic, "yiku.egress.s1", Literal, Read))},
		{"a subscription without a grant reads nothing",
			State{Scope: scope, Egress: []EgressState{{Subscription: "s1", User: "yiku-sub-s1", Topic: "yiku.egress.s1", Group: "yiku.egress.s1"}}},
			hub},
		{"duplicates collapse",
			State{Scope: scope, Ingress: []IngressState{psb, psb}},
			append(slices.Clone(hub), allow("User:yiku-dept-lx-psb", Topic, "yiku.ingress.lx-psb", Literal, Write))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Desired(tc.state)
			want := slices.Clone(tc.want)
			Sort(want)
			if !slices.Equal(got, want) {
				t.Fatalf("Desired =\n%v\nwant\n%v", got, want)
			}
		})
	}
}

// No binding Desired hands a department or subscription reaches the
// records, policy, dead-letter or another department's topics.
func TestDesiredGrantsNothingOnInternalTopics(t *testing.T) {
	scope := Scope{Prefix: "yiku", Hub: "User:yiku"}
	st := State{Scope: scope,
		Ingress: []IngressState{{Department: "a", User: scope.DepartmentUser("a"), Topic: "yiku.ingress.a"}},
		Egress:  []EgressState{{Subscription: "s", User: scope.SubscriptionUser("s"), Topic: "yiku.egress.s", Group: "yiku.egress.s", Readable: true}},
	}
	for _, b := range Desired(st) {
		if b.Principal == scope.Hub {
			continue
		}
		if b.Pattern != Literal || b.Name == "*" {
			t.Errorf("%v: a department or subscription binding must be literal", b)
		}
		for _, internal := range []string{"yiku.records.x", "yiku.policy", "yiku.dlq.a", "yiku.ingress.b", "yiku.library"} {
			if b.Name == internal {
				t.Errorf("%v reaches %s", b, internal)
			}
		}
	}
}

func TestScope(t *testing.T) {
	s := Scope{Prefix: "t1", Hub: "User:yiku"}
	tests := []struct {
		b            Binding
		owns, covers bool
	}{
		{allow("User:t1-dept-a", Topic, "t1.ingress.a", Literal, Write), true, false},
		{allow("User:mallory", Topic, "t1.records.population", Literal, Read), true, false},
		{allow("User:mallory", Group, "t1.library", Literal, Read), true, false},
		{allow("User:t1-sub-x", Topic, "other.topic", Literal, Read), true, false}, // the hub's principal name, anywhere
		{allow("User:mallory", Topic, "t10.records.population", Literal, Read), false, false},
		{allow("User:t10-dept-a", Topic, "t10.ingress.a", Literal, Write), false, false}, // another hub's
		{allow("User:mallory", Topic, "*", Literal, Read), false, true},
		{allow("User:mallory", Topic, "t", Prefixed, Read), false, true},
		{allow("User:mallory", Topic, "t1", Literal, Read), false, false},
		{allow("User:yiku", Topic, "*", Literal, All), false, false}, // the hub's own
		{Binding{Principal: "User:mallory", Type: Topic, Name: "*", Pattern: Literal, Operation: Read, Permission: Deny, Host: "*"}, false, false},
		{allow("User:mallory", Cluster, "kafka-cluster", Literal, Describe), false, false},
	}
	for _, tc := range tests {
		if got := s.Owns(tc.b); got != tc.owns {
			t.Errorf("Owns(%v) = %v, want %v", tc.b, got, tc.owns)
		}
		if got := s.Covers(tc.b); got != tc.covers {
			t.Errorf("Covers(%v) = %v, want %v", tc.b, got, tc.covers)
		}
	}
	if !s.OwnsUser("t1-sub-x") || s.OwnsUser("t10-sub-x") || s.OwnsUser("yiku") {
		t.Error("OwnsUser: only users named <prefix>-… are the hub's")
	}
}

func TestDiff(t *testing.T) {
	scope := Scope{Prefix: "yiku", Hub: "User:yiku"}
	hubTopic := allow("User:yiku", Topic, "yiku.", Prefixed, All)
	ingress := allow("User:yiku-dept-a", Topic, "yiku.ingress.a", Literal, Write)
	egress := allow("User:yiku-sub-s", Topic, "yiku.egress.s", Literal, Read)
	handAdded := allow("User:mallory", Topic, "yiku.records.population", Literal, Read)
	hubExtra := allow("User:yiku", Cluster, "kafka-cluster", Literal, All)
	hubOnTopic := allow("User:yiku", Topic, "yiku.records.population", Literal, Read)
	wildcard := allow("User:mallory", Topic, "*", Literal, Read)
	otherHub := allow("User:t2-dept-a", Topic, "t2.ingress.a", Literal, Write)
	tests := []struct {
		name            string
		desired, actual []Binding
		want            Plan
	}{
		{"empty cluster: create all", []Binding{hubTopic, ingress}, nil, Plan{Create: []Binding{hubTopic, ingress}}},
		{"in sync", []Binding{hubTopic, ingress}, []Binding{ingress, hubTopic}, Plan{}},
		{"revoked egress is removed", []Binding{hubTopic}, []Binding{hubTopic, egress}, Plan{Remove: []Binding{egress}}},
		{"hand-added binding on a records topic is removed", []Binding{hubTopic}, []Binding{hubTopic, handAdded}, Plan{Remove: []Binding{handAdded}}},
		{"the hub's own extra bindings stay", []Binding{hubTopic}, []Binding{hubTopic, hubExtra, hubOnTopic}, Plan{}},
		{"a wildcard is reported, not removed", []Binding{hubTopic}, []Binding{hubTopic, wildcard}, Plan{Foreign: []Binding{wildcard}}},
		{"another hub's bindings are left alone", nil, []Binding{otherHub}, Plan{}},
		{"duplicates in the listing count once", []Binding{hubTopic}, []Binding{hubTopic, egress, egress}, Plan{Remove: []Binding{egress}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Diff(scope, tc.desired, tc.actual)
			if !slices.Equal(got.Create, tc.want.Create) || !slices.Equal(got.Remove, tc.want.Remove) || !slices.Equal(got.Foreign, tc.want.Foreign) {
				t.Fatalf("Diff = %+v, want %+v", got, tc.want)
			}
		})
	}
}
