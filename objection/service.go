package objection

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"yiku/audit"
	"yiku/calendar"
	"yiku/catalog"
	"yiku/exchange/library"
	"yiku/fault"
	"yiku/identity"
	"yiku/policies/sharing"
)

// Records reads a record's current version from the library.
type Records interface {
	Current(ctx context.Context, resource, subject string) (library.Row, error)
}

// Service runs the objection workflow.
type Service struct {
	Store     *Store
	Directory catalog.Directory
	Gate      sharing.Gate
	Records   Records
	Calendar  *calendar.Calendar
	// Days is how many working days the provider has to answer.
	Days int
	// Recorder records the steps no caller takes: a correction found by a
	// read or the sweep, an escalation.
	Recorder audit.Recorder
	Now      func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Limits on what a raiser writes.
const (
	maxFields       = 50
	maxProblemRunes = 2000
	maxEvidence     = 8000
	maxPurposeRunes = 100
	maxCaseNumber   = 64
)

// Raise is the body of a new objection.
type Raise struct {
	Resource string   `json:"resource"`
	Subject  string   `json:"subject"`
	Version  int      `json:"version"`
	Fields   []string `json:"fields"`
	Problem  string   `json:"problem"`
	Evidence string   `json:"evidence,omitempty"`
	// Purpose and CaseNumber are those under which the raiser reads the
	// record: the sharing gate decides the objection as it decides a read.
	Purpose    string `json:"purpose"`
	CaseNumber string `json:"case_number,omitempty"`
}

func invalid(field, code, msg string) error {
	return fault.Invalidf(code, "%s", msg).WithDetails(fault.Detail{Field: field, Pointer: "/" + field, Reason: msg})
}

// Check validates and normalises a raise body without looking anything up.
func Check(r Raise) (Raise, error) {
	r.Resource, r.Subject = strings.TrimSpace(r.Resource), strings.TrimSpace(r.Subject)
	r.Problem, r.Evidence = strings.TrimSpace(r.Problem), strings.TrimSpace(r.Evidence)
	r.Purpose, r.CaseNumber = strings.TrimSpace(r.Purpose), strings.TrimSpace(r.CaseNumber)
	switch {
	case r.Resource == "":
		return r, invalid("resource", "resource_required", "name the resource of the record")
	case r.Subject == "":
		return r, invalid("subject", "subject_required", "name the record's subject key")
	case len(r.Subject) > 64 || !utf8.ValidString(r.Subject):
		return r, invalid("subject", "invalid_subject", "a subject key is at most 64 bytes of text")
	case r.Version < 1:
		return r, invalid("version", "version_required", "name the record version you dispute (1 or more)")
	case len(r.Fields) == 0:
		return r, invalid("fields", "fields_required", "name at least one field you dispute")
	case len(r.Fields) > maxFields:
		return r, invalid("fields", "too_many_fields", fmt.Sprintf("at most %d fields", maxFields))
	case r.Problem == "":
		return r, invalid("problem", "problem_required", "say what is wrong")
	case utf8.RuneCountInString(r.Problem) > maxProblemRunes || !utf8.ValidString(r.Problem):
		return r, invalid("problem", "invalid_problem", fmt.Sprintf("problem is at most %d characters of text", maxProblemRunes))
	case len(r.Evidence) > maxEvidence || !utf8.ValidString(r.Evidence):
		return r, invalid("evidence", "invalid_evidence", fmt.Sprintf("evidence is at most %d bytes of text", maxEvidence))
	case r.Purpose == "":
		return r, invalid("purpose", "purpose_required", "name the purpose (事由) under which you read the record")
	case utf8.RuneCountInString(r.Purpose) > maxPurposeRunes || !utf8.ValidString(r.Purpose):
		return r, invalid("purpose", "invalid_purpose", fmt.Sprintf("purpose is at most %d characters", maxPurposeRunes))
	case len(r.CaseNumber) > maxCaseNumber || !utf8.ValidString(r.CaseNumber):
		return r, invalid("case_number", "invalid_case_number", fmt.Sprintf("case_number is at most %d bytes of text", maxCaseNumber))
	}
	seen := map[string]bool{}
	fields := make([]string, 0, len(r.Fields))
	for _, f := range r.Fields {
		f = strings.TrimSpace(f)
		if f == "" || len(f) > 64 {
			return r, invalid("fields", "invalid_field", "a field name is 1 to 64 bytes")
		}
		if !seen[f] {
			seen[f] = true
			fields = append(fields, f)
		}
	}
	r.Fields = fields
	return r, nil
}

// noRecord is the one answer to a raiser who may not read the record, to
// one whose record does not exist and to one whose record was deleted:
// the error says nothing about whether the record exists.
func noRecord(resource string) error {
	return fault.NotFoundf("record_not_found", "no record of %s for this subject that you may read", resource)
}

// readActions are the ways a principal may read a record; any of them
// lets it raise an objection.
var readActions = []sharing.Action{sharing.ActionRead, sharing.ActionSubscribe, sharing.ActionLookup}

// decide asks the gate whether p may read res through any read action and
// returns the first allowing decision.
func (s *Service) decide(ctx context.Context, p identity.Principal, res catalog.Resource, r Raise) (sharing.Decision, bool, error) {
	for _, a := range readActions {
		dec, err := s.Gate.Decide(ctx, sharing.ReadRequest{Principal: p, Resource: res, Action: a, Purpose: r.Purpose, CaseNumber: r.CaseNumber})
		switch fault.KindOf(err) {
		case fault.Forbidden:
			continue
		case fault.Invalid:
			// A missing case number or purpose: a fault of the request,
			// not a sign of the record.
			return sharing.Decision{}, false, err
		}
		if err != nil {
			if _, ok := fault.As(err); !ok {
				return sharing.Decision{}, false, fmt.Errorf("objection: gate: %w", err)
			}
			continue
		}
		if dec.Allowed && dec.Plan != nil {
			return dec, true, nil
		}
	}
	return sharing.Decision{}, false, nil
}

func actorOf(p identity.Principal) Actor {
	name := p.Name
	if p.DisplayName != "" {
		name = p.DisplayName
	}
	return Actor{ID: p.ID, Name: name, Department: p.DepartmentCode}
}

// Raise files an objection for p.
func (s *Service) Raise(ctx context.Context, p identity.Principal, r Raise) (Objection, error) {
	r, err := Check(r)
	if err != nil {
		return Objection{}, err
	}
	if p.DepartmentCode == "" {
		return Objection{}, fault.Forbiddenf("no_department", "only a department's principals raise objections")
	}
	res, err := s.Directory.Resource(ctx, r.Resource)
	if fault.KindOf(err) == fault.NotFound {
		return Objection{}, noRecord(r.Resource)
	}
	if err != nil {
		return Objection{}, err
	}
	dec, ok, err := s.decide(ctx, p, res, r)
	if err != nil {
		return Objection{}, err
	}
	if !ok {
		return Objection{}, noRecord(r.Resource)
	}
	if res.ProviderCode == p.DepartmentCode {
		return Objection{}, fault.Invalidf("own_record", "%s is your department's own resource: correct the record by publishing a new version", res.ID)
	}
	// Only fields the raiser may read: a field it may not read gets the
	// same answer as one that does not exist.
	readable := map[string]bool{}
	for _, f := range dec.Plan.Fields() {
		readable[f.Name] = true
	}
	for _, f := range r.Fields {
		if !readable[f] {
			return Objection{}, fault.Invalidf("field_not_readable", "field %q is not one you may read in %s", f, r.Resource).
				WithDetails(fault.Detail{Field: "fields", Pointer: "/fields", Reason: "not a field you may read"})
		}
	}
	cur, err := s.Records.Current(ctx, res.ID, r.Subject)
	if fault.KindOf(err) == fault.NotFound || (err == nil && cur.Deleted) {
		return Objection{}, noRecord(r.Resource)
	}
	if err != nil {
		return Objection{}, err
	}
	if cur.Version != r.Version {
		return Objection{}, fault.Conflictf("not_current_version", "version %d is not the current version of this record (%d): read it again and dispute what it says now", r.Version, cur.Version)
	}
	now := s.now()
	o := Objection{Resource: res.ID, Subject: r.Subject, RecordVersion: r.Version, Fields: r.Fields, Problem: r.Problem,
		Evidence: r.Evidence, ProviderCode: res.ProviderCode, RaiserCode: p.DepartmentCode, RaisedBy: p.ID,
		RaisedByName: actorOf(p).Name, Deadline: s.Calendar.Deadline(now, s.Days), CreatedAt: now}
	return s.Store.Create(ctx, o, actorOf(p))
}

// mayView: the raising and the providing departments, the e-government
// office and reviewers.
func mayView(p identity.Principal, o Objection) bool {
	if p.Role == identity.RoleCatalogAdmin || p.Role == identity.RoleReviewer {
		return true
	}
	return p.DepartmentCode != "" && (p.DepartmentCode == o.RaiserCode || p.DepartmentCode == o.ProviderCode)
}

// view hides the subject key from the e-government office, which
// supervises the answer but reads no records: it sees enough of the key
// to tell objections apart.
func view(p identity.Principal, o Objection) Objection {
	if p.Role == identity.RoleCatalogAdmin && p.DepartmentCode != o.RaiserCode && p.DepartmentCode != o.ProviderCode {
		o.Subject = maskSubject(o.Subject)
	}
	return o
}

func maskSubject(s string) string {
	r := []rune(s)
	if len(r) <= 6 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-6) + string(r[len(r)-2:])
}

// Get returns an objection p may see. An open one whose record has since
// got a newer version is closed as corrected first, so the answer is
// current without waiting for the sweep.
func (s *Service) Get(ctx context.Context, p identity.Principal, id string) (Objection, error) {
	o, err := s.Store.Get(ctx, id, s.now())
	if err != nil {
		return Objection{}, err
	}
	if !mayView(p, o) {
		return Objection{}, fault.NotFoundf("not_found", "objection %s not found", id)
	}
	if o.Status == StatusOpen {
		cur, err := s.Records.Current(ctx, o.Resource, o.Subject)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return Objection{}, err
		}
		if err == nil && cur.Version > o.RecordVersion {
			if _, err := s.correct(ctx, o, cur); err != nil {
				return Objection{}, err
			}
			if o, err = s.Store.Get(ctx, id, s.now()); err != nil {
				return Objection{}, err
			}
		}
	}
	return view(p, o), nil
}

// correctIfNewer closes the open objection d as corrected when its
// record's current version in the library is newer than the disputed one
// (a deletion counts: the provider withdrew the record).
func (s *Service) correctIfNewer(ctx context.Context, d Disputed, now time.Time) (bool, error) {
	cur, err := s.Records.Current(ctx, d.ResourceID, d.SubjectKey)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	if err != nil || cur.Version <= d.RecordVersion {
		return false, err
	}
	o, err := s.Store.Get(ctx, d.ID, now)
	if err != nil {
		return false, err
	}
	return s.correct(ctx, o, cur)
}

// correct closes o as corrected by the record version cur. It reports
// whether this call closed it (false when another step did first).
func (s *Service) correct(ctx context.Context, o Objection, cur library.Row) (bool, error) {
	by := Actor{ID: cur.Publisher, Name: cur.Publisher, Department: o.ProviderCode}
	reason := fmt.Sprintf("version %d published", cur.Version)
	if cur.Deleted {
		reason = fmt.Sprintf("record deleted (version %d)", cur.Version)
	}
	err := s.Store.Close(ctx, o.ID, StatusCorrected, by, cur.AppliedAt, reason, cur.Version)
	if errors.Is(err, errNotOpen) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ev := sweepEvent(o, "objection.correct", fmt.Sprintf("objection=%s corrected_version=%d", o.ID, cur.Version))
	if err := s.Recorder.Record(ctx, ev); err != nil {
		return true, fmt.Errorf("objection: audit correction of %s: %w", o.ID, err)
	}
	return true, nil
}

// History returns the steps of an objection p may see.
func (s *Service) History(ctx context.Context, p identity.Principal, id string) ([]HistoryEntry, error) {
	if _, err := s.Get(ctx, p, id); err != nil {
		return nil, err
	}
	return s.Store.History(ctx, id)
}

// Box names a list of objections.
type Box string

const (
	BoxMine    Box = "mine"    // raised by the caller's department
	BoxToMe    Box = "to-me"   // against the caller's department's records
	BoxOverdue Box = "overdue" // open past the deadline: the escalation list
)

// List returns a box's objections for p.
func (s *Service) List(ctx context.Context, p identity.Principal, box Box, status Status, limit, offset int) ([]Objection, error) {
	now := s.now()
	f := Filter{Status: status, Limit: limit, Offset: offset}
	office := p.Role == identity.RoleCatalogAdmin || p.Role == identity.RoleReviewer
	switch box {
	case BoxMine:
		f.Raiser = p.DepartmentCode
	case BoxToMe:
		f.Provider = p.DepartmentCode
	case BoxOverdue:
		f.OverdueAt = &now
		// The e-government office and reviewers see every department's;
		// a department its own overdue answers.
		if !office {
			f.Provider = p.DepartmentCode
		}
	default:
		return nil, fault.Invalidf("invalid_box", "unknown list %q: use mine, to-me or overdue", box)
	}
	if (box == BoxMine || box == BoxToMe || !office) && p.DepartmentCode == "" {
		return []Objection{}, nil
	}
	switch status {
	case "", StatusOpen, StatusCorrected, StatusRejected, StatusWithdrawn:
	default:
		return nil, fault.Invalidf("invalid_status", "unknown status %q: use open, corrected, rejected or withdrawn", status)
	}
	out, err := s.Store.List(ctx, f, now)
	if err != nil {
		return nil, err
	}
	for i := range out {
		out[i] = view(p, out[i])
	}
	return out, nil
}

// Reject closes an open objection against p's department's record with a
// reason.
func (s *Service) Reject(ctx context.Context, p identity.Principal, id, reason string) (Objection, error) {
	reason = strings.TrimSpace(reason)
	if reason == "" || utf8.RuneCountInString(reason) > maxProblemRunes || !utf8.ValidString(reason) {
		return Objection{}, invalid("reason", "reason_required", fmt.Sprintf("a rejection says why, in at most %d characters", maxProblemRunes))
	}
	o, err := s.Get(ctx, p, id)
	if err != nil {
		return Objection{}, err
	}
	if p.DepartmentCode != o.ProviderCode || (p.Role != identity.RoleDeptAdmin && p.Role != identity.RoleSystem) {
		return Objection{}, fault.Forbiddenf("not_provider", "only the providing department answers objection %s", id)
	}
	return s.close(ctx, p, o, StatusRejected, reason)
}

// Withdraw closes an open objection its raiser (or the raiser's
// department admin) no longer holds.
func (s *Service) Withdraw(ctx context.Context, p identity.Principal, id, reason string) (Objection, error) {
	reason = strings.TrimSpace(reason)
	if utf8.RuneCountInString(reason) > maxProblemRunes || !utf8.ValidString(reason) {
		return Objection{}, invalid("reason", "invalid_reason", fmt.Sprintf("reason is at most %d characters", maxProblemRunes))
	}
	o, err := s.Get(ctx, p, id)
	if err != nil {
		return Objection{}, err
	}
	if p.ID != o.RaisedBy && (p.Role != identity.RoleDeptAdmin || p.DepartmentCode != o.RaiserCode) {
		return Objection{}, fault.Forbiddenf("not_raiser", "only who raised objection %s (or its department's admin) withdraws it", id)
	}
	return s.close(ctx, p, o, StatusWithdrawn, reason)
}

func (s *Service) close(ctx context.Context, p identity.Principal, o Objection, st Status, reason string) (Objection, error) {
	if o.Status != StatusOpen {
		return Objection{}, fault.Conflictf("not_open", "objection %s is already %s", o.ID, o.Status)
	}
	err := s.Store.Close(ctx, o.ID, st, actorOf(p), s.now(), reason, 0)
	if errors.Is(err, errNotOpen) {
		return Objection{}, fault.Conflictf("not_open", "objection %s was closed meanwhile", o.ID)
	}
	if err != nil {
		return Objection{}, err
	}
	out, err := s.Store.Get(ctx, o.ID, s.now())
	return view(p, out), err
}

// OpenFor answers, for reads, which records are under open objection
// (Flags).
func (s *Service) OpenFor(ctx context.Context, keys []Key) (map[Key][]Open, error) {
	return s.Store.OpenFor(ctx, keys)
}

// Sweep closes open objections whose record got a newer version, then
// escalates open ones past their deadline at now; each step is audited.
func (s *Service) Sweep(ctx context.Context, now time.Time) error {
	// Every open objection, a page at a time; a closed one leaves the
	// list, so the next page starts after the ones still open.
	for offset := 0; ; {
		page, err := s.Store.OpenRecords(ctx, offset, 500)
		if err != nil {
			return err
		}
		for _, d := range page {
			closed, err := s.correctIfNewer(ctx, d, now)
			if err != nil {
				return err
			}
			if !closed {
				offset++
			}
		}
		if len(page) < 500 {
			break
		}
	}
	up, err := s.Store.Escalate(ctx, now, 1000)
	for _, o := range up {
		ev := sweepEvent(o, "objection.escalate", fmt.Sprintf("objection=%s provider=%s deadline=%s", o.ID, o.ProviderCode, o.Deadline.Format(time.RFC3339)))
		if rerr := s.Recorder.Record(ctx, ev); rerr != nil {
			return errors.Join(err, fmt.Errorf("objection: audit escalation of %s: %w", o.ID, rerr))
		}
	}
	return err
}

func sweepEvent(o Objection, action, reason string) audit.Event {
	return audit.Event{PrincipalID: "system", PrincipalName: "objection sweep", Department: o.ProviderCode, Role: "system",
		Action: action, Resource: o.Resource, Subjects: []string{o.Subject}, Outcome: audit.Allowed, Reason: reason, Count: 1}
}

// Sweeper runs Sweep on an interval.
type Sweeper struct {
	Service  *Service
	Interval time.Duration
	Log      *slog.Logger
}

// Name implements the hub's Worker.
func (w *Sweeper) Name() string { return "objection-sweep" }

// Run sweeps until ctx ends.
func (w *Sweeper) Run(ctx context.Context) error {
	t := time.NewTicker(w.Interval)
	defer t.Stop()
	for {
		if err := w.Service.Sweep(ctx, w.Service.now()); err != nil && ctx.Err() == nil {
			w.Log.Warn("objection sweep failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
