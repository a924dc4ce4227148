package kafkaacl

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"yiku/fault"
	"yiku/identity"
)

// Login is a credential as its holder receives it, once: at enabling, at
// creating an egress subscription and at every rotation. The hub keeps no
// copy of Password.
type Login struct {
	Username  string `json:"username"`
	Password  string `json:"password"`
	Mechanism string `json:"sasl_mechanism"`
	Principal string `json:"principal"`
	// SecurityProtocol and Brokers are how the hub itself reaches Kafka;
	// a client outside may need the cluster's external listener instead.
	SecurityProtocol string   `json:"security_protocol,omitempty"`
	Brokers          []string `json:"brokers,omitempty"`
	// Topic is the one topic the principal may write (ingress) or read
	// (egress); Group the consumer group an egress reader may use.
	Topic     string    `json:"topic"`
	Group     string    `json:"group,omitempty"`
	RotatedAt time.Time `json:"rotated_at"`
}

// Topics names the topics credentials are for (exchange.Topics).
type Topics interface {
	Ingress(department string) string
	Egress(subscription string) string
}

// Service issues, rotates and revokes the hub's Kafka credentials and asks
// the reconciler to apply the ACLs that follow at once.
type Service struct {
	Scope  Scope
	Store  Store
	Admin  Admin
	Topics Topics
	// Department checks that a department exists (a fault.NotFound error
	// if not).
	Department func(ctx context.Context, code string) error
	// Sync applies the ACLs the changed state implies (Reconciler.Sync);
	// nil leaves it to the reconciler's next round.
	Sync func(ctx context.Context) error
	// Brokers and Protocol are put into every Login.
	Brokers  []string
	Protocol string
	Log      *slog.Logger
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC().Truncate(time.Microsecond)
	}
	// Microseconds: what PostgreSQL keeps, so a stored time compares
	// equal to the one written (rotation is compare-and-set on it).
	return time.Now().UTC().Truncate(time.Microsecond)
}

// mayManage says whether actor may manage department dept's Kafka ingress:
// the e-government office for every department, a department admin for
// its own (as for the department's system principals).
func mayManage(actor identity.Principal, dept string) error {
	return identity.CanManage(actor, dept, identity.RoleSystem)
}

// IngressStatus returns the department's ingress credential (without its
// password), a fault.NotFound error if none was ever issued.
func (s *Service) IngressStatus(ctx context.Context, actor identity.Principal, dept string) (Credential, error) {
	if err := mayManage(actor, dept); err != nil {
		return Credential{}, err
	}
	if err := s.Department(ctx, dept); err != nil {
		return Credential{}, err
	}
	c, err := s.Store.Get(ctx, s.Scope.DepartmentUser(dept))
	if fault.KindOf(err) == fault.NotFound {
		return Credential{}, fault.NotFoundf("kafka_ingress_not_enabled", "department %s has no Kafka ingress credentials", dept)
	}
	return c, err
}

// EnableIngress issues the department's Kafka principal: SCRAM
// credentials allowed to write its own ingress topic only. The password is
// in the returned Login and nowhere else.
func (s *Service) EnableIngress(ctx context.Context, actor identity.Principal, dept string) (Login, error) {
	if err := mayManage(actor, dept); err != nil {
		return Login{}, err
	}
	if err := s.Department(ctx, dept); err != nil {
		return Login{}, err
	}
	now := s.now()
	c := Credential{User: s.Scope.DepartmentUser(dept), Kind: KindIngress, Owner: dept, Department: dept, State: StateActive, CreatedAt: now, RotatedAt: now}
	if err := s.Store.Claim(ctx, c); err != nil {
		if fault.KindOf(err) == fault.Conflict {
			return Login{}, fault.Conflictf("kafka_ingress_enabled", "department %s already has Kafka ingress credentials; rotate them to get a new password", dept)
		}
		return Login{}, err
	}
	login, err := s.issue(ctx, c)
	if err != nil {
		s.abandon(ctx, c)
		return Login{}, err
	}
	s.sync(ctx)
	return login, nil
}

// RotateIngress replaces the department's password; the old one stops
// working for new connections at once.
func (s *Service) RotateIngress(ctx context.Context, actor identity.Principal, dept string) (Login, error) {
	c, err := s.IngressStatus(ctx, actor, dept)
	if err != nil {
		return Login{}, err
	}
	return s.rotate(ctx, c)
}

// RevokeIngress deletes the department's credentials and ACLs.
func (s *Service) RevokeIngress(ctx context.Context, actor identity.Principal, dept string) (Credential, error) {
	c, err := s.IngressStatus(ctx, actor, dept)
	if err != nil {
		return Credential{}, err
	}
	if c.State != StateActive {
		return Credential{}, fault.Conflictf("kafka_ingress_not_enabled", "department %s's Kafka ingress credentials are already revoked", dept)
	}
	return s.revoke(ctx, c)
}

// IssueEgress issues a new egress subscription's Kafka principal,
// allowed to read the subscription's own topic and group while its
// subscriber holds a grant. The subscription service calls it when it
// creates the subscription, before storing it.
func (s *Service) IssueEgress(ctx context.Context, subscription, dept string) (Login, error) {
	now := s.now()
	c := Credential{User: s.Scope.SubscriptionUser(subscription), Kind: KindEgress, Owner: subscription, Department: dept, State: StateActive, CreatedAt: now, RotatedAt: now}
	if err := s.Store.Claim(ctx, c); err != nil {
		return Login{}, err
	}
	login, err := s.issue(ctx, c)
	if err != nil {
		s.abandon(ctx, c)
		return Login{}, err
	}
	// No sync: the subscription is stored after this returns; the
	// reconciler's next round grants the read.
	return login, nil
}

// RotateEgress replaces an egress subscription's password. The caller has
// checked that the subscription is the actor's department's.
func (s *Service) RotateEgress(ctx context.Context, subscription string) (Login, error) {
	c, err := s.Store.Get(ctx, s.Scope.SubscriptionUser(subscription))
	if fault.KindOf(err) == fault.NotFound || (err == nil && c.State != StateActive) {
		return Login{}, fault.NotFoundf("kafka_credentials_not_found", "subscription %s has no active Kafka credentials (only Kafka-egress subscriptions have them)", subscription)
	}
	if err != nil {
		return Login{}, err
	}
	return s.rotate(ctx, c)
}

// EgressCredential returns an egress subscription's credential, if any.
func (s *Service) EgressCredential(ctx context.Context, subscription string) (Credential, error) {
	return s.Store.Get(ctx, s.Scope.SubscriptionUser(subscription))
}

// RevokeEgress deletes an egress subscription's credentials and ACLs (its
// subscription was cancelled). A subscription without credentials is not
// an error.
func (s *Service) RevokeEgress(ctx context.Context, subscription string) error {
	c, err := s.Store.Get(ctx, s.Scope.SubscriptionUser(subscription))
	if fault.KindOf(err) == fault.NotFound {
		return nil
	}
	if err != nil {
		return err
	}
	if c.State != StateActive {
		return nil
	}
	_, err = s.revoke(ctx, c)
	return err
}

func (s *Service) rotate(ctx context.Context, c Credential) (Login, error) {
	if c.State != StateActive {
		return Login{}, fault.Conflictf("kafka_credentials_revoked", "the Kafka credentials of %s are revoked; enable them again", c.Owner)
	}
	now := s.now()
	if !now.After(c.RotatedAt) {
		now = c.RotatedAt.Add(time.Microsecond)
	}
	if err := s.Store.Rotated(ctx, c.User, c.RotatedAt, now); err != nil {
		if fault.KindOf(err) == fault.Conflict {
			return Login{}, fault.Conflictf("kafka_credentials_changed", "the Kafka credentials of %s changed meanwhile; try again", c.Owner)
		}
		return Login{}, err
	}
	c.RotatedAt = now
	return s.issue(ctx, c)
}

// revoke marks the credential revoked first (so nothing re-grants it),
// then takes its ACLs away and deletes it from the broker. If the broker
// cannot be reached, the reconciler finishes both.
func (s *Service) revoke(ctx context.Context, c Credential) (Credential, error) {
	now := s.now()
	if err := s.Store.SetState(ctx, c.User, StateRevoked, now); err != nil {
		return Credential{}, err
	}
	c.State, c.RevokedAt = StateRevoked, &now
	s.sync(ctx)
	if err := s.Admin.DeleteSCRAM(ctx, c.User); err != nil {
		s.log().Warn("kafka credentials: delete from the broker failed; the reconciler retries", "user", c.User, "err", err)
		return c, nil
	}
	if err := s.Store.SetState(ctx, c.User, StateRemoved, now); err != nil {
		return c, err
	}
	c.State = StateRemoved
	return c, nil
}

func (s *Service) issue(ctx context.Context, c Credential) (Login, error) {
	pw, err := newPassword()
	if err != nil {
		return Login{}, err
	}
	sc, err := Salt(c.User, pw)
	if err != nil {
		return Login{}, err
	}
	if err := s.Admin.UpsertSCRAM(ctx, sc); err != nil {
		return Login{}, fault.Wrap(err, fault.Unavailable, "kafka_unavailable", "Kafka did not accept the credentials of %s", c.User)
	}
	l := Login{Username: c.User, Password: pw, Mechanism: Mechanism, Principal: c.Principal(),
		SecurityProtocol: s.Protocol, Brokers: s.Brokers, RotatedAt: c.RotatedAt}
	switch c.Kind {
	case KindIngress:
		l.Topic = s.Topics.Ingress(c.Owner)
	case KindEgress:
		l.Topic = s.Topics.Egress(c.Owner)
		l.Group = l.Topic
	}
	return l, nil
}

// abandon marks a credential whose issue failed revoked, so the
// reconciler removes whatever reached the broker.
func (s *Service) abandon(ctx context.Context, c Credential) {
	if err := s.Store.SetState(context.WithoutCancel(ctx), c.User, StateRevoked, s.now()); err != nil {
		s.log().Warn("kafka credentials: mark a failed issue revoked", "user", c.User, "err", err)
	}
}

func (s *Service) sync(ctx context.Context) {
	if s.Sync == nil {
		return
	}
	if err := s.Sync(ctx); err != nil && !errors.Is(err, context.Canceled) {
		s.log().Warn("kafka ACLs: apply after a credential change failed; the reconciler retries", "err", err)
	}
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}
