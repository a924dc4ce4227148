package sharing

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"yiku/calendar"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/demo"
	"yiku/fault"
	"yiku/identity"
	"yiku/storage/storagetest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// t0 is the decision time of the table: a Monday.
var t0 = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// directory is the demo catalog in memory, for domain tests without the
// catalog's store.
type directory map[string]catalog.Resource

func (d directory) Resource(_ context.Context, id string) (catalog.Resource, error) {
	r, ok := d[id]
	if !ok {
		return catalog.Resource{}, fault.NotFoundf("resource_not_found", "no resource %s", id)
	}
	return r, nil
}

func (d directory) Validator(context.Context, string, int) (catalog.RecordValidator, error) {
	return nil, fault.NotFoundf("no_validator", "the test directory holds no schemas")
}

// schemaDocs holds the demo schemas by resource id, as the gate's Schemas.
type schemaDocs map[string][]byte

func (s schemaDocs) Version(_ context.Context, id string, version int) (catalog.SchemaVersion, error) {
	doc, ok := s[id]
	if !ok {
		return catalog.SchemaVersion{}, fault.NotFoundf("schema_version_not_found", "no schema for %s", id)
	}
	return catalog.SchemaVersion{ResourceID: id, Version: version, Schema: doc}, nil
}

func (d directory) all(context.Context) ([]catalog.Resource, error) {
	var out []catalog.Resource
	for _, r := range d {
		out = append(out, r)
	}
	slices.SortFunc(out, func(a, b catalog.Resource) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

type fixture struct {
	svc    *Service
	gate   *Gatekeeper
	dir    directory
	clock  *time.Time
	labels map[string]string // grant id → G1…
}

func admin(dept string) identity.Principal {
	return identity.Principal{ID: "admin-" + dept, Name: "admin-" + dept, Kind: identity.KindPerson, Role: identity.RoleDeptAdmin, DepartmentCode: dept}
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	db := storagetest.Open(t)
	ids := identity.NewStore(db.Gorm)
	for _, d := range demo.Departments() {
		if _, err := ids.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	rs, ss, err := seed.Resources()
	if err != nil {
		t.Fatal(err)
	}
	dir, docs := directory{}, schemaDocs{}
	for i, r := range rs {
		r.Status, r.Revision, r.LatestVersion = catalog.StatusPublished, 1, 1
		dir[r.ID], docs[r.ID] = r, ss[i]
	}
	clock := t0
	now := func() time.Time { return clock }
	store := NewStore(db.Gorm)
	gate, err := NewGatekeeper(ctx, store, docs, ids.Departments, bytes.Repeat([]byte{7}, 32), now)
	if err != nil {
		t.Fatal(err)
	}
	svc := &Service{Store: store, Gate: gate, Directory: dir, Resources: dir.all, DecisionDays: 10, Calendar: calendar.Weekdays(),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Now: now}
	return &fixture{svc: svc, gate: gate, dir: dir, clock: &clock, labels: map[string]string{}}
}

// grant applies as requester's admin and approves as the provider's; at
// is when, fields/plain/purposes what is asked, approve narrows it.
func (f *fixture) grant(t *testing.T, label, requester, res string, extend bool, fields, plain, purposes []string, from time.Time, validity time.Duration, approve Approval) Grant {
	t.Helper()
	ctx := context.Background()
	*f.clock = from
	r, err := f.svc.Apply(ctx, admin(requester), Application{ResourceID: res, Fields: fields, PlainFields: plain, Purposes: purposes,
		LegalBasis: "《政务信息资源共享管理暂行办法》第十条", ServiceItems: []string{"test service item"}, ExtendToSubordinates: extend,
		ValidUntil: from.Add(validity)})
	if err != nil {
		t.Fatalf("%s: apply: %v", label, err)
	}
	_, g, _, err := f.svc.Approve(ctx, admin(f.dir[res].ProviderCode), r.ID, approve)
	if err != nil {
		t.Fatalf("%s: approve: %v", label, err)
	}
	f.labels[g.ID] = label
	*f.clock = t0
	return g
}

func (f *fixture) seedGrants(t *testing.T) {
	t.Helper()
	day := 24 * time.Hour
	// G1: marriage registrations to the service centre and its subordinate
	// units, approved for three of the four fields asked.
	f.grant(t, "G1", demo.DeptService, seed.MarriageRegistration, true,
		[]string{"id_number", "name", "registration_type", "registration_date"}, nil, []string{"婚姻状况核验"},
		t0.Add(-day), 30*day, Approval{Fields: []string{"id_number", "name", "registration_type"}})
	// G2: social insurance to the service centre only, ID number in plain text.
	f.grant(t, "G2", demo.DeptService, seed.SocialSecurity, false,
		[]string{"id_number", "insured_status", "paid_months"}, []string{"id_number"}, []string{"社保待遇资格认证", "就业补贴审核"},
		t0.Add(-day), 30*day, Approval{})
	// G3: enterprise credit to the service centre, revoked.
	g3 := f.grant(t, "G3", demo.DeptService, seed.EnterpriseCredit, false,
		[]string{"credit_code", "name", "credit_rating"}, nil, []string{"企业信用核查"}, t0.Add(-2*day), 30*day, Approval{})
	if _, err := f.svc.Revoke(context.Background(), admin(demo.DeptDRC), g3.ID, "purpose achieved"); err != nil {
		t.Fatal(err)
	}
	// G4: enterprise credit to market regulation, validity over a day ago.
	f.grant(t, "G4", demo.DeptAMR, seed.EnterpriseCredit, false,
		[]string{"credit_code", "name", "credit_rating"}, nil, []string{"企业信用核查"}, t0.Add(-10*day), 9*day, Approval{})
	// G5: marriage registrations to HR, valid only from five days on.
	*f.clock = t0
	r, err := f.svc.Apply(context.Background(), admin(demo.DeptHRSS), Application{ResourceID: seed.MarriageRegistration,
		Fields: []string{"id_number", "registration_type"}, Purposes: []string{"婚姻状况核验"}, LegalBasis: "社会保险法",
		ServiceItems: []string{"遗属待遇核定"}, ValidFrom: ptr(t0.Add(5 * day)), ValidUntil: t0.Add(60 * day)})
	if err != nil {
		t.Fatal(err)
	}
	_, g5, _, err := f.svc.Approve(context.Background(), admin(demo.DeptCivil), r.ID, Approval{})
	if err != nil {
		t.Fatal(err)
	}
	f.labels[g5.ID] = "G5"
	// G6: population (unconditional) to the Leping service centre, with
	// the name in plain text for household checks; not extended.
	f.grant(t, "G6", demo.DeptLPSvc, seed.Population, false,
		[]string{"id_number", "name", "domicile_address"}, []string{"name"}, []string{"户籍核验"}, t0.Add(-day), 90*day, Approval{})
}

func ptr[T any](v T) *T { return &v }

var samples = map[string]map[string]any{
	seed.Population: {"id_number": "43130219850312002X", "name": "张三丰", "mobile": "13800138000", "sex": "1",
		"domicile_address": "湖南省娄底市娄星区乐坪街道东升社区", "ethnicity": "01", "birth_date": "1985-03-12"},
	seed.MarriageRegistration: {"id_number": "43130219850312002X", "name": "张三丰", "spouse_name": "李四娘",
		"registration_type": "marriage", "registration_date": "2015-05-20"},
	seed.SocialSecurity:   {"id_number": "43130219850312002X", "name": "张三丰", "insured_status": "1", "paid_months": 96},
	seed.EnterpriseCredit: {"credit_code": "91431302MA4L12345X", "name": "娄底市示例科技有限公司", "credit_rating": "A"},
	seed.PSBCaseRecords:   {"case_number": "A4313020000002026030001", "case_type": "治安", "status": "受理"},
	seed.LegalEntity: {"credit_code": "91431302MA4L12345X", "name": "娄底市示例科技有限公司",
		"legal_representative": "王五", "legal_representative_id": "43130219700101001X"},
}

// purposes gives each resource the purpose its grants carry, and one that
// no grant carries.
var purposes = map[string]string{
	seed.Population: "户籍核验", seed.MarriageRegistration: "婚姻状况核验", seed.SocialSecurity: "社保待遇资格认证",
	seed.EnterpriseCredit: "企业信用核查", seed.PSBCaseRecords: "案件办理", seed.LegalEntity: "企业登记核验",
}

type reader struct {
	label string
	p     identity.Principal
}

func readers() []reader {
	sys := func(name, dept string) reader {
		return reader{name, identity.Principal{ID: name, Name: name, Kind: identity.KindSystem, Role: identity.RoleSystem, DepartmentCode: dept}}
	}
	person := func(name string, role identity.Role, dept string) reader {
		return reader{name, identity.Principal{ID: name, Name: name, Kind: identity.KindPerson, Role: role, DepartmentCode: dept}}
	}
	return []reader{
		sys("gsc-system", demo.DeptService),
		person("officer-gsc", identity.RoleOfficer, demo.DeptService),
		person("officer-lp", identity.RoleOfficer, demo.DeptLPSvc),
		person("officer-lp-ds", identity.RoleOfficer, demo.DeptLPComm),
		sys("hrss-system", demo.DeptHRSS),
		sys("amr-system", demo.DeptAMR),
		sys("psb-system", demo.DeptPSB),
		sys("civil-system", demo.DeptCivil),
		person("citizen-demo", identity.RoleCitizen, demo.DeptService),
		person("reviewer", identity.RoleReviewer, demo.DeptEGov),
	}
}

// grantState describes the grants on res that reach dept, for the table.
func (f *fixture) grantState(res, dept string) string {
	s := f.gate.snap.Load()
	var out []string
	for _, g := range s.byRes[res] {
		if !covers(s, g, dept) {
			continue
		}
		st := string(g.StatusAt(t0))
		if st == string(GrantActive) && t0.Before(g.ValidFrom) {
			st = "not-yet-valid"
		}
		out = append(out, f.labels[g.ID]+":"+st)
	}
	slices.Sort(out)
	if len(out) == 0 {
		return "none"
	}
	return strings.Join(out, ",")
}

func (f *fixture) row(t *testing.T, rd reader, res catalog.Resource, purpose, caseNo string) string {
	t.Helper()
	sample := samples[res.ID]
	var asked []string
	for k := range sample {
		asked = append(asked, k)
	}
	slices.Sort(asked)
	head := fmt.Sprintf("%-13s | %-6s %-17s | %-12s | %-21s %-13s | %-26s | %-12s | %-9s | asked %s",
		rd.label, rd.p.Kind, rd.p.Role, rd.p.DepartmentCode, res.ID, res.ShareType, f.grantState(res.ID, rd.p.DepartmentCode),
		orDash(purpose), orDash(caseNo), strings.Join(asked, ","))
	d, err := f.gate.Decide(context.Background(), ReadRequest{Principal: rd.p, Resource: res, Action: ActionRead, Purpose: purpose, CaseNumber: caseNo})
	if err != nil {
		fe, ok := fault.As(err)
		if !ok {
			t.Fatalf("%s: non-fault error %v", head, err)
		}
		return fmt.Sprintf("%s\n    → DENY %d %s", head, map[fault.Kind]int{fault.Invalid: 400, fault.Forbidden: 403}[fe.Kind], fe.Code)
	}
	basis := d.Basis
	if d.GrantID != "" {
		basis = "grant:" + f.labels[d.GrantID]
	}
	var views []string
	for _, v := range d.Plan.Fields() {
		mode := "as-stored"
		switch {
		case v.Plain:
			mode = "plain"
		case v.Protects != "":
			mode = "withheld-for:" + v.Protects
		case v.Masked:
			mode = "masked:" + v.Rule.String()
		}
		views = append(views, v.Name+"="+mode)
	}
	out, err := json.Marshal(d.Plan.Apply(sample))
	if err != nil {
		t.Fatal(err)
	}
	expires := ""
	if d.ExpiresAt != nil {
		expires = " until " + d.ExpiresAt.Format(time.RFC3339)
	}
	return fmt.Sprintf("%s\n    → ALLOW %s%s; returns %s\n      %s", head, basis, expires, strings.Join(views, " "), out)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// TestDecisionTable is the golden decision table: every reader × resource ×
// (the grant's purpose, another purpose), plus the input errors. Run with
// -update to rewrite testdata/decisions.golden after a deliberate change.
func TestDecisionTable(t *testing.T) {
	f := newFixture(t)
	f.seedGrants(t)
	ids := []string{seed.Population, seed.LegalEntity, seed.EnterpriseCredit, seed.MarriageRegistration, seed.SocialSecurity, seed.PSBCaseRecords}
	var rows []string
	for _, rd := range readers() {
		caseNo := ""
		if rd.p.Kind == identity.KindPerson {
			caseNo = "431302-2026-000123"
		}
		for _, id := range ids {
			for _, purpose := range []string{purposes[id], "其他事由"} {
				rows = append(rows, f.row(t, rd, f.dir[id], purpose, caseNo))
			}
		}
	}
	rd := readers()
	// Input errors come before any policy question.
	rows = append(rows,
		f.row(t, rd[0], f.dir[seed.Population], "", ""),
		f.row(t, rd[0], f.dir[seed.Population], "   ", ""),
		f.row(t, rd[1], f.dir[seed.Population], "户籍核验", ""),
		f.row(t, rd[1], f.dir[seed.MarriageRegistration], "婚姻状况核验", "  "),
		f.row(t, rd[2], f.dir[seed.SocialSecurity], strings.Repeat("长", 101), "431302-2026-000123"),
		f.row(t, rd[6], f.dir[seed.PSBCaseRecords], "", ""),
		f.row(t, rd[8], f.dir[seed.Population], "户籍核验", ""),
	)
	got := strings.Join(rows, "\n") + "\n"
	if n := len(rows); n < 60 {
		t.Fatalf("decision table has %d rows, want at least 60", n)
	}
	path := filepath.Join("testdata", "decisions.golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestDecisionTable -update ./policies/sharing to create it)", err)
	}
	if got != string(want) {
		gl, wl := strings.Split(got, "\n"), strings.Split(string(want), "\n")
		for i := 0; i < max(len(gl), len(wl)); i++ {
			var g, w string
			if i < len(gl) {
				g = gl[i]
			}
			if i < len(wl) {
				w = wl[i]
			}
			if g != w {
				t.Fatalf("decision table differs from %s at line %d:\n got: %s\nwant: %s\n(rerun with -update if the change is intended)", path, i+1, g, w)
			}
		}
	}
}

// A share request filed on Thursday 24 September 2026, the last working
// day before the Mid-Autumn and National Day holidays, is due after 10
// working days on the State Council's calendar: 28, 29, 30 September,
// 8, 9, 10 (a worked Saturday), 12, 13, 14, 15 October.
func TestShareRequestDeadlineOnTheHolidayCalendar(t *testing.T) {
	f := newFixture(t)
	cal, err := calendar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.Calendar = cal
	*f.clock = time.Date(2026, 9, 24, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))
	r, err := f.svc.Apply(context.Background(), admin(demo.DeptHRSS), Application{ResourceID: seed.MarriageRegistration,
		Fields: []string{"id_number", "registration_type"}, Purposes: []string{"婚姻状况核验"}, LegalBasis: "社会保险法",
		ServiceItems: []string{"遗属待遇核定"}, ValidUntil: f.clock.AddDate(1, 0, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 10, 15, 16, 0, 0, 0, time.UTC); !r.Deadline.Equal(want) {
		t.Fatalf("deadline %s, want %s (end of 15 October, CST)", r.Deadline, want)
	}
}
