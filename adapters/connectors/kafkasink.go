package connectors

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/adapters"
	"yiku/adapters/client"
	"yiku/broker"
)

const kafkaSinkDoc = `hub_kafka — produce records to the department's Kafka ingress topic of the hub.

  type: hub_kafka
  resource: marriage-registration   # resource id, sent in the yiku-resource header
  version: 0                        # schema version header (0 = latest)
  key_field: id_number              # record field used as the message key (the subject key)
  delete_reason: 源系统删除          # reason sent with deletes (tombstones)

Brokers, the topic prefix and the department's Kafka login (sasl_mechanism,
username, password_file or password_env, tls, ca_file, cert_file and
key_file) come from the config's hub.kafka block; the topic is
<prefix>.ingress.<department>. Messages carry the record as JSON,
the subject key as the message key and the headers yiku-resource,
yiku-schema-version and yiku-idempotency-key; they are written with
acks=all. The hub validates ingress records asynchronously: refused ones go
to <prefix>.dlq.<department>, not to the local reject file. A one-shot run
(--once) with a hub_subscription pipeline waits, after this pipeline ended,
until the hub reports the department's ingress lag 0 (everything sent was
routed or refused), asking with the config's hub credential.`

func init() {
	adapters.RegisterSink(adapters.SinkSpec{Name: "hub_kafka", Doc: kafkaSinkDoc, New: newKafkaSink})
}

// KafkaSinkConfig is the hub_kafka sink's settings.
type KafkaSinkConfig struct {
	Resource     string `yaml:"resource"`
	Version      int    `yaml:"version"`
	KeyField     string `yaml:"key_field"`
	DeleteReason string `yaml:"delete_reason"`
}

// kafkaClientID names the adapter's connections in the brokers' logs.
const kafkaClientID = "yiku-adapter"

// Headers of ingress messages.
const (
	HeaderResource       = "yiku-resource"
	HeaderSchemaVersion  = "yiku-schema-version"
	HeaderIdempotencyKey = "yiku-idempotency-key"
	HeaderDeleteReason   = "yiku-delete-reason"
)

type kafkaSink struct {
	cfg    KafkaSinkConfig
	topic  string
	w      *kafka.Writer
	broker []string
	sec    broker.Security
	dept   string
	hub    *client.Client
}

var _ adapters.Downstream = (*kafkaSink)(nil)

func newKafkaSink(decode adapters.Decoder, env adapters.Env) (adapters.Sink, error) {
	var cfg KafkaSinkConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewKafkaSink(cfg, env)
}

// NewKafkaSink builds a hub_kafka sink.
func NewKafkaSink(cfg KafkaSinkConfig, env adapters.Env) (adapters.Sink, error) {
	if cfg.Resource == "" {
		return nil, adapters.Fieldf("resource", "the resource id is required")
	}
	if cfg.KeyField == "" {
		return nil, adapters.Fieldf("key_field", "the subject key field is required (it keys the Kafka message)")
	}
	if cfg.DeleteReason == "" {
		cfg.DeleteReason = "deleted in the source system"
	}
	if len(env.KafkaBrokers) == 0 || env.TopicPrefix == "" || env.Department == "" {
		return nil, adapters.Fieldf("resource", "the Kafka ingress needs hub.kafka.brokers, hub.kafka.topic_prefix and department in the config")
	}
	return &kafkaSink{cfg: cfg, topic: env.TopicPrefix + ".ingress." + env.Department, broker: env.KafkaBrokers, sec: env.KafkaSecurity, dept: env.Department, hub: env.Hub}, nil
}

func (k *kafkaSink) Connect(ctx context.Context) error {
	d := k.sec.Dialer(kafkaClientID)
	d.Timeout = 10 * time.Second
	conn, err := d.DialContext(ctx, "tcp", k.broker[0])
	if err != nil {
		return fmt.Errorf("hub_kafka: reach %s (%s): %w", k.broker[0], k.sec, err)
	}
	_ = conn.Close()
	k.w = &kafka.Writer{
		Addr: kafka.TCP(k.broker...), Transport: k.sec.Transport(kafkaClientID), Topic: k.topic, Balancer: &kafka.Murmur2Balancer{},
		RequiredAcks: kafka.RequireAll, BatchSize: 5000, BatchBytes: 16 << 20, BatchTimeout: 5 * time.Millisecond,
		MaxAttempts: 3, AllowAutoTopicCreation: false,
	}
	return nil
}

func (k *kafkaSink) Write(ctx context.Context, msgs []adapters.Message, key string) (adapters.Result, error) {
	if k.w == nil {
		return adapters.Result{}, adapters.ErrNotConnected
	}
	var res adapters.Result
	out := make([]kafka.Message, 0, len(msgs))
	for i, m := range msgs {
		subject := fmt.Sprint(m.Record[k.cfg.KeyField])
		if m.Record[k.cfg.KeyField] == nil || subject == "" {
			res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Pointer: "/" + k.cfg.KeyField, Rule: "required", Message: "the subject key is missing"}}})
			continue
		}
		headers := []kafka.Header{
			{Key: HeaderResource, Value: []byte(k.cfg.Resource)},
			{Key: HeaderSchemaVersion, Value: []byte(strconv.Itoa(k.cfg.Version))},
			{Key: HeaderIdempotencyKey, Value: []byte(key + "-" + strconv.Itoa(i))},
		}
		var value []byte
		if m.Deleted {
			headers = append(headers, kafka.Header{Key: HeaderDeleteReason, Value: []byte(k.cfg.DeleteReason)})
		} else {
			data, err := json.Marshal(m.Record)
			if err != nil {
				res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Rule: "json", Message: err.Error()}}})
				continue
			}
			value = data
		}
		out = append(out, kafka.Message{Key: []byte(subject), Value: value, Headers: headers})
	}
	if err := k.w.WriteMessages(ctx, out...); err != nil {
		return adapters.Result{}, fmt.Errorf("hub_kafka: produce to %s: %w", k.topic, err)
	}
	res.Written = len(out)
	return res, nil
}

// Ingested reports whether the hub's ingress lag for the department is 0:
// everything sent to its ingress topic so far is on a resource topic or a
// dead letter. A hub that does not report its ingress lag cannot be asked;
// the wait then covers the library alone.
func (k *kafkaSink) Ingested(ctx context.Context) (bool, error) {
	if k.hub == nil {
		return false, adapters.Permanent(errors.New("hub_kafka: asking the hub for the ingress lag needs the config's hub block (url and token)"))
	}
	st, err := k.hub.ExchangeStatus(ctx)
	if err != nil {
		return false, hubErr(err)
	}
	in, ok := st.IngressOf(k.dept)
	switch {
	case ok:
		return in.Lag == 0, nil
	case st.Ingress == nil:
		// A hub older than the ingress lag does not report it: nothing to
		// wait for.
		return true, nil
	}
	return false, adapters.Permanent(fmt.Errorf("hub_kafka: the hub does not show this pipeline's hub credential the ingress of department %s, so the run cannot wait for it (use a department system or department admin key of %s)", k.dept, k.dept))
}

func (k *kafkaSink) Close() error {
	if k.w == nil {
		return nil
	}
	err := k.w.Close()
	k.w = nil
	return err
}
