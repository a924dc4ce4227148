package supervision_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"yiku/calendar"
	"yiku/catalog"
	"yiku/identity"
	"yiku/storage"
	"yiku/storage/storagetest"
	"yiku/supervision"
)

var cst = calendar.CST

func at(s string) time.Time {
	t, err := time.ParseInLocation("2006-01-02 15:04", s, cst)
	if err != nil {
		panic(err)
	}
	return t
}

// fixture is a month (November 2026) of activity for three departments:
// 甲 (d-a) provides two resources, 乙 (d-b) one, 丙 (d-c) one and is the
// service centre that looks up and reads the others' records. Every
// figure the test expects is computed by hand in the comments.
type fixture struct {
	db        *storage.DB
	depts     []identity.Department
	resources []catalog.Resource
	seq       int64
}

func full(id, provider, cycle string, version int) catalog.Resource {
	return catalog.Resource{ID: id, Code: "C-" + id, Name: "资源" + id, ClassCode: "101", Summary: "摘要", ProviderCode: provider, Format: "json",
		Fields: []catalog.Field{{Name: "id_number"}}, ShareType: catalog.ShareUnconditional, ShareMode: "接口共享", UpdateCycle: cycle,
		PublishDate: "2026-01-01", LegalBasis: "依据", Status: catalog.StatusPublished, LatestVersion: version, CreatedAt: at("2026-01-01 09:00")}
}

func newFixture(t *testing.T) *fixture {
	f := &fixture{db: storagetest.Open(t)}
	for _, d := range []identity.Department{{Code: "d-a", Name: "甲局"}, {Code: "d-b", Name: "乙局"}, {Code: "d-c", Name: "丙中心"}} {
		d.Level = identity.LevelDistrict
		f.depts = append(f.depts, d)
		f.exec(t, "INSERT INTO departments (code, name, level) VALUES (?, ?, ?)", d.Code, d.Name, string(d.Level))
	}
	ra2 := full("ra2", "d-a", "monthly", 0)                   // no published schema
	ra2.Summary, ra2.LegalBasis, ra2.PublishDate = "", "", "" // 8 of 11 core elements
	f.resources = []catalog.Resource{full("ra1", "d-a", "daily", 1), ra2, full("rb1", "d-b", "weekly", 2), full("rc1", "d-c", "irregular", 1)}
	return f
}

func (f *fixture) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if err := f.db.Gorm.Exec(q, args...).Error; err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func (f *fixture) version(t *testing.T, resource, subject string, v int, published time.Time, current, deleted bool) {
	f.seq++
	f.exec(t, `INSERT INTO library_history (resource_id, subject_key, record_id, version, schema_version, publisher, data, deleted, kafka_partition, kafka_offset, published_at, applied_at)
VALUES (?, ?, ?, ?, 1, 'sys', '{}', ?, 0, ?, ?, ?)`, resource, subject, "r"+subject, v, deleted, f.seq, published.UTC(), published.UTC())
	if current {
		f.exec(t, `INSERT INTO library_records (resource_id, subject_key, record_id, version, schema_version, publisher, data, deleted, kafka_partition, kafka_offset, published_at, applied_at)
VALUES (?, ?, ?, ?, 1, 'sys', '{}', ?, 0, ?, ?, ?)`, resource, subject, "r"+subject, v, deleted, f.seq, published.UTC(), published.UTC())
	}
}

func (f *fixture) request(t *testing.T, id, provider, status string, created, deadline time.Time, decided *time.Time) {
	var d any
	if decided != nil {
		d = decided.UTC()
	}
	f.exec(t, `INSERT INTO share_requests (id, resource_id, provider_code, requester_code, requested_by, fields, purposes, legal_basis, valid_from, valid_until, status, deadline, decided_at, created_at, updated_at)
VALUES (?, 'x', ?, 'd-c', 'p', '[]', '[]', 'b', ?, ?, ?, ?, ?, ?, ?)`, id, provider, created.UTC(), created.AddDate(1, 0, 0).UTC(), status, deadline.UTC(), d, created.UTC(), created.UTC())
}

func (f *fixture) objection(t *testing.T, id, provider, status string, deadline time.Time, resolved *time.Time) {
	var r any
	if resolved != nil {
		r = resolved.UTC()
	}
	f.exec(t, `INSERT INTO objections (id, resource_id, subject_key, record_version, fields, problem, provider_code, raiser_code, raised_by, status, deadline, resolved_at, created_at, updated_at)
VALUES (?, 'x', 's', 1, '[]', 'p', ?, 'd-c', 'p', ?, ?, ?, ?, ?)`, id, provider, status, deadline.UTC(), r, deadline.AddDate(0, 0, -7).UTC(), deadline.UTC())
}

func (f *fixture) event(t *testing.T, when time.Time, dept, action, resource, outcome, reason string, count int64) {
	f.seq++
	f.exec(t, `INSERT INTO audit_events (chain_id, seq, id, at_us, department, action, resource, outcome, reason, count, prev_hash, hash)
VALUES ('c', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, f.seq, fmt.Sprintf("e%d", f.seq), when.UnixMicro(), dept, action, resource, outcome, reason, count, []byte{0}, []byte{1})
}

func ptr(t time.Time) *time.Time { return &t }

func (f *fixture) load(t *testing.T) {
	// The library. ra1: 3 current records and one deleted; last publish
	// 30 Nov 10:00 (daily: fresh at the end of November); in October its
	// last was 31 Oct 20:00 (fresh at the end of October).
	f.version(t, "ra1", "s1", 1, at("2026-10-31 20:00"), true, false)
	f.version(t, "ra1", "s2", 1, at("2026-11-10 10:00"), true, false)
	f.version(t, "ra1", "s3", 1, at("2026-11-30 10:00"), true, false)
	f.version(t, "ra1", "s4", 2, at("2026-11-12 10:00"), true, true)
	// ra2 (monthly): last 15 Oct → due 15 Nov: stale at the end of
	// November, fresh at the end of October. No current record.
	f.version(t, "ra2", "s1", 1, at("2026-10-15 10:00"), false, false)
	// rb1 (weekly): 1 Oct (stale at the end of October), 20 Nov 09:00 →
	// due 27 Nov: stale at the end of November; the 2 December version
	// comes after the period and is not counted. 2 current records.
	f.version(t, "rb1", "s1", 1, at("2026-10-01 09:00"), false, false)
	f.version(t, "rb1", "s2", 1, at("2026-11-20 09:00"), true, false)
	f.version(t, "rb1", "s1", 2, at("2026-12-02 09:00"), true, false)

	// Share requests (deadlines as the calendar gives for 10 working days).
	// d-a: q1 answered in 3 working days (3, 4, 5 Nov) by its deadline;
	// q2 answered on 25 Nov after its deadline of 23 Nov, in 12 working
	// days; q3 is due in December; q6 was withdrawn.
	f.request(t, "q1", "d-a", "approved", at("2026-11-02 10:00"), at("2026-11-17 00:00"), ptr(at("2026-11-05 10:00")))
	f.request(t, "q2", "d-a", "rejected", at("2026-11-09 10:00"), at("2026-11-24 00:00"), ptr(at("2026-11-25 10:00")))
	f.request(t, "q3", "d-a", "pending", at("2026-11-20 10:00"), at("2026-12-05 00:00"), nil)
	f.request(t, "q6", "d-a", "withdrawn", at("2026-11-03 10:00"), at("2026-11-18 00:00"), nil)
	// d-b: q4 never answered (late); q5 filed 20 Oct, answered on its
	// deadline day 3 Nov, in 10 working days.
	f.request(t, "q4", "d-b", "pending", at("2026-11-02 10:00"), at("2026-11-17 00:00"), nil)
	f.request(t, "q5", "d-b", "approved", at("2026-10-20 10:00"), at("2026-11-04 00:00"), ptr(at("2026-11-03 09:00")))

	// Objections: d-b corrected o1 in time and left o2 open past its
	// deadline; d-a rejected o3 late; o4 (d-c) was withdrawn.
	f.objection(t, "o1", "d-b", "corrected", at("2026-11-11 00:00"), ptr(at("2026-11-09 15:00")))
	f.objection(t, "o2", "d-b", "open", at("2026-11-13 00:00"), nil)
	f.objection(t, "o3", "d-a", "rejected", at("2026-11-21 00:00"), ptr(at("2026-11-23 11:00")))
	f.objection(t, "o4", "d-c", "withdrawn", at("2026-11-21 00:00"), ptr(at("2026-11-19 11:00")))

	// The audit trail. d-a published 90 records over HTTP (10 refused)
	// and 10 through the Kafka ingress (5 dead letters): 15 of 115
	// refused. d-b: 50, none refused (in October: 50 of 100 refused).
	f.event(t, at("2026-11-03 10:00"), "d-a", "record.publish", "ra1", "allowed", "accepted=90 rejected=10", 90)
	f.event(t, at("2026-11-04 10:00"), "d-a", "record.publish", "ra1", "allowed", "Kafka ingress yiku.ingress.d-a", 10)
	f.event(t, at("2026-11-04 10:00"), "d-a", "record.deadletter", "ra1", "denied", "refused ingress records", 5)
	f.event(t, at("2026-11-05 10:00"), "d-b", "record.publish", "rb1", "allowed", "accepted=50 rejected=0", 50)
	f.event(t, at("2026-10-05 10:00"), "d-b", "record.publish", "rb1", "allowed", "accepted=50 rejected=50", 50)
	// d-c's lookups: 5 materials asked, 3 supplied.
	f.event(t, at("2026-11-10 10:00"), "d-c", "lookup", "", "allowed", "item=x supplied=2 not_available=1 not_permitted=0", 2)
	f.event(t, at("2026-11-11 10:00"), "d-c", "lookup", "", "allowed", "item=y supplied=1 not_available=0 not_permitted=1", 1)
	// Materials supplied to others: d-a 2, d-b 1 (a denial and d-a's own
	// read of its resource do not count).
	f.event(t, at("2026-11-10 10:00"), "d-c", "reuse.supply", "ra1", "allowed", "item=x material=a", 1)
	f.event(t, at("2026-11-10 10:00"), "d-c", "reuse.supply", "ra1", "allowed", "item=x material=b", 1)
	f.event(t, at("2026-11-11 10:00"), "d-c", "reuse.supply", "rb1", "allowed", "item=y material=a", 1)
	f.event(t, at("2026-11-11 10:00"), "d-c", "reuse.supply", "rb1", "denied", "item=y material=b denied=x", 0)
	f.event(t, at("2026-11-12 10:00"), "d-a", "reuse.supply", "ra1", "allowed", "item=z material=a", 1)
	// Reads served: d-b 3.
	for range 3 {
		f.event(t, at("2026-11-13 10:00"), "d-c", "record.read", "rb1", "allowed", "", 1)
	}
	f.event(t, at("2026-11-13 11:00"), "d-c", "record.read", "rb1", "denied", "not_shared", 0)
	f.event(t, at("2026-11-13 12:00"), "d-b", "record.read", "rb1", "allowed", "", 1)
	// A December event is outside the period.
	f.event(t, at("2026-12-01 00:00"), "d-c", "lookup", "", "allowed", "item=x supplied=0 not_available=3 not_permitted=0", 0)
}

func near(a *float64, b float64) bool { return a != nil && math.Abs(*a-b) < 1e-9 }

func TestGoldenNovember2026(t *testing.T) {
	f := newFixture(t)
	f.load(t)
	cal, err := calendar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	src := &supervision.Sources{Store: supervision.NewStore(f.db.Gorm),
		Resources:   func(context.Context) ([]catalog.Resource, error) { return f.resources, nil },
		Departments: func(context.Context) ([]identity.Department, error) { return f.depts, nil },
		Calendar:    cal, Scoring: supervision.DefaultScoring(), Now: func() time.Time { return at("2026-12-04 12:00") }}
	p, err := supervision.ParsePeriod("2026-11")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := src.Assess(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	by := map[string]supervision.DepartmentReport{}
	for _, d := range rep.Departments {
		by[d.Code] = d
	}
	a, b, c := by["d-a"].Figures, by["d-b"].Figures, by["d-c"].Figures

	// Directory: d-a (11/11 + 8/11) / 2 = 19/22, one of two with a schema.
	if a.ResourcesRegistered != 2 || !near(a.MetadataCompleteness, 19.0/22) || a.CurrentSchema != 1 || !near(a.CurrentSchemaShare, 0.5) ||
		b.ResourcesRegistered != 1 || !near(b.MetadataCompleteness, 1) || !near(b.CurrentSchemaShare, 1) {
		t.Errorf("directory: a %+v b %+v", a, b)
	}
	// Supply.
	if a.LibraryRecords != 3 || b.LibraryRecords != 2 || c.LibraryRecords != 0 {
		t.Errorf("library records: %d %d %d", a.LibraryRecords, b.LibraryRecords, c.LibraryRecords)
	}
	if a.RecordsAccepted != 100 || a.RecordsRejected != 15 || !near(a.RejectionRate, 15.0/115) || !near(b.RejectionRate, 0) || c.RejectionRate != nil {
		t.Errorf("rejection: a %d/%d %v b %v c %v", a.RecordsRejected, a.RecordsAccepted, a.RejectionRate, b.RejectionRate, c.RejectionRate)
	}
	if a.AssessedResources != 2 || a.FreshResources != 1 || b.AssessedResources != 1 || b.FreshResources != 0 || c.AssessedResources != 0 || c.FreshShare != nil {
		t.Errorf("freshness: a %d/%d b %d/%d c %d", a.FreshResources, a.AssessedResources, b.FreshResources, b.AssessedResources, c.AssessedResources)
	}
	// Responsiveness.
	if a.RequestsDue != 2 || a.RequestsOnTime != 1 || !near(a.MedianAnswerWorkdays, 7.5) ||
		b.RequestsDue != 2 || b.RequestsOnTime != 1 || !near(b.MedianAnswerWorkdays, 10) || c.RequestsOnTimeShare != nil {
		t.Errorf("requests: a %d/%d median %v; b %d/%d median %v", a.RequestsOnTime, a.RequestsDue, deref(a.MedianAnswerWorkdays),
			b.RequestsOnTime, b.RequestsDue, deref(b.MedianAnswerWorkdays))
	}
	if a.ObjectionsDue != 1 || a.ObjectionsOnTime != 0 || b.ObjectionsDue != 2 || b.ObjectionsOnTime != 1 || c.ObjectionsOnTimeShare != nil {
		t.Errorf("objections: a %d/%d b %d/%d", a.ObjectionsOnTime, a.ObjectionsDue, b.ObjectionsOnTime, b.ObjectionsDue)
	}
	// Contribution and usage.
	if a.MaterialsSupplied != 2 || b.MaterialsSupplied != 1 || b.ReadsServed != 3 || a.ReadsServed != 0 ||
		a.RequestsGranted != 1 || a.RequestsRejected != 1 || b.RequestsGranted != 1 || b.RequestsRejected != 0 {
		t.Errorf("contribution: a %+v b %+v", a, b)
	}
	if c.Lookups != 2 || c.LookupMaterials != 5 || c.LookupSupplied != 3 || !near(c.LookupSupplyShare, 0.6) || a.Lookups != 0 {
		t.Errorf("usage: c %+v", c)
	}
	// Scores with the shipped weights (each over the metrics the
	// department has a figure for):
	//   d-a: (10·19/22 + 10·0.5 + 15·0.5 + 10·100/115 + 20·0.5 + 15·0 + 10·1) / 90 = 55.37
	//   d-b: (10 + 10 + 0 + 10 + 20·0.5 + 15·0.5 + 10·0.5) / 90                    = 58.33
	//   d-c: (10 + 10 + 10·0 + 10·0.6) / 40                                          = 65.00
	// October: d-a (8.6364 + 5 + 15) / 35 = 81.82, d-b (10 + 10 + 0 + 5) / 45 = 55.56, d-c 100.
	want := []struct {
		code        string
		score       float64
		rank        int
		prev        float64
		prevRank    int
		scoreChange float64
		rankChange  int
	}{
		{"d-c", 65, 1, 100, 1, -35, 0},
		{"d-b", 58.33, 2, 55.56, 3, 2.77, 1},
		{"d-a", 55.37, 3, 81.82, 2, -26.45, -1},
	}
	if len(rep.Departments) != 3 || rep.Ranked != 3 || rep.Period != "2026-11" || rep.Previous != "2026-10" {
		t.Fatalf("report: %d lines, %d ranked, %s after %s", len(rep.Departments), rep.Ranked, rep.Period, rep.Previous)
	}
	for i, w := range want {
		d := rep.Departments[i]
		if d.Code != w.code || !near(d.Score, w.score) || d.Rank != w.rank || !near(d.PreviousScore, w.prev) || d.PreviousRank != w.prevRank ||
			!near(d.ScoreChange, w.scoreChange) || d.RankChange == nil || *d.RankChange != w.rankChange {
			t.Errorf("line %d: %s score %v rank %d prev %v/%d change %v/%v; want %+v", i, d.Code, deref(d.Score), d.Rank,
				deref(d.PreviousScore), d.PreviousRank, deref(d.ScoreChange), d.RankChange, w)
		}
	}
	if rep.AuditEvents != 16 {
		t.Errorf("audit events read: %d, want 16", rep.AuditEvents)
	}

	// JSON read back.
	raw, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var back supervision.Report
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	if back.Departments[1].Code != "d-b" || !near(back.Departments[1].Figures.MedianAnswerWorkdays, 10) || len(back.Definitions) != len(supervision.Metrics) ||
		back.Definitions[0].Definition == "" {
		t.Errorf("json read back: %s", raw)
	}

	// The workbook read back: the summary's ranking, a metric's sheet, the definitions.
	var buf bytes.Buffer
	if err := supervision.WriteXLSX(&buf, rep); err != nil {
		t.Fatal(err)
	}
	x, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer x.Close()
	sheets := x.GetSheetList()
	if len(sheets) != 2+len(supervision.Metrics) || sheets[0] != supervision.SheetSummary || sheets[len(sheets)-1] != supervision.SheetDefinitions {
		t.Fatalf("sheets = %v", sheets)
	}
	rows, err := x.GetRows(supervision.SheetSummary)
	if err != nil {
		t.Fatal(err)
	}
	wantRows := [][]string{
		{"rank", "department", "name", "score", "previous_rank", "previous_score", "rank_change", "score_change"},
		{"1", "d-c", "丙中心", "65", "1", "100", "0", "-35"},
		{"2", "d-b", "乙局", "58.33", "3", "55.56", "1", "2.77"},
		{"3", "d-a", "甲局", "55.37", "2", "81.82", "-1", "-26.45"},
	}
	if len(rows) != 5 {
		t.Fatalf("summary rows = %v", rows)
	}
	for i, w := range wantRows {
		if fmt.Sprint(rows[i+1]) != fmt.Sprint(w) {
			t.Errorf("summary row %d = %v, want %v", i+2, rows[i+1], w)
		}
	}
	med, err := x.GetRows("median_answer_workdays")
	if err != nil || len(med) != 4 || fmt.Sprint(med[2]) != "[d-b 乙局 10]" || fmt.Sprint(med[3]) != "[d-a 甲局 7.5]" || len(med[1]) != 2 {
		t.Errorf("median sheet = %v (%v)", med, err)
	}
	defs, err := x.GetRows(supervision.SheetDefinitions)
	if err != nil || len(defs) != 1+len(supervision.Metrics) || defs[9][0] != "requests_on_time_share" || defs[9][3] != "20" {
		t.Errorf("definitions = %v (%v)", defs, err)
	}

	// CSV: a header and one line per department.
	buf.Reset()
	if err := supervision.WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if lines := bytes.Count(buf.Bytes(), []byte("\n")); lines != 4 || !bytes.Contains(buf.Bytes(), []byte("2026-11,3,d-a,甲局,55.37,2,81.82,-1,-26.45,2,")) {
		t.Errorf("csv:\n%s", buf.String())
	}
}

func deref(p *float64) any {
	if p == nil {
		return nil
	}
	return *p
}
