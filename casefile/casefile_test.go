package casefile_test

import (
	"context"
	"testing"
	"time"

	"yiku/calendar"
	"yiku/casefile"
	"yiku/casefile/sqlstore"
	"yiku/fault"
	"yiku/identity"
	"yiku/storage/storagetest"
)

func TestCanMove(t *testing.T) {
	all := []casefile.State{casefile.Opened, casefile.Accepted, casefile.Approved, casefile.Rejected, casefile.Finished}
	allowed := map[[2]casefile.State]bool{
		{casefile.Opened, casefile.Accepted}:   true,
		{casefile.Opened, casefile.Rejected}:   true,
		{casefile.Accepted, casefile.Approved}: true,
		{casefile.Accepted, casefile.Rejected}: true,
		{casefile.Approved, casefile.Finished}: true,
		{casefile.Rejected, casefile.Finished}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := casefile.CanMove(from, to); got != allowed[[2]casefile.State{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
		// Next offers exactly the moves CanMove allows.
		next := casefile.Next(from)
		for _, to := range all {
			offered := false
			for _, n := range next {
				offered = offered || n == to
			}
			if offered != allowed[[2]casefile.State{from, to}] {
				t.Errorf("Next(%s) = %v; %s offered: %v", from, next, to, offered)
			}
		}
	}
	if n := casefile.Next(casefile.Finished); len(n) != 0 {
		t.Errorf("Next(finished) = %v", n)
	}
}

func TestPercentile(t *testing.T) {
	cases := []struct {
		in     []int
		q, out int
	}{
		{[]int{4}, 50, 4}, {[]int{4}, 90, 4},
		{[]int{1, 2}, 50, 1}, {[]int{1, 2}, 90, 2},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 50, 5}, {[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, 90, 9},
		{[]int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 90, 10},
	}
	for _, c := range cases {
		if got := casefile.Percentile(c.in, c.q); got != c.out {
			t.Errorf("Percentile(%v, %d) = %d, want %d", c.in, c.q, got, c.out)
		}
	}
}

// A case through its life on the store: opened by a lookup, updated by a
// second, refused for another applicant, moved by its department only,
// illegal moves refused, and its working days counted on the calendar.
func TestCaseLife(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Open(t)
	// Monday 2026-03-02 09:00 CST.
	now := time.Date(2026, 3, 2, 1, 0, 0, 0, time.UTC)
	svc := &casefile.Service{Store: sqlstore.New(db.Gorm), Calendar: calendar.Weekdays(), Hash: func(s string) string { return "h:" + s },
		Now: func() time.Time { return now }}
	officer := identity.Principal{ID: "o1", Role: identity.RoleOfficer, DepartmentCode: "lx-gsc"}
	system := identity.Principal{ID: "s1", Role: identity.RoleSystem, DepartmentCode: "lx-gsc"}
	other := identity.Principal{ID: "s2", Role: identity.RoleSystem, DepartmentCode: "lx-psb"}
	open := casefile.Opening{Number: "C-1", Applicant: "431302198506159913", ApplicantType: "natural_person", ServiceItem: "card", ItemName: "社保卡",
		Department: "lx-gsc", TimeLimitDays: 3, Materials: []casefile.Material{{Code: "identity", Name: "身份", Source: casefile.SourceLibrary, Status: "supplied"},
			{Code: "photo", Name: "照片", Source: casefile.SourceBrought, Status: "not_available"}}}
	c, err := svc.Open(ctx, officer, open)
	if err != nil || c.State != casefile.Opened || len(c.Materials) != 2 || c.Officer != "o1" {
		t.Fatalf("open: %+v, %v", c, err)
	}
	open.Materials = open.Materials[:1]
	if c, err = svc.Open(ctx, officer, open); err != nil || len(c.Materials) != 1 || c.Revision != 2 {
		t.Fatalf("reopen: %+v, %v", c, err)
	}
	taken := open
	taken.Applicant = "431302199001019928"
	if _, err := svc.Open(ctx, officer, taken); codeOf(err) != "case_number_taken" {
		t.Fatalf("another applicant: %v", err)
	}
	if _, err := svc.Move(ctx, other, "C-1", casefile.Transition{State: casefile.Accepted}); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("other department: %v", err)
	}
	if _, err := svc.Move(ctx, system, "C-1", casefile.Transition{State: casefile.Finished}); codeOf(err) != "illegal_transition" || fault.KindOf(err) != fault.Conflict {
		t.Fatalf("opened → finished: %v", err)
	}
	if _, err := svc.Move(ctx, system, "C-1", casefile.Transition{State: "closed"}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("unknown state: %v", err)
	}
	if _, err := svc.Move(ctx, system, "C-1", casefile.Transition{State: casefile.Accepted, At: now.Add(time.Hour)}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("future time: %v", err)
	}
	// A revision older than the case's (a form shown before the reopen):
	// refused; the current one moves it.
	if _, err := svc.Move(ctx, system, "C-1", casefile.Transition{State: casefile.Accepted, Revision: 1}); codeOf(err) != "case_changed" || fault.KindOf(err) != fault.Conflict {
		t.Fatalf("stale revision: %v", err)
	}
	if _, err := svc.Move(ctx, system, "C-1", casefile.Transition{State: casefile.Accepted, Revision: -1}); fault.KindOf(err) != fault.Invalid {
		t.Fatalf("negative revision: %v", err)
	}
	if _, err := svc.Move(ctx, system, "C-1", casefile.Transition{State: casefile.Accepted, Revision: 2}); err != nil {
		t.Fatal(err)
	}
	// Decided the next Monday: five working days, past the limit of three.
	now = now.AddDate(0, 0, 7)
	if c, err = svc.Move(ctx, officer, "C-1", casefile.Transition{State: casefile.Approved, Note: "准予"}); err != nil || c.WorkingDays != 5 || !c.Overdue {
		t.Fatalf("approve: %+v, %v", c, err)
	}
	if _, err := svc.Open(ctx, officer, open); codeOf(err) != "case_closed" {
		t.Fatalf("lookup on a decided case: %v", err)
	}
	now = now.AddDate(0, 0, 1)
	if c, err = svc.Move(ctx, system, "C-1", casefile.Transition{State: casefile.Finished}); err != nil || c.FinishedAt == nil || c.WorkingDays != 5 {
		t.Fatalf("finish: %+v, %v", c, err)
	}
	// Views: the department, the citizen, another department.
	if cs, n, err := svc.List(ctx, officer, casefile.Filter{Limit: 10}); err != nil || n != 1 || len(cs) != 1 {
		t.Fatalf("department list: %d %v", n, err)
	}
	citizen := identity.Principal{ID: "c", Role: identity.RoleCitizen, IDNumberHash: "h:431302198506159913"}
	if cs, _, err := svc.List(ctx, citizen, casefile.Filter{Department: "lx-psb", Limit: 10}); err != nil || len(cs) != 1 {
		t.Fatalf("citizen list: %v %v", cs, err)
	}
	if _, err := svc.Get(ctx, other, "C-1"); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("other department reads: %v", err)
	}
	if _, _, err := svc.List(ctx, other, casefile.Filter{Department: "lx-gsc"}); fault.KindOf(err) != fault.Forbidden {
		t.Fatalf("other department lists: %v", err)
	}
	st, err := svc.Processing(ctx, time.Time{}, now.Add(time.Hour), "")
	if err != nil || len(st) != 1 || st[0].Opened != 1 || st[0].Finished != 1 || st[0].WithinLimit != 0 || st[0].Overdue != 1 || *st[0].MedianDays != 5 {
		t.Fatalf("processing: %+v, %v", st, err)
	}
}

func codeOf(err error) string {
	if fe, ok := fault.As(err); ok {
		return fe.Code
	}
	return ""
}

// Lookups under one case number at once all succeed: a lookup that finds
// the case created or changed under it tries again.
func TestConcurrentOpen(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Open(t)
	svc := &casefile.Service{Store: sqlstore.New(db.Gorm), Calendar: calendar.Weekdays(), Hash: func(s string) string { return "h:" + s }}
	officer := identity.Principal{ID: "o1", Role: identity.RoleOfficer, DepartmentCode: "lx-gsc"}
	open := casefile.Opening{Number: "C-9", Applicant: "431302198506159913", ApplicantType: "natural_person", ServiceItem: "card",
		Department: "lx-gsc", Materials: []casefile.Material{{Code: "photo", Name: "照片", Source: casefile.SourceBrought}}}
	const n = 8
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := svc.Open(ctx, officer, open)
			errs <- err
		}()
	}
	for range n {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
	c, err := svc.Get(ctx, officer, "C-9")
	if err != nil || c.Revision != n || len(c.Materials) != 1 {
		t.Fatalf("after %d lookups: %+v, %v", n, c, err)
	}
}
