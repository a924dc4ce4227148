package sharing

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker"
)

// PolicyTopic is the topic of policy-change notifications under prefix.
func PolicyTopic(prefix string) string { return prefix + ".policy" }

// Change is a policy-change notification.
type Change struct {
	Version int64     `json:"version"`
	Kind    string    `json:"kind"` // granted, revoked, expired
	GrantID string    `json:"grant_id,omitempty"`
	At      time.Time `json:"at"`
}

// Notifier tells every hub instance that the data policies changed.
type Notifier interface {
	Notify(ctx context.Context, c Change) error
}

// KafkaNotifier publishes changes on the policy topic.
type KafkaNotifier struct {
	Broker *broker.Client
	Topic  string
}

// Notify publishes c.
func (n KafkaNotifier) Notify(ctx context.Context, c Change) error {
	data, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("sharing: encode change: %w", err)
	}
	if err := n.Broker.Produce(ctx, kafka.Message{Topic: n.Topic, Key: []byte(c.GrantID), Value: data}); err != nil {
		return fmt.Errorf("sharing: publish policy change: %w", err)
	}
	return nil
}

// Syncer is the background worker that keeps an instance's gate current:
// it reloads on every change notification, checks the policy version in the
// database every PollInterval as a safety net for a missed notification,
// and every SweepInterval expires grants whose validity ended and reloads
// if the department hierarchy changed.
type Syncer struct {
	Gate          *Gatekeeper
	Broker        *broker.Client
	Topic         string
	Notifier      Notifier
	Log           *slog.Logger
	PollInterval  time.Duration
	SweepInterval time.Duration
}

// Name names the worker.
func (w *Syncer) Name() string { return "sharing-policy-sync" }

// Run runs until ctx ends.
func (w *Syncer) Run(ctx context.Context) error {
	if w.PollInterval <= 0 {
		w.PollInterval = time.Second
	}
	if w.SweepInterval <= 0 {
		w.SweepInterval = 30 * time.Second
	}
	go w.listen(ctx)
	poll := time.NewTicker(w.PollInterval)
	defer poll.Stop()
	sweep := time.NewTicker(w.SweepInterval)
	defer sweep.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-poll.C:
			if err := w.Gate.RefreshIfStale(ctx); err != nil && ctx.Err() == nil {
				w.Log.Warn("policy version check failed", "err", err)
			}
		case <-sweep.C:
			w.sweep(ctx)
		}
	}
}

// listen consumes notifications in a consumer group of this instance
// alone, so every instance sees every notification. A broker failure is
// logged and retried; the version poll covers the gap.
func (w *Syncer) listen(ctx context.Context) {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	group := w.Topic + ".reload." + hex.EncodeToString(b)
	for ctx.Err() == nil {
		err := w.Broker.Consume(ctx, broker.ConsumerConfig{GroupID: group, Topics: []string{w.Topic}, MaxAttempts: 3, Log: w.Log},
			func(ctx context.Context, m kafka.Message) error {
				var c Change
				if err := json.Unmarshal(m.Value, &c); err != nil {
					w.Log.Warn("ignoring malformed policy change", "offset", m.Offset, "err", err)
					return nil
				}
				if c.Version != 0 && c.Version <= w.Gate.Version() {
					return nil
				}
				return w.Gate.Reload(ctx)
			})
		if ctx.Err() != nil {
			return
		}
		w.Log.Warn("policy change listener stopped; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(2 * time.Second):
		}
	}
}

func (w *Syncer) sweep(ctx context.Context) {
	n, err := w.Gate.store.ExpireDue(ctx, w.Gate.now())
	if err != nil && ctx.Err() == nil {
		w.Log.Warn("grant expiry sweep failed", "err", err)
	}
	if n > 0 {
		if err := w.Gate.Reload(ctx); err != nil {
			w.Log.Warn("reload after expiry failed", "err", err)
		}
		if w.Notifier != nil {
			if err := w.Notifier.Notify(ctx, Change{Version: w.Gate.Version(), Kind: ActionExpired, At: w.Gate.now()}); err != nil {
				w.Log.Warn("expiry notification failed", "err", err)
			}
		}
	}
	if err := w.Gate.RefreshHierarchy(ctx); err != nil && ctx.Err() == nil {
		w.Log.Warn("department hierarchy check failed", "err", err)
	}
}

// RefreshIfStale reloads when the database holds a newer policy version.
func (k *Gatekeeper) RefreshIfStale(ctx context.Context) error {
	v, err := k.store.Version(ctx)
	if err != nil {
		return err
	}
	if v != k.Version() {
		return k.Reload(ctx)
	}
	return nil
}

// RefreshHierarchy reloads when departments were added or moved.
func (k *Gatekeeper) RefreshHierarchy(ctx context.Context) error {
	depts, err := k.loader.depts(ctx)
	if err != nil {
		return err
	}
	if departmentsHash(depts) == k.snap.Load().deptHash {
		return nil
	}
	return k.Reload(ctx)
}
