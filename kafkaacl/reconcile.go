package kafkaacl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yiku/periodic"
)

// ErrNoAuthorizer is returned by an Admin whose cluster has no authorizer
// (Kafka's SECURITY_DISABLED): ACLs cannot be listed, created or enforced.
var ErrNoAuthorizer = errors.New("kafkaacl: the Kafka cluster has no authorizer")

// Subscription is what the reconciler needs of a Kafka-egress
// subscription.
type Subscription struct {
	ID string
	// Cancelled subscriptions lose their credentials.
	Cancelled bool
	// Readable is true while the subscriber holds a grant the gate
	// honours for it (see EgressState.Readable).
	Readable bool
}

// Reconciler keeps the cluster's ACLs in the hub's scope equal to Desired
// and removes SCRAM credentials the hub revoked or does not know: at once
// when asked (Sync) and every Interval. It is a hub worker.
type Reconciler struct {
	Scope  Scope
	Store  Store
	Admin  Admin
	Topics Topics
	// Egress lists the Kafka-egress subscriptions with their state.
	Egress func(ctx context.Context) ([]Subscription, error)
	// Interval between rounds (2 s when zero): a revoked grant loses its
	// read access within one round plus the gate's own propagation.
	Interval time.Duration
	Log      *slog.Logger

	mu       sync.Mutex // one round at a time
	reported map[Binding]bool
	missing  map[string]bool
	noAuthz  bool
	m        *metrics
}

type metrics struct {
	changes  *prometheus.CounterVec
	foreign  prometheus.Gauge
	missing  prometheus.Gauge
	enforced prometheus.Gauge
	failures prometheus.Counter
}

// Register adds the reconciler's metrics to reg.
func (r *Reconciler) Register(reg prometheus.Registerer) {
	m := r.metrics()
	reg.MustRegister(m.changes, m.foreign, m.missing, m.enforced, m.failures)
}

func (r *Reconciler) metrics() *metrics {
	if r.m == nil {
		r.m = &metrics{
			changes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_kafka_acl_changes_total",
				Help: "Kafka ACL bindings the reconciler created or removed, by action and reason (desired, withdrawn: the hub's state no longer implies it, unknown: the hub did not create it)."},
				[]string{"action", "reason"}),
			foreign: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yiku_kafka_acl_foreign_bindings",
				Help: "ACL bindings outside the hub's scope that reach its topics or groups (a wildcard, a shorter prefix); reported, not removed."}),
			missing: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yiku_kafka_scram_missing",
				Help: "Active Kafka credentials the broker does not hold (rotate them to issue new ones)."}),
			enforced: prometheus.NewGauge(prometheus.GaugeOpts{Name: "yiku_kafka_acl_enforced",
				Help: "1 when the Kafka cluster has an authorizer and the last round applied the hub's ACLs, 0 otherwise."}),
			failures: prometheus.NewCounter(prometheus.CounterOpts{Name: "yiku_kafka_acl_reconcile_failures_total",
				Help: "Reconciliation rounds that failed."}),
		}
	}
	return r.m
}

// Name implements hub.Worker.
func (r *Reconciler) Name() string { return "kafka-acl-reconciler" }

// Run reconciles at once and then every Interval until ctx ends.
func (r *Reconciler) Run(ctx context.Context) error {
	iv := r.Interval
	if iv <= 0 {
		iv = 2 * time.Second
	}
	periodic.Run(ctx, iv, r.log(), "kafka ACL reconciliation", r.Sync)
	return nil
}

// Sync runs one round: it derives the desired bindings from the hub's
// state, creates the missing ones, removes the ones in the hub's scope the
// state does not imply (each logged as a warning), reports bindings
// outside the scope that reach the hub's topics, and deletes the SCRAM
// credentials of revoked principals and of principals under the hub's
// prefix it does not know.
func (r *Reconciler) Sync(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := r.metrics()
	err := r.round(ctx)
	if err != nil && ctx.Err() == nil {
		m.failures.Inc()
	}
	return err
}

func (r *Reconciler) round(ctx context.Context) error {
	m := r.metrics()
	creds, err := r.Store.List(ctx, StateActive, StateRevoked)
	if err != nil {
		return fmt.Errorf("kafka ACLs: credentials: %w", err)
	}
	subs, err := r.Egress(ctx)
	if err != nil {
		return fmt.Errorf("kafka ACLs: egress subscriptions: %w", err)
	}
	byID := make(map[string]Subscription, len(subs))
	for _, s := range subs {
		byID[s.ID] = s
	}
	st := State{Scope: r.Scope}
	known := map[string]bool{}
	var revoked []Credential
	for _, c := range creds {
		known[c.Principal()] = true
		if c.State == StateActive && c.Kind == KindEgress {
			if s, ok := byID[c.Owner]; !ok || s.Cancelled {
				// The subscription was cancelled (or never stored: its
				// creation failed after the credential was issued).
				if err := r.Store.SetState(ctx, c.User, StateRevoked, time.Now().UTC()); err != nil {
					return fmt.Errorf("kafka ACLs: revoke %s: %w", c.User, err)
				}
				c.State = StateRevoked
			}
		}
		if c.State != StateActive {
			revoked = append(revoked, c)
			continue
		}
		switch c.Kind {
		case KindIngress:
			st.Ingress = append(st.Ingress, IngressState{Department: c.Owner, User: c.User, Topic: r.Topics.Ingress(c.Owner)})
		case KindEgress:
			topic := r.Topics.Egress(c.Owner)
			st.Egress = append(st.Egress, EgressState{Subscription: c.Owner, User: c.User, Topic: topic, Group: topic, Readable: byID[c.Owner].Readable})
		}
	}
	actual, err := r.Admin.Bindings(ctx)
	if errors.Is(err, ErrNoAuthorizer) {
		m.enforced.Set(0)
		if !r.noAuthz {
			r.noAuthz = true
			r.log().Warn("Kafka has no authorizer: the hub's Kafka ACLs cannot be applied and anyone who reaches a broker reads and writes every topic")
		}
		return r.scram(ctx, revoked, nil, st)
	}
	if err != nil {
		m.enforced.Set(0)
		return fmt.Errorf("kafka ACLs: list: %w", err)
	}
	r.noAuthz = false
	plan := Diff(r.Scope, Desired(st), actual)
	if len(plan.Remove) > 0 {
		if err := r.Admin.DeleteBindings(ctx, plan.Remove); err != nil {
			m.enforced.Set(0)
			return fmt.Errorf("kafka ACLs: remove: %w", err)
		}
	}
	var unknown []string
	for _, b := range plan.Remove {
		if known[b.Principal] || b.Principal == r.Scope.Hub {
			m.changes.WithLabelValues("remove", "withdrawn").Inc()
			r.log().Info("kafka ACL withdrawn", "principal", b.Principal, "resource_type", b.Type, "resource", b.Name, "pattern", b.Pattern, "operation", b.Operation, "permission", b.Permission, "host", b.Host)
			continue
		}
		m.changes.WithLabelValues("remove", "unknown").Inc()
		r.log().Warn("kafka ACL the hub did not create removed", "principal", b.Principal, "resource_type", b.Type, "resource", b.Name, "pattern", b.Pattern, "operation", b.Operation, "permission", b.Permission, "host", b.Host)
		if user, ok := userOf(b.Principal); ok && r.Scope.OwnsUser(user) && !slices.Contains(unknown, user) {
			unknown = append(unknown, user)
		}
	}
	if len(plan.Create) > 0 {
		if err := r.Admin.CreateBindings(ctx, plan.Create); err != nil {
			m.enforced.Set(0)
			return fmt.Errorf("kafka ACLs: create: %w", err)
		}
		for _, b := range plan.Create {
			m.changes.WithLabelValues("create", "desired").Inc()
			r.log().Debug("kafka ACL created", "binding", b.String())
		}
	}
	r.reportForeign(plan.Foreign)
	m.enforced.Set(1)
	return r.scram(ctx, revoked, unknown, st)
}

// scram deletes the broker's credentials of revoked principals and of
// unknown principals under the hub's prefix, and reports active ones the
// broker lacks. Users outside the prefix are never touched.
func (r *Reconciler) scram(ctx context.Context, revoked []Credential, unknown []string, st State) error {
	for _, c := range revoked {
		if err := r.Admin.DeleteSCRAM(ctx, c.User); err != nil {
			return fmt.Errorf("kafka credentials: delete %s: %w", c.User, err)
		}
		if err := r.Store.SetState(ctx, c.User, StateRemoved, time.Now().UTC()); err != nil {
			return fmt.Errorf("kafka credentials: %s removed: %w", c.User, err)
		}
		r.log().Info("kafka credentials of a revoked principal deleted", "user", c.User)
	}
	if len(unknown) > 0 {
		have, err := r.Admin.SCRAMUsers(ctx, unknown)
		if err != nil {
			return fmt.Errorf("kafka credentials: describe: %w", err)
		}
		for _, u := range unknown {
			if !have[u] {
				continue
			}
			if err := r.Admin.DeleteSCRAM(ctx, u); err != nil {
				return fmt.Errorf("kafka credentials: delete %s: %w", u, err)
			}
			r.log().Warn("kafka credentials the hub did not issue deleted (the user is under the hub's prefix)", "user", u)
		}
	}
	var active []string
	for _, in := range st.Ingress {
		active = append(active, in.User)
	}
	for _, eg := range st.Egress {
		active = append(active, eg.User)
	}
	if len(active) == 0 {
		r.missing = nil
		r.metrics().missing.Set(0)
		return nil
	}
	have, err := r.Admin.SCRAMUsers(ctx, active)
	if err != nil {
		return fmt.Errorf("kafka credentials: describe: %w", err)
	}
	missing := map[string]bool{}
	for _, u := range active {
		if have[u] {
			continue
		}
		missing[u] = true
		if !r.missing[u] {
			r.log().Warn("kafka credentials the hub issued are missing from the broker; rotate them to issue new ones", "user", u)
		}
	}
	r.missing = missing
	r.metrics().missing.Set(float64(len(missing)))
	return nil
}

// reportForeign logs each binding outside the scope that reaches the
// hub's topics once, when it is first seen.
func (r *Reconciler) reportForeign(bs []Binding) {
	seen := make(map[Binding]bool, len(bs))
	for _, b := range bs {
		seen[b] = true
		if !r.reported[b] {
			r.log().Warn("kafka ACL outside the hub's scope reaches its topics (not removed: not the hub's)", "principal", b.Principal, "resource_type", b.Type, "resource", b.Name, "pattern", b.Pattern, "operation", b.Operation, "host", b.Host)
		}
	}
	r.reported = seen
	r.metrics().foreign.Set(float64(len(bs)))
}

func (r *Reconciler) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

func userOf(principal string) (string, bool) {
	u, ok := strings.CutPrefix(principal, "User:")
	return u, ok && u != ""
}
