package broker_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/broker/brokertest"
	"yiku/broker/embedded"
)

func TestEnsureTopicsIsIdempotent(t *testing.T) {
	c := brokertest.Client(t)
	ctx := context.Background()
	topic := brokertest.Prefix(t) + ".records"
	for i := 0; i < 2; i++ {
		if err := c.EnsureTopics(ctx, topic); err != nil {
			t.Fatalf("ensure #%d: %v", i+1, err)
		}
	}
	n, err := c.Partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("partitions = %d, want 3", n)
	}
}

// TestConsumeCommitsOnlyHandledMessages checks the consumer's contract: every
// produced message is handled, a failing message is retried and then
// dead-lettered, and a restarted group resumes after the last commit.
func TestConsumeCommitsOnlyHandledMessages(t *testing.T) {
	c := brokertest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	topic := brokertest.Prefix(t) + ".in"
	if err := c.EnsureTopics(ctx, topic); err != nil {
		t.Fatal(err)
	}
	var msgs []kafka.Message
	for i := 0; i < 20; i++ {
		msgs = append(msgs, kafka.Message{Topic: topic, Key: []byte(fmt.Sprintf("k%d", i%5)), Value: []byte(fmt.Sprintf("v%d", i))})
	}
	if err := c.Produce(ctx, msgs...); err != nil {
		t.Fatal(err)
	}

	var (
		mu       sync.Mutex
		seen     = map[string]int{}
		dead     []string
		attempts int
	)
	cctx, ccancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- c.Consume(cctx, broker.ConsumerConfig{
			GroupID: topic + ".g", Topics: []string{topic}, MaxAttempts: 3, StartAtBeginning: true,
			DeadLetter: func(_ context.Context, m kafka.Message, err error) error {
				mu.Lock()
				defer mu.Unlock()
				dead = append(dead, string(m.Value)+": "+err.Error())
				return nil
			},
		}, func(_ context.Context, m kafka.Message) error {
			mu.Lock()
			defer mu.Unlock()
			if string(m.Value) == "v7" {
				attempts++
				return errors.New("poison")
			}
			if string(m.Value) == "v9" {
				panic("handler bug")
			}
			seen[string(m.Value)]++
			return nil
		})
	}()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen) == 18 && len(dead) == 2
	})
	ccancel()
	if err := <-done; err != nil {
		t.Fatalf("consume: %v", err)
	}
	if attempts != 3 {
		t.Errorf("poison message attempts = %d, want 3", attempts)
	}

	// A restarted group sees only messages produced after its commits.
	if err := c.Produce(ctx, kafka.Message{Topic: topic, Key: []byte("k"), Value: []byte("after")}); err != nil {
		t.Fatal(err)
	}
	var got []string
	cctx2, ccancel2 := context.WithCancel(ctx)
	go func() {
		done <- c.Consume(cctx2, broker.ConsumerConfig{GroupID: topic + ".g", Topics: []string{topic}, StartAtBeginning: true},
			func(_ context.Context, m kafka.Message) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, string(m.Value))
				return nil
			})
	}()
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(got) >= 1
	})
	time.Sleep(300 * time.Millisecond)
	ccancel2()
	<-done
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "after" {
		t.Fatalf("after restart got %v, want [after]", got)
	}
}

func TestEndOffsets(t *testing.T) {
	c := brokertest.Client(t)
	ctx := context.Background()
	topic := brokertest.Prefix(t) + ".off"
	if err := c.EnsureTopicsWith(ctx, 1, topic); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 4; i++ {
		if err := c.Produce(ctx, kafka.Message{Topic: topic, Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	off, err := c.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	if off[0] != 4 {
		t.Fatalf("end offset = %d, want 4", off[0])
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestGroupLag: a group that never committed is behind by every message, a
// commit moves it, and a topic that does not exist has lag 0.
func TestGroupLag(t *testing.T) {
	c := brokertest.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	topic, missing := brokertest.Prefix(t)+".lag", brokertest.Prefix(t)+".never"
	group := brokertest.Prefix(t) + ".lag-group"
	if err := c.EnsureTopicsWith(ctx, 1, topic); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := c.Produce(ctx, kafka.Message{Topic: topic, Value: []byte("x")}); err != nil {
			t.Fatal(err)
		}
	}
	check := func(want broker.TopicLag) {
		t.Helper()
		got, err := c.GroupLag(ctx, group, topic, missing)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0] != want || got[1] != (broker.TopicLag{Topic: missing}) {
			t.Fatalf("lag = %+v, want [%+v {Topic:%s}]", got, want, missing)
		}
	}
	check(broker.TopicLag{Topic: topic, End: 5, Consumed: 0, Lag: 5})
	admin := c.Admin()
	commit := func(offset int64) {
		t.Helper()
		resp, err := admin.OffsetCommit(ctx, &kafka.OffsetCommitRequest{GroupID: group, GenerationID: -1,
			Topics: map[string][]kafka.OffsetCommit{topic: {{Partition: 0, Offset: offset}}}})
		if err == nil {
			for _, p := range resp.Topics[topic] {
				err = errors.Join(err, p.Error)
			}
		}
		if err != nil {
			t.Fatalf("commit %d: %v", offset, err)
		}
	}
	commit(3)
	check(broker.TopicLag{Topic: topic, End: 5, Consumed: 3, Lag: 2})
	commit(5)
	check(broker.TopicLag{Topic: topic, End: 5, Consumed: 5, Lag: 0})
}

// TestPingFailsWhenTheBrokerIsGone: readiness must not answer from the
// client's metadata cache; a dead broker fails Ping at once.
func TestPingFailsWhenTheBrokerIsGone(t *testing.T) {
	b, err := embedded.Start("127.0.0.1:0", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	c := broker.New(broker.Config{Brokers: []string{b.Addr()}})
	defer c.Close()
	ctx := context.Background()
	if err := c.EnsureTopics(ctx, "ping-probe"); err != nil {
		t.Fatal(err)
	}
	if err := c.Ping(ctx); err != nil {
		t.Fatalf("ping with the broker up: %v", err)
	}
	b.Close()
	for i := range 3 {
		if err := c.Ping(ctx); err == nil {
			t.Fatalf("ping %d answered with the broker gone", i)
		}
	}
}
