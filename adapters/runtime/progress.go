package runtime

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"
)

// progress shows one line on the terminal with every pipeline's counters,
// redrawn as records flow; it returns the function that stops it.
func (g *Group) progress(ctx context.Context) func() {
	var w io.Writer
	for _, r := range g.runners {
		if r.opt.Progress != nil {
			w = r.opt.Progress
			break
		}
	}
	if w == nil {
		return func() {}
	}
	bar := progressbar.NewOptions64(-1,
		progressbar.OptionSetWriter(w),
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
			var parts []string
			for _, r := range g.runners {
				for i, s := range r.stats {
					read := s.read.Load()
					total += read
					parts = append(parts, fmt.Sprintf("%s %d→%d ✗%d", r.cfg.Pipelines[i].Name, read, s.written.Load(), s.rejected.Load()))
				}
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
	fmt.Fprintf(&b, "%-10s %-24s %8s %8s %9s %8s %7s  %s\n", "department", "pipeline", "read", "written", "rejected", "batches", "errors", "result")
	var (
		total  Stats
		failed int
	)
	for _, s := range stats {
		result := "ok"
		if s.Err != nil {
			result = "failed: " + s.Err.Error()
		}
		fmt.Fprintf(&b, "%-10s %-24s %8d %8d %9d %8d %7d  %s\n", s.Department, s.Pipeline, s.Read, s.Written, s.Rejected, s.Batches, s.Errors, result)
		if s.Rejected > 0 {
			fmt.Fprintf(&b, "  rejected records and reasons: %s\n", s.RejectFile)
		}
		total.Read += s.Read
		total.Written += s.Written
		total.Rejected += s.Rejected
		total.Batches += s.Batches
		total.Errors += s.Errors
		if s.Err != nil {
			failed++
		}
	}
	if len(stats) > 1 {
		result := "ok"
		if failed > 0 {
			result = fmt.Sprintf("%d failed", failed)
		}
		fmt.Fprintf(&b, "%-10s %-24s %8d %8d %9d %8d %7d  %s\n", "total", fmt.Sprintf("%d pipelines", len(stats)), total.Read, total.Written, total.Rejected, total.Batches, total.Errors, result)
	}
	return b.String()
}
