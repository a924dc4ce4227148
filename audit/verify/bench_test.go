package verify_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/audittest"
	"yiku/audit/store"
	"yiku/audit/verify"
	"yiku/storage/storagetest"
)

// BenchmarkVerify measures verification of a 200,000-event chain with
// realistic rows; run with YIKU_TEST_DATABASE_URL set to measure PostgreSQL.
func BenchmarkVerify(b *testing.B) {
	const n = 200_000
	db := storagetest.Open(b)
	k := audittest.Keys(b)
	st := store.New(db.Gorm)
	ctx := context.Background()
	subj := k.Subject.Hash("43130219900101001X")
	prev := audit.GenesisHash
	batch := make([]audit.Entry, 0, 2000)
	for i := 1; i <= n; i++ {
		e := audit.Entry{Chain: "bench-chain", Seq: int64(i), ID: fmt.Sprintf("0190e7c4-0000-7000-8000-%012d", i),
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
	b.ResetTimer()
	var rate float64
	for i := 0; i < b.N; i++ {
		rep, err := verify.Run(ctx, db.SQL(), verify.Options{})
		if err != nil || !rep.OK() || rep.Events != n {
			b.Fatalf("report %+v, %v", rep, err)
		}
		rate = rep.Rate()
	}
	b.ReportMetric(rate, "events/s")
}
