package runtime

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows one line on the terminal with every pipeline's counters,
// redrawn as records flow; it returns the function that stops it.
func (r *Runner) progress(ctx context.Context) func() {
	if r.opt.Progress == nil {
		return func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(r.opt.Progress),
		progressbar.OptionSpinnerType(14),
		progressbar.OptionShowCount(),
		progressbar.OptionShowIts(),
		progressbar.OptionSetItsString("rec"),
		progressbar.OptionThrottle(200*time.Millisecond),
		progressbar.OptionClearOnFinish(),
	)
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		t := time.NewTicker(250 * time.Millisecond)
		defer t.Stop()
		var last int64
		for {
			select {
			case <-done:
				_ = bar.Finish()
				return
			case <-ctx.Done():
				_ = bar.Finish()
				return
			case <-t.C:
			}
			var total int64
			parts := make([]string, 0, len(r.stats))
			for i, s := range r.stats {
				read := s.read.Load()
				total += read
				parts = append(parts, fmt.Sprintf("%s %d→%d ✗%d", r.cfg.Pipelines[i].Name, read, s.written.Load(), s.rejected.Load()))
			}
			bar.Describe(strings.Join(parts, " | "))
			_ = bar.Add64(total - last)
			last = total
		}
	}()
	return func() {
		close(done)
		<-stopped
	}
}

// Summary formats the end-of-run table.
func Summary(stats []Stats) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-28s %10s %10s %10s %8s %7s  %s\n", "pipeline", "read", "written", "rejected", "batches", "errors", "result")
	for _, s := range stats {
		result := "ok"
		if s.Err != nil {
			result = "failed: " + s.Err.Error()
		}
		fmt.Fprintf(&b, "%-28s %10d %10d %10d %8d %7d  %s\n", s.Pipeline, s.Read, s.Written, s.Rejected, s.Batches, s.Errors, result)
		if s.Rejected > 0 {
			fmt.Fprintf(&b, "  rejected records and reasons: %s\n", s.RejectFile)
		}
	}
	return b.String()
}
