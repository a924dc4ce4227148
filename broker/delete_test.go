package broker_test

import (
	"context"
	"testing"
	"time"

	"yiku/broker/brokertest"
)

func TestDeleteTopicsWithPrefix(t *testing.T) {
	c := brokertest.Client(t)
	ctx := context.Background()
	p, q := brokertest.Prefix(t), brokertest.Prefix(t)
	gone := []string{p + ".records.population", p + ".ingress.430000"}
	kept := []string{p + "x.records", q + ".records.population"}
	if err := c.EnsureTopics(ctx, append(append([]string{}, gone...), kept...)...); err != nil {
		t.Fatal(err)
	}
	n, err := c.DeleteTopicsWithPrefix(ctx, p)
	if err != nil || n != len(gone) {
		t.Fatalf("deleted %d, %v; want %d topics", n, err, len(gone))
	}
	// Deletion completes in the background on the broker.
	deadline := time.Now().Add(15 * time.Second)
	for _, topic := range gone {
		for {
			if _, err := c.Partitions(ctx, topic); err != nil {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s still exists", topic)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	for _, topic := range kept {
		if _, err := c.Partitions(ctx, topic); err != nil {
			t.Errorf("%s was deleted too: %v", topic, err)
		}
	}
	// Deleting what is already gone is not an error.
	if err := c.DeleteTopics(ctx, gone...); err != nil {
		t.Errorf("delete again: %v", err)
	}
	if _, err := c.DeleteTopicsWithPrefix(ctx, ""); err == nil {
		t.Error("an empty prefix must be refused")
	}
	_ = c.DeleteTopics(ctx, kept[0]) // not under a test prefix: clean it up here
}
