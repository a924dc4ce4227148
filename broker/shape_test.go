package broker_test

import (
	"context"
	"testing"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/broker/brokertest"
)

func TestDeriveTopicShape(t *testing.T) {
	for _, c := range []struct {
		brokers, rf, isr int
		want             broker.TopicShape
		err              bool
	}{
		{brokers: 1, want: broker.TopicShape{Brokers: 1, Replication: 1, MinInSync: 1}},
		{brokers: 2, want: broker.TopicShape{Brokers: 2, Replication: 2, MinInSync: 1}},
		{brokers: 3, want: broker.TopicShape{Brokers: 3, Replication: 3, MinInSync: 2}},
		{brokers: 5, want: broker.TopicShape{Brokers: 5, Replication: 3, MinInSync: 2}},
		{brokers: 3, rf: 1, want: broker.TopicShape{Brokers: 3, Replication: 1, MinInSync: 1}},
		{brokers: 5, rf: 5, isr: 3, want: broker.TopicShape{Brokers: 5, Replication: 5, MinInSync: 3}},
		{brokers: 3, isr: 3, want: broker.TopicShape{Brokers: 3, Replication: 3, MinInSync: 3}},
		{brokers: 1, rf: 3, err: true},
		{brokers: 1, isr: 2, err: true},
		{brokers: 0, err: true},
	} {
		got, err := broker.DeriveTopicShape(c.brokers, c.rf, c.isr)
		if c.err {
			if err == nil {
				t.Errorf("DeriveTopicShape(%d, %d, %d) = %+v, want an error", c.brokers, c.rf, c.isr, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("DeriveTopicShape(%d, %d, %d) = %+v, %v; want %+v", c.brokers, c.rf, c.isr, got, err, c.want)
		}
	}
}

// TestEnsureTopicsDerivesReplicationFromTheCluster creates a topic with
// replication left to the cluster: every partition gets min(3, brokers)
// replicas, and on a replicated topic min.insync.replicas is 2.
func TestEnsureTopicsDerivesReplicationFromTheCluster(t *testing.T) {
	k := brokertest.Start(t)
	cfg := k.Config()
	cfg.Replication, cfg.MinInSync = 0, 0
	c := broker.New(cfg)
	t.Cleanup(func() { _ = c.Close() })
	ctx := context.Background()
	sh, err := c.ResolveTopicShape(ctx)
	if err != nil {
		t.Fatal(err)
	}
	topic := brokertest.Prefix(t) + ".shape"
	if err := c.EnsureTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	md, err := c.Admin().Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		t.Fatal(err)
	}
	if len(md.Brokers) != sh.Brokers || sh.Replication != min(3, sh.Brokers) {
		t.Fatalf("shape %+v on %d brokers", sh, len(md.Brokers))
	}
	for _, p := range md.Topics[0].Partitions {
		if len(p.Replicas) != sh.Replication {
			t.Fatalf("partition %d has %d replicas, want %d", p.ID, len(p.Replicas), sh.Replication)
		}
	}
	if sh.Replication < 3 {
		t.Logf("%d broker(s): replication %d, min.insync.replicas left to the broker", sh.Brokers, sh.Replication)
		return
	}
	resp, err := c.Admin().DescribeConfigs(ctx, &kafka.DescribeConfigsRequest{Resources: []kafka.DescribeConfigRequestResource{{
		ResourceType: kafka.ResourceTypeTopic, ResourceName: topic, ConfigNames: []string{"min.insync.replicas"}}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Resources) != 1 || len(resp.Resources[0].ConfigEntries) != 1 || resp.Resources[0].ConfigEntries[0].ConfigValue != "2" {
		t.Fatalf("min.insync.replicas of %s: %+v, want 2", topic, resp.Resources)
	}
}
