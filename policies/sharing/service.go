package sharing

import (
	"context"
	"log/slog"
	"time"
	"yiku/calendar"

	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
)

// Resources lists every registered resource, for "what may I read".
type Resources func(ctx context.Context) ([]catalog.Resource, error)

// Service runs the share-request workflow: applications, decisions,
// withdrawals, revocations and the queries over them. Every change that
// alters the data policies reloads this instance's gate at once and
// notifies the others.
type Service struct {
	Store        *Store
	Gate         *Gatekeeper
	Directory    catalog.Directory
	Resources    Resources
	Notifier     Notifier
	DecisionDays int
	Calendar     *calendar.Calendar
	Log          *slog.Logger
	Now          func() time.Time
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func actorOf(p identity.Principal) Actor {
	name := p.Name
	if p.DisplayName != "" {
		name = p.DisplayName
	}
	return Actor{ID: p.ID, Name: name, Department: p.DepartmentCode}
}

// Apply files a share request for p.
func (s *Service) Apply(ctx context.Context, p identity.Principal, app Application) (Request, error) {
	res, err := s.Directory.Resource(ctx, app.ResourceID)
	if err != nil {
		return Request{}, err
	}
	r, err := NewRequest(p, res, app, s.now(), func(t time.Time) time.Time { return s.Calendar.Deadline(t, s.DecisionDays) })
	if err != nil {
		return Request{}, err
	}
	r, err = s.Store.CreateRequest(ctx, r, actorOf(p))
	if err != nil {
		return Request{}, err
	}
	r.Warnings, err = s.Warnings(ctx, res, r.Fields, r.PlainFields)
	return r, err
}

// Request returns a request p may see: its department's, its department's
// resources', or any for the e-government office and reviewers.
func (s *Service) Request(ctx context.Context, p identity.Principal, id string) (Request, error) {
	r, err := s.Store.Request(ctx, id, s.now())
	if err != nil {
		return Request{}, err
	}
	if !mayView(p, r.RequesterCode, r.ProviderCode) {
		return Request{}, fault.NotFoundf("not_found", "share request %s not found", id)
	}
	if r.Status == RequestPending {
		res, err := s.Directory.Resource(ctx, r.ResourceID)
		if err != nil {
			return Request{}, err
		}
		if r.Warnings, err = s.Warnings(ctx, res, r.Fields, r.PlainFields); err != nil {
			return Request{}, err
		}
	}
	return r, nil
}

// History returns the recorded changes of a request p may see.
func (s *Service) History(ctx context.Context, p identity.Principal, id string) ([]HistoryEntry, error) {
	if _, err := s.Request(ctx, p, id); err != nil {
		return nil, err
	}
	return s.Store.History(ctx, id)
}

func mayView(p identity.Principal, depts ...string) bool {
	if p.Role == identity.RoleCatalogAdmin || p.Role == identity.RoleReviewer {
		return true
	}
	for _, d := range depts {
		if d == p.DepartmentCode {
			return true
		}
	}
	return false
}

// Box names a list of requests.
type Box string

const (
	BoxMine    Box = "mine"    // made by the caller's department
	BoxToMe    Box = "to-me"   // addressed to the caller's department as provider
	BoxOverdue Box = "overdue" // pending past their deadline, for the e-government office
	// BoxAll is every department's requests, for the e-government office
	// and reviewers only; each says whether it is overdue (Request.Overdue).
	BoxAll Box = "all"
)

// List lists a box of requests for p.
func (s *Service) List(ctx context.Context, p identity.Principal, box Box, status RequestStatus, limit, offset int) ([]Request, error) {
	f := RequestFilter{Status: status, Limit: limit, Offset: offset}
	now := s.now()
	switch box {
	case BoxMine:
		f.RequesterCode = p.DepartmentCode
	case BoxToMe:
		f.ProviderCode = p.DepartmentCode
	case BoxOverdue:
		f.OverdueAt = &now
		// A department sees its own overdue answers; the e-government
		// office and reviewers see every department's.
		if !mayView(p) {
			f.ProviderCode = p.DepartmentCode
		}
	case BoxAll:
		if !mayView(p) {
			return nil, fault.Forbiddenf("not_overseer", "only the e-government office and security reviewers list every department's share requests")
		}
	default:
		return nil, fault.Invalidf("invalid_box", "unknown list %q: use mine, to-me, overdue or all", box)
	}
	switch status {
	case "", RequestPending, RequestApproved, RequestRejected, RequestWithdrawn:
	default:
		return nil, fault.Invalidf("invalid_status", "unknown status %q", status).WithDetails(fault.Detail{Field: "status", Reason: "pending, approved, rejected or withdrawn"})
	}
	return s.Store.Requests(ctx, f, now)
}

// Approve approves a request, possibly narrowed, making its grant. The
// warnings say which granted fields the grant's readers get withheld (see
// Warnings).
func (s *Service) Approve(ctx context.Context, p identity.Principal, id string, a Approval) (Request, Grant, []Warning, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return Request{}, Grant{}, nil, err
	}
	now := s.now()
	g, err := Approve(r, a, p, now)
	if err != nil {
		return Request{}, Grant{}, nil, err
	}
	r, err = s.Store.Decide(ctx, r, RequestApproved, a.Reason, &g, actorOf(p), now)
	if err != nil {
		return Request{}, Grant{}, nil, err
	}
	s.changed(ctx, ActionGranted, g.ID)
	if g, err = s.Store.Grant(ctx, g.ID); err != nil {
		return Request{}, Grant{}, nil, err
	}
	res, err := s.Directory.Resource(ctx, g.ResourceID)
	if err != nil {
		return Request{}, Grant{}, nil, err
	}
	ws, err := s.Warnings(ctx, res, g.Fields, g.PlainFields)
	return r, g, ws, err
}

// Reject rejects a request with a reason.
func (s *Service) Reject(ctx context.Context, p identity.Principal, id, reason string) (Request, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return Request{}, err
	}
	reason, err = CheckReject(r, p, reason)
	if err != nil {
		return Request{}, err
	}
	return s.Store.Decide(ctx, r, RequestRejected, reason, nil, actorOf(p), s.now())
}

// Withdraw withdraws a pending request of p's department.
func (s *Service) Withdraw(ctx context.Context, p identity.Principal, id, reason string) (Request, error) {
	r, err := s.Request(ctx, p, id)
	if err != nil {
		return Request{}, err
	}
	reason, err = CheckWithdraw(r, p, reason)
	if err != nil {
		return Request{}, err
	}
	return s.Store.Decide(ctx, r, RequestWithdrawn, reason, nil, actorOf(p), s.now())
}

// Grants lists grants p's department gives or holds (every grant for the
// e-government office and reviewers).
func (s *Service) Grants(ctx context.Context, p identity.Principal, status GrantStatus, limit, offset int) ([]Grant, error) {
	switch status {
	case "", GrantActive, GrantRevoked, GrantExpired:
	default:
		return nil, fault.Invalidf("invalid_status", "unknown status %q", status).WithDetails(fault.Detail{Field: "status", Reason: "active, revoked or expired"})
	}
	f := GrantFilter{Status: status, Limit: limit, Offset: offset}
	if !mayView(p) {
		f.Department = p.DepartmentCode
	}
	return s.Store.Grants(ctx, f)
}

// Grant returns a grant p may see.
func (s *Service) Grant(ctx context.Context, p identity.Principal, id string) (Grant, error) {
	g, err := s.Store.Grant(ctx, id)
	if err != nil {
		return Grant{}, err
	}
	if !mayView(p, g.ProviderCode, g.GranteeCode) {
		return Grant{}, fault.NotFoundf("not_found", "grant %s not found", id)
	}
	return g, nil
}

// Revoke revokes an active grant; it stops working on every instance.
func (s *Service) Revoke(ctx context.Context, p identity.Principal, id, reason string) (Grant, error) {
	g, err := s.Grant(ctx, p, id)
	if err != nil {
		return Grant{}, err
	}
	now := s.now()
	reason, err = CheckRevoke(g, p, reason, now)
	if err != nil {
		return Grant{}, err
	}
	g, err = s.Store.EndGrant(ctx, g, GrantRevoked, reason, actorOf(p), now)
	if err != nil {
		return Grant{}, err
	}
	s.changed(ctx, ActionRevoked, g.ID)
	return g, nil
}

// Readable answers "what may I read?" for p's department.
func (s *Service) Readable(ctx context.Context, p identity.Principal) ([]Access, error) {
	resources, err := s.Resources(ctx)
	if err != nil {
		return nil, err
	}
	return s.Gate.Readable(ctx, p.DepartmentCode, resources)
}

// changed reloads this instance and tells the others. The change is
// committed already: a failure here is logged, and the other instances
// catch up through their version poll.
func (s *Service) changed(ctx context.Context, kind, grantID string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := s.Gate.Reload(ctx); err != nil {
		s.Log.Error("reload data policies after a change", "grant", grantID, "err", err)
	}
	if s.Notifier == nil {
		return
	}
	if err := s.Notifier.Notify(ctx, Change{Version: s.Gate.Version(), Kind: kind, GrantID: grantID, At: s.now()}); err != nil {
		s.Log.Warn("policy change notification failed; other instances will catch up by polling", "grant", grantID, "err", err)
	}
}
