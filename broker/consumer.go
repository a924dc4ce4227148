package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/segmentio/kafka-go"
)

// Handler processes one message. Returning nil commits it; an error is
// retried with back-off and, after MaxAttempts, handed to the dead-letter
// function (the message is then committed so one poison message cannot
// block its partition).
type Handler func(ctx context.Context, m kafka.Message) error

// DeadLetter receives a message that failed every attempt, with the last error.
type DeadLetter func(ctx context.Context, m kafka.Message, err error) error

// ConsumerConfig describes one consumer-group subscription.
type ConsumerConfig struct {
	GroupID     string
	Topics      []string
	MaxAttempts int
	// StartAtBeginning makes a group with no committed offset start at the
	// oldest message instead of the newest.
	StartAtBeginning bool
	DeadLetter       DeadLetter
	Log              *slog.Logger
}

// Consume runs handler for every message of the group's topics until ctx is
// done. Offsets are committed only after the handler (or the dead-letter
// function) succeeded, so a crash replays messages rather than losing them:
// handlers must be idempotent.
func (c *Client) Consume(ctx context.Context, cc ConsumerConfig, handler Handler) error {
	if cc.MaxAttempts < 1 {
		cc.MaxAttempts = 5
	}
	log := cc.Log
	if log == nil {
		log = slog.Default()
	}
	start := kafka.LastOffset
	if cc.StartAtBeginning {
		start = kafka.FirstOffset
	}
	r := c.NewReader(kafka.ReaderConfig{
		GroupID:        cc.GroupID,
		GroupTopics:    cc.Topics,
		StartOffset:    start,
		MinBytes:       1,
		MaxBytes:       16 << 20,
		MaxWait:        250 * time.Millisecond,
		CommitInterval: 0, // synchronous commits: committed means handled
		// Short rebalance timings: a hub instance joining or leaving takes
		// its partitions over in seconds, not the library's default minute.
		HeartbeatInterval: time.Second,
		SessionTimeout:    10 * time.Second,
		RebalanceTimeout:  10 * time.Second,
		JoinGroupBackoff:  500 * time.Millisecond,
		ReadBackoffMin:    50 * time.Millisecond,
		ReadBackoffMax:    500 * time.Millisecond,
	})
	defer r.Close()
	for {
		m, err := r.FetchMessage(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("broker: consume %v: %w", cc.Topics, err)
		}
		if err := c.handle(ctx, cc, handler, m, log); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := r.CommitMessages(context.WithoutCancel(ctx), m); err != nil {
			return fmt.Errorf("broker: commit %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, err)
		}
	}
}

func (c *Client) handle(ctx context.Context, cc ConsumerConfig, handler Handler, m kafka.Message, log *slog.Logger) error {
	var err error
	backoff := 100 * time.Millisecond
	for attempt := 1; attempt <= cc.MaxAttempts; attempt++ {
		err = safeCall(ctx, handler, m)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		log.Warn("message handler failed", "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "attempt", attempt, "err", err)
		if attempt < cc.MaxAttempts {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
		}
	}
	if cc.DeadLetter == nil {
		return fmt.Errorf("broker: %s/%d@%d failed %d times: %w", m.Topic, m.Partition, m.Offset, cc.MaxAttempts, err)
	}
	if dlErr := cc.DeadLetter(ctx, m, err); dlErr != nil {
		return fmt.Errorf("broker: dead-letter %s/%d@%d: %w", m.Topic, m.Partition, m.Offset, errors.Join(err, dlErr))
	}
	return nil
}

// safeCall turns a handler panic into an error so one bad message cannot
// take the process down.
func safeCall(ctx context.Context, h Handler, m kafka.Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("handler panic: %v", r)
		}
	}()
	return h(ctx, m)
}
