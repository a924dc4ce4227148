package kafkaacl_test

import (
	"bytes"
	"context"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"

	"yiku/exchange"
	"yiku/kafkaacl"
	"yiku/kafkaacl/kafkaadmin"
	"yiku/kafkaacl/sqlstore"
	"yiku/storage/storagetest"
)

// fixture is a reconciler on a kfake broker with SASL and ACLs and a real
// credential store; subs is the egress state it is told.
type fixture struct {
	rec   *kafkaacl.Reconciler
	admin *kafkaadmin.Admin
	store *sqlstore.Store
	subs  []kafkaacl.Subscription
	log   *bytes.Buffer
}

func newFixture(t *testing.T, prefix string) *fixture {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "root", "root-pw"), kfake.EnableACLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	m, err := scram.Mechanism(scram.SHA512, "root", "root-pw")
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{
		admin: &kafkaadmin.Admin{Client: &kafka.Client{Addr: kafka.TCP(c.ListenAddrs()...), Timeout: 5 * time.Second, Transport: &kafka.Transport{SASL: m}}},
		store: sqlstore.New(storagetest.Open(t)),
		log:   &bytes.Buffer{},
	}
	f.rec = &kafkaacl.Reconciler{Scope: kafkaacl.Scope{Prefix: prefix, Hub: "User:root"}, Store: f.store, Admin: f.admin,
		Topics: exchange.Topics{Prefix: prefix}, Log: slog.New(slog.NewTextHandler(f.log, nil)),
		Egress: func(context.Context) ([]kafkaacl.Subscription, error) { return f.subs, nil }}
	return f
}

func (f *fixture) sync(t *testing.T) {
	t.Helper()
	if err := f.rec.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (f *fixture) bindings(t *testing.T) []kafkaacl.Binding {
	t.Helper()
	bs, err := f.admin.Bindings(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

func (f *fixture) issue(t *testing.T, c kafkaacl.Credential) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Microsecond)
	c.State, c.CreatedAt, c.RotatedAt = kafkaacl.StateActive, now, now
	if err := f.store.Claim(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	sc, err := kafkaacl.Salt(c.User, "pw-"+c.User)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.admin.UpsertSCRAM(context.Background(), sc); err != nil {
		t.Fatal(err)
	}
}

func allow(p string, rt kafkaacl.ResourceType, name string, pat kafkaacl.Pattern, op kafkaacl.Operation) kafkaacl.Binding {
	return kafkaacl.Binding{Principal: p, Type: rt, Name: name, Pattern: pat, Operation: op, Permission: kafkaacl.Allow, Host: "*"}
}

func TestReconcilerKeepsTheClusterEqualToTheState(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "h1")
	f.issue(t, kafkaacl.Credential{User: "h1-dept-a", Kind: kafkaacl.KindIngress, Owner: "a", Department: "a"})
	f.issue(t, kafkaacl.Credential{User: "h1-sub-1", Kind: kafkaacl.KindEgress, Owner: "sub-1", Department: "a"})
	f.issue(t, kafkaacl.Credential{User: "h1-sub-2", Kind: kafkaacl.KindEgress, Owner: "sub-2", Department: "a"})
	f.subs = []kafkaacl.Subscription{{ID: "sub-1", Readable: true}, {ID: "sub-2", Readable: false}}

	// Someone else's: another hub's binding, a hand-made user under our
	// prefix with a binding, a wildcard that reaches our topics.
	other := allow("User:h2-dept-a", kafkaacl.Topic, "h2.ingress.a", kafkaacl.Literal, kafkaacl.Write)
	intruder := allow("User:h1-dept-x", kafkaacl.Topic, "h1.records.population", kafkaacl.Literal, kafkaacl.Read)
	wildcard := allow("User:auditor", kafkaacl.Topic, "*", kafkaacl.Literal, kafkaacl.Describe)
	if err := f.admin.CreateBindings(ctx, []kafkaacl.Binding{other, intruder, wildcard}); err != nil {
		t.Fatal(err)
	}
	sc, _ := kafkaacl.Salt("h1-dept-x", "x")
	if err := f.admin.UpsertSCRAM(ctx, sc); err != nil {
		t.Fatal(err)
	}
	sc, _ = kafkaacl.Salt("h2-dept-a", "x")
	if err := f.admin.UpsertSCRAM(ctx, sc); err != nil {
		t.Fatal(err)
	}

	f.sync(t)
	want := []kafkaacl.Binding{
		wildcard, other,
		allow("User:h1-dept-a", kafkaacl.Topic, "h1.ingress.a", kafkaacl.Literal, kafkaacl.Write),
		allow("User:h1-sub-1", kafkaacl.Group, "h1.egress.sub-1", kafkaacl.Literal, kafkaacl.Read),
		allow("User:h1-sub-1", kafkaacl.Topic, "h1.egress.sub-1", kafkaacl.Literal, kafkaacl.Read),
		allow("User:root", kafkaacl.Group, "h1.", kafkaacl.Prefixed, kafkaacl.All),
		allow("User:root", kafkaacl.Topic, "h1.", kafkaacl.Prefixed, kafkaacl.All),
	}
	kafkaacl.Sort(want)
	if got := f.bindings(t); !slices.Equal(got, want) {
		t.Fatalf("after the first round\n%v\nwant\n%v", got, want)
	}
	have, err := f.admin.SCRAMUsers(ctx, []string{"h1-dept-x", "h2-dept-a", "h1-sub-2"})
	if err != nil {
		t.Fatal(err)
	}
	if have["h1-dept-x"] || !have["h2-dept-a"] || !have["h1-sub-2"] {
		t.Fatalf("SCRAM users %v: the unknown one under the prefix goes, another hub's and a known one without a grant stay", have)
	}
	logged := f.log.String()
	for _, s := range []string{"kafka ACL the hub did not create removed", "principal=User:h1-dept-x", "resource=h1.records.population", "operation=read",
		"kafka ACL outside the hub's scope reaches its topics", "principal=User:auditor"} {
		if !strings.Contains(logged, s) {
			t.Errorf("log lacks %q:\n%s", s, logged)
		}
	}

	// The grant comes back for sub-2, sub-1 is cancelled, the department's
	// ingress is revoked.
	f.subs = []kafkaacl.Subscription{{ID: "sub-1", Cancelled: true}, {ID: "sub-2", Readable: true}}
	if err := f.store.SetState(ctx, "h1-dept-a", kafkaacl.StateRevoked, time.Now()); err != nil {
		t.Fatal(err)
	}
	f.sync(t)
	want = []kafkaacl.Binding{
		wildcard, other,
		allow("User:h1-sub-2", kafkaacl.Group, "h1.egress.sub-2", kafkaacl.Literal, kafkaacl.Read),
		allow("User:h1-sub-2", kafkaacl.Topic, "h1.egress.sub-2", kafkaacl.Literal, kafkaacl.Read),
		allow("User:root", kafkaacl.Group, "h1.", kafkaacl.Prefixed, kafkaacl.All),
		allow("User:root", kafkaacl.Topic, "h1.", kafkaacl.Prefixed, kafkaacl.All),
	}
	kafkaacl.Sort(want)
	if got := f.bindings(t); !slices.Equal(got, want) {
		t.Fatalf("after the second round\n%v\nwant\n%v", got, want)
	}
	have, _ = f.admin.SCRAMUsers(ctx, []string{"h1-dept-a", "h1-sub-1", "h1-sub-2"})
	if have["h1-dept-a"] || have["h1-sub-1"] || !have["h1-sub-2"] {
		t.Fatalf("SCRAM users after revocation and cancellation: %v", have)
	}
	for _, u := range []string{"h1-dept-a", "h1-sub-1"} {
		c, err := f.store.Get(ctx, u)
		if err != nil || c.State != kafkaacl.StateRemoved {
			t.Fatalf("%s: %+v %v, want removed", u, c, err)
		}
	}

	// A round with nothing to do changes nothing.
	before := f.bindings(t)
	f.sync(t)
	if got := f.bindings(t); !slices.Equal(got, before) {
		t.Fatalf("an idle round changed %v to %v", before, got)
	}
}
