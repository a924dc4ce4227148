package ingress

import (
	"context"
	"fmt"
	"slices"

	"yiku/broker"
	"yiku/exchange"
)

// GroupLagger measures a Kafka consumer group's lag per topic
// (broker.Client).
type GroupLagger interface {
	GroupLag(ctx context.Context, group string, topics ...string) ([]broker.TopicLag, error)
}

// DepartmentLag is how far the ingress is behind one department's ingress
// topic, summed over its partitions.
type DepartmentLag struct {
	Department string `json:"department"`
	Topic      string `json:"topic"`
	// EndOffset is how many messages the topic has received.
	EndOffset int64 `json:"end_offset"`
	// Consumed is the next offset the worker handles.
	Consumed int64 `json:"consumed_offset"`
	// Lag is how many messages the worker has not handled yet.
	Lag int64 `json:"lag"`
}

// LagMeter measures the Worker's lag. The worker keeps its progress in its
// Kafka consumer group (not in the database) and commits a batch only after
// routing its valid records to their resource topics and sending the rest
// to the dead letters, so a lag of 0 means every record sent to the ingress
// so far is on its resource topic, where the library's lag takes over, or
// is a dead letter.
type LagMeter struct {
	Broker GroupLagger
	// GroupID is the worker's consumer group (WorkerConfig.GroupID).
	GroupID string
	Topics  exchange.Topics
	// Departments lists every department (WorkerConfig.Departments).
	Departments func(ctx context.Context) ([]string, error)
}

// Lag measures the ingress lag of the given departments, in their order. A
// department whose ingress topic does not exist yet has lag 0.
func (m *LagMeter) Lag(ctx context.Context, departments []string) ([]DepartmentLag, error) {
	topics := make([]string, len(departments))
	for i, d := range departments {
		topics[i] = m.Topics.Ingress(d)
	}
	lags, err := m.Broker.GroupLag(ctx, m.GroupID, topics...)
	if err != nil {
		return nil, fmt.Errorf("ingress: lag: %w", err)
	}
	out := make([]DepartmentLag, len(departments))
	for i, d := range departments {
		l := lags[i]
		out[i] = DepartmentLag{Department: d, Topic: l.Topic, EndOffset: l.End, Consumed: l.Consumed, Lag: l.Lag}
	}
	return out, nil
}

// LagAll measures the ingress lag of every department, ordered by code.
func (m *LagMeter) LagAll(ctx context.Context) ([]DepartmentLag, error) {
	depts, err := m.Departments(ctx)
	if err != nil {
		return nil, fmt.Errorf("ingress: lag: departments: %w", err)
	}
	depts = slices.Sorted(slices.Values(depts))
	return m.Lag(ctx, depts)
}
