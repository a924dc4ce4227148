// Package brokertest gives tests a Kafka broker: the real one named by
// YIKU_TEST_KAFKA_BROKERS (as `make test` sets it), otherwise an embedded
// broker of the test's own; and topic names no other test uses.
package brokertest

import (
	"crypto/rand"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"yiku/broker"
	"yiku/broker/embedded"
)

// EnvBrokers names the variable that points tests at a real Kafka cluster.
const EnvBrokers = "YIKU_TEST_KAFKA_BROKERS"

// Brokers returns bootstrap addresses for this test.
func Brokers(t testing.TB) []string {
	t.Helper()
	if env := os.Getenv(EnvBrokers); env != "" {
		return strings.Split(env, ",")
	}
	b, err := embedded.Start("127.0.0.1:0", "", 3)
	if err != nil {
		t.Fatalf("brokertest: %v", err)
	}
	t.Cleanup(b.Close)
	return []string{b.Addr()}
}

// Client returns a broker client on this test's brokers.
func Client(t testing.TB) *broker.Client {
	t.Helper()
	c := broker.New(broker.Config{Brokers: Brokers(t), Partitions: 3, Replication: 1})
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// Prefix returns a topic prefix unique to this test, so tests sharing a real
// cluster never read each other's messages. On a real cluster the test's
// topics are deleted when it ends (an embedded broker goes away with it).
func Prefix(t testing.TB) string {
	t.Helper()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	prefix := "t" + hex.EncodeToString(b)
	if env := os.Getenv(EnvBrokers); env != "" {
		t.Cleanup(func() { deleteTopicsWithPrefix(t, strings.Split(env, ","), prefix) })
	}
	return prefix
}
