// Package broker is Yiku's thin layer over github.com/segmentio/kafka-go: a
// producer tuned for durable throughput, a consumer that commits only after
// its handler succeeds, idempotent topic administration and consumer-group
// lag. The same code runs against a real Apache Kafka cluster and the
// embedded broker (broker/embedded). It knows nothing of records, schemas
// or resources.
package broker

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"
)

// Config says where the brokers are and how the hub's topics are shaped.
type Config struct {
	Brokers     []string
	ClientID    string
	Partitions  int
	Replication int
}

// Client holds the connection settings shared by producers, consumers and
// administration. It is safe for concurrent use.
type Client struct {
	cfg    Config
	admin  *kafka.Client
	writer *kafka.Writer
}

// New builds a client; it does not dial until used.
func New(cfg Config) *Client {
	if cfg.ClientID == "" {
		cfg.ClientID = "yiku"
	}
	if cfg.Partitions < 1 {
		cfg.Partitions = 1
	}
	if cfg.Replication < 1 {
		cfg.Replication = 1
	}
	transport := &kafka.Transport{ClientID: cfg.ClientID, DialTimeout: 5 * time.Second, IdleTimeout: 5 * time.Minute}
	c := &Client{
		cfg:   cfg,
		admin: &kafka.Client{Addr: kafka.TCP(cfg.Brokers...), Timeout: 10 * time.Second, Transport: transport},
	}
	c.writer = &kafka.Writer{
		Addr: kafka.TCP(cfg.Brokers...),
		// Murmur2 partitions by key exactly as the Java client does, so a
		// subject's records land on the same partition whichever client wrote them.
		Balancer:     &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll,
		// The caller's WriteMessages call is the batch: the hub hands over a
		// whole publish batch at once and waits for the acknowledgement.
		BatchSize:       5000,
		BatchBytes:      16 << 20,
		BatchTimeout:    2 * time.Millisecond,
		MaxAttempts:     5,
		WriteBackoffMin: 50 * time.Millisecond,
		WriteBackoffMax: time.Second,
		Compression:     kafka.Lz4,
		Transport:       transport,
	}
	return c
}

// Config returns the client's configuration.
func (c *Client) Config() Config { return c.cfg }

// Produce writes messages (each naming its topic) and returns once every one
// is acknowledged by all in-sync replicas.
func (c *Client) Produce(ctx context.Context, msgs ...kafka.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	if err := c.writer.WriteMessages(ctx, msgs...); err != nil {
		return fmt.Errorf("broker: produce %d messages: %w", len(msgs), err)
	}
	return nil
}

// Stats returns the producer's counters since the last call.
func (c *Client) Stats() kafka.WriterStats { return c.writer.Stats() }

// EnsureTopics creates the topics that do not exist yet with the configured
// partitions and replication; existing topics are left as they are.
func (c *Client) EnsureTopics(ctx context.Context, topics ...string) error {
	return c.EnsureTopicsWith(ctx, c.cfg.Partitions, topics...)
}

// EnsureTopicsWith is EnsureTopics with an explicit partition count.
func (c *Client) EnsureTopicsWith(ctx context.Context, partitions int, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: c.cfg.Replication})
	}
	resp, err := c.admin.CreateTopics(ctx, req)
	if err != nil {
		return fmt.Errorf("broker: create topics: %w", err)
	}
	for t, terr := range resp.Errors {
		if terr != nil && !errors.Is(terr, kafka.TopicAlreadyExists) {
			return fmt.Errorf("broker: create topic %s: %w", t, terr)
		}
	}
	return c.waitForTopics(ctx, topics)
}

// waitForTopics waits until metadata shows every topic with a leader, so a
// produce right after creation does not fail.
func (c *Client) waitForTopics(ctx context.Context, topics []string) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		md, err := c.admin.Metadata(ctx, &kafka.MetadataRequest{Topics: topics})
		if err == nil {
			ready := true
			for _, t := range md.Topics {
				if t.Error != nil || len(t.Partitions) == 0 {
					ready = false
					break
				}
				for _, p := range t.Partitions {
					if p.Error != nil || p.Leader.Host == "" {
						ready = false
					}
				}
			}
			if ready && len(md.Topics) == len(topics) {
				return nil
			}
		}
		if time.Now().After(deadline) {
			if err == nil {
				err = errors.New("not ready")
			}
			return fmt.Errorf("broker: wait for topics %v: %w", topics, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Partitions returns the number of partitions of topic.
func (c *Client) Partitions(ctx context.Context, topic string) (int, error) {
	md, err := c.admin.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{topic}})
	if err != nil {
		return 0, fmt.Errorf("broker: metadata %s: %w", topic, err)
	}
	for _, t := range md.Topics {
		if t.Name == topic {
			if t.Error != nil {
				return 0, fmt.Errorf("broker: metadata %s: %w", topic, t.Error)
			}
			return len(t.Partitions), nil
		}
	}
	return 0, fmt.Errorf("broker: topic %s not found", topic)
}

// EndOffsets returns the next offset to be written per partition of topic.
func (c *Client) EndOffsets(ctx context.Context, topic string) (map[int]int64, error) {
	n, err := c.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	ids := make([]int, n)
	for p := range ids {
		ids[p] = p
	}
	ends, err := c.listOffsets(ctx, map[string][]int{topic: ids}, kafka.LastOffset)
	if err != nil {
		return nil, fmt.Errorf("broker: %s: %w", topic, err)
	}
	out := make(map[int]int64, n)
	for p, o := range ends {
		out[p.id] = o
	}
	return out, nil
}

// Ping checks that a broker of the cluster answers a request now. kafka-go's
// transport serves metadata requests from its cache, so a metadata request
// would keep answering while every broker is dead; an ApiVersions request
// always goes over the wire.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var errs []error
	for _, addr := range c.cfg.Brokers {
		resp, err := c.admin.ApiVersions(ctx, &kafka.ApiVersionsRequest{Addr: kafka.TCP(addr)})
		if err == nil && resp.Error != nil {
			err = resp.Error
		}
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("broker: ping: %w", errors.Join(errs...))
}

// PingRetry calls Ping until it succeeds or wait is over.
func (c *Client) PingRetry(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := c.Ping(ctx)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Close flushes and closes the producer.
func (c *Client) Close() error {
	return c.writer.Close()
}
