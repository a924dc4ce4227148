// Package periodic runs housekeeping jobs on a fixed interval for as long
// as a context lives: the pruning of old idempotency keys and the API role
// watcher's check, for two. A job that fails is logged and tried again at
// the next tick. It holds no jobs of its own and does not schedule by the
// clock (no cron), retry sooner, or run a job twice at once. Sleep is the
// wait between tries for loops that pace themselves.
package periodic

import (
	"context"
	"log/slog"
	"time"
)

// Run calls job at once and then every interval until ctx ends, and
// returns when ctx ends. A job's error is logged at warn level as msg,
// unless ctx has ended: a job cut short by shutdown has not failed.
func Run(ctx context.Context, interval time.Duration, log *slog.Logger, msg string, job func(context.Context) error) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := job(ctx); err != nil && ctx.Err() == nil {
			log.Warn(msg, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// Sleep waits d or until ctx ends, whichever comes first, and returns
// ctx's error if it ended.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
