package kafkaacl

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ResourceType is the kind of Kafka resource a binding is on.
type ResourceType string

// Resource types the hub's bindings use (the cluster may hold others).
const (
	Topic           ResourceType = "topic"
	Group           ResourceType = "group"
	Cluster         ResourceType = "cluster"
	TransactionalID ResourceType = "transactional_id"
)

// Pattern says how a binding's resource name matches.
type Pattern string

// Patterns.
const (
	Literal  Pattern = "literal"
	Prefixed Pattern = "prefixed"
)

// Operation is a Kafka ACL operation.
type Operation string

// Operations the hub grants (the cluster may hold others).
const (
	All      Operation = "all"
	Read     Operation = "read"
	Write    Operation = "write"
	Describe Operation = "describe"
)

// Permission allows or denies.
type Permission string

// Permissions.
const (
	Allow Permission = "allow"
	Deny  Permission = "deny"
)

// AnyHost is the host of every binding the hub creates.
const AnyHost = "*"

// Binding is one Kafka ACL: principal may (or may not) do operation on
// the resource from host. It is comparable, so sets of bindings are maps.
type Binding struct {
	Principal  string       `json:"principal"`
	Type       ResourceType `json:"resource_type"`
	Name       string       `json:"resource_name"`
	Pattern    Pattern      `json:"pattern"`
	Operation  Operation    `json:"operation"`
	Permission Permission   `json:"permission"`
	Host       string       `json:"host"`
}

func (b Binding) String() string {
	return fmt.Sprintf("%s %s %s on %s %s:%s from %s", b.Principal, b.Permission, b.Operation, b.Pattern, b.Type, b.Name, b.Host)
}

func compareBindings(a, b Binding) int {
	return cmp.Or(
		cmp.Compare(a.Principal, b.Principal),
		cmp.Compare(a.Type, b.Type),
		cmp.Compare(a.Name, b.Name),
		cmp.Compare(a.Pattern, b.Pattern),
		cmp.Compare(a.Operation, b.Operation),
		cmp.Compare(a.Permission, b.Permission),
		cmp.Compare(a.Host, b.Host),
	)
}

// Sort orders bindings by principal, then resource, then operation, so
// lists and logs read the same way every time.
func Sort(bs []Binding) { slices.SortFunc(bs, compareBindings) }

// Scope is the part of a shared cluster one hub owns: resources under its
// topic prefix and principals it names. Several hubs (or test runs) on
// one cluster each touch their own scope only. Prefixes of hubs sharing a
// cluster must not extend one another across a separator ("yiku" and
// "yiku.b", "yiku" and "yiku-sub"): the topics themselves would collide.
type Scope struct {
	// Prefix is the hub's topic prefix.
	Prefix string
	// Hub is the hub's own Kafka principal ("User:yiku"), "" when the hub
	// connects without SASL.
	Hub string
}

// resourcePrefix is what every resource name of the hub begins with.
func (s Scope) resourcePrefix() string { return s.Prefix + "." }

// principalPrefix is what every principal the hub names begins with.
func (s Scope) principalPrefix() string { return "User:" + s.Prefix + "-" }

// DepartmentUser is the SCRAM user name of a department's Kafka ingress.
func (s Scope) DepartmentUser(department string) string { return s.Prefix + "-dept-" + department }

// SubscriptionUser is the SCRAM user name of a Kafka-egress subscription:
// <prefix>-sub-<id>, the id without its own "sub-".
func (s Scope) SubscriptionUser(subscription string) string {
	return s.Prefix + "-sub-" + strings.TrimPrefix(subscription, "sub-")
}

// Principal is the Kafka principal of a SCRAM user.
func Principal(user string) string { return "User:" + user }

// OwnsUser says whether a SCRAM user is one the hub names (and so may
// delete when it does not know it).
func (s Scope) OwnsUser(user string) bool {
	return strings.HasPrefix(Principal(user), s.principalPrefix())
}

// Owns says whether a binding is the hub's to keep or remove: it is on a
// topic, group or transactional id under the hub's prefix, or it names a
// principal the hub names. Bindings of the hub's own principal are never
// the reconciler's to remove (an operator may have granted the hub what
// it needs); they are owned only to be created.
func (s Scope) Owns(b Binding) bool {
	if strings.HasPrefix(b.Principal, s.principalPrefix()) {
		return true
	}
	switch b.Type {
	case Topic, Group, TransactionalID:
		return strings.HasPrefix(b.Name, s.resourcePrefix())
	}
	return false
}

// Covers says whether a binding the hub does not own still reaches the
// hub's topics or groups: a wildcard, or a prefix shorter than the hub's
// (an ACL on prefixed "yi" reads "yiku.records.*"). Such bindings are
// reported, never removed: they belong to whoever wrote them.
func (s Scope) Covers(b Binding) bool {
	if s.Owns(b) || b.Permission != Allow {
		return false
	}
	if b.Type != Topic && b.Type != Group {
		return false
	}
	if b.Hub(s) {
		return false
	}
	switch b.Pattern {
	case Literal:
		return b.Name == "*"
	case Prefixed:
		return strings.HasPrefix(s.resourcePrefix(), b.Name)
	}
	return false
}

// Hub says whether the binding is the hub's own principal's.
func (b Binding) Hub(s Scope) bool { return s.Hub != "" && b.Principal == s.Hub }
