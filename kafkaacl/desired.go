package kafkaacl

// State is what the hub's Kafka authorisation derives from.
type State struct {
	Scope Scope
	// Ingress lists the departments whose Kafka ingress is enabled
	// (credentials issued and not revoked).
	Ingress []IngressState
	// Egress lists the Kafka-egress subscriptions that have credentials.
	Egress []EgressState
}

// IngressState is one department publishing over Kafka.
type IngressState struct {
	Department string
	// User is the department's SCRAM user (Scope.DepartmentUser).
	User string
	// Topic is the department's ingress topic.
	Topic string
}

// EgressState is one Kafka-egress subscription.
type EgressState struct {
	Subscription string
	// User is the subscription's SCRAM user (Scope.SubscriptionUser).
	User string
	// Topic and Group are the subscription's own egress topic and the
	// consumer group its reader may use.
	Topic string
	Group string
	// Readable is true while the subscription is active and its
	// subscriber holds a grant the gate honours (principal enabled,
	// resource shared, filter on plain fields). False takes read access
	// away; the credentials stay until the subscription is cancelled.
	Readable bool
}

// Desired returns the bindings the state implies, sorted:
//
//   - the hub's principal: every operation on topics and groups under the
//     prefix (nothing when the hub has no principal: without SASL there is
//     no one to tell apart);
//   - a department with Kafka ingress: write (and the describe it implies)
//     on its own ingress topic, nothing else;
//   - a readable egress subscription: read on its own egress topic and
//     its own consumer group, nothing else.
//
// Nothing grants a department or subscription principal anything on the
// records, policy, dead-letter or another department's topics, so the
// broker refuses those reads and writes like the gate does.
func Desired(st State) []Binding {
	var out []Binding
	add := func(principal string, t ResourceType, name string, p Pattern, op Operation) {
		out = append(out, Binding{Principal: principal, Type: t, Name: name, Pattern: p, Operation: op, Permission: Allow, Host: AnyHost})
	}
	if st.Scope.Hub != "" {
		add(st.Scope.Hub, Topic, st.Scope.resourcePrefix(), Prefixed, All)
		add(st.Scope.Hub, Group, st.Scope.resourcePrefix(), Prefixed, All)
	}
	for _, in := range st.Ingress {
		add(Principal(in.User), Topic, in.Topic, Literal, Write)
	}
	for _, eg := range st.Egress {
		if !eg.Readable {
			continue
		}
		add(Principal(eg.User), Topic, eg.Topic, Literal, Read)
		add(Principal(eg.User), Group, eg.Group, Literal, Read)
	}
	Sort(out)
	return compact(out)
}

func compact(bs []Binding) []Binding {
	out := bs[:0]
	for i, b := range bs {
		if i > 0 && b == bs[i-1] {
			continue
		}
		out = append(out, b)
	}
	return out
}

// Plan is what a reconciliation changes.
type Plan struct {
	// Create are desired bindings the cluster lacks.
	Create []Binding
	// Remove are bindings in the hub's scope the state does not imply.
	Remove []Binding
	// Foreign are bindings outside the hub's scope that still reach its
	// topics or groups (a wildcard, a shorter prefix): reported only.
	Foreign []Binding
}

// Diff compares the desired bindings with the cluster's. Bindings of the
// hub's own principal are created when missing but never removed.
func Diff(scope Scope, desired, actual []Binding) Plan {
	want := make(map[Binding]bool, len(desired))
	for _, b := range desired {
		want[b] = true
	}
	have := make(map[Binding]bool, len(actual))
	var p Plan
	for _, b := range actual {
		if have[b] {
			continue
		}
		have[b] = true
		switch {
		case want[b]:
		case scope.Owns(b) && !b.Hub(scope):
			p.Remove = append(p.Remove, b)
		case scope.Covers(b):
			p.Foreign = append(p.Foreign, b)
		}
	}
	for _, b := range desired {
		if !have[b] {
			p.Create = append(p.Create, b)
		}
	}
	Sort(p.Create)
	Sort(p.Remove)
	Sort(p.Foreign)
	return p
}
