package faulttest

import (
	"context"
	"testing"
	"time"

	"yiku/hub/hubtest"
)

// TestKafkaLeaderSIGKILLUnderLoad publishes over HTTP from four clients
// while the broker that leads partition 0 of the population records topic
// is SIGKILLed, and restarted 10 s later. Clients retry a 503 (after its
// Retry-After) or a lost answer with the same Idempotency-Key. Afterwards
// every batch answered 2xx is in the library exactly once with its
// content, no client got a 500 or waited 30 s without an answer, and the
// same hub process serves on, ready, with an intact audit chain.
func TestKafkaLeaderSIGKILLUnderLoad(t *testing.T) {
	c := needCluster(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	h, dbURL, prefix, bin := startHub(t, ctx, c)
	topic := prefix + ".records." + resource

	sub := subscribe(t, ctx, h)
	l := newLoad([]*hubtest.Proc{h}, prefix)
	// One batch first: the hub creates the records topic on first use.
	hc := newClient()
	first := l.newBatch(newRand(1))
	l.publish(ctx, hc, first, time.Now().Add(time.Minute))
	if first.accepted != batchSize {
		t.Fatalf("first batch: %+v", first.attempts)
	}
	l.ingress = startIngress(t, ctx, c, h)
	ps, err := c.partitions(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ps {
		if len(p.Replicas) != 3 {
			t.Fatalf("%s partition %d has replicas %v: want three (the hub derives replication 3 on three brokers)", topic, p.ID, p.Replicas)
		}
	}
	leader := ps[0].Leader.ID
	t.Logf("%s: %d partitions, partition 0 led by node %d", topic, len(ps), leader)

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
	killAt := time.Now()
	c.kill(t, leader)
	t.Logf("SIGKILL node %d after %d batches", leader, l.seq.Load())
	time.Sleep(10 * time.Second)
	restartAt := time.Now()
	c.restart(t)
	upAt := time.Now()
	isrAt := c.fullISR(t, ctx, topic, 2*time.Minute)
	t.Logf("node %d restarted: listed again after %s, all replicas in sync %s after the restart began",
		leader, upAt.Sub(restartAt).Round(time.Millisecond), isrAt.Sub(restartAt).Round(time.Millisecond))
	time.Sleep(5 * time.Second)
	close(stop)
	<-done
	<-readerDone
	loadEnd := time.Now()

	catchUp := waitLibrary(t, ctx, h, 2*time.Minute)
	f := l.figures(killAt, restartAt)
	census := checkOutcome(t, ctx, database{url: dbURL, bin: bin, secretKey: h.Path("secret.key"), dataKeys: h.Path("data-keys.json")}, l, f)
	t.Logf("load %s; %d batches, %d attempts; answers: %s",
		loadEnd.Sub(killAt.Add(-5*time.Second)).Round(time.Second), f.Batches, f.Attempts, f.answers())
	t.Logf("FIGURES records accepted %d, in library exactly once %d, duplicates %d, lost %d, other content %d, false successes %d, batches without 2xx %d; "+
		"last failed answer %s after the kill, first 2xx after it %s after the kill, max latency %s (during the fault %s); library caught up %s after the load",
		f.Accepted, census.Exact, len(census.Duplicated), len(census.Missing), len(census.Wrong), len(census.Missing)+len(census.Wrong),
		len(f.Abandoned), f.LastErrorAfterFault.Round(time.Millisecond), f.FirstSuccessAfterFault.Round(time.Millisecond),
		f.MaxLatency.Round(time.Millisecond), f.MaxLatencyDuringFault.Round(time.Millisecond), catchUp.Round(time.Millisecond))
	sub.drain(t, ctx)
	t.Log(sub.check(t, ctx, l))
	if f.Accepted+f.Ingress != census.Want {
		t.Errorf("2xx answers accepted %d records and Kafka ingress %d, the census wants %d subjects", f.Accepted, f.Ingress, census.Want)
	}
}
