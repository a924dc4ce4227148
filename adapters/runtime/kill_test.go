package runtime

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"yiku/adapters/examples"
	"yiku/exchange/library"
	"yiku/hub/hubtest"
)

const envChildConfig = "YIKU_ADAPTER_TEST_CHILD_CONFIG"

// TestAdapterChildProcess is not a test: it is the adapter process the
// SIGKILL test starts (the test binary re-executed).
func TestAdapterChildProcess(t *testing.T) {
	path := os.Getenv(envChildConfig)
	if path == "" {
		t.Skip("runs only as the child of TestSIGKILLMidSync")
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(cfg, Options{Once: os.Getenv("YIKU_ADAPTER_TEST_ONCE") == "1"})
	if err != nil {
		t.Fatal(err)
	}
	stats := r.Run(context.Background())
	fmt.Print(Summary(stats))
	if stats[0].Err != nil {
		t.Fatal(stats[0].Err)
	}
}

// TestSIGKILLMidSync kills the adapter with SIGKILL in the middle of a
// 50,000-row table sync, restarts it, and checks the hub's library holds
// every row exactly once: 50,000 current records and 50,000 versions (a
// batch sent twice would add versions).
func TestSIGKILLMidSync(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000-row sync skipped in -short mode")
	}
	const rows = 50000
	h := hubtest.Start(t)
	base := libraryBaseline(t, h, "marriage-registration")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "civil.db")
	if err := examples.WriteCivilAffairsDB(context.Background(), dbPath, rows, 0); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, "lx-civil", h.URL, h.Secret("civil-system"), fmt.Sprintf(civilPipeline, dbPath, 500))
	start := func(once bool) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAdapterChildProcess$", "-test.count=1")
		cmd.Env = append(os.Environ(), envChildConfig+"="+cfg.path)
		if once {
			cmd.Env = append(cmd.Env, "YIKU_ADAPTER_TEST_ONCE=1")
		}
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	lib := library.NewStore(h.DB)
	child := start(false)
	deadline := time.Now().Add(3 * time.Minute)
	var before int64
	for {
		cur, _, err := lib.Counts(context.Background(), "marriage-registration")
		if err != nil {
			t.Fatal(err)
		}
		if cur-base.cur >= rows/5 {
			before = cur - base.cur
			break
		}
		if time.Now().After(deadline) {
			_ = child.Process.Kill()
			t.Fatalf("the sync did not get going: %d rows in the library", cur)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := child.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	ck, err := OpenCheckpoints(filepath.Join(dir, "state", "checkpoints.json"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("killed with %d rows in the library; checkpoint %s", before, ck.Get("marriage"))
	if before >= rows {
		t.Fatalf("the sync finished before the kill (%d rows); the test proves nothing", before)
	}

	again := start(true)
	if err := again.Wait(); err != nil {
		t.Fatalf("restarted adapter: %v", err)
	}
	cur, ver := waitLibrary(t, h, "marriage-registration", base, rows)
	if cur != rows || ver != rows {
		t.Fatalf("library holds %d current records and %d versions; want %d each (exactly once)", cur, ver, rows)
	}
}
