package runtime

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"yiku/adapters/client"
	"yiku/adapters/examples"
	"yiku/hub/hubtest"
)

const (
	envChildConfig = "YIKU_ADAPTER_TEST_CHILD_CONFIG"
	envChildOnce   = "YIKU_ADAPTER_TEST_ONCE"
	// envKillBeforeCheckpoint makes the child SIGKILL itself after its
	// n-th batch is written and before that batch's checkpoint is saved.
	envKillBeforeCheckpoint = "YIKU_ADAPTER_TEST_KILL_BEFORE_CHECKPOINT"
)

// TestAdapterChildProcess is not a test: it is the adapter process the
// SIGKILL test starts (the test binary re-executed).
func TestAdapterChildProcess(t *testing.T) {
	path := os.Getenv(envChildConfig)
	if path == "" {
		t.Skip("runs only as the child of TestSIGKILLMidSync")
	}
	if n, _ := strconv.Atoi(os.Getenv(envKillBeforeCheckpoint)); n > 0 {
		var written atomic.Int64
		testHookBeforeCheckpoint = func(string) {
			if written.Add(1) == int64(n) {
				_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
				select {} // the signal is on its way; never reach the checkpoint
			}
		}
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewRunner(cfg, Options{Once: os.Getenv(envChildOnce) == "1"})
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
// 50,000-row table sync, four times, and restarts it until it finishes:
//
//  1. right after the 7th batch is written, before its checkpoint: the
//     restart re-reads and re-sends that batch with the same idempotency
//     key, and the hub answers it from the first call without publishing
//     again (the resource topic grows by exactly the rows sent once);
//  2. the same once more, after the restart's 3rd batch;
//  3. and 4. at random points chosen by the test (seed logged), wherever
//     the kill lands: mid-request, mid-checkpoint, between batches.
//
// Then the hub's library holds every row exactly once: 50,000 current
// records and 50,000 versions (a batch applied twice would add versions).
func TestSIGKILLMidSync(t *testing.T) {
	if testing.Short() {
		t.Skip("50,000-row sync skipped in -short mode")
	}
	const rows, batch = 50000, 500
	h := hubtest.Start(t)
	base := libraryBaseline(t, h, "marriage-registration")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "civil.db")
	if err := examples.WriteCivilAffairsDB(context.Background(), dbPath, rows, 0); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, "lx-civil", h.URL, h.Secret("civil-system"), fmt.Sprintf(civilPipeline, dbPath, batch))
	start := func(env ...string) *exec.Cmd {
		cmd := exec.Command(os.Args[0], "-test.run=^TestAdapterChildProcess$", "-test.count=1")
		cmd.Env = append(append(os.Environ(), envChildConfig+"="+cfg.path), env...)
		cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd
	}
	civil, err := client.New(h.URL, h.Secret("civil-system"))
	if err != nil {
		t.Fatal(err)
	}
	// topicSize is how many messages the resource topic holds: every
	// publish the hub did not answer from an earlier call adds to it.
	topicSize := func() int64 {
		st, err := civil.ExchangeStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		lag, _ := st.Resource("marriage-registration")
		return lag.EndOffset
	}
	lib := h.Library
	count := func() int64 {
		cur, _, err := lib.Counts(context.Background(), "marriage-registration")
		if err != nil {
			t.Fatal(err)
		}
		return cur - base.cur
	}
	checkpoint := func() string {
		ck, err := OpenCheckpoints(filepath.Join(dir, "state", "checkpoints.json"))
		if err != nil {
			t.Fatal(err)
		}
		return ck.Get("marriage")
	}
	topicBase := topicSize()

	// 1 and 2: killed between a batch's write and its checkpoint.
	for round, n := range []int{7, 3} {
		before := checkpoint()
		child := start(envChildOnce+"=1", envKillBeforeCheckpoint+"="+strconv.Itoa(n))
		err := child.Wait()
		if ws, ok := child.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("round %d: the child was not killed by SIGKILL: %v", round+1, err)
		}
		// Batches 1..7, then the re-sent 7th and 8..9: 9 batches sent once.
		wantSent := int64(7 * batch)
		if round == 1 {
			wantSent = 9 * batch
		}
		got := waitCount(t, count, wantSent)
		if sent := topicSize() - topicBase; sent != wantSent || got != wantSent {
			t.Fatalf("round %d: library %d rows, resource topic %d messages; want %d each (the re-sent batch published again?)", round+1, got, sent, wantSent)
		}
		if after := checkpoint(); after == before {
			t.Fatalf("round %d: the checkpoint did not move (%s)", round+1, after)
		}
		t.Logf("round %d: killed before a checkpoint with %d rows in the library; checkpoint %s", round+1, got, checkpoint())
	}

	// 3 and 4: killed at random points.
	seed := uint64(time.Now().UnixNano())
	rnd := rand.New(rand.NewPCG(seed, 7))
	t.Logf("random kills: seed %d", seed)
	for round := 3; round <= 4; round++ {
		from := count()
		target := from + 2000 + rnd.Int64N(12000)
		child := start()
		deadline := time.Now().Add(3 * time.Minute)
		for count() < target {
			if time.Now().After(deadline) {
				_ = child.Process.Kill()
				t.Fatalf("round %d: the sync did not get going: %d rows in the library", round, count())
			}
			time.Sleep(time.Duration(rnd.IntN(20)) * time.Millisecond)
		}
		if err := child.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = child.Wait()
		n := count()
		t.Logf("round %d: killed with %d rows in the library; checkpoint %s", round, n, checkpoint())
		if n >= rows {
			t.Fatalf("round %d: the sync finished before the kill (%d rows); the test proves nothing", round, n)
		}
	}

	again := start(envChildOnce + "=1")
	if err := again.Wait(); err != nil {
		t.Fatalf("restarted adapter: %v", err)
	}
	cur, ver := waitLibrary(t, h, "marriage-registration", base, rows)
	if cur != rows || ver != rows {
		t.Fatalf("library holds %d current records and %d versions; want %d each (exactly once)", cur, ver, rows)
	}
	// A random kill mid-request may leave a batch published whose answer
	// never arrived; its re-send carries the same key and is answered from
	// the first call, so the topic holds each row once as well.
	if sent := topicSize() - topicBase; sent != rows {
		t.Errorf("the resource topic received %d messages for %d rows", sent, rows)
	}
}

// waitCount waits until count() reaches want and stays there a moment.
func waitCount(t *testing.T, count func() int64, want int64) int64 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		n := count()
		if n >= want {
			time.Sleep(500 * time.Millisecond)
			return count()
		}
		if time.Now().After(deadline) {
			t.Fatalf("library holds %d rows, want %d", n, want)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
