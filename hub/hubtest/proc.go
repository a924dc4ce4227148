package hubtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"yiku/demo"
)

// BuildYiku builds the yiku binary into dir and returns its path, for
// tests that run the hub as a separate process (crash and fault tests).
func BuildYiku(t testing.TB, dir string) string {
	t.Helper()
	bin := filepath.Join(dir, "yiku")
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("build yiku: no go tool on PATH: %v", err)
	}
	cmd := exec.Command(gobin, "build", "-o", bin, "yiku/cmd/yiku")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build yiku: %v\n%s", err, out)
	}
	return bin
}

// Proc is a hub running as a separate process, normally `yiku bench hub`
// (serve mode seeded with the demo district), which a test can start,
// SIGKILL and stop. Its credentials are read from Dir/credentials.json.
type Proc struct {
	T    testing.TB
	Bin  string
	Dir  string
	Args []string
	// Listening is the text before the hub's URL in the line, on stdout
	// or stderr, that says it listens: "listening on " (bench hub's log)
	// when empty; "HTTP API " for the banner of `yiku dev`.
	Listening string
	// OwnMounts says Bin runs the hub in a mount namespace of its own
	// (under unshare, with a file system only it sees) and Dir is a path
	// there: the test reads it through /proc/<pid>/root.
	OwnMounts bool

	mu     sync.Mutex
	cmd    *exec.Cmd
	url    string
	token  map[string]string
	exited chan struct{}
}

// Start runs the hub and waits until it says it listens (see Listening);
// a hub that exits or does not start within 90 s fails the test.
func (h *Proc) Start(ctx context.Context) {
	h.T.Helper()
	cmd := exec.Command(h.Bin, h.Args...)
	marker := h.Listening
	if marker == "" {
		marker = "listening on "
	}
	// stdout and stderr are read as one stream.
	out, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		h.T.Fatalf("start hub: %v", err)
	}
	go func() {
		_ = cmd.Wait()
		pw.Close()
	}()
	exited := make(chan struct{})
	ready := make(chan string, 1)
	var tail bytes.Buffer
	var tailMu sync.Mutex
	go func() {
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			tailMu.Lock()
			if tail.Len() < 16<<10 {
				tail.WriteString(line + "\n")
			}
			tailMu.Unlock()
			if _, addr, ok := strings.Cut(line, marker); ok && strings.TrimSpace(addr) != "" {
				select {
				case ready <- strings.Fields(addr)[0]:
				default:
				}
			}
		}
		_, _ = io.Copy(io.Discard, out) // until the process has exited
		close(exited)
	}()
	select {
	case u := <-ready:
		h.mu.Lock()
		h.cmd, h.url, h.exited = cmd, strings.TrimSuffix(u, ","), exited
		h.mu.Unlock()
	case <-exited:
		tailMu.Lock()
		defer tailMu.Unlock()
		h.T.Fatalf("hub exited during start:\n%s", tail.String())
	case <-time.After(90 * time.Second):
		_ = cmd.Process.Kill()
		h.T.Fatal("hub did not start within 90s")
	case <-ctx.Done():
		_ = cmd.Process.Kill()
		h.T.Fatal(ctx.Err())
	}
	h.loadCredentials()
}

// Path is name in Dir as the test reaches it.
func (h *Proc) Path(name string) string {
	if h.OwnMounts {
		return filepath.Join(fmt.Sprintf("/proc/%d/root", h.Pid()), h.Dir, name)
	}
	return filepath.Join(h.Dir, name)
}

// Pid is the process id of the hub started last (0 when none runs).
func (h *Proc) Pid() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cmd == nil {
		return 0
	}
	return h.cmd.Process.Pid
}

func (h *Proc) loadCredentials() {
	data, err := os.ReadFile(h.Path("credentials.json"))
	if err != nil {
		h.T.Fatal(err)
	}
	var creds []demo.Credential
	if err := json.Unmarshal(data, &creds); err != nil {
		h.T.Fatal(err)
	}
	tokens := map[string]string{}
	for _, c := range creds {
		tokens[c.Principal] = c.Secret
	}
	h.mu.Lock()
	h.token = tokens
	h.mu.Unlock()
}

// Running reports whether the hub process started by the last Start is
// still alive.
func (h *Proc) Running() bool {
	h.mu.Lock()
	exited := h.exited
	h.mu.Unlock()
	if exited == nil {
		return false
	}
	select {
	case <-exited:
		return false
	default:
		return true
	}
}

// Kill ends the hub with SIGKILL and waits for it to be gone.
func (h *Proc) Kill() {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	<-exited
}

// Stop ends the hub gracefully (SIGTERM), or kills it after 30 s.
func (h *Proc) Stop() {
	h.mu.Lock()
	cmd, exited := h.cmd, h.exited
	h.cmd = nil
	h.mu.Unlock()
	if cmd == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		_ = cmd.Process.Kill()
		<-exited
	}
}

// Current returns the hub's base URL and the demo principals' bearer
// secrets by principal.
func (h *Proc) Current() (string, map[string]string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.url, h.token
}

// ResourceStatus is one resource's line of GET /api/v1/exchange/status.
type ResourceStatus struct{ End, Applied, Lag int64 }

// Status reads resource's topic end offsets, applied offsets and lag
// from the exchange status as principal; a hub that does not answer
// reads as zero.
func (h *Proc) Status(ctx context.Context, principal, resource string) ResourceStatus {
	url, tokens := h.Current()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url+"/api/v1/exchange/status?library_only=true", nil)
	if err != nil {
		return ResourceStatus{}
	}
	req.Header.Set("Authorization", "Bearer "+tokens[principal])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return ResourceStatus{}
	}
	defer resp.Body.Close()
	var out struct {
		Resources []struct {
			Resource  string
			EndOffset int64 `json:"end_offset"`
			Applied   int64 `json:"applied_offset"`
			Lag       int64
		}
	}
	if resp.StatusCode != http.StatusOK || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return ResourceStatus{}
	}
	for _, r := range out.Resources {
		if r.Resource == resource {
			return ResourceStatus{End: r.EndOffset, Applied: r.Applied, Lag: r.Lag}
		}
	}
	return ResourceStatus{}
}
