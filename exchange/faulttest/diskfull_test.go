package faulttest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"yiku/diskspace"
	"yiku/hub/hubtest"
)

// devDiskMiB is the size of the file system `yiku dev` gets in the
// disk-full scenario: the demo district takes a few MiB of it, and the
// load up to about 12 MiB a second (history, current records, the broker's
// log); what is left after the fault's 30 s must stay above the write
// reserve (diskspace.Reserve), or the guard rightly refuses again.
const devDiskMiB = 512

// TestDevDiskFullUnderLoad runs `yiku dev` (SQLite and the embedded broker
// in its data directory) on a tmpfs of its own, mounted in a user and
// mount namespace of its own (`unshare -rm`, no root needed), publishes
// from four clients, fills the file system to the last byte from outside
// (through /proc/<pid>/root), holds it full for 10 s and frees it. While
// it is full, publishes answer 503 disk_full with Retry-After (the write
// guard refuses them before anything is written), /readyz answers 503
// naming the disk, and nothing accepted is lost; once the space is back
// the same process takes publishes again. Afterwards the same checks as
// for every fault, on the SQLite library.
func TestDevDiskFullUnderLoad(t *testing.T) {
	if os.Getenv(envFaults) != "1" {
		t.Skipf("fault suite: set %s=1 (make test-faults)", envFaults)
	}
	if out, err := exec.Command("unshare", "-rm", "sh", "-c", "mount -t tmpfs -o size=1m tmpfs /tmp").CombinedOutput(); err != nil {
		t.Skipf("fault suite: this machine does not let an unprivileged user mount a tmpfs in a namespace of its own (unshare -rm): %v %s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	bin := hubtest.BuildYiku(t, dir)
	mnt := filepath.Join(dir, "mnt")
	if err := os.Mkdir(mnt, 0o700); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(mnt, "data")
	script := fmt.Sprintf("mount -t tmpfs -o size=%dm tmpfs %s && exec %s dev --data-dir %s --http-addr %s --kafka-addr %s --log-format text --log-level warn",
		devDiskMiB, mnt, bin, data, freeAddr(t), freeAddr(t))
	h := &hubtest.Proc{T: t, Bin: "unshare", Dir: data, Args: []string{"-rm", "sh", "-c", script}, Listening: "HTTP API ", OwnMounts: true}
	h.Start(ctx)
	t.Cleanup(h.Stop)
	pid := h.Pid()
	disk := filepath.Join(fmt.Sprintf("/proc/%d/root", pid), mnt)

	sub := subscribe(t, ctx, h)
	l := newLoad([]*hubtest.Proc{h}, "dev")
	first := l.newBatch(newRand(5))
	l.publish(ctx, newClient(), first, time.Now().Add(time.Minute))
	if first.accepted != batchSize {
		t.Fatalf("first batch: %+v", first.attempts)
	}
	wait := startLoad(ctx, l, sub)
	time.Sleep(5 * time.Second)

	fillAt := time.Now()
	filled, err := fill(filepath.Join(disk, "filler"))
	if err != nil {
		t.Fatal(err)
	}
	free, _ := diskspace.Free(disk)
	t.Logf("disk filled with %d MiB in %s after %d batches; %d bytes free", filled>>20, time.Since(fillAt).Round(time.Millisecond), l.seq.Load(), free)
	time.Sleep(2 * time.Second)
	ready := readyz(t, h)
	t.Logf("readyz while full: %s", ready)
	if ready.status != http.StatusServiceUnavailable || ready.checks["disk"] != "unavailable" {
		t.Errorf("readyz while the disk is full: %d %v, want 503 naming the disk", ready.status, ready.checks)
	}
	time.Sleep(8 * time.Second)
	freeAt := time.Now()
	if err := os.Remove(filepath.Join(disk, "filler")); err != nil {
		t.Fatal(err)
	}
	t.Logf("space returned %s after the disk filled", freeAt.Sub(fillAt).Round(time.Millisecond))
	var after []string
	for i := 0; i < 15; i++ {
		time.Sleep(time.Second)
		free, _ := diskspace.Free(disk)
		after = append(after, fmt.Sprintf("%d MiB", free>>20))
		if i == 0 {
			t.Logf("readyz 1 s after the space returned: %s", readyz(t, h))
		}
	}
	t.Logf("free space each second after the space returned: %s", strings.Join(after, ", "))
	wait()
	loadEnd := time.Now()

	catchUp := waitLibrary(t, ctx, h, 2*time.Minute)
	f := l.figures(fillAt, freeAt)
	// SQLite resolves /proc/<pid>/root to / and misses the tmpfs: the
	// census and the audit verification run in the hub's namespace.
	census := checkOutcome(t, ctx, database{url: "sqlite:" + filepath.Join(data, "yiku.db"), bin: bin, secretKey: filepath.Join(data, "secret.key"), dataKeys: filepath.Join(data, "data-keys.json"), ns: pid}, l, f)
	if f.Answers["503 disk_full"] == 0 {
		t.Errorf("no publish was answered 503 disk_full while the disk was full: %s", f.answers())
	}
	t.Logf("load %s; %d batches, %d attempts; answers: %s", loadEnd.Sub(fillAt.Add(-5*time.Second)).Round(time.Second), f.Batches, f.Attempts, f.answers())
	t.Logf("FIGURES records accepted %d, in library exactly once %d, duplicates %d, lost %d, other content %d, false successes %d, batches without 2xx %d; "+
		"disk full %s; last failed answer %s after the disk filled (%s after the space returned), first 2xx after it %s after the disk filled, max latency %s; library caught up %s after the load",
		f.Accepted, census.Exact, len(census.Duplicated), len(census.Missing), len(census.Wrong), len(census.Missing)+len(census.Wrong),
		len(f.Abandoned), freeAt.Sub(fillAt).Round(time.Millisecond), f.LastErrorAfterFault.Round(time.Millisecond),
		(f.LastErrorAfterFault - freeAt.Sub(fillAt)).Round(time.Millisecond), f.FirstSuccessAfterFault.Round(time.Millisecond),
		f.MaxLatency.Round(time.Millisecond), catchUp.Round(time.Millisecond))
	sub.drain(t, ctx)
	t.Log(sub.check(t, ctx, l))
	if f.Accepted+f.Ingress != census.Want {
		t.Errorf("2xx answers accepted %d records and Kafka ingress %d, the census wants %d subjects", f.Accepted, f.Ingress, census.Want)
	}
}

// fill writes path until the file system is full and returns the bytes
// written.
func fill(path string) (int64, error) {
	fh, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
	if err != nil {
		return 0, err
	}
	defer fh.Close()
	chunk := make([]byte, 1<<20)
	var n int64
	for {
		w, err := fh.Write(chunk)
		n += int64(w)
		if errors.Is(err, syscall.ENOSPC) {
			// Smaller writes take the last partial blocks.
			for _, err := fh.Write(chunk[:4096]); err == nil; _, err = fh.Write(chunk[:4096]) {
				n += 4096
			}
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// readiness is a /readyz answer.
type readiness struct {
	status int
	checks map[string]string
}

func (r readiness) String() string { return fmt.Sprintf("%d %v", r.status, r.checks) }

func readyz(t *testing.T, h *hubtest.Proc) readiness {
	t.Helper()
	url, _ := h.Current()
	resp, err := http.Get(url + "/readyz")
	if err != nil {
		t.Fatalf("readyz: %v", err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	var body struct {
		Checks map[string]string `json:"checks"`
	}
	_ = json.Unmarshal(data, &body)
	return readiness{status: resp.StatusCode, checks: body.Checks}
}
