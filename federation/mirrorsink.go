package federation

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/segmentio/kafka-go"
	"github.com/twmb/franz-go/pkg/kgo"

	"yiku/exchange"
	"yiku/exchange/library"
	"yiku/fault"
	"yiku/fieldcrypt"
)

// MirrorSink applies to this hub's library the records MirrorMaker 2 copied
// from downstream hubs' clusters: topic <origin hub>.<origin records
// topic>, applied to resource MirrorResourceID(hub, id) with the publisher
// tagged with its origin (<hub>_<department>), through the library's
// compare-and-set offsets like the library sink. It reads with franz-go
// under read_committed, which drops the records of aborted transactions
// (MirrorMaker retries batches in new transactions; kafka-go's reader would
// deliver both copies).
type MirrorSink struct {
	Store   *Store
	Library *library.Store
	// Client makes a franz-go client on this hub's cluster with opts added.
	Client func(opts ...kgo.Opt) (*kgo.Client, error)
	// Partitions returns a topic's partition count (an error if it does
	// not exist yet).
	Partitions func(ctx context.Context, topic string) (int, error)
	Interval   time.Duration
	// Fields is this hub's field cipher (nil without a data key file). It
	// opens copies sealed downstream with the keys that hub handed over
	// (PeerKeyPrefix), and re-seals them under this hub's own keys for the
	// resource they are applied to, whose catalog entry (Directory) says
	// which fields are sensitive.
	Fields    *fieldcrypt.Cipher
	Directory Directory
	Log       *slog.Logger
}

// Name names the worker.
func (m *MirrorSink) Name() string { return "federation-mirror-sink" }

type mirrorTopic struct {
	hub, resource, origin, topic string
}

// Run watches the downstream entries for copied topics and applies each
// partition of each until ctx ends.
func (m *MirrorSink) Run(ctx context.Context) error {
	running := map[string]bool{}
	var wg sync.WaitGroup
	defer wg.Wait()
	t := time.NewTicker(m.Interval)
	defer t.Stop()
	for {
		topics, err := m.topics(ctx)
		if err != nil && ctx.Err() == nil {
			m.Log.Warn("federation: mirror sink: entries", "err", err)
		}
		for _, mt := range topics {
			n, err := m.Partitions(ctx, mt.topic)
			if err != nil {
				continue // not copied yet
			}
			for p := 0; p < n; p++ {
				key := fmt.Sprintf("%s/%d", mt.topic, p)
				if running[key] {
					continue
				}
				running[key] = true
				wg.Add(1)
				go func(mt mirrorTopic, p int) {
					defer wg.Done()
					for ctx.Err() == nil {
						if err := m.consume(ctx, mt, p); err != nil && ctx.Err() == nil {
							m.Log.Warn("federation: mirror sink: partition", "topic", mt.topic, "partition", p, "err", err)
							time.Sleep(time.Second)
						}
					}
				}(mt, p)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// topics lists the copied topics of the downstream entries that accept
// records.
func (m *MirrorSink) topics(ctx context.Context) ([]mirrorTopic, error) {
	ps, err := m.Store.Peerings(ctx, Downstream)
	if err != nil {
		return nil, err
	}
	var out []mirrorTopic
	for _, p := range ps {
		if p.Status == StatusEnded {
			continue
		}
		es, err := m.Store.Entries(ctx, []string{p.ID}, false)
		if err != nil {
			return nil, err
		}
		for _, e := range es {
			if e.Topic == "" || !e.Status.AcceptsRecords() {
				continue
			}
			out = append(out, mirrorTopic{hub: p.PeerHub, resource: MirrorResourceID(p.PeerHub, e.ResourceID), origin: e.ResourceID, topic: p.PeerHub + "." + e.Topic})
		}
	}
	return out, nil
}

// consume applies one partition from its stored offset until ctx ends or
// the offset was moved by another instance (then it starts over).
func (m *MirrorSink) consume(ctx context.Context, mt mirrorTopic, p int) error {
	from, err := m.Library.StartOffset(ctx, mt.topic, p)
	if err != nil {
		return err
	}
	cl, err := m.Client(kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{mt.topic: {int32(p): kgo.NewOffset().At(from)}}),
		kgo.FetchIsolationLevel(kgo.ReadCommitted()))
	if err != nil {
		return err
	}
	defer cl.Close()
	// The downstream hub's keys, with their cache, for this run.
	var open exchange.Sealer
	if m.Fields != nil {
		open = m.Fields.Under(PeerKeyPrefix(mt.hub))
	}
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		var ferr error
		fs.EachError(func(_ string, _ int32, err error) { ferr = err })
		if ferr != nil {
			return ferr
		}
		var batch []library.Entry
		next := from
		var held error
		fs.EachRecord(func(r *kgo.Record) {
			if held != nil {
				return // the rest waits behind the held record, in order
			}
			msg := kafka.Message{Topic: r.Topic, Partition: int(r.Partition), Offset: r.Offset, Key: r.Key, Value: r.Value}
			for _, h := range r.Headers {
				msg.Headers = append(msg.Headers, kafka.Header{Key: h.Key, Value: h.Value})
			}
			// A copy sealed downstream opens with the keys that hub handed
			// over; until they arrive (or on a hub without a data key file)
			// it holds the partition rather than be skipped.
			rec, err := exchange.RecordFromMessage(ctx, msg, open)
			if errors.Is(err, exchange.ErrUnopened) && !errors.Is(err, fieldcrypt.ErrSealed) {
				held = fmt.Errorf("a copied record of %s/%s cannot be opened yet (its data keys have not arrived from %s, or this hub has no data key file): %w", mt.hub, mt.origin, mt.hub, err)
				return
			}
			if err == nil && rec.Resource != mt.origin {
				err = fmt.Errorf("the record is of %s", rec.Resource)
			}
			if err == nil {
				rec, err = m.reseal(ctx, mt, open, rec)
			}
			if err != nil {
				if fault.KindOf(err) == fault.Unavailable {
					held = err
					return
				}
				m.Log.Error("federation: mirror sink: skipping an unreadable copied record", "topic", r.Topic, "partition", r.Partition, "offset", r.Offset, "err", err)
				next = r.Offset + 1
				return
			}
			next = r.Offset + 1
			rec.Resource = mt.resource
			rec.Publisher = ProxyDepartment(mt.hub, rec.Publisher)
			batch = append(batch, library.Entry{Record: rec, Partition: int(r.Partition), Offset: r.Offset})
		})
		if next == from {
			if held != nil {
				return held
			}
			continue
		}
		if _, err := m.Library.Apply(ctx, mt.resource, mt.topic, p, from, next, batch); err != nil {
			if errors.Is(err, library.ErrFenced) {
				return nil
			}
			return err
		}
		from = next
		if held != nil {
			return held
		}
	}
	return nil
}

// reseal turns a copy as the downstream hub sealed it (open: the keys it
// handed over; nil on a hub without a data key file, when nothing is
// sealed) into the record as this hub stores it for mt.resource: sealed
// under this hub's own keys where its catalog entry marks fields
// sensitive, keyed by this hub's pseudonym of the subject where the
// subject field is one of them, in clear on a hub without a data key file.
func (m *MirrorSink) reseal(ctx context.Context, mt mirrorTopic, open exchange.Sealer, rec exchange.Record) (exchange.Record, error) {
	subject, data := rec.SubjectKey, rec.Data
	var err error
	if open != nil {
		if subject, err = open.OpenSubject(ctx, mt.origin, subject); err != nil {
			return rec, err
		}
		if data != nil {
			if data, err = open.Open(ctx, mt.origin, data); err != nil {
				return rec, err
			}
		}
	}
	if m.Fields != nil && m.Directory != nil {
		res, err := m.Directory.Resource(ctx, mt.resource)
		if err != nil {
			return rec, fault.Wrap(err, fault.Unavailable, "catalog_unavailable", "the catalog entry of %s could not be read", mt.resource)
		}
		sensitive := exchange.SensitiveFields(res)
		if data != nil {
			if data, _, err = m.Fields.Seal(ctx, mt.resource, sensitive, data); err != nil {
				return rec, fault.Wrap(err, fault.Unavailable, "encryption_unavailable", "a copied record of %s could not be sealed", mt.resource)
			}
		}
		if slices.Contains(sensitive, res.SubjectKey) {
			if subject, err = m.Fields.SealSubject(ctx, mt.resource, subject); err != nil {
				return rec, fault.Wrap(err, fault.Unavailable, "encryption_unavailable", "a copied record of %s could not be keyed", mt.resource)
			}
		}
	}
	rec.SubjectKey, rec.Data = subject, data
	return rec, nil
}
