package ingress

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/audit"
	"yiku/exchange"
	"yiku/fault"
)

// Publishing is the publish path the ingress shares with HTTP publishes
// (exchange.Publisher).
type Publishing interface {
	Prepare(ctx context.Context, department, resource string, version int, trace string, raws []json.RawMessage) (exchange.Prepared, error)
	PrepareDelete(ctx context.Context, department, resource, subject, reason, trace string) (exchange.Record, error)
	Route(ctx context.Context, recs []exchange.Record) ([]exchange.Placement, error)
}

// Index is the store of dead letters and idempotency keys (Store).
type Index interface {
	SeenKeys(ctx context.Context, department string, keys []string) (map[string]string, error)
	SaveKeys(ctx context.Context, department string, keys map[string]string) error
	AddDeadLetters(ctx context.Context, dls []DeadLetter) error
}

var _ Index = (*Store)(nil)

// Ingester validates, routes and dead-letters batches of ingress messages.
type Ingester struct {
	Publishing Publishing
	// DeadLetters produces to the dead-letter topics with acks=all (exchange.Router).
	DeadLetters exchange.Producer
	Index       Index
	Topics      exchange.Topics
	// Audit records one event per routed and per dead-lettered group; may be nil.
	Audit audit.Recorder
	Now   func() time.Time
}

// Outcome counts what one batch became.
type Outcome struct {
	Routed     int
	DeadLetter int
	// Repeats are records whose idempotency key was seen before with the
	// same content: dropped.
	Repeats int
}

// item is one message on its way through Handle.
type item struct {
	in      Inbound
	rec     exchange.Record
	ok      bool
	reasons []exchange.Rejection
}

func (it *item) refuse(r ...exchange.Rejection) {
	it.ok = false
	it.reasons = append(it.reasons, r...)
}

// Handle processes a batch of ingress messages (of any departments). Every
// message ends routed to its resource topic, dropped as a repeat, or on its
// department's dead-letter topic. An error means nothing can be said about
// the batch (Kafka or the database failed): the caller retries it without
// committing; records already routed are then routed again, which the
// library absorbs (a record equal to its subject's current one is skipped).
func (g *Ingester) Handle(ctx context.Context, msgs []kafka.Message) (Outcome, error) {
	now := time.Now
	if g.Now != nil {
		now = g.Now
	}
	items := make([]*item, len(msgs))
	for i, m := range msgs {
		dept, ok := g.Topics.IngressDepartment(m.Topic)
		if !ok {
			return Outcome{}, fmt.Errorf("ingress: message of %s is not from an ingress topic", m.Topic)
		}
		in, errs := ParseMessage(dept, m)
		items[i] = &item{in: in, ok: len(errs) == 0, reasons: errs}
	}
	if err := g.prepare(ctx, items); err != nil {
		return Outcome{}, err
	}
	var out Outcome
	keys, err := g.dropRepeats(ctx, items, &out)
	if err != nil {
		return Outcome{}, err
	}
	// Route per resource, in message order so a subject's records keep theirs.
	byResource := map[string][]exchange.Record{}
	var order []string
	for _, it := range items {
		if !it.ok {
			continue
		}
		r := it.rec.Resource
		if _, seen := byResource[r]; !seen {
			order = append(order, r)
		}
		byResource[r] = append(byResource[r], it.rec)
	}
	for _, r := range order {
		if _, err := g.Publishing.Route(ctx, byResource[r]); err != nil {
			return Outcome{}, fmt.Errorf("ingress: route %d records of %s: %w", len(byResource[r]), r, err)
		}
		out.Routed += len(byResource[r])
	}
	for dept, ks := range keys {
		if err := g.Index.SaveKeys(ctx, dept, ks); err != nil {
			return Outcome{}, err
		}
	}
	dead, err := g.deadLetter(ctx, items, now())
	if err != nil {
		return Outcome{}, err
	}
	out.DeadLetter = dead
	if err := g.audit(ctx, items, byResource); err != nil {
		return Outcome{}, err
	}
	return out, nil
}

// prepare validates the parsed items through the publish path: records of
// one department, resource and schema version as one batch, deletions one
// by one.
func (g *Ingester) prepare(ctx context.Context, items []*item) error {
	type group struct {
		dept, resource string
		version        int
	}
	groups := map[group][]*item{}
	var order []group
	for _, it := range items {
		if !it.ok {
			continue
		}
		if it.in.Tombstone {
			rec, err := g.Publishing.PrepareDelete(ctx, it.in.Department, it.in.Resource, it.in.Key, it.in.DeleteReason, it.in.TraceID)
			if err != nil {
				if !clientFault(err) {
					return fmt.Errorf("ingress: prepare deletion of %s: %w", it.in.Resource, err)
				}
				it.refuse(faultReason(err))
				continue
			}
			it.rec = rec
			continue
		}
		k := group{it.in.Department, it.in.Resource, it.in.Version}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], it)
	}
	for _, k := range order {
		members := groups[k]
		raws := make([]json.RawMessage, len(members))
		for i, it := range members {
			raws[i] = it.in.Value
		}
		// One trace for the group: the first message's.
		prep, err := g.Publishing.Prepare(ctx, k.dept, k.resource, k.version, members[0].in.TraceID, raws)
		if err != nil {
			if !clientFault(err) {
				return fmt.Errorf("ingress: prepare %d records of %s: %w", len(members), k.resource, err)
			}
			r := faultReason(err)
			for _, it := range members {
				it.refuse(r)
			}
			continue
		}
		for _, rej := range prep.Checked.Rejected {
			it := members[rej.Index]
			rej.Index = 0
			it.refuse(rej)
		}
		for n, idx := range prep.Checked.Indexes {
			it := members[idx]
			rec := prep.Checked.Accepted[n]
			rec.TraceID = it.in.TraceID
			if it.in.Key != "" && it.in.Key != rec.SubjectKey {
				it.refuse(exchange.Rejection{Rule: "subject_key", Message: "the message key is not the record's subject key"})
				continue
			}
			it.rec, it.ok = rec, true
		}
	}
	return nil
}

// dropRepeats drops records whose idempotency key their department sent
// before (or earlier in this batch) for the same content, and refuses a
// key reused for other content. It returns the new keys to save.
func (g *Ingester) dropRepeats(ctx context.Context, items []*item, out *Outcome) (map[string]map[string]string, error) {
	byDept := map[string][]string{}
	for _, it := range items {
		if it.ok && it.in.IdempotencyKey != "" {
			byDept[it.in.Department] = append(byDept[it.in.Department], it.in.IdempotencyKey)
		}
	}
	fresh := map[string]map[string]string{}
	for dept, keys := range byDept {
		seen, err := g.Index.SeenKeys(ctx, dept, keys)
		if err != nil {
			return nil, err
		}
		fresh[dept] = map[string]string{}
		for _, it := range items {
			if !it.ok || it.in.Department != dept || it.in.IdempotencyKey == "" {
				continue
			}
			k := it.in.IdempotencyKey
			id, old := seen[k]
			if !old {
				id, old = fresh[dept][k]
			}
			switch {
			case !old:
				fresh[dept][k] = it.rec.ID
			case id == it.rec.ID:
				it.ok = false
				it.reasons = nil
				out.Repeats++
			default:
				it.refuse(exchange.Rejection{Rule: "idempotency_key", Message: fmt.Sprintf("idempotency key %q was used for a different record", k)})
			}
		}
	}
	return fresh, nil
}

// deadLetter produces the refused items to their departments' dead-letter
// topics and indexes them.
func (g *Ingester) deadLetter(ctx context.Context, items []*item, at time.Time) (int, error) {
	byDept := map[string][]*item{}
	var order []string
	for _, it := range items {
		if it.ok || len(it.reasons) == 0 {
			continue
		}
		d := it.in.Department
		if _, ok := byDept[d]; !ok {
			order = append(order, d)
		}
		byDept[d] = append(byDept[d], it)
	}
	total := 0
	for _, dept := range order {
		topic := g.Topics.DeadLetters(dept)
		refused := byDept[dept]
		msgs := make([]kafka.Message, len(refused))
		for i, it := range refused {
			msgs[i] = DeadLetterMessage(topic, it.in.Source, it.reasons, at)
		}
		placed, err := g.DeadLetters.Produce(ctx, topic, msgs)
		if err != nil {
			return 0, fmt.Errorf("ingress: dead-letter %d records of %s: %w", len(msgs), dept, err)
		}
		dls := make([]DeadLetter, len(refused))
		for i, it := range refused {
			src := it.in.Source
			dls[i] = DeadLetter{ID: DeadLetterID(src.Topic, src.Partition, src.Offset), Department: dept, Resource: it.in.Resource,
				SubjectKey: it.in.Key, IdempotencyKey: it.in.IdempotencyKey, Reasons: it.reasons,
				SourceTopic: src.Topic, SourcePartition: src.Partition, SourceOffset: src.Offset,
				DLQTopic: topic, DLQPartition: placed[i].Partition, DLQOffset: placed[i].Offset, CreatedAt: at}
		}
		if err := g.Index.AddDeadLetters(ctx, dls); err != nil {
			return 0, err
		}
		total += len(refused)
	}
	return total, nil
}

// audit notes, per department and resource, how many records the ingress
// accepted and how many it refused.
func (g *Ingester) audit(ctx context.Context, items []*item, routed map[string][]exchange.Record) error {
	if g.Audit == nil {
		return nil
	}
	type key struct{ dept, resource string }
	refused := map[key]int{}
	for _, it := range items {
		if !it.ok && len(it.reasons) > 0 {
			refused[key{it.in.Department, it.in.Resource}]++
		}
	}
	var events []audit.Event
	for resource, recs := range routed {
		events = append(events, audit.Event{Time: time.Now().UTC(), PrincipalName: "kafka-ingress", Department: recs[0].Publisher,
			Action: "record.publish", Resource: resource, Outcome: audit.Allowed, Count: len(recs), Reason: "Kafka ingress " + g.Topics.Ingress(recs[0].Publisher)})
	}
	for k, n := range refused {
		events = append(events, audit.Event{Time: time.Now().UTC(), PrincipalName: "kafka-ingress", Department: k.dept,
			Action: "record.deadletter", Resource: k.resource, Outcome: audit.Denied, Count: n, Reason: "refused ingress records sent to " + g.Topics.DeadLetters(k.dept)})
	}
	for _, e := range events {
		if err := g.Audit.Record(ctx, e); err != nil {
			return fmt.Errorf("ingress: audit: %w", err)
		}
	}
	return nil
}

// clientFault reports whether err is the publisher's mistake (the record
// goes to the dead letters) rather than the hub's (the batch is retried).
func clientFault(err error) bool {
	switch fault.KindOf(err) {
	case fault.Invalid, fault.Forbidden, fault.NotFound, fault.Conflict, fault.TooLarge:
		return true
	}
	return false
}

func faultReason(err error) exchange.Rejection {
	fe, ok := fault.As(err)
	if !ok {
		return exchange.Rejection{Rule: "error", Message: err.Error()}
	}
	r := exchange.Rejection{Rule: fe.Code, Message: fe.Message}
	for _, d := range fe.Details {
		if d.Pointer != "" {
			r.Pointer = d.Pointer
			break
		}
	}
	return r
}
