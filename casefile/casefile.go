// Package casefile holds case records (办件): a lookup with a case number
// opens or updates the case — applicant, service item, handling department,
// officer, the materials with the source each came from — and the handling
// department's systems, officers and administrators move it through its
// states (accepted, approved or rejected, finished). It counts processing
// times in working days against the item's time limit (办理时限) for the
// reuse statistics. It stores through a Store (casefile/sqlstore) and holds
// no HTTP (casefile/casefileapi).
package casefile

import (
	"context"
	"strings"
	"time"

	"yiku/fault"
	"yiku/identity"
	"yiku/inputtext"
)

// State is where a case stands.
type State string

const (
	Opened   State = "opened"   // a lookup named the case number
	Accepted State = "accepted" // 受理
	Approved State = "approved" // 准予
	Rejected State = "rejected" // 不予受理 or 不予许可
	Finished State = "finished" // 办结
)

// next lists the states each state may move to: a case opened is accepted or
// rejected outright; an accepted one approved or rejected; a decided one
// finished. Finished is final.
var next = map[State][]State{
	Opened:   {Accepted, Rejected},
	Accepted: {Approved, Rejected},
	Approved: {Finished},
	Rejected: {Finished},
}

// CanMove reports whether a case in state from may move to to.
func CanMove(from, to State) bool {
	for _, s := range next[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Next lists the states a case in state from may move to, in the order a
// form offers them; none for a finished case.
func Next(from State) []State {
	return append([]State(nil), next[from]...)
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	switch s {
	case Opened, Accepted, Approved, Rejected, Finished:
		return true
	}
	return false
}

// Source says where a case's material came from.
type Source string

const (
	// SourceLibrary: supplied from the one library by the lookup.
	SourceLibrary Source = "library"
	// SourceBrought: the applicant must bring it (not available, not
	// permitted, or a certificate that is not valid).
	SourceBrought Source = "brought"
	// SourceMaterialLibrary: supplied from the material library (材料库),
	// an upload the applicant brought for an earlier case.
	SourceMaterialLibrary Source = "material_library"
	// SourceAwaiting: held by another hub (federation) that could not be
	// asked when the lookup ran; a later lookup supplies it.
	SourceAwaiting Source = "awaiting"
)

// Material is one material of a case.
type Material struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Type     string `json:"type,omitempty"` // material type (材料目录)
	Source   Source `json:"source"`
	Status   string `json:"status,omitempty"` // the lookup's status
	Resource string `json:"resource,omitempty"`
}

// Case is one case record.
type Case struct {
	Number            string     `json:"case_number"`
	Applicant         string     `json:"applicant"`
	ApplicantType     string     `json:"applicant_type"`
	ServiceItem       string     `json:"service_item"`
	ItemName          string     `json:"service_item_name"`
	Department        string     `json:"department_code"`
	Officer           string     `json:"officer,omitempty"`
	OfficerDepartment string     `json:"officer_department,omitempty"`
	State             State      `json:"state"`
	TimeLimitDays     int        `json:"time_limit_days,omitempty"`
	Note              string     `json:"note,omitempty"`
	Revision          int        `json:"revision"`
	Materials         []Material `json:"materials"`
	OpenedAt          time.Time  `json:"opened_at"`
	UpdatedAt         time.Time  `json:"updated_at"`
	AcceptedAt        *time.Time `json:"accepted_at,omitempty"`
	DecidedAt         *time.Time `json:"decided_at,omitempty"`
	FinishedAt        *time.Time `json:"finished_at,omitempty"`
	// WorkingDays is the processing time so far (or, once finished, in
	// all) in working days; Overdue says it passed the time limit.
	WorkingDays int  `json:"working_days"`
	Overdue     bool `json:"overdue,omitempty"`

	// ApplicantHash keys the applicant for the citizen's view; never shown.
	ApplicantHash string `json:"-"`
}

// Opening is what a lookup tells about a case.
type Opening struct {
	Number        string
	Applicant     string
	ApplicantType string
	ServiceItem   string
	ItemName      string
	Department    string // the item's handling department
	TimeLimitDays int
	Materials     []Material
}

// Transition is a state change a department system asks for.
type Transition struct {
	State State  `json:"state"`
	Note  string `json:"note"`
	// At is when it happened in the department's system (zero: now); it may
	// not be in the future nor before the case's last change.
	At time.Time `json:"at"`
	// Revision, if set, is the case's revision the caller decided on: a
	// case changed since is not moved (409 case_changed), so a form shown
	// before someone else's move cannot make another.
	Revision int `json:"revision,omitempty"`
}

// Filter narrows a listing.
type Filter struct {
	// Department, if set, keeps the cases the department handles or whose
	// lookup it made.
	Department    string
	ApplicantHash string
	ServiceItem   string
	State         State
	From, To      time.Time // opened in [From, To)
	Limit, Offset int
}

// Store keeps cases.
type Store interface {
	// Get returns a case with its materials (fault NotFound if unknown).
	Get(ctx context.Context, number string) (Case, error)
	// Open creates c, or — if its number exists — calls update with the
	// stored case and stores what it returns (materials included), all in
	// one transaction.
	Open(ctx context.Context, c Case, update func(cur Case) (Case, error)) (Case, error)
	// Move stores c's state, times, note and revision if the stored
	// revision is still rev (fault Conflict otherwise).
	Move(ctx context.Context, c Case, rev int) (Case, error)
	List(ctx context.Context, f Filter) ([]Case, int, error)
}

// Workdays counts working days (calendar.Calendar).
type Workdays interface {
	WorkdaysBetween(from, to time.Time) int
}

// Service records and moves cases.
type Service struct {
	Store    Store
	Calendar Workdays
	// Hash keys an applicant's identifier like the audit trail's subjects.
	Hash func(subject string) string
	Now  func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

const maxNoteRunes = 500

// Open opens the case a lookup by p named, or updates its materials and
// officer: a case number already used for another applicant or service
// item is refused (409 case_number_taken), and so is a lookup for a case
// already decided (409 case_closed).
func (s *Service) Open(ctx context.Context, p identity.Principal, o Opening) (Case, error) {
	now := s.now()
	c := Case{Number: o.Number, Applicant: o.Applicant, ApplicantHash: s.Hash(o.Applicant), ApplicantType: o.ApplicantType,
		ServiceItem: o.ServiceItem, ItemName: o.ItemName, Department: o.Department, Officer: p.ID, OfficerDepartment: p.DepartmentCode,
		State: Opened, TimeLimitDays: o.TimeLimitDays, Revision: 1, Materials: o.Materials, OpenedAt: now, UpdatedAt: now}
	update := func(cur Case) (Case, error) {
		if cur.Applicant != c.Applicant || cur.ServiceItem != c.ServiceItem {
			return Case{}, fault.Conflictf("case_number_taken", "case number %s belongs to another applicant or service item", c.Number)
		}
		if cur.State != Opened && cur.State != Accepted {
			return Case{}, fault.Conflictf("case_closed", "case %s is %s; a lookup no longer changes it", c.Number, cur.State)
		}
		cur.Materials, cur.Officer, cur.OfficerDepartment, cur.UpdatedAt = c.Materials, c.Officer, c.OfficerDepartment, now
		cur.Revision++
		return cur, nil
	}
	// Lookups under one case number may run at once: one that finds the
	// case changed (or created) under it tries again on the fresh row.
	var out Case
	var err error
	for range openAttempts {
		if out, err = s.Store.Open(ctx, c, update); !isChanged(err) {
			break
		}
	}
	if err != nil {
		return Case{}, err
	}
	return s.timed(out), nil
}

const openAttempts = 5

func isChanged(err error) bool {
	fe, ok := fault.As(err)
	return ok && fe.Code == "case_changed"
}

// MayHandle says whether p may change cases of department dept: the
// department's own systems, officers and administrators.
func MayHandle(p identity.Principal, dept string) error {
	switch p.Role {
	case identity.RoleSystem, identity.RoleOfficer, identity.RoleDeptAdmin:
		if p.DepartmentCode == dept {
			return nil
		}
	}
	return fault.Forbiddenf("department_mismatch", "only department %s's systems, officers and administrators change its cases", dept)
}

// MaySee says whether p may read c: the e-government office and reviewers
// every case, a department's principals the cases it handles or looked up,
// a citizen their own.
func MaySee(p identity.Principal, c Case) error {
	switch p.Role {
	case identity.RoleCatalogAdmin, identity.RoleReviewer:
		return nil
	case identity.RoleCitizen:
		if p.IDNumberHash != "" && p.IDNumberHash == c.ApplicantHash {
			return nil
		}
	default:
		if p.DepartmentCode == c.Department || p.DepartmentCode == c.OfficerDepartment {
			return nil
		}
	}
	return fault.Forbiddenf("case_not_yours", "case %s is neither your department's nor yours", c.Number)
}

// Move changes case number's state for p.
func (s *Service) Move(ctx context.Context, p identity.Principal, number string, t Transition) (Case, error) {
	t.Note = strings.TrimSpace(t.Note)
	if !t.State.Valid() {
		return Case{}, fault.Invalidf("invalid_state", "state must be accepted, approved, rejected or finished").
			WithDetails(fault.Detail{Field: "state", Pointer: "/state", Reason: "unknown state"})
	}
	if t.Revision < 0 {
		return Case{}, fault.Invalidf("invalid_revision", "revision is a case's revision, 1 or more").
			WithDetails(fault.Detail{Field: "revision", Pointer: "/revision", Reason: "not a revision"})
	}
	if len([]rune(t.Note)) > maxNoteRunes {
		return Case{}, fault.Invalidf("invalid_note", "note is at most %d characters", maxNoteRunes).
			WithDetails(fault.Detail{Field: "note", Pointer: "/note", Reason: "too long"})
	}
	if why := inputtext.Problem(t.Note); why != "" {
		return Case{}, fault.Invalidf("invalid_note", "note is %s", why).
			WithDetails(fault.Detail{Field: "note", Pointer: "/note", Reason: why})
	}
	c, err := s.Store.Get(ctx, number)
	if err != nil {
		return Case{}, err
	}
	if err := MayHandle(p, c.Department); err != nil {
		return Case{}, err
	}
	if t.Revision != 0 && t.Revision != c.Revision {
		return Case{}, fault.Conflictf("case_changed", "case %s is at revision %d, not %d: it changed since", number, c.Revision, t.Revision)
	}
	now := s.now()
	at := now
	if !t.At.IsZero() {
		at = t.At.UTC()
		if at.After(now) {
			return Case{}, fault.Invalidf("invalid_time", "at is in the future").
				WithDetails(fault.Detail{Field: "at", Pointer: "/at", Reason: "in the future"})
		}
		if at.Before(c.OpenedAt) {
			return Case{}, fault.Invalidf("invalid_time", "at is before the case was opened").
				WithDetails(fault.Detail{Field: "at", Pointer: "/at", Reason: "before the case opened"})
		}
	}
	if !CanMove(c.State, t.State) {
		return Case{}, fault.Conflictf("illegal_transition", "case %s is %s; it cannot become %s", number, c.State, t.State)
	}
	switch t.State {
	case Accepted:
		c.AcceptedAt = &at
	case Approved, Rejected:
		c.DecidedAt = &at
	case Finished:
		c.FinishedAt = &at
	}
	rev := c.Revision
	c.State, c.Note, c.UpdatedAt, c.Revision = t.State, t.Note, now, rev+1
	out, err := s.Store.Move(ctx, c, rev)
	if err != nil {
		return Case{}, err
	}
	return s.timed(out), nil
}

// Get returns a case p may see.
func (s *Service) Get(ctx context.Context, p identity.Principal, number string) (Case, error) {
	c, err := s.Store.Get(ctx, number)
	if err != nil {
		return Case{}, err
	}
	if err := MaySee(p, c); err != nil {
		return Case{}, err
	}
	return s.timed(c), nil
}

// List lists the cases p may see, narrowed by f: a department's principals
// see their department's, a citizen their own, the e-government office and
// reviewers all (or one department's).
func (s *Service) List(ctx context.Context, p identity.Principal, f Filter) ([]Case, int, error) {
	switch p.Role {
	case identity.RoleCatalogAdmin, identity.RoleReviewer:
	case identity.RoleCitizen:
		if p.IDNumberHash == "" {
			return nil, 0, fault.Forbiddenf("citizen_not_linked", "this citizen account is not linked to an ID number")
		}
		f.Department, f.ApplicantHash = "", p.IDNumberHash
	default:
		if f.Department != "" && f.Department != p.DepartmentCode {
			return nil, 0, fault.Forbiddenf("department_mismatch", "the credential belongs to department %s; it lists only that department's cases", p.DepartmentCode)
		}
		f.Department = p.DepartmentCode
	}
	cs, total, err := s.Store.List(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	for i := range cs {
		cs[i] = s.timed(cs[i])
	}
	return cs, total, nil
}

// Started is when a case's processing time starts: its acceptance, or its
// opening if it was never accepted.
func (c Case) Started() time.Time {
	if c.AcceptedAt != nil {
		return *c.AcceptedAt
	}
	return c.OpenedAt
}

// Ended is when a case's processing ended (its decision), if it has.
func (c Case) Ended() (time.Time, bool) {
	if c.DecidedAt != nil {
		return *c.DecidedAt, true
	}
	if c.FinishedAt != nil {
		return *c.FinishedAt, true
	}
	return time.Time{}, false
}

// timed fills in the working days taken so far (to the decision, once
// decided) and whether they passed the time limit.
func (s *Service) timed(c Case) Case {
	if s.Calendar == nil {
		return c
	}
	end, ok := c.Ended()
	if !ok {
		end = s.now()
	}
	c.WorkingDays = s.Calendar.WorkdaysBetween(c.Started(), end)
	c.Overdue = c.TimeLimitDays > 0 && c.WorkingDays > c.TimeLimitDays
	return c
}
