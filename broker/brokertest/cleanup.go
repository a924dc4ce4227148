package brokertest

import (
	"context"
	"testing"
	"time"

	"yiku/broker"
)

// deleteTopicsWithPrefix removes every topic whose name starts with
// prefix + ".", so a long suite on a real broker does not pile up
// thousands of partitions (and run the broker out of file descriptors).
func deleteTopicsWithPrefix(t testing.TB, k *Kafka, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c := broker.New(k.Config())
	defer c.Close()
	if _, err := c.DeleteTopicsWithPrefix(ctx, prefix); err != nil {
		t.Logf("brokertest: %v", err)
	}
}
