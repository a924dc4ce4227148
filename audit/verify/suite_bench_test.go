package verify_test

import (
	"context"
	"fmt"
	"syscall"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/audittest"
	"yiku/audit/store"
	"yiku/audit/verify"
	"yiku/cryptosuite"
	"yiku/storage"
	"yiku/storage/storagetest"
)

// BenchmarkVerifySuites verifies a 100,000-event chain written with the
// default suite (SHA-256) and one written with the sm suite (SM3), each in
// its own database, alternately in the same run, and reports the sm chain's
// cost as a ratio of the default's: wall time and this process's CPU per
// event (on SQLite that includes the database; on PostgreSQL, set
// YIKU_TEST_DATABASE_URL, it does not).
func BenchmarkVerifySuites(b *testing.B) {
	const n = 100_000
	ctx := context.Background()
	type chain struct {
		name      cryptosuite.Name
		db        *storage.DB
		wall, cpu time.Duration
	}
	chains := []*chain{{name: cryptosuite.Default}, {name: cryptosuite.SM}}
	for _, c := range chains {
		c.db = storagetest.Open(b)
		writeChain(b, c.db, audit.ChainID(c.name, "bench-chain"), audittest.SuiteKeys(b, c.name), n)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for _, c := range chains {
			cpu0, t0 := processCPU(b), time.Now()
			rep, err := verify.Run(ctx, c.db.SQL(), verify.Options{})
			if err != nil || !rep.OK() || rep.Events != n {
				b.Fatalf("%s: report %+v, %v", c.name, rep, err)
			}
			c.wall += time.Since(t0)
			c.cpu += processCPU(b) - cpu0
		}
	}
	per := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / float64(b.N*n) }
	for _, c := range chains {
		b.ReportMetric(per(c.wall), string(c.name)+"-ns/event")
		b.ReportMetric(per(c.cpu), string(c.name)+"-cpu-ns/event")
	}
	b.ReportMetric(per(chains[1].wall)/per(chains[0].wall), "sm/default-wall")
	b.ReportMetric(per(chains[1].cpu)/per(chains[0].cpu), "sm/default-cpu")
}

// writeChain appends n sealed events with realistic rows to one chain.
func writeChain(b *testing.B, db *storage.DB, chainID string, k audit.Keys, n int) {
	b.Helper()
	ctx := context.Background()
	st := store.New(db.Gorm)
	subj := k.Subject.Hash("43130219900101001X")
	prev := audit.GenesisHash
	batch := make([]audit.Entry, 0, 2000)
	for i := 1; i <= n; i++ {
		e := audit.Entry{Chain: chainID, Seq: int64(i), ID: fmt.Sprintf("0190e7c4-0000-7000-8000-%012d", i),
			AtMicros: time.Now().UnixMicro(), RequestID: "5f0c2b7e9a1d4c3b", PrincipalID: "0190e7c4-aaaa-7000-8000-000000000001",
			PrincipalName: "officer-gsc", Department: "lx-gsc", Role: "officer", Action: "lookup", Resource: "population",
			Subjects: subj, Fields: "name,id_number,domicile_address", Purpose: "营业执照变更登记", CaseNumber: "LX-2025-000123",
			Outcome: "allowed", ClientAddr: "10.1.2.3", Count: 1, PrevHash: prev}
		e.Seal()
		prev = e.Hash
		batch = append(batch, e)
		if len(batch) == cap(batch) {
			if err := st.Append(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}

// processCPU is this process's user and system CPU time so far.
func processCPU(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
