package supervision_test

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"yiku/calendar"
	"yiku/catalog"
	"yiku/identity"
	"yiku/storage/storagetest"
	"yiku/supervision"
)

// BenchmarkAssessMonth computes one month's report (and the previous
// month's, for the comparison) over 1,000,000 audit events in the month
// from 50 departments and 200 resources, on PostgreSQL. It reports the
// peak heap in use while assessing next to the usual figures.
//
//	source /tmp/services.env; go test -run '^$' -bench AssessMonth -benchtime 3x ./supervision/
func BenchmarkAssessMonth(b *testing.B) {
	if !storagetest.Postgres() {
		b.Skip("the benchmark measures PostgreSQL: set YIKU_TEST_DATABASE_URL")
	}
	const (
		events      = 1_000_000
		departments = 50
		resources   = 200
	)
	db := storagetest.Open(b)
	var depts []identity.Department
	var res []catalog.Resource
	for i := range departments {
		d := identity.Department{Code: fmt.Sprintf("d%02d", i), Name: fmt.Sprintf("部门%02d", i), Level: identity.LevelDistrict}
		depts = append(depts, d)
	}
	for i := range resources {
		r := full(fmt.Sprintf("r%03d", i), depts[i%departments].Code, "daily", 1)
		res = append(res, r)
	}
	from := time.Date(2026, 11, 1, 0, 0, 0, 0, calendar.CST)
	span := time.Date(2026, 12, 1, 0, 0, 0, 0, calendar.CST).Sub(from).Microseconds()
	// One million events spread over November: publishes, reads, reuse
	// and lookups by every department on every resource.
	start := time.Now()
	err := db.Gorm.Exec(`INSERT INTO audit_events (chain_id, seq, id, at_us, department, action, resource, outcome, reason, count, prev_hash, hash)
SELECT 'bench', g, 'e' || g, ?::bigint + (g::bigint * 7919) % ?::bigint, 'd' || lpad(((g * 31) % ?)::text, 2, '0'),
  (ARRAY['record.publish','record.read','reuse.supply','lookup','record.read'])[1 + g % 5],
  'r' || lpad((g % ?)::text, 3, '0'),
  CASE WHEN g % 17 = 0 THEN 'denied' ELSE 'allowed' END,
  CASE g % 5 WHEN 0 THEN 'accepted=10 rejected=' || (g % 3) WHEN 3 THEN 'item=x supplied=2 not_available=1 not_permitted=0' ELSE '' END,
  1, '\x00'::bytea, '\x01'::bytea
FROM generate_series(1, ?) AS g`, from.UnixMicro(), span, departments, resources, events).Error
	if err != nil {
		b.Fatal(err)
	}
	if err := db.Gorm.Exec("ANALYZE audit_events").Error; err != nil {
		b.Fatal(err)
	}
	b.Logf("loaded %d audit events in %s", events, time.Since(start).Round(time.Millisecond))
	cal, err := calendar.New(nil)
	if err != nil {
		b.Fatal(err)
	}
	src := &supervision.Sources{Store: supervision.NewStore(db.Gorm),
		Resources:   func(context.Context) ([]catalog.Resource, error) { return res, nil },
		Departments: func(context.Context) ([]identity.Department, error) { return depts, nil },
		Calendar:    cal, Scoring: supervision.DefaultScoring(), Now: func() time.Time { return time.Date(2026, 12, 4, 12, 0, 0, 0, calendar.CST) }}
	p, _ := supervision.ParsePeriod("2026-11")

	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-t.C:
				runtime.ReadMemStats(&ms)
				if ms.HeapInuse > peak.Load() {
					peak.Store(ms.HeapInuse)
				}
			}
		}
	}()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	var rep supervision.Report
	for range b.N {
		if rep, err = src.Assess(context.Background(), p); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	if rep.AuditEvents != events || rep.Ranked != departments {
		b.Fatalf("report read %d events, ranked %d", rep.AuditEvents, rep.Ranked)
	}
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
