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
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
)

// Config says where the brokers are, how the client authenticates and
// encrypts, and how the hub's topics are shaped.
type Config struct {
	Brokers  []string
	ClientID string
	// Security applies to every connection the client and the readers,
	// writers and transports it hands out make; the zero value is PLAINTEXT.
	Security   Security
	Partitions int
	// Replication is the replication factor of the topics the client
	// creates; 0 derives it from the cluster: 3 when it has three or more
	// brokers, else the number of brokers.
	Replication int
	// MinInSync is the min.insync.replicas of the topics the client
	// creates: how many replicas must hold a write before it is
	// acknowledged (producers use acks=all). 0 derives it from the
	// replication factor: 2 for 3 or more, else 1.
	MinInSync int
}

// TopicShape is the replication of the topics the client creates, as
// resolved against the cluster.
type TopicShape struct {
	Brokers     int // brokers the cluster's metadata lists
	Replication int
	MinInSync   int
}

// Client holds the connection settings shared by producers, consumers and
// administration, and is the one place the hub's Kafka connections are
// built: Dialer, Transport and NewReader carry its Security. It is safe for
// concurrent use.
type Client struct {
	cfg       Config
	transport *kafka.Transport
	admin     *kafka.Client
	writer    *kafka.Writer

	shapeMu sync.Mutex
	shape   TopicShape // zero until resolved
}

// New builds a client; it does not dial until used.
func New(cfg Config) *Client {
	if cfg.ClientID == "" {
		cfg.ClientID = "yiku"
	}
	if cfg.Partitions < 1 {
		cfg.Partitions = 1
	}
	cfg.Replication = max(cfg.Replication, 0)
	cfg.MinInSync = max(cfg.MinInSync, 0)
	c := &Client{cfg: cfg}
	transport := c.Transport()
	c.transport = transport
	c.admin = &kafka.Client{Addr: c.Addr(), Timeout: 10 * time.Second, Transport: transport}
	c.writer = &kafka.Writer{
		Addr: c.Addr(),
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

// Security returns the security every connection of the client uses.
func (c *Client) Security() Security { return c.cfg.Security }

// Addr is the bootstrap address list for kafka.Writer and kafka.Client.
func (c *Client) Addr() net.Addr { return kafka.TCP(c.cfg.Brokers...) }

// Transport returns a new transport (its own connection pool) with the
// client's id and security, for a kafka.Writer or kafka.Client of the
// caller's. The caller may change its timeouts, ClientID or MetadataTTL
// before first use, but not SASL or TLS.
func (c *Client) Transport() *kafka.Transport { return c.cfg.Security.Transport(c.cfg.ClientID) }

// Dialer returns a new dialer with the client's id and security, for a
// kafka.ReaderConfig, kafka.ConsumerGroupConfig or a direct connection.
func (c *Client) Dialer() *kafka.Dialer { return c.cfg.Security.Dialer(c.cfg.ClientID) }

// NewReader builds a kafka.Reader from rc on the client's brokers and
// dialer: rc.Brokers and rc.Dialer are overwritten. Over TLS, rc.MaxWait
// is at least MinTLSMaxWait.
func (c *Client) NewReader(rc kafka.ReaderConfig) *kafka.Reader {
	rc.Brokers = c.cfg.Brokers
	rc.Dialer = c.Dialer()
	if c.cfg.Security.tls != nil && rc.MaxWait < MinTLSMaxWait {
		rc.MaxWait = MinTLSMaxWait
	}
	return kafka.NewReader(rc)
}

// MinTLSMaxWait is the shortest fetch wait a reader gets over TLS.
// kafka-go uses MaxWait as the read deadline of each fetch too; a busy
// broker answering over TLS takes longer than the 100 ms some readers ask
// for, and every timed-out fetch costs a new TLS and SASL handshake. A
// longer wait adds no latency (the broker answers as soon as a message is
// there); only closing an idle reader takes up to this long.
const MinTLSMaxWait = 500 * time.Millisecond

// Admin returns the client's shared kafka.Client (its security, a 10 s
// timeout) for requests the broker package has no method for, such as
// ACLs and SCRAM credentials. Do not change its fields.
func (c *Client) Admin() *kafka.Client { return c.admin }

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

// ResolveTopicShape returns the replication factor and min.insync.replicas
// of the topics the client creates, deriving what the configuration leaves
// at 0 from the number of brokers the cluster's metadata lists. The first
// successful answer is kept. A replication factor above the number of
// brokers, or a min.insync.replicas above the replication factor, is an
// error: Kafka would refuse every topic, or every write, later.
func (c *Client) ResolveTopicShape(ctx context.Context) (TopicShape, error) {
	c.shapeMu.Lock()
	defer c.shapeMu.Unlock()
	if c.shape.Replication > 0 {
		return c.shape, nil
	}
	md, err := c.admin.Metadata(ctx, &kafka.MetadataRequest{Topics: []string{}})
	if err != nil {
		return TopicShape{}, fmt.Errorf("broker: metadata for the topic shape: %w", err)
	}
	sh, err := DeriveTopicShape(len(md.Brokers), c.cfg.Replication, c.cfg.MinInSync)
	if err != nil {
		return TopicShape{}, err
	}
	c.shape = sh
	return sh, nil
}

// DeriveTopicShape is the rule ResolveTopicShape applies to a cluster of
// brokers brokers: replication 0 means min(3, brokers), minInSync 0 means 2
// for a replication of 3 or more and 1 below.
func DeriveTopicShape(brokers, replication, minInSync int) (TopicShape, error) {
	if brokers < 1 {
		return TopicShape{}, errors.New("broker: the cluster's metadata lists no broker")
	}
	sh := TopicShape{Brokers: brokers, Replication: replication, MinInSync: minInSync}
	if sh.Replication <= 0 {
		sh.Replication = min(3, brokers)
	}
	if sh.MinInSync <= 0 {
		sh.MinInSync = 1
		if sh.Replication >= 3 {
			sh.MinInSync = 2
		}
	}
	if sh.Replication > brokers {
		return TopicShape{}, fmt.Errorf("broker: replication factor %d needs as many brokers, the cluster has %d", sh.Replication, brokers)
	}
	if sh.MinInSync > sh.Replication {
		return TopicShape{}, fmt.Errorf("broker: min.insync.replicas %d is above the replication factor %d: no write could be acknowledged", sh.MinInSync, sh.Replication)
	}
	return sh, nil
}

// EnsureTopics creates the topics that do not exist yet with the configured
// partitions and the resolved replication (ResolveTopicShape); existing
// topics are left as they are.
func (c *Client) EnsureTopics(ctx context.Context, topics ...string) error {
	return c.EnsureTopicsWith(ctx, c.cfg.Partitions, topics...)
}

// EnsureTopicsWith is EnsureTopics with an explicit partition count.
func (c *Client) EnsureTopicsWith(ctx context.Context, partitions int, topics ...string) error {
	if len(topics) == 0 {
		return nil
	}
	sh, err := c.ResolveTopicShape(ctx)
	if err != nil {
		return err
	}
	// min.insync.replicas is set on replicated topics only: on one broker
	// it can only be 1, the broker's default.
	var entries []kafka.ConfigEntry
	if sh.Replication > 1 {
		entries = []kafka.ConfigEntry{{ConfigName: "min.insync.replicas", ConfigValue: strconv.Itoa(sh.MinInSync)}}
	}
	req := &kafka.CreateTopicsRequest{}
	for _, t := range topics {
		req.Topics = append(req.Topics, kafka.TopicConfig{Topic: t, NumPartitions: partitions, ReplicationFactor: sh.Replication, ConfigEntries: entries})
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

// Ping checks that a broker of the cluster answers an authenticated request
// now. It dials a fresh connection with the client's security (TLS, SASL)
// and asks for the brokers' metadata: kafka-go's transport answers metadata
// requests from its cache, so one through it would keep answering while
// every broker is dead, and an ApiVersions request is answered before any
// login, so it would not show a refused one.
func (c *Client) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var errs []error
	for _, addr := range c.cfg.Brokers {
		err := c.pingOne(ctx, addr)
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("broker: ping: %w", errors.Join(errs...))
}

func (c *Client) pingOne(ctx context.Context, addr string) error {
	conn, err := c.Dialer().DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	_, err = conn.Brokers()
	return err
}

// PingRetry calls Ping until it succeeds or wait is over. A refused SASL
// login is returned at once: trying again cannot help.
func (c *Client) PingRetry(ctx context.Context, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		err := c.Ping(ctx)
		if err == nil || time.Now().After(deadline) || errors.Is(err, kafka.SASLAuthenticationFailed) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Close flushes and closes the producer and the shared transport's idle
// connections.
func (c *Client) Close() error {
	err := c.writer.Close()
	c.transport.CloseIdleConnections()
	return err
}
