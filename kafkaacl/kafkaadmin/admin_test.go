package kafkaadmin_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/sasl/scram"
	"github.com/twmb/franz-go/pkg/kfake"

	"yiku/kafkaacl"
	"yiku/kafkaacl/kafkaadmin"
)

// secured starts a kfake broker that requires SASL/SCRAM-SHA-512 and
// enforces ACLs, with root as its super user.
func secured(t *testing.T) string {
	t.Helper()
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.EnableSASL(), kfake.Superuser("SCRAM-SHA-512", "root", "root-pw"), kfake.EnableACLs())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c.ListenAddrs()[0]
}

func transport(t *testing.T, user, pw string) *kafka.Transport {
	t.Helper()
	m, err := scram.Mechanism(scram.SHA512, user, pw)
	if err != nil {
		t.Fatal(err)
	}
	return &kafka.Transport{SASL: m, DialTimeout: 2 * time.Second}
}

func produce(addr net.Addr, tr *kafka.Transport, topic string) error {
	w := &kafka.Writer{Addr: addr, Transport: tr, MaxAttempts: 1, BatchTimeout: time.Millisecond, AllowAutoTopicCreation: false}
	defer w.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return w.WriteMessages(ctx, kafka.Message{Topic: topic, Key: []byte("k"), Value: []byte("{}")})
}

func TestAdminBindingsAndSCRAM(t *testing.T) {
	ctx := context.Background()
	addr := kafka.TCP(secured(t))
	root := &kafka.Client{Addr: addr, Timeout: 5 * time.Second, Transport: transport(t, "root", "root-pw")}
	admin := &kafkaadmin.Admin{Client: root}
	if _, err := root.CreateTopics(ctx, &kafka.CreateTopicsRequest{Topics: []kafka.TopicConfig{
		{Topic: "t.ingress.a", NumPartitions: 1, ReplicationFactor: 1},
		{Topic: "t.ingress.b", NumPartitions: 1, ReplicationFactor: 1},
	}}); err != nil {
		t.Fatal(err)
	}

	scope := kafkaacl.Scope{Prefix: "t"}
	user := scope.DepartmentUser("a")
	sc, err := kafkaacl.Salt(user, "s3cret-pw")
	if err != nil {
		t.Fatal(err)
	}
	if err := admin.UpsertSCRAM(ctx, sc); err != nil {
		t.Fatal(err)
	}
	have, err := admin.SCRAMUsers(ctx, []string{user, "nobody"})
	if err != nil {
		t.Fatal(err)
	}
	if !have[user] || have["nobody"] {
		t.Fatalf("SCRAMUsers = %v", have)
	}

	// A new connection each time, as a client that was refused reconnects.
	dept := func() *kafka.Transport { return transport(t, user, "s3cret-pw") }
	if err := produce(addr, dept(), "t.ingress.a"); err == nil {
		t.Fatal("a principal without ACLs wrote a topic")
	}
	write := kafkaacl.Binding{Principal: kafkaacl.Principal(user), Type: kafkaacl.Topic, Name: "t.ingress.a", Pattern: kafkaacl.Literal,
		Operation: kafkaacl.Write, Permission: kafkaacl.Allow, Host: kafkaacl.AnyHost}
	// One the hub never creates: an operation kafkaacl has no name for.
	odd := kafkaacl.Binding{Principal: "User:mallory", Type: kafkaacl.Cluster, Name: "kafka-cluster", Pattern: kafkaacl.Literal,
		Operation: "alterconfigs", Permission: kafkaacl.Allow, Host: kafkaacl.AnyHost}
	if err := admin.CreateBindings(ctx, []kafkaacl.Binding{write, odd}); err != nil {
		t.Fatal(err)
	}
	got, err := admin.Bindings(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0] != odd || got[1] != write {
		t.Fatalf("Bindings = %v", got)
	}
	if err := produce(addr, dept(), "t.ingress.a"); err != nil {
		t.Fatalf("write own ingress topic: %v", err)
	}
	if err := produce(addr, dept(), "t.ingress.b"); err == nil {
		t.Fatal("wrote another department's ingress topic")
	}
	if err := admin.DeleteBindings(ctx, []kafkaacl.Binding{write, odd}); err != nil {
		t.Fatal(err)
	}
	if got, _ := admin.Bindings(ctx); len(got) != 0 {
		t.Fatalf("after delete: %v", got)
	}
	if err := produce(addr, dept(), "t.ingress.a"); err == nil {
		t.Fatal("wrote after the binding was deleted")
	}
	if err := admin.DeleteSCRAM(ctx, user); err != nil {
		t.Fatal(err)
	}
	if err := admin.DeleteSCRAM(ctx, user); err != nil {
		t.Fatalf("deleting an absent user: %v", err)
	}
	if have, _ := admin.SCRAMUsers(ctx, []string{user}); have[user] {
		t.Fatal("user still there")
	}
	_, err = (&kafka.Client{Addr: addr, Timeout: 3 * time.Second, Transport: transport(t, user, "s3cret-pw")}).Metadata(ctx, &kafka.MetadataRequest{})
	// Apache Kafka answers SASL_AUTHENTICATION_FAILED, kfake hangs up.
	if err == nil {
		t.Fatal("logged in after the credential was deleted")
	}
}
