package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/segmentio/kafka-go/protocol"

	"yiku/broker"
)

// TopicAdmin creates topics and reads their partition counts (broker.Client).
type TopicAdmin interface {
	EnsureTopics(ctx context.Context, topics ...string) error
	Partitions(ctx context.Context, topic string) (int, error)
}

// Placement is where Kafka stored one message.
type Placement struct {
	Partition int   `json:"partition"`
	Offset    int64 `json:"offset"`
}

// Router produces keyed messages to a topic and reports the partition and
// offset of each once every in-sync replica has it (acks=all). It
// partitions with murmur2 like the Java client and broker.Client, so
// adapters producing directly land a subject on the same partition, and it
// writes each partition's share as ordered produce requests of bounded
// size, partitions in parallel.
type Router struct {
	client *kafka.Client
	admin  TopicAdmin
	// MaxRequestBytes bounds the uncompressed size of one produce request,
	// safely below the broker's message.max.bytes after compression.
	MaxRequestBytes int
	Attempts        int
	// TopicWait bounds how long a produce waits for a topic to appear in
	// the metadata before it counts as a failed attempt.
	TopicWait time.Duration

	mu    sync.Mutex
	parts map[string]int
}

// NewRouter builds a router on bc's brokers, with bc's security, that
// creates topics through bc.
func NewRouter(bc *broker.Client) *Router {
	// A short metadata TTL lets a topic created a moment ago be found
	// quickly; produce retries cover the rest of the gap.
	transport := bc.Transport()
	transport.ClientID = "yiku-exchange"
	transport.MetadataTTL = time.Second
	return &Router{
		client:          &kafka.Client{Addr: bc.Addr(), Timeout: 30 * time.Second, Transport: transport},
		admin:           bc,
		MaxRequestBytes: 768 << 10,
		Attempts:        6,
		TopicWait:       20 * time.Second,
		parts:           map[string]int{},
	}
}

// Ensure creates topic if needed and remembers its partition count.
func (r *Router) Ensure(ctx context.Context, topic string) (int, error) {
	r.mu.Lock()
	n, ok := r.parts[topic]
	r.mu.Unlock()
	if ok {
		return n, nil
	}
	if err := r.admin.EnsureTopics(ctx, topic); err != nil {
		return 0, err
	}
	n, err := r.admin.Partitions(ctx, topic)
	if err != nil {
		return 0, err
	}
	r.mu.Lock()
	r.parts[topic] = n
	r.mu.Unlock()
	return n, nil
}

// Produce writes msgs to topic and returns each message's placement, in
// the order of msgs. Messages with the same key keep their relative order.
func (r *Router) Produce(ctx context.Context, topic string, msgs []kafka.Message) ([]Placement, error) {
	n, err := r.Ensure(ctx, topic)
	if err != nil {
		return nil, err
	}
	partitions := make([]int, n)
	for i := range partitions {
		partitions[i] = i
	}
	var bal kafka.Murmur2Balancer
	byPart := make([][]int, n)
	for i, m := range msgs {
		p := bal.Balance(m, partitions...)
		byPart[p] = append(byPart[p], i)
	}
	out := make([]Placement, len(msgs))
	// The first partition that fails fails the batch: the others stop
	// rather than hold the answer until their own retries run out (a
	// leader waiting for a dead replica to leave the in-sync set).
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		wg       sync.WaitGroup
		errOnce  sync.Once
		firstErr error
	)
	for p, idx := range byPart {
		if len(idx) == 0 {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := r.producePartition(pctx, topic, p, msgs, idx, out); err != nil {
				errOnce.Do(func() {
					firstErr = err
					cancel()
				})
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

func (r *Router) producePartition(ctx context.Context, topic string, p int, msgs []kafka.Message, idx []int, out []Placement) error {
	for start := 0; start < len(idx); {
		end, size := start, 0
		for end < len(idx) && (end == start || size+msgSize(msgs[idx[end]]) <= r.MaxRequestBytes) {
			size += msgSize(msgs[idx[end]])
			end++
		}
		chunk := idx[start:end]
		base, err := r.produceChunk(ctx, topic, p, msgs, chunk)
		if err != nil {
			return err
		}
		for k, i := range chunk {
			out[i] = Placement{Partition: p, Offset: base + int64(k)}
		}
		start = end
	}
	return nil
}

func (r *Router) produceChunk(ctx context.Context, topic string, p int, msgs []kafka.Message, chunk []int) (int64, error) {
	now := time.Now()
	var lastErr error
	backoff := 100 * time.Millisecond
	// A topic created a moment ago may be missing from the transport's
	// cached metadata until its next refresh, and on a busy cluster a
	// refresh can fail more than once: that wait does not count against
	// the attempts, up to TopicWait.
	topicDeadline := now.Add(r.TopicWait)
	for attempt := 1; ; {
		recs := make([]kafka.Record, len(chunk))
		for k, i := range chunk {
			m := msgs[i]
			recs[k] = kafka.Record{Time: now, Key: kafka.NewBytes(m.Key), Value: kafka.NewBytes(m.Value), Headers: m.Headers}
		}
		resp, err := r.client.Produce(ctx, &kafka.ProduceRequest{
			Topic: topic, Partition: p, RequiredAcks: kafka.RequireAll,
			Records: kafka.NewRecordReader(recs...), Compression: kafka.Lz4,
		})
		if err == nil && resp.Error != nil {
			err = resp.Error
		}
		if err == nil && len(resp.RecordErrors) > 0 {
			for _, e := range resp.RecordErrors {
				err = e
				break
			}
		}
		if err == nil {
			return resp.BaseOffset, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
		wait := backoff
		if topicNotKnownYet(err) && time.Now().Before(topicDeadline) {
			wait = min(backoff, 500*time.Millisecond)
		} else {
			if attempt >= max(r.Attempts, 1) {
				break
			}
			attempt++
			backoff *= 2
		}
		// A retried request may have been written the first time too; the
		// library applies a record id once, so a duplicate is harmless.
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	return 0, fmt.Errorf("exchange: produce %d records to %s/%d: %w", len(chunk), topic, p, lastErr)
}

// topicNotKnownYet reports an error that says the topic is not (yet) in the
// metadata the client or the broker holds.
func topicNotKnownYet(err error) bool {
	return errors.Is(err, protocol.ErrNoTopic) || errors.Is(err, kafka.UnknownTopicOrPartition) ||
		errors.Is(err, kafka.LeaderNotAvailable) || errors.Is(err, kafka.NotLeaderForPartition)
}

func msgSize(m kafka.Message) int {
	n := len(m.Key) + len(m.Value) + 24
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value) + 4
	}
	return n
}
