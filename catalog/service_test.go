package catalog_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/catalog/sqlstore"
	"yiku/demo"
	"yiku/fault"
	"yiku/identity"
	"yiku/storage/storagetest"
)

var (
	catalogAdmin = identity.Principal{ID: "p-cat", Name: "catalog-admin", Role: identity.RoleCatalogAdmin, DepartmentCode: demo.DeptEGov}
	adminCivil   = identity.Principal{ID: "p-civil", Name: "admin-civil", Role: identity.RoleDeptAdmin, DepartmentCode: demo.DeptCivil}
	adminAMR     = identity.Principal{ID: "p-amr", Name: "admin-amr", Role: identity.RoleDeptAdmin, DepartmentCode: demo.DeptAMR}
	officer      = identity.Principal{ID: "p-off", Name: "officer-gsc", Role: identity.RoleOfficer, DepartmentCode: demo.DeptService}
)

// clock is a settable test clock.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type fixture struct {
	svc   *catalog.Service
	store *sqlstore.Store
	clock *clock
}

func newFixture(t *testing.T) fixture {
	t.Helper()
	ctx := context.Background()
	db := storagetest.Open(t)
	ids := identity.NewStore(db.Gorm)
	for _, d := range demo.Departments() {
		if _, err := ids.CreateDepartment(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	clk := &clock{now: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)}
	st := sqlstore.New(db.Gorm)
	svc := catalog.NewService(st, ids, catalog.Options{Now: clk.Now})
	return fixture{svc: svc, store: st, clock: clk}
}

func seeded(t *testing.T) fixture {
	t.Helper()
	f := newFixture(t)
	if err := seed.Demo(f.svc)(context.Background()); err != nil {
		t.Fatalf("seed: %v", err)
	}
	return f
}

func TestSeedPublishesTheDemoDirectory(t *testing.T) {
	f := seeded(t)
	ctx := context.Background()
	want := map[string]struct {
		provider string
		share    catalog.ShareType
		key      string
		code     string
	}{
		seed.Population:           {demo.DeptPSB, catalog.ShareUnconditional, "id_number", "101001/000001"},
		seed.LegalEntity:          {demo.DeptAMR, catalog.ShareUnconditional, "credit_code", "102001/000001"},
		seed.EnterpriseCredit:     {demo.DeptDRC, catalog.ShareConditional, "credit_code", "104001/000001"},
		seed.BusinessLicence:      {demo.DeptAMR, catalog.ShareUnconditional, "holder_id", "105001/000001"},
		seed.MarriageRegistration: {demo.DeptCivil, catalog.ShareConditional, "id_number", "312001/000001"},
		seed.SocialSecurity:       {demo.DeptHRSS, catalog.ShareConditional, "id_number", "203001/000001"},
		seed.PSBCaseRecords:       {demo.DeptPSB, catalog.ShareNone, "", "301001/000001"},
	}
	for id, w := range want {
		r, err := f.svc.Resource(ctx, id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if r.ProviderCode != w.provider || r.ShareType != w.share || r.SubjectKey != w.key || r.Code != w.code {
			t.Errorf("%s: got provider %s share %s key %q code %s", id, r.ProviderCode, r.ShareType, r.SubjectKey, r.Code)
		}
		if r.Status != catalog.StatusPublished || r.LatestVersion != 1 || r.PublishDate != "2026-03-02" || r.ProviderName == "" {
			t.Errorf("%s: status %s version %d publish date %q provider name %q", id, r.Status, r.LatestVersion, r.PublishDate, r.ProviderName)
		}
		byCode, err := f.svc.Resource(ctx, r.Code)
		if err != nil || byCode.ID != id {
			t.Errorf("lookup by code %s: %v %s", r.Code, err, byCode.ID)
		}
	}
	pop, _ := f.svc.Resource(ctx, seed.Population)
	for name, m := range map[string]string{"id_number": "id_number", "name": "name", "mobile": "mobile", "domicile_address": "address"} {
		fl, ok := pop.Field(name)
		if !ok || fl.Sensitivity != catalog.SensitivitySensitive || fl.Mask != m {
			t.Errorf("population field %s: %+v", name, fl)
		}
	}
	// Seeding again leaves the directory as it is.
	if err := seed.Demo(f.svc)(ctx); err != nil {
		t.Fatalf("second seed: %v", err)
	}
}

func TestValidatorChecksRecords(t *testing.T) {
	f := seeded(t)
	ctx := context.Background()
	v, err := f.svc.Validator(ctx, seed.Population, 0)
	if err != nil {
		t.Fatal(err)
	}
	if v.Version() != 1 {
		t.Fatalf("version %d", v.Version())
	}
	ok := []byte(`{"id_number":"11010519491231002X","name":"张三","sex":"1","mobile":"13800138000"}`)
	if vs := v.Validate(ok); len(vs) != 0 {
		t.Fatalf("valid record refused: %+v", vs)
	}
	bad := []byte(`{"id_number":"110105194912310021","name":"张三","shoe_size":42}`)
	vs := v.Validate(bad)
	var pointers []string
	for _, x := range vs {
		pointers = append(pointers, x.Pointer+":"+x.Rule)
	}
	got := strings.Join(pointers, ",")
	if !strings.Contains(got, "/id_number:format") || !strings.Contains(got, ":additionalProperties") {
		t.Fatalf("violations %s", got)
	}
	if vs := v.Validate([]byte(`{"id_number":`)); len(vs) != 1 || vs[0].Rule != "json" {
		t.Fatalf("broken JSON: %+v", vs)
	}
	// The same compiled validator is served again.
	v2, _ := f.svc.Validator(ctx, "101001/000001", 1)
	if v2 != v {
		t.Error("validator not cached")
	}
	if _, err := f.svc.Validator(ctx, seed.Population, 7); fault.KindOf(err) != fault.NotFound {
		t.Errorf("missing version: %v", err)
	}
	if _, err := f.svc.Validator(ctx, "no-such", 0); fault.KindOf(err) != fault.NotFound {
		t.Errorf("missing resource: %v", err)
	}
}

// marriageV1 is a small resource of the civil affairs department.
func marriageResource() catalog.Resource {
	return catalog.Resource{
		ID: "marriage-test", Name: "婚姻登记测试", ClassCode: "312002", ProviderCode: demo.DeptCivil, Summary: "测试",
		ShareType: catalog.ShareConditional, ShareConditions: "经审核", UpdateCycle: "daily",
		BaseLibrary: catalog.LibDepartment, SubjectType: catalog.SubjectPerson, SubjectKey: "id_number",
		Fields: []catalog.Field{
			{Name: "id_number", Title: "公民身份号码", DataType: "C", Sensitivity: "sensitive", Mask: "id_number"},
			{Name: "name", Title: "姓名", DataType: "C", Sensitivity: "sensitive", Mask: "name"},
		},
	}
}

const marriageV1 = `{"type":"object","required":["id_number","name"],"properties":{
	"id_number":{"type":"string","format":"cn-resident-id"},"name":{"type":"string"}}}`

func TestSchemaVersionsAndCompatibility(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	r, err := f.svc.Register(ctx, adminCivil, marriageResource(), []byte(marriageV1))
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != "312002/000001" || r.LatestVersion != 1 || r.Status != catalog.StatusDraft {
		t.Fatalf("registered %+v", r)
	}
	v1, err := f.svc.Version(ctx, r.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(v1.Schema, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["additionalProperties"] != false || !strings.HasPrefix(v1.Fingerprint, "sha256:") {
		t.Fatalf("v1 not closed by default or no fingerprint: %s %s", v1.Schema, v1.Fingerprint)
	}

	// A new required property breaks BACKWARD compatibility.
	withPhone := []catalog.Field{marriageResource().Fields[0], marriageResource().Fields[1], {Name: "phone", Title: "电话", DataType: "C", Sensitivity: "sensitive", Mask: "mobile"}}
	required := `{"type":"object","required":["id_number","name","phone"],"properties":{
		"id_number":{"type":"string","format":"cn-resident-id"},"name":{"type":"string"},"phone":{"type":"string"}}}`
	_, _, err = f.svc.RegisterSchema(ctx, adminCivil, r.ID, []byte(required), withPhone)
	fe, ok := fault.As(err)
	if !ok || fe.Code != "incompatible_schema" || len(fe.Details) == 0 || fe.Details[0].Pointer == "" {
		t.Fatalf("incompatible v2: %v", err)
	}
	t.Logf("refused: %s; %+v", fe.Message, fe.Details)

	// The dry run says the same and registers nothing.
	rep, err := f.svc.CheckSchema(ctx, r.ID, []byte(required), withPhone, "")
	if err != nil || rep.Compatible || len(rep.Issues) == 0 || rep.Mode != "BACKWARD" {
		t.Fatalf("dry run: %+v %v", rep, err)
	}
	// An optional property in a closed model is BACKWARD-compatible.
	optional := strings.Replace(required, `,"phone"]`, `]`, 1)
	v2, created, err := f.svc.RegisterSchema(ctx, adminCivil, r.ID, []byte(optional), withPhone)
	if err != nil || !created || v2.Version != 2 {
		t.Fatalf("compatible v2: %+v %v %v", v2, created, err)
	}
	// Registering it again returns the same version.
	again, created, err := f.svc.RegisterSchema(ctx, adminCivil, r.ID, []byte(optional), withPhone)
	if err != nil || created || again.Version != 2 {
		t.Fatalf("idempotent v2: %+v %v %v", again, created, err)
	}
	got, _ := f.svc.Resource(ctx, r.ID)
	if got.LatestVersion != 2 || len(got.Fields) != 3 {
		t.Fatalf("after v2: %+v", got)
	}
	// Another department's admin may not register versions.
	if _, _, err := f.svc.RegisterSchema(ctx, adminAMR, r.ID, []byte(optional), nil); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("foreign admin: %v", err)
	}
	changes, err := f.svc.Changes(ctx, r.ID)
	if err != nil || len(changes) != 2 || changes[1].Action != catalog.ActionSchemaRegister || changes[1].PrincipalName != "admin-civil" {
		t.Fatalf("changes: %+v %v", changes, err)
	}
}

func TestLifecycle(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res := marriageResource()
	if _, err := f.svc.Register(ctx, adminCivil, res, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Transition(ctx, adminCivil, res.ID, catalog.StatusPublished, ""); errCode(err) != "no_schema_version" {
		t.Fatalf("publish without schema: %v", err)
	}
	if _, _, err := f.svc.RegisterSchema(ctx, adminCivil, res.ID, []byte(marriageV1), nil); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		to   catalog.Status
		code string
	}{
		{catalog.StatusDeprecated, "invalid_transition"},
		{catalog.StatusPublished, ""},
		{catalog.StatusDraft, "invalid_transition"},
		{catalog.StatusRetired, "invalid_transition"},
		{catalog.StatusDeprecated, ""},
		{catalog.StatusPublished, ""},
		{catalog.StatusDeprecated, ""},
		{catalog.StatusRetired, ""},
		{catalog.StatusPublished, "invalid_transition"},
		{"archived", "invalid_status"},
	}
	for _, s := range steps {
		_, err := f.svc.Transition(ctx, adminCivil, res.ID, s.to, "test")
		if errCode(err) != s.code {
			t.Fatalf("to %s: got %v, want %q", s.to, err, s.code)
		}
	}
	r, _ := f.svc.Resource(ctx, res.ID)
	if r.Status != catalog.StatusRetired || r.Status.AcceptsRecords() {
		t.Fatalf("retired: %+v", r)
	}
	if _, err := f.svc.Update(ctx, adminCivil, res.ID, marriageResource()); errCode(err) != "resource_retired" {
		t.Fatalf("update retired: %v", err)
	}
}

func TestUpdateOwnershipAndHistory(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	res := marriageResource()
	if _, err := f.svc.Register(ctx, adminCivil, res, []byte(marriageV1)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Register(ctx, adminAMR, func() catalog.Resource { r := marriageResource(); r.ID = "other"; return r }(), nil); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("register for another department: %v", err)
	}
	if _, err := f.svc.Register(ctx, officer, func() catalog.Resource { r := marriageResource(); r.ID = "other"; return r }(), nil); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("officer registers: %v", err)
	}
	if _, err := f.svc.Register(ctx, catalogAdmin, res, nil); errCode(err) != "resource_exists" {
		t.Fatalf("duplicate id: %v", err)
	}
	upd := marriageResource()
	upd.Summary = "更新后的摘要"
	if _, err := f.svc.Update(ctx, adminAMR, res.ID, upd); errCode(err) != "not_resource_owner" {
		t.Fatalf("foreign update: %v", err)
	}
	// Warm the cache, change the resource, and see the change at once.
	if _, err := f.svc.Resource(ctx, res.ID); err != nil {
		t.Fatal(err)
	}
	out, err := f.svc.Update(ctx, catalogAdmin, res.ID, upd)
	if err != nil || out.Revision != 2 || out.Summary != "更新后的摘要" {
		t.Fatalf("update: %+v %v", out, err)
	}
	r, _ := f.svc.Resource(ctx, res.ID)
	if r.Summary != "更新后的摘要" {
		t.Fatalf("cache not invalidated: %q", r.Summary)
	}
	// A field the schema does not have is refused.
	bad := marriageResource()
	bad.Fields = append(bad.Fields, catalog.Field{Name: "phone", Title: "电话", DataType: "C"})
	if _, err := f.svc.Update(ctx, adminCivil, res.ID, bad); !hasRule(err, catalog.RuleFieldNotInSchema) {
		t.Fatalf("field not in schema: %v", err)
	}
	immut := marriageResource()
	immut.ProviderCode = demo.DeptAMR
	if _, err := f.svc.Update(ctx, catalogAdmin, res.ID, immut); errCode(err) != "invalid_resource" {
		t.Fatalf("provider change: %v", err)
	}
	changes, _ := f.svc.Changes(ctx, res.ID)
	if len(changes) != 2 || changes[1].PrincipalName != "catalog-admin" || len(changes[1].Elements) != 1 || changes[1].Elements[0].Name != "summary" {
		t.Fatalf("history: %+v", changes)
	}
	// Unchanged metadata makes no revision.
	same, err := f.svc.Update(ctx, catalogAdmin, res.ID, upd)
	if err != nil || same.Revision != 2 {
		t.Fatalf("no-op update: %+v %v", same, err)
	}
}

func TestCacheSeesOtherInstancesWithinTTL(t *testing.T) {
	f := seeded(t)
	ctx := context.Background()
	// A second service on the same store stands for another hub instance.
	other := catalog.NewService(f.store, depts{f}, catalog.Options{Now: f.clock.Now})
	if _, err := f.svc.Resource(ctx, seed.Population); err != nil {
		t.Fatal(err)
	}
	if _, err := other.Transition(ctx, catalogAdmin, seed.Population, catalog.StatusDeprecated, "replaced"); err != nil {
		t.Fatal(err)
	}
	r, _ := f.svc.Resource(ctx, seed.Population)
	if r.Status != catalog.StatusPublished {
		t.Fatalf("served from cache within the TTL: %s", r.Status)
	}
	f.clock.Add(catalog.DefaultCacheTTL)
	r, _ = f.svc.Resource(ctx, seed.Population)
	if r.Status != catalog.StatusDeprecated {
		t.Fatalf("stale after the TTL: %s", r.Status)
	}
}

// depts reads departments through the first service's store.
type depts struct{ f fixture }

func (d depts) Department(ctx context.Context, code string) (identity.Department, error) {
	for _, x := range demo.Departments() {
		if x.Code == code {
			return x, nil
		}
	}
	return identity.Department{}, fault.NotFoundf("department_not_found", "no %s", code)
}

func (d depts) Departments(ctx context.Context) ([]identity.Department, error) {
	return demo.Departments(), nil
}

func TestListFilters(t *testing.T) {
	f := seeded(t)
	ctx := context.Background()
	cases := []struct {
		f    catalog.Filter
		want []string
	}{
		{catalog.Filter{}, []string{"population", "legal-entity", "enterprise-credit", "business-licence", "social-security", "material-library", "psb-case-records", "marriage-registration"}},
		{catalog.Filter{Provider: demo.DeptAMR}, []string{"legal-entity", "business-licence"}},
		{catalog.Filter{ShareType: "conditional"}, []string{"enterprise-credit", "social-security", "material-library", "marriage-registration"}},
		{catalog.Filter{BaseLibrary: "department"}, []string{"psb-case-records", "marriage-registration"}},
		{catalog.Filter{Keyword: "婚姻登记"}, []string{"marriage-registration"}},
		{catalog.Filter{Keyword: "POPUL"}, []string{"population"}},
		{catalog.Filter{Keyword: "105001/"}, []string{"business-licence"}},
		{catalog.Filter{Status: "draft"}, nil},
		{catalog.Filter{Limit: 2, Offset: 1}, []string{"legal-entity", "enterprise-credit"}},
	}
	for _, c := range cases {
		rs, total, err := f.svc.List(ctx, c.f)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, r := range rs {
			ids = append(ids, r.ID)
			if r.ProviderName == "" {
				t.Errorf("%s has no provider name", r.ID)
			}
		}
		if strings.Join(ids, ",") != strings.Join(c.want, ",") {
			t.Errorf("%+v: got %v, want %v", c.f, ids, c.want)
		}
		if c.f.Limit == 0 && total != len(c.want) {
			t.Errorf("%+v: total %d", c.f, total)
		}
	}
	if _, _, err := f.svc.List(ctx, catalog.Filter{Status: "gone"}); fault.KindOf(err) != fault.Invalid {
		t.Errorf("bad status filter: %v", err)
	}
}

func errCode(err error) string {
	if err == nil {
		return ""
	}
	if fe, ok := fault.As(err); ok {
		return fe.Code
	}
	return "unclassified: " + err.Error()
}

func hasRule(err error, rule string) bool {
	var fe *fault.Error
	if !errors.As(err, &fe) {
		return false
	}
	for _, d := range fe.Details {
		if d.Rule == rule {
			return true
		}
	}
	return false
}

// TestConcurrentRegistrationsGetDistinctCodes: registrations racing in one
// classification each get their own sequence number.
func TestConcurrentRegistrationsGetDistinctCodes(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	const n = 8
	codes := make(chan string, n)
	errs := make(chan error, n)
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			r := marriageResource()
			r.ID = "race-" + string(rune('a'+i))
			out, err := f.svc.Register(ctx, catalogAdmin, r, nil)
			if err != nil {
				errs <- err
				return
			}
			codes <- out.Code
		}(i)
	}
	wg.Wait()
	close(codes)
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for c := range codes {
		if seen[c] || !strings.HasPrefix(c, "312002/") {
			t.Fatalf("code %s repeated or malformed", c)
		}
		seen[c] = true
	}
	if len(seen) != n {
		t.Fatalf("%d codes for %d registrations", len(seen), n)
	}
}
