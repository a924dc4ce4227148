package journal_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/audittest"
	"yiku/audit/journal"
	"yiku/audit/store"
	"yiku/exchange/loadgen"
	"yiku/storage/storagetest"
)

// BenchmarkRecordConcurrent appends one lookup-shaped event per operation
// (one subject, fields, purpose and case number) from parallelism ×
// GOMAXPROCS callers at once, as the audit middleware does under load: each
// call returns once its event is committed, and the journal groups the
// calls that wait together into one statement. It reports the machine's
// CPU per event (the database's included) and the mean events per commit.
//
//	export $(deployments/local/services-up.sh)
//	go test -run '^$' -bench RecordConcurrent -benchtime 5s ./audit/journal/
func BenchmarkRecordConcurrent(b *testing.B) {
	for _, parallelism := range []int{1, 8} {
		b.Run(map[int]string{1: "callers=GOMAXPROCS", 8: "callers=8xGOMAXPROCS"}[parallelism], func(b *testing.B) {
			db := storagetest.Open(b)
			counting := &countingAppender{Appender: store.New(db.Gorm)}
			j, err := journal.New(context.Background(), counting, audittest.Keys(b))
			if err != nil {
				b.Fatal(err)
			}
			ev := audit.Event{PrincipalID: "p-officer", PrincipalName: "officer", Department: "430000000000", Role: "officer",
				Action: audit.ActionLookup, Subjects: []string{"43130219900101001X"}, Fields: []string{"population.name", "population.id_number"},
				Purpose: "社会保障卡申领", CaseNumber: "BENCH-0001", Outcome: audit.Allowed, Count: 2, RequestID: "r", ClientAddr: "127.0.0.1"}
			b.SetParallelism(parallelism)
			b.ResetTimer()
			cpu0, t0 := loadgen.MachineCPU(), time.Now()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					if err := j.Record(ctx, ev); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			if cpu0 > 0 {
				b.ReportMetric(float64((loadgen.MachineCPU()-cpu0).Microseconds())/float64(b.N), "cpu-µs/event")
			}
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "events/s")
			if n := counting.appends.Load(); n > 0 {
				b.ReportMetric(float64(counting.events.Load())/float64(n), "events/commit")
			}
		})
	}
}

// countingAppender counts the appends (commits) and events passing through.
type countingAppender struct {
	journal.Appender
	appends, events atomic.Int64
}

func (c *countingAppender) Append(ctx context.Context, entries []audit.Entry) error {
	c.appends.Add(1)
	c.events.Add(int64(len(entries)))
	return c.Appender.Append(ctx, entries)
}
