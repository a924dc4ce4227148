package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"yiku/broker"
)

// TestDevQuickStart runs the real binary the way the README says: it must
// answer /readyz within 60 s, expose a Kafka broker, seed once, write the
// credentials file and its PID (in the banner and in yiku.pid), exit 0
// within 10 s of SIGTERM to that PID logging "hub stopped", and keep its
// data across a restart without seeding twice.
func TestDevQuickStart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	bin := filepath.Join(t.TempDir(), "yiku")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Stderr = os.Stderr
	if err := build.Run(); err != nil {
		t.Fatalf("build: %v", err)
	}
	dataDir := filepath.Join(t.TempDir(), "data")
	httpAddr, kafkaAddr := freeAddr(t), freeAddr(t)

	first := startDev(t, bin, dataDir, httpAddr, kafkaAddr, "warn")
	waitReady(t, httpAddr, 60*time.Second)
	if !strings.Contains(first.waitLine(t, "dev hub is up"), "seeded demo data") {
		t.Fatal("first start did not seed")
	}
	pid := strconv.Itoa(first.cmd.Process.Pid)
	if line := first.waitLine(t, "PID"); !strings.Contains(line, "kill "+pid) {
		t.Fatalf("banner PID line %q, want kill %s", line, pid)
	}
	pidFile := filepath.Join(dataDir, "yiku.pid")
	if data, err := os.ReadFile(pidFile); err != nil || strings.TrimSpace(string(data)) != pid {
		t.Fatalf("%s = %q, %v; want %s", pidFile, data, err, pid)
	}
	creds := readCreds(t, dataDir)
	kc := creds["yiku"]
	if kc.Kind != "kafka_sasl" || kc.SASLMechanism != "SCRAM-SHA-512" || kc.SecurityProtocol != "SASL_PLAINTEXT" ||
		len(kc.Brokers) != 1 || kc.Brokers[0] != kafkaAddr {
		t.Fatalf("Kafka credential in credentials.json: %+v", kc)
	}
	checkKafkaLogin(t, kafkaAddr, kc.Secret)
	departments := countDepartments(t, httpAddr, creds)
	first.stop(t)
	if _, err := os.Stat(pidFile); !os.IsNotExist(err) {
		t.Fatalf("%s left after the hub stopped: %v", pidFile, err)
	}

	second := startDev(t, bin, dataDir, httpAddr, kafkaAddr, "info")
	waitReady(t, httpAddr, 60*time.Second)
	if line := second.waitLine(t, "dev hub is up"); !strings.Contains(line, "restarted with existing data") {
		t.Fatalf("second start: %q", line)
	}
	creds2 := readCreds(t, dataDir)
	for name, c := range creds {
		if (c.Kind == "api_key" || c.Kind == "kafka_sasl") && creds2[name].Secret != c.Secret {
			t.Errorf("%s of %s changed across restart", c.Kind, name)
		}
	}
	checkKafkaLogin(t, kafkaAddr, creds2["yiku"].Secret)
	if n := countDepartments(t, httpAddr, creds2); n != departments {
		t.Fatalf("departments after restart = %d, want %d (seeded twice?)", n, departments)
	}
	second.stop(t)
	if !strings.Contains(second.stderr.String(), "hub stopped") {
		t.Fatalf("no \"hub stopped\" line in the log:\n%s", second.stderr.String())
	}
}

// syncBuffer is a bytes.Buffer a process writes to while the test reads.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type devProc struct {
	cmd    *exec.Cmd
	lines  chan string
	done   chan error
	stderr *syncBuffer
}

func startDev(t *testing.T, bin, dataDir, httpAddr, kafkaAddr, logLevel string) *devProc {
	t.Helper()
	cmd := exec.Command(bin, "dev", "--data-dir", dataDir, "--http-addr", httpAddr, "--kafka-addr", kafkaAddr, "--log-level", logLevel)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	p := &devProc{cmd: cmd, lines: make(chan string, 256), done: make(chan error, 1), stderr: &syncBuffer{}}
	cmd.Stderr = p.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("yiku dev stderr:\n%s", p.stderr.String())
		}
	})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			select {
			case p.lines <- sc.Text():
			default:
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	return p
}

func (p *devProc) waitLine(t *testing.T, substr string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l := <-p.lines:
			if strings.Contains(l, substr) {
				return l
			}
		case <-timeout:
			t.Fatalf("no output line with %q", substr)
		}
	}
}

func (p *devProc) stop(t *testing.T) {
	t.Helper()
	start := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v", err)
		}
		if d := time.Since(start); d > 10*time.Second {
			t.Fatalf("took %s to stop", d)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("did not exit within 10s of SIGTERM")
	}
}

type cred struct {
	Principal, Kind, Role, Secret string
	DepartmentCode                string   `json:"department_code"`
	Brokers                       []string `json:"brokers"`
	SecurityProtocol              string   `json:"security_protocol"`
	SASLMechanism                 string   `json:"sasl_mechanism"`
}

// checkKafkaLogin: the embedded broker answers the Kafka login of
// credentials.json and refuses an anonymous client and a wrong password.
func checkKafkaLogin(t *testing.T, kafkaAddr, password string) {
	t.Helper()
	ping := func(sec broker.Security) error {
		c := broker.New(broker.Config{Brokers: []string{kafkaAddr}, Security: sec})
		defer c.Close()
		return c.Ping(context.Background())
	}
	login := func(pw string) broker.Security {
		return broker.MustSecurity(broker.SecuritySettings{Mechanism: broker.SCRAMSHA512, Username: "yiku", Password: pw})
	}
	if err := ping(login(password)); err != nil {
		t.Fatalf("Kafka metadata with the login of credentials.json: %v", err)
	}
	if err := ping(broker.Security{}); err == nil {
		t.Fatal("the embedded broker answered an anonymous client")
	}
	// The embedded broker drops the connection of a failed login (Apache
	// Kafka answers SASL_AUTHENTICATION_FAILED first).
	if err := ping(login(password + "x")); err == nil {
		t.Fatal("the embedded broker answered a wrong password")
	}
}

func readCreds(t *testing.T, dataDir string) map[string]cred {
	t.Helper()
	path := filepath.Join(dataDir, "credentials.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials.json mode %v, want 0600", st.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var list []cred
	if err := json.Unmarshal(data, &list); err != nil {
		t.Fatal(err)
	}
	out := map[string]cred{}
	roles := map[string]bool{}
	for _, c := range list {
		if c.Kind == "kafka_sasl" && c.Principal != "" && c.Secret != "" {
			out[c.Principal] = c
			continue
		}
		if c.Principal == "" || c.Secret == "" || c.DepartmentCode == "" || (c.Kind != "api_key" && c.Kind != "token") {
			t.Fatalf("incomplete credential %+v", c)
		}
		out[c.Principal] = c
		roles[c.Role] = true
	}
	for _, r := range []string{"department_system", "officer", "security_reviewer", "department_admin", "catalog_admin", "citizen"} {
		if !roles[r] {
			t.Errorf("no demo credential for role %s", r)
		}
	}
	return out
}

func countDepartments(t *testing.T, httpAddr string, creds map[string]cred) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/api/v1/catalog/departments", nil)
	req.Header.Set("Authorization", "Bearer "+creds["catalog-admin"].Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Departments []json.RawMessage `json:"departments"`
	}
	if resp.StatusCode != 200 {
		t.Fatalf("departments: %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if len(body.Departments) < 10 {
		t.Fatalf("only %d departments seeded", len(body.Departments))
	}
	return len(body.Departments)
}

func waitReady(t *testing.T, httpAddr string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		resp, err := http.Get("http://" + httpAddr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("/readyz not 200 within %s", within)
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return fmt.Sprintf("127.0.0.1:%d", l.Addr().(*net.TCPAddr).Port)
}
