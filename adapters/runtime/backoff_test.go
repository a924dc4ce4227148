package runtime

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"
)

// TestBacksOffWhileTheSinkIsDown: a receiver that answers 503 three times
// is retried with back-off until it takes the batch; nothing is lost,
// nothing is rejected, and the errors are counted.
func TestBacksOffWhileTheSinkIsDown(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	dir := t.TempDir()
	inbox := filepath.Join(dir, "in")
	if err := os.MkdirAll(inbox, 0o750); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(inbox, "a.ndjson"), []byte("{\"k\":1}\n{\"k\":2}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-time.Minute)
	_ = os.Chtimes(filepath.Join(inbox, "a.ndjson"), old, old)
	body := fmt.Sprintf("department: lx-gsc\nstate_dir: state\npipelines:\n  - name: hook\n    source: {type: filedrop, dir: in}\n    sink: {type: webhook, url: %s}\n", srv.URL)
	cfg := loadConfigText(t, dir, body)
	r, err := NewRunner(cfg, Options{Once: true, MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	st := r.Run(context.Background())[0]
	if st.Err != nil || st.Written != 2 || st.Rejected != 0 || st.Errors != 3 || calls.Load() != 4 {
		t.Fatalf("stats %+v after %d calls; want 2 written, 3 errors, 4 calls", st, calls.Load())
	}
	ck, _ := OpenCheckpoints(filepath.Join(dir, "state", "checkpoints.json"))
	if ck.Get("hook") == "" {
		t.Fatal("no checkpoint saved")
	}
}

// TestPermanentFailureStopsOnlyItsPipeline: a receiver that refuses with
// 403 stops its pipeline with the reason; the run still ends.
func TestPermanentFailureStopsOnlyItsPipeline(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusForbidden) }))
	defer srv.Close()
	dir := t.TempDir()
	for _, d := range []string{"in", "in2"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o750); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, d, "a.ndjson")
		_ = os.WriteFile(p, []byte("{\"k\":1}\n"), 0o600)
		old := time.Now().Add(-time.Minute)
		_ = os.Chtimes(p, old, old)
	}
	body := fmt.Sprintf("department: lx-gsc\nstate_dir: state\npipelines:\n  - name: refused\n    source: {type: filedrop, dir: in}\n    sink: {type: webhook, url: %s}\n  - name: fine\n    source: {type: filedrop, dir: in2}\n    sink: {type: file, dir: out}\n", srv.URL)
	cfg := loadConfigText(t, dir, body)
	r, _ := NewRunner(cfg, Options{Once: true})
	stats := r.Run(context.Background())
	if stats[0].Err == nil || stats[1].Err != nil || stats[1].Written != 1 {
		t.Fatalf("stats %+v", stats)
	}
}
