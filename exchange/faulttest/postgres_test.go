package faulttest

import (
	"bytes"
	"context"
	"net"
	"net/url"
	"os"
	"os/exec"
	"testing"
	"time"

	"yiku/hub/hubtest"
	"yiku/storage/storagetest"
)

// TestPostgresFastShutdownUnderLoad publishes over HTTP from four clients
// while the test PostgreSQL is stopped with a fast shutdown (open sessions
// rolled back) and started again 10 s later, by the checkout's own
// postgres-down.sh and postgres-up.sh. Clients retry a 503 (after its
// Retry-After) or a lost answer with the same Idempotency-Key. Afterwards
// the same checks hold as for the broker kill: every 2xx publish in the
// library exactly once, no 500, no hang, the hub process ready without a
// restart, the audit chain intact.
func TestPostgresFastShutdownUnderLoad(t *testing.T) {
	c := needCluster(t)
	pgPort := postgresPort(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h, dbURL, prefix, bin := startHub(t, ctx, c)

	sub := subscribe(t, ctx, h)
	l := newLoad([]*hubtest.Proc{h}, prefix)
	first := l.newBatch(newRand(2))
	l.publish(ctx, newClient(), first, time.Now().Add(time.Minute))
	if first.accepted != batchSize {
		t.Fatalf("first batch: %+v", first.attempts)
	}
	l.ingress = startIngress(t, ctx, c, h)

	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		l.run(ctx, stop, time.Now().Add(4*time.Minute), uint64(time.Now().UnixNano()))
		close(done)
	}()
	readerDone := make(chan struct{})
	go func() {
		sub.run(ctx, stop)
		close(readerDone)
	}()

	time.Sleep(5 * time.Second)
	stopAt := time.Now()
	localScript(t, "postgres-down.sh", "YIKU_PG_PORT="+pgPort)
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", pgPort), time.Second); err == nil {
		conn.Close()
		t.Fatalf("PostgreSQL on port %s still answers after postgres-down.sh: it was not started by this checkout's postgres-up.sh", pgPort)
	}
	t.Logf("PostgreSQL stopped (fast shutdown) after %d batches, in %s", l.seq.Load(), time.Since(stopAt).Round(time.Millisecond))
	time.Sleep(10 * time.Second)
	startAt := time.Now()
	localScript(t, "postgres-up.sh", "YIKU_PG_PORT="+pgPort)
	t.Logf("PostgreSQL started again in %s", time.Since(startAt).Round(time.Millisecond))
	time.Sleep(10 * time.Second)
	close(stop)
	<-done
	<-readerDone
	loadEnd := time.Now()

	catchUp := waitLibrary(t, ctx, h, 2*time.Minute)
	f := l.figures(stopAt, startAt)
	census := checkOutcome(t, ctx, database{url: dbURL, bin: bin, secretKey: h.Path("secret.key"), dataKeys: h.Path("data-keys.json")}, l, f)
	t.Logf("load %s; %d batches, %d attempts; answers: %s",
		loadEnd.Sub(stopAt.Add(-5*time.Second)).Round(time.Second), f.Batches, f.Attempts, f.answers())
	t.Logf("FIGURES records accepted %d, in library exactly once %d, duplicates %d, lost %d, other content %d, false successes %d, batches without 2xx %d; "+
		"database down %s; last failed answer %s after the stop (%s after the start), first 2xx after it %s after the stop, max latency %s (during the fault %s); library caught up %s after the load",
		f.Accepted, census.Exact, len(census.Duplicated), len(census.Missing), len(census.Wrong), len(census.Missing)+len(census.Wrong),
		len(f.Abandoned), startAt.Sub(stopAt).Round(time.Millisecond), f.LastErrorAfterFault.Round(time.Millisecond),
		(f.LastErrorAfterFault - startAt.Sub(stopAt)).Round(time.Millisecond), f.FirstSuccessAfterFault.Round(time.Millisecond),
		f.MaxLatency.Round(time.Millisecond), f.MaxLatencyDuringFault.Round(time.Millisecond), catchUp.Round(time.Millisecond))
	sub.drain(t, ctx)
	t.Log(sub.check(t, ctx, l))
	if f.Accepted+f.Ingress != census.Want {
		t.Errorf("2xx answers accepted %d records and Kafka ingress %d, the census wants %d subjects", f.Accepted, f.Ingress, census.Want)
	}
}

// postgresPort is the port of the test PostgreSQL (YIKU_TEST_DATABASE_URL).
func postgresPort(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(os.Getenv(storagetest.EnvURL))
	if err != nil || u.Port() == "" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		t.Skipf("fault suite: %s must be a PostgreSQL on 127.0.0.1 started by deployments/local/postgres-up.sh", storagetest.EnvURL)
	}
	return u.Port()
}

// localScript runs one of the checkout's deployments/local scripts with
// env added to the test's environment.
func localScript(t *testing.T, name string, env ...string) {
	t.Helper()
	cmd := exec.Command("../../deployments/local/" + name)
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s: %v\n%s", name, err, stderr.String())
	}
}
