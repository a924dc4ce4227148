package ingress

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/segmentio/kafka-go"

	"yiku/exchange"
)

// Headers of ingress messages (what adapters send; see
// adapters/connectors/kafkasink.go).
const (
	HeaderResource       = exchange.HeaderResource
	HeaderSchemaVersion  = exchange.HeaderSchemaVersion
	HeaderIdempotencyKey = "yiku-idempotency-key"
	HeaderDeleteReason   = exchange.HeaderDeleteReason
	HeaderTraceID        = exchange.HeaderTraceID
)

// Headers the hub adds to a dead letter, next to the original ones.
const (
	// HeaderDLQReasons is a JSON array of every reason, each
	// {"index","pointer","rule","message"}; index is the record's index in
	// its message, always 0 (one record a message).
	HeaderDLQReasons = "yiku-dlq-reasons"
	// HeaderDLQIndex, HeaderDLQPointer, HeaderDLQRule and HeaderDLQMessage
	// are the first reason, for tools that read single headers.
	HeaderDLQIndex   = "yiku-dlq-index"
	HeaderDLQPointer = "yiku-dlq-pointer"
	HeaderDLQRule    = "yiku-dlq-rule"
	HeaderDLQMessage = "yiku-dlq-message"
	// Where the refused record was read.
	HeaderDLQTopic     = "yiku-dlq-source-topic"
	HeaderDLQPartition = "yiku-dlq-source-partition"
	HeaderDLQOffset    = "yiku-dlq-source-offset"
	HeaderDLQAt        = "yiku-dlq-at"
)

// MaxIdempotencyKey is the longest idempotency key accepted, as on HTTP.
const MaxIdempotencyKey = 200

// Inbound is one ingress message read back: who sent what for which resource.
type Inbound struct {
	Department     string
	Resource       string
	Version        int // 0 = latest published
	IdempotencyKey string
	Key            string // the message key: the subject key
	Value          []byte
	DeleteReason   string
	Tombstone      bool
	TraceID        string
	Source         kafka.Message
}

// ParseMessage reads an ingress message of department. It returns the
// reasons to refuse it when its framing (headers, value) is wrong; the
// record itself is validated later, against the catalog.
func ParseMessage(department string, m kafka.Message) (Inbound, []exchange.Rejection) {
	in := Inbound{Department: department, Key: string(m.Key), Value: m.Value, Source: m}
	var errs []exchange.Rejection
	bad := func(rule, format string, args ...any) {
		errs = append(errs, exchange.Rejection{Index: 0, Pointer: "", Rule: rule, Message: fmt.Sprintf(format, args...)})
	}
	var reasonSet bool
	for _, h := range m.Headers {
		switch h.Key {
		case HeaderResource:
			in.Resource = string(h.Value)
		case HeaderSchemaVersion:
			if len(h.Value) == 0 {
				continue
			}
			v, err := strconv.Atoi(string(h.Value))
			if err != nil || v < 0 {
				bad("header", "header %s must be a whole number (0 or absent = latest), got %q", HeaderSchemaVersion, clip(h.Value))
				continue
			}
			in.Version = v
		case HeaderIdempotencyKey:
			in.IdempotencyKey = string(h.Value)
		case HeaderDeleteReason:
			in.DeleteReason = string(h.Value)
			reasonSet = true
		case HeaderTraceID:
			in.TraceID = string(h.Value)
		}
	}
	if in.Resource == "" {
		bad("header", "header %s (the resource id) is required", HeaderResource)
	} else if len(in.Resource) > 200 || !utf8.ValidString(in.Resource) {
		bad("header", "header %s is not a resource id", HeaderResource)
	}
	if len(in.IdempotencyKey) > MaxIdempotencyKey || !utf8.ValidString(in.IdempotencyKey) {
		bad("header", "header %s must be valid text of at most %d bytes", HeaderIdempotencyKey, MaxIdempotencyKey)
	}
	if len(m.Value) == 0 {
		if !reasonSet {
			bad("value", "an empty message is a deletion and needs the header %s", HeaderDeleteReason)
		}
		in.Tombstone = true
		if in.Key == "" {
			bad("subject_key", "a deletion needs the subject key as the message key")
		}
	} else if !json.Valid(m.Value) {
		bad("type", "the message value must be one JSON object")
	}
	if in.TraceID == "" {
		in.TraceID = fmt.Sprintf("%s/%d/%d", m.Topic, m.Partition, m.Offset)
	}
	return in, errs
}

// DeadLetterMessage is the message a refused record becomes on the
// department's dead-letter topic: the original key, value and headers, plus
// the reasons and where the record was read.
func DeadLetterMessage(topic string, src kafka.Message, reasons []exchange.Rejection, at time.Time) kafka.Message {
	headers := make([]kafka.Header, 0, len(src.Headers)+9)
	for _, h := range src.Headers {
		if len(h.Key) >= 9 && h.Key[:9] == "yiku-dlq-" {
			continue // a replayed dead letter's old reasons are not carried on
		}
		headers = append(headers, h)
	}
	all, _ := json.Marshal(reasons)
	first := exchange.Rejection{}
	if len(reasons) > 0 {
		first = reasons[0]
	}
	headers = append(headers,
		kafka.Header{Key: HeaderDLQReasons, Value: all},
		kafka.Header{Key: HeaderDLQIndex, Value: []byte(strconv.Itoa(first.Index))},
		kafka.Header{Key: HeaderDLQPointer, Value: []byte(first.Pointer)},
		kafka.Header{Key: HeaderDLQRule, Value: []byte(first.Rule)},
		kafka.Header{Key: HeaderDLQMessage, Value: []byte(first.Message)},
		kafka.Header{Key: HeaderDLQTopic, Value: []byte(src.Topic)},
		kafka.Header{Key: HeaderDLQPartition, Value: []byte(strconv.Itoa(src.Partition))},
		kafka.Header{Key: HeaderDLQOffset, Value: []byte(strconv.FormatInt(src.Offset, 10))},
		kafka.Header{Key: HeaderDLQAt, Value: []byte(at.UTC().Format(time.RFC3339Nano))},
	)
	return kafka.Message{Topic: topic, Key: src.Key, Value: src.Value, Headers: headers}
}

func clip(b []byte) string {
	if len(b) > 40 {
		b = b[:40]
	}
	return string(b)
}
