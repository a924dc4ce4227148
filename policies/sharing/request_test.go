package sharing

import (
	"errors"
	"strings"
	"testing"
	"time"
	"yiku/calendar"

	"yiku/catalog"
	"yiku/catalog/seed"
	"yiku/demo"
	"yiku/fault"
	"yiku/identity"
)

func marriage(t *testing.T) catalog.Resource {
	t.Helper()
	rs, _, err := seed.Resources()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if r.ID == seed.MarriageRegistration {
			r.Status = catalog.StatusPublished
			return r
		}
	}
	t.Fatal("no marriage-registration in the demo directory")
	return catalog.Resource{}
}

func TestNewRequestRules(t *testing.T) {
	res := marriage(t)
	now := t0
	ok := Application{ResourceID: res.ID, Fields: []string{"id_number", "name"}, Purposes: []string{"婚姻状况核验"},
		LegalBasis: "婚姻登记条例", ServiceItems: []string{"生育登记"}, ValidUntil: now.Add(30 * 24 * time.Hour)}
	gsc := admin(demo.DeptService)
	cases := []struct {
		name string
		p    identity.Principal
		res  func(catalog.Resource) catalog.Resource
		app  func(Application) Application
		kind fault.Kind // Internal: no error
		code string
	}{
		{"valid", gsc, nil, nil, fault.Internal, ""},
		{"officer may not apply", identity.Principal{ID: "o", Role: identity.RoleOfficer, Kind: identity.KindPerson, DepartmentCode: demo.DeptService}, nil, nil, fault.Forbidden, "not_department_admin"},
		{"own resource", admin(demo.DeptCivil), nil, nil, fault.Invalid, "own_resource"},
		{"not shared", gsc, func(r catalog.Resource) catalog.Resource { r.ShareType = catalog.ShareNone; return r }, nil, fault.Forbidden, "not_shared"},
		{"draft resource", gsc, func(r catalog.Resource) catalog.Resource { r.Status = catalog.StatusDraft; return r }, nil, fault.Conflict, "resource_not_published"},
		{"no fields", gsc, nil, func(a Application) Application { a.Fields = nil; return a }, fault.Invalid, "invalid_share_request"},
		{"unknown field", gsc, nil, func(a Application) Application { a.Fields = []string{"salary"}; return a }, fault.Invalid, "invalid_share_request"},
		{"plain field not asked", gsc, nil, func(a Application) Application { a.PlainFields = []string{"spouse_name"}; return a }, fault.Invalid, "invalid_share_request"},
		{"no purpose", gsc, nil, func(a Application) Application { a.Purposes = []string{"  "}; return a }, fault.Invalid, "invalid_share_request"},
		{"purpose too long", gsc, nil, func(a Application) Application { a.Purposes = []string{strings.Repeat("事", 101)}; return a }, fault.Invalid, "invalid_share_request"},
		{"control character", gsc, nil, func(a Application) Application { a.Purposes = []string{"a\x00b"}; return a }, fault.Invalid, "invalid_share_request"},
		{"no legal basis", gsc, nil, func(a Application) Application { a.LegalBasis = ""; return a }, fault.Invalid, "invalid_share_request"},
		{"no service item", gsc, nil, func(a Application) Application { a.ServiceItems = nil; return a }, fault.Invalid, "invalid_share_request"},
		{"no validity", gsc, nil, func(a Application) Application { a.ValidUntil = time.Time{}; return a }, fault.Invalid, "invalid_share_request"},
		{"validity over five years", gsc, nil, func(a Application) Application { a.ValidUntil = now.Add(6 * 366 * 24 * time.Hour); return a }, fault.Invalid, "invalid_share_request"},
		{"start in the past", gsc, nil, func(a Application) Application { a.ValidFrom = ptr(now.Add(-time.Hour)); return a }, fault.Invalid, "invalid_share_request"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, app := res, ok
			if c.res != nil {
				r = c.res(r)
			}
			if c.app != nil {
				app = c.app(app)
			}
			got, err := NewRequest(c.p, r, app, now, func(t time.Time) time.Time { return calendar.Weekdays().Deadline(t, 10) })
			if c.code == "" {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				if got.Status != RequestPending || got.ProviderCode != demo.DeptCivil || got.RequesterCode != demo.DeptService {
					t.Fatalf("request %+v", got)
				}
				return
			}
			fe, isFault := fault.As(err)
			if !isFault || fe.Kind != c.kind || fe.Code != c.code {
				t.Fatalf("error %v, want %s %s", err, c.kind, c.code)
			}
		})
	}
}

func TestApproveNarrowsNeverWidens(t *testing.T) {
	req := Request{ID: "sr-1", ResourceID: seed.MarriageRegistration, ProviderCode: demo.DeptCivil, RequesterCode: demo.DeptService,
		Fields: []string{"id_number", "name", "registration_type"}, PlainFields: []string{"name"}, Purposes: []string{"p1", "p2"},
		ExtendToSubordinates: true, ValidFrom: t0, ValidUntil: t0.Add(30 * 24 * time.Hour), Status: RequestPending}
	civil := admin(demo.DeptCivil)
	cases := []struct {
		name   string
		actor  identity.Principal
		req    func(Request) Request
		a      Approval
		code   string
		fields []string
		plain  []string
	}{
		{"as asked", civil, nil, Approval{}, "", []string{"id_number", "name", "registration_type"}, []string{"name"}},
		{"fewer fields drops their plain text", civil, nil, Approval{Fields: []string{"id_number", "registration_type"}}, "", []string{"id_number", "registration_type"}, []string{}},
		{"no plain text", civil, nil, Approval{PlainFields: []string{}}, "", []string{"id_number", "name", "registration_type"}, []string{}},
		{"more fields", civil, nil, Approval{Fields: []string{"spouse_name"}}, "invalid_share_request", nil, nil},
		{"plain not asked", civil, nil, Approval{PlainFields: []string{"id_number"}}, "invalid_share_request", nil, nil},
		{"other purpose", civil, nil, Approval{Purposes: []string{"p3"}}, "invalid_share_request", nil, nil},
		{"longer period", civil, nil, Approval{ValidUntil: ptr(t0.Add(60 * 24 * time.Hour))}, "invalid_share_request", nil, nil},
		{"extension not asked", civil, func(r Request) Request { r.ExtendToSubordinates = false; return r }, Approval{ExtendToSubordinates: ptr(true)}, "invalid_share_request", nil, nil},
		{"requester cannot approve", admin(demo.DeptService), nil, Approval{}, "not_provider_admin", nil, nil},
		{"provider system cannot approve", identity.Principal{ID: "s", Role: identity.RoleSystem, Kind: identity.KindSystem, DepartmentCode: demo.DeptCivil}, nil, Approval{}, "not_provider_admin", nil, nil},
		{"already decided", civil, func(r Request) Request { r.Status = RequestRejected; return r }, Approval{}, "request_decided", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := req
			if c.req != nil {
				r = c.req(r)
			}
			g, err := Approve(r, c.a, c.actor, t0)
			if c.code != "" {
				if fe, ok := fault.As(err); !ok || fe.Code != c.code {
					t.Fatalf("error %v, want %s", err, c.code)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(g.Fields, ",") != strings.Join(c.fields, ",") || strings.Join(g.PlainFields, ",") != strings.Join(c.plain, ",") {
				t.Fatalf("grant fields %v plain %v, want %v %v", g.Fields, g.PlainFields, c.fields, c.plain)
			}
			if g.Status != GrantActive || g.GranteeCode != demo.DeptService || !g.ExtendToSubordinates {
				t.Fatalf("grant %+v", g)
			}
		})
	}
}

func TestWithin(t *testing.T) {
	cases := []struct {
		args []any
		want bool
		err  bool
	}{
		{[]any{float64(100), "100", "200"}, true, false},
		{[]any{float64(200), "100", "200"}, false, false},
		{[]any{int64(99), "100", "200"}, false, false},
		{[]any{float64(150), "x", "200"}, false, false},
		{[]any{"150", "100", "200"}, false, true},
		{[]any{float64(150), "100"}, false, true},
	}
	for i, c := range cases {
		got, err := within(c.args...)
		if (err != nil) != c.err || got != c.want {
			t.Errorf("case %d: within(%v) = %v, %v", i, c.args, got, err)
		}
	}
}

// FuzzApplication feeds arbitrary text to a share application: it never
// panics, and every refusal is a client error, never an internal one.
func FuzzApplication(f *testing.F) {
	f.Add("id_number", "婚姻状况核验", "婚姻登记条例", "生育登记", int64(3600))
	f.Add("", "", "", "", int64(0))
	f.Add("name\x00", "a\nb", strings.Repeat("x", 600), "\xff", int64(-5))
	rs, _, err := seed.Resources()
	if err != nil {
		f.Fatal(err)
	}
	var res catalog.Resource
	for _, r := range rs {
		if r.ID == seed.MarriageRegistration {
			res = r
		}
	}
	res.Status = catalog.StatusPublished
	f.Fuzz(func(t *testing.T, field, purpose, basis, item string, validity int64) {
		app := Application{ResourceID: res.ID, Fields: []string{field}, PlainFields: []string{field}, Purposes: []string{purpose},
			LegalBasis: basis, ServiceItems: []string{item}, ValidUntil: t0.Add(time.Duration(validity) * time.Second)}
		r, err := NewRequest(admin(demo.DeptService), res, app, t0, func(t time.Time) time.Time { return calendar.Weekdays().Deadline(t, 10) })
		if err != nil {
			if fault.KindOf(err) != fault.Invalid {
				t.Fatalf("client input gave %v", err)
			}
			var fe *fault.Error
			if !errors.As(err, &fe) || len(fe.Details) == 0 {
				t.Fatalf("refusal without details: %v", err)
			}
			return
		}
		if len(r.Purposes) != 1 || len([]rune(r.Purposes[0])) > maxPurposeLen {
			t.Fatalf("accepted purposes %q", r.Purposes)
		}
	})
}
