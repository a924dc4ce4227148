package periodic_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yiku/periodic"
)

// syncBuffer is a log sink the job's goroutine and the test share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestRunRepeatsAndLogsFailures(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	var calls atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		periodic.Run(ctx, 5*time.Millisecond, log, "prune keys", func(context.Context) error {
			if calls.Add(1)%2 == 0 {
				return errors.New("database away")
			}
			return nil
		})
	}()
	deadline := time.Now().Add(5 * time.Second)
	for calls.Load() < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("job ran %d times in 5s at a 5ms interval", calls.Load())
		}
		time.Sleep(time.Millisecond)
	}
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	got := logs.String()
	if !strings.Contains(got, "level=WARN") || !strings.Contains(got, `msg="prune keys"`) || !strings.Contains(got, `err="database away"`) {
		t.Fatalf("a failing job was not logged as a warning:\n%s", got)
	}
	// Every failure is logged but perhaps the last, if it met the shutdown.
	failures := int(calls.Load()) / 2
	if n := strings.Count(got, "\n"); n != failures && n != failures-1 {
		t.Fatalf("%d log lines for %d failures", n, failures)
	}
}

func TestRunRunsAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan struct{}, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		periodic.Run(ctx, time.Hour, slog.Default(), "job", func(context.Context) error {
			ran <- struct{}{}
			return nil
		})
	}()
	select {
	case <-ran:
	case <-time.After(5 * time.Second):
		t.Fatal("the job did not run before the first tick")
	}
	cancel()
	<-done
}

func TestRunQuietOnShutdown(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var logs syncBuffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	periodic.Run(ctx, time.Hour, log, "job", func(ctx context.Context) error {
		cancel() // shutdown arrives while the job runs
		return ctx.Err()
	})
	if got := logs.String(); got != "" {
		t.Fatalf("a job cut short by shutdown was logged:\n%s", got)
	}
}

func TestSleep(t *testing.T) {
	start := time.Now()
	if err := periodic.Sleep(context.Background(), 20*time.Millisecond); err != nil {
		t.Fatalf("Sleep = %v, want nil", err)
	}
	if d := time.Since(start); d < 20*time.Millisecond {
		t.Fatalf("Sleep returned after %v, want at least 20ms", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(10*time.Millisecond, cancel)
	start = time.Now()
	if err := periodic.Sleep(ctx, time.Hour); !errors.Is(err, context.Canceled) {
		t.Fatalf("Sleep on a cancelled context = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Fatalf("Sleep outlived its context by %v", d)
	}
}
