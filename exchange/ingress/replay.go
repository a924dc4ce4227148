package ingress

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
	"yiku/exchange"
	"yiku/fault"
	"yiku/identity"
)

// Publisher is the HTTP publish path a replay goes through (exchange.Publisher).
type Publisher interface {
	Publish(ctx context.Context, req exchange.PublishRequest) (exchange.PublishResult, error)
	Delete(ctx context.Context, pr identity.Principal, resource, subject, reason, trace string) (exchange.PublishResult, error)
}

// MessageReader reads one message back from a topic.
type MessageReader interface {
	ReadMessage(ctx context.Context, topic string, partition int, offset int64) (kafka.Message, error)
}

// Service lets a department see and replay its dead letters.
type Service struct {
	Store     *Store
	Messages  MessageReader
	Publisher Publisher
	Now       func() time.Time
}

// Letter is a dead letter with its record as it sits on the dead-letter topic.
type Letter struct {
	DeadLetter
	// Record is the refused message value (a JSON object), absent for a deletion.
	Record       json.RawMessage `json:"record,omitempty"`
	DeleteReason string          `json:"delete_reason,omitempty"`
	// SchemaVersion is the version the adapter asked for (0 = latest).
	SchemaVersion int `json:"schema_version"`
}

// List returns a page of the principal's department's dead letters.
func (s *Service) List(ctx context.Context, p identity.Principal, f Filter) ([]DeadLetter, error) {
	f.Department = p.DepartmentCode
	if f.Limit <= 0 {
		f.Limit = 100
	}
	if f.Limit > 1000 {
		return nil, fault.Invalidf("invalid_query", "limit must be from 1 to 1000").WithDetails(fault.Detail{Field: "limit", Reason: "out of range"})
	}
	switch f.Status {
	case "", StatusPending, StatusReplayed:
	default:
		return nil, fault.Invalidf("invalid_query", "status must be pending or replayed").WithDetails(fault.Detail{Field: "status", Reason: "unknown status"})
	}
	return s.Store.DeadLetters(ctx, f)
}

// Get returns one dead letter of the principal's department with its record.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Letter, error) {
	dl, err := s.Store.DeadLetter(ctx, p.DepartmentCode, id)
	if err != nil {
		return Letter{}, err
	}
	m, err := s.Messages.ReadMessage(ctx, dl.DLQTopic, dl.DLQPartition, dl.DLQOffset)
	if err != nil {
		return Letter{}, fault.Wrap(err, fault.Unavailable, "dead_letter_unavailable", "the dead letter's record could not be read from %s", dl.DLQTopic)
	}
	in, _ := ParseMessage(dl.Department, m)
	l := Letter{DeadLetter: dl, SchemaVersion: in.Version}
	if in.Tombstone {
		l.DeleteReason = in.DeleteReason
	} else if json.Valid(m.Value) {
		l.Record = m.Value
	} else {
		// Not JSON: shown as a JSON string so the department sees what came.
		l.Record, _ = json.Marshal(string(m.Value))
	}
	return l, nil
}

// ReplayRequest corrects a dead letter. With no Record the original record
// is published again (for refusals the hub has since resolved, such as a
// schema version published later).
type ReplayRequest struct {
	Record json.RawMessage `json:"record,omitempty"`
	// Version is the schema version to validate against; 0 = the one the
	// adapter asked for, else the latest.
	Version int `json:"version,omitempty"`
}

// ReplayResult answers a replay.
type ReplayResult struct {
	DeadLetter DeadLetter             `json:"dead_letter"`
	Publish    exchange.PublishResult `json:"publish"`
}

// Replay publishes a dead letter, corrected or as it was, through the
// HTTP publish path (provider check, validation, Kafka acks=all) as the
// principal, atomically: a record still invalid is refused with its
// per-record errors and the dead letter stays pending.
func (s *Service) Replay(ctx context.Context, p identity.Principal, id, trace string, req ReplayRequest) (ReplayResult, error) {
	l, err := s.Get(ctx, p, id)
	if err != nil {
		return ReplayResult{}, err
	}
	if l.Status == StatusReplayed {
		return ReplayResult{}, fault.Conflictf("dead_letter_replayed", "dead letter %s was already replayed as record %s", id, l.ReplayedRecordID)
	}
	if l.Resource == "" {
		return ReplayResult{}, fault.Conflictf("dead_letter_without_resource", "dead letter %s names no resource; publish the record over HTTP instead", id)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	// Claim first, then publish: of two replays of one dead letter only the
	// one whose claim succeeds publishes.
	claimant := p.Name + " (" + p.ID + ")"
	claimed, err := s.Store.ClaimReplay(ctx, p.DepartmentCode, id, claimant, now(), now().Add(-ReplayClaimLease))
	if err != nil {
		return ReplayResult{}, err
	}
	if !claimed {
		return ReplayResult{}, fault.Conflictf("dead_letter_replaying", "dead letter %s is being replayed or was replayed by another request", id)
	}
	ctx = context.WithoutCancel(ctx)
	done := false
	defer func() {
		if !done {
			// A replay that failed leaves the dead letter pending for the
			// next; if this fails too, the claim lapses after the lease.
			_ = s.Store.ReleaseReplay(ctx, p.DepartmentCode, id, claimant)
		}
	}()
	version := req.Version
	if version == 0 {
		version = l.SchemaVersion
	}
	var res exchange.PublishResult
	var recordID string
	switch {
	case len(req.Record) == 0 && l.DeleteReason != "" && l.Record == nil:
		res, err = s.Publisher.Delete(ctx, p, l.Resource, l.SubjectKey, l.DeleteReason, trace)
		recordID = exchange.TombstoneID(l.Resource, l.SubjectKey, l.DeleteReason)
	default:
		rec := req.Record
		if len(rec) == 0 {
			rec = l.Record
		}
		rec = bytes.TrimSpace(rec)
		if len(rec) == 0 || rec[0] != '{' {
			return ReplayResult{}, fault.Invalidf("invalid_record", "the replayed record must be one JSON object").WithDetails(fault.Detail{Field: "record", Reason: "not a JSON object"})
		}
		body := make([]byte, 0, len(rec)+2)
		body = append(append(append(body, '['), rec...), ']')
		res, err = s.Publisher.Publish(ctx, exchange.PublishRequest{Principal: p, Resource: l.Resource, Version: version, Atomic: true,
			Format: exchange.FormatJSON, Body: body, TraceID: trace})
		if err == nil {
			canon, _, cerr := exchange.Canonical(rec)
			if cerr != nil {
				return ReplayResult{}, fmt.Errorf("ingress: replay %s: %w", id, cerr)
			}
			recordID = exchange.ContentHash(canon)
		}
	}
	if err != nil {
		return ReplayResult{}, err
	}
	if _, err := s.Store.MarkReplayed(ctx, p.DepartmentCode, id, recordID, p.Name, now()); err != nil {
		return ReplayResult{}, err
	}
	done = true
	dl, err := s.Store.DeadLetter(ctx, p.DepartmentCode, id)
	if err != nil {
		return ReplayResult{}, err
	}
	return ReplayResult{DeadLetter: dl, Publish: res}, nil
}

// KafkaReader reads single messages back from Kafka through the hub's
// broker client (its brokers and security).
type KafkaReader struct{ Kafka *broker.Client }

// ReadMessage reads the message at topic/partition/offset.
func (k KafkaReader) ReadMessage(ctx context.Context, topic string, partition int, offset int64) (kafka.Message, error) {
	r := k.Kafka.NewReader(kafka.ReaderConfig{Topic: topic, Partition: partition, MinBytes: 1, MaxBytes: 4 << 20, MaxWait: 100 * time.Millisecond})
	defer r.Close()
	if err := r.SetOffset(offset); err != nil {
		return kafka.Message{}, fmt.Errorf("ingress: seek %s/%d@%d: %w", topic, partition, offset, err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	m, err := r.FetchMessage(ctx)
	if err != nil {
		return kafka.Message{}, fmt.Errorf("ingress: read %s/%d@%d: %w", topic, partition, offset, err)
	}
	if m.Offset != offset {
		return kafka.Message{}, fmt.Errorf("ingress: read %s/%d@%d: got offset %d (the message is gone, retention?)", topic, partition, offset, m.Offset)
	}
	return m, nil
}
