package federation

import (
	"context"
	"encoding/json"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"yiku/catalog"
	"yiku/fault"
	"yiku/federation/peer"
	"yiku/fieldcrypt"
	"yiku/identity"
	"yiku/inputtext"
	"yiku/policies/sharing"
)

// Directory is what federation reads of this hub's own catalog.
type Directory interface {
	Resource(ctx context.Context, id string) (catalog.Resource, error)
	All(ctx context.Context) ([]catalog.Resource, error)
}

// Service is the e-government office's and departments' side of
// federation in this hub: peerings, upward-sharing marks, federated
// entries and cross-level share requests.
type Service struct {
	Store     *Store
	Self      Self
	Directory Directory
	// Link is the client of the configured upstream hub (nil: none).
	Link *Link
	// RecordsTopic names a resource's records topic (exchange.Topics).
	RecordsTopic func(resource string) string
	// Schema returns a published schema version of a resource.
	Schema func(ctx context.Context, resource string, version int) (json.RawMessage, error)
	// Fields is this hub's field cipher (nil without a data key file): the
	// data keys of upward-shared resources are handed to the upstream hub.
	Fields *fieldcrypt.Cipher
	Log    *slog.Logger
}

// on refuses what needs federation when this hub has no federation id.
func (s *Service) on() error {
	if s.Self.Hub == "" {
		return fault.Conflictf("federation_off", "this hub is not federated (--federation-hub)")
	}
	return nil
}

func isOffice(p identity.Principal) bool { return p.Role == identity.RoleCatalogAdmin }

func officeOnly(p identity.Principal) error {
	if !isOffice(p) {
		return fault.Forbiddenf("not_egov_office", "peerings are managed by the e-government office (catalog admin), not a %s", p.Role)
	}
	return nil
}

func reasonOf(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len([]rune(s)) > 500 {
		return "", fault.Invalidf("invalid_reason", "reason is at most 500 characters").WithDetails(fault.Detail{Field: "reason", Pointer: "/reason", Reason: "too long"})
	}
	if why := inputtext.Problem(s); why != "" {
		return "", fault.Invalidf("invalid_reason", "reason is %s", why).WithDetails(fault.Detail{Field: "reason", Pointer: "/reason", Reason: why})
	}
	return s, nil
}

// RequestPeering asks the configured upstream hub to peer with this one:
// the upstream hub keeps the request pending until its office approves
// this hub's certificate. A peering that has not ended is a 409.
func (s *Service) RequestPeering(ctx context.Context, p identity.Principal) (Peering, error) {
	if err := officeOnly(p); err != nil {
		return Peering{}, err
	}
	if err := s.on(); err != nil {
		return Peering{}, err
	}
	if s.Link == nil {
		return Peering{}, fault.Conflictf("no_upstream", "this hub has no upstream peer configured (--federation-upstream-url, --federation-upstream-cert-file)")
	}
	if cur, ok, err := s.Store.Current(ctx, Upstream); err != nil {
		return Peering{}, err
	} else if ok {
		return Peering{}, fault.Conflictf("peering_exists", "peering %s with %s is %s; end it before requesting another", cur.ID, cur.PeerHub, cur.Status)
	}
	st, err := s.Link.Join(ctx, s.Self)
	if err != nil {
		return Peering{}, err
	}
	if st.Level.Rank() <= s.Self.Level.Rank() {
		return Peering{}, fault.Conflictf("peer_level", "the upstream hub %s is a %s hub; an upstream peer must be of a higher level than this %s hub", st.Hub, st.Level, s.Self.Level)
	}
	return s.Store.CreatePeering(ctx, Peering{Direction: Upstream, PeerHub: st.Hub, PeerName: st.Name, PeerLevel: st.Level, URL: s.Link.URL,
		Fingerprint: s.Link.Pin, Status: StatusRequested, PeerStatus: st.Status, RequestedBy: p.ID})
}

// Approve activates a pending downstream peering. fingerprint is the
// requesting hub's certificate fingerprint as its office gave it out of
// band; it must equal the one its request presented.
func (s *Service) Approve(ctx context.Context, p identity.Principal, id, fingerprint string) (Peering, error) {
	if err := officeOnly(p); err != nil {
		return Peering{}, err
	}
	fp, ok := peer.NormalFingerprint(fingerprint)
	if !ok {
		return Peering{}, fault.Invalidf("invalid_fingerprint", "fingerprint is the SHA-256 of the peer's certificate: 64 hex digits (colons allowed)").
			WithDetails(fault.Detail{Field: "fingerprint", Pointer: "/fingerprint", Reason: "64 hex digits"})
	}
	cur, err := s.Store.Peering(ctx, id)
	if err != nil {
		return Peering{}, err
	}
	if cur.Direction != Downstream {
		return Peering{}, fault.Conflictf("peering_direction", "peering %s was requested by this hub; the upstream hub's office approves it", id)
	}
	if cur.Fingerprint != fp {
		return Peering{}, fault.Conflictf("fingerprint_mismatch", "the certificate that requested peering %s is not the one whose fingerprint was given; refused", id)
	}
	return s.Store.SetStatus(ctx, id, []Status{StatusPending}, StatusActive, p.ID, "")
}

// Suspend stops traffic on a peering until it is resumed.
func (s *Service) Suspend(ctx context.Context, p identity.Principal, id, reason string) (Peering, error) {
	return s.step(ctx, p, id, reason, []Status{StatusActive, StatusRequested}, StatusSuspended)
}

// Resume restarts a suspended peering.
func (s *Service) Resume(ctx context.Context, p identity.Principal, id, reason string) (Peering, error) {
	return s.step(ctx, p, id, reason, []Status{StatusSuspended}, StatusActive)
}

// End ends a peering for good (a new one takes a new request).
func (s *Service) End(ctx context.Context, p identity.Principal, id, reason string) (Peering, error) {
	return s.step(ctx, p, id, reason, []Status{StatusRequested, StatusPending, StatusActive, StatusSuspended}, StatusEnded)
}

func (s *Service) step(ctx context.Context, p identity.Principal, id, reason string, from []Status, to Status) (Peering, error) {
	if err := officeOnly(p); err != nil {
		return Peering{}, err
	}
	reason, err := reasonOf(reason)
	if err != nil {
		return Peering{}, err
	}
	return s.Store.SetStatus(ctx, id, from, to, p.ID, reason)
}

// Peerings lists this hub's peerings.
func (s *Service) Peerings(ctx context.Context) ([]Peering, error) { return s.Store.Peerings(ctx, "") }

// Peering returns one peering.
func (s *Service) Peering(ctx context.Context, id string) (Peering, error) {
	return s.Store.Peering(ctx, id)
}

// SetUpward marks (on) or unmarks a resource for upward sharing: by its
// provider's department admin or the e-government office; a resource that
// is not shared (不予共享) never goes upward.
func (s *Service) SetUpward(ctx context.Context, p identity.Principal, id string, on bool) (Mark, error) {
	res, err := s.Directory.Resource(ctx, id)
	if err != nil {
		return Mark{}, err
	}
	if err := s.on(); err != nil {
		return Mark{}, err
	}
	if !isOffice(p) && !(p.Role == identity.RoleDeptAdmin && p.DepartmentCode == res.ProviderCode) {
		return Mark{}, fault.Forbiddenf("not_provider", "resource %s is marked for upward sharing by its provider's administrator or the e-government office", res.ID)
	}
	if on && res.ShareType == catalog.ShareNone {
		return Mark{}, fault.Conflictf("not_shared", "resource %s is not shared (不予共享); it cannot be shared upward", res.ID)
	}
	if !on {
		if _, err := s.Store.Mark(ctx, res.ID); err != nil {
			return Mark{}, err
		}
	}
	return s.Store.SetMark(ctx, Mark{ResourceID: res.ID, Department: res.ProviderCode, Marked: on, MarkedBy: p.ID})
}

// Marks lists the upward-sharing marks a principal may see: its
// department's, or all for the office and reviewers.
func (s *Service) Marks(ctx context.Context, p identity.Principal) ([]Mark, error) {
	dept := p.DepartmentCode
	if isOffice(p) || p.Role == identity.RoleReviewer {
		dept = ""
	}
	return s.Store.Marks(ctx, dept)
}

// Entries lists the federated entries shown in this hub's directory: from
// the upstream hub (direction upstream) or from downstream hubs.
func (s *Service) Entries(ctx context.Context, dir Direction, withRetired bool) ([]Entry, error) {
	ps, err := s.Store.Peerings(ctx, dir)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(ps))
	for _, p := range ps {
		if p.Status != StatusEnded {
			ids = append(ids, p.ID)
		}
	}
	return s.Store.Entries(ctx, ids, withRetired)
}

// UpstreamEntry returns the upstream hub's entry of a resource this hub
// does not hold itself (ok false when there is none or no open peering).
func (s *Service) UpstreamEntry(ctx context.Context, resource string) (Entry, Peering, bool, error) {
	pr, ok, err := s.Store.Current(ctx, Upstream)
	if err != nil || !ok {
		return Entry{}, Peering{}, false, err
	}
	e, ok, err := s.Store.Entry(ctx, pr.ID, resource)
	if err != nil || !ok || e.Status == catalog.StatusRetired {
		return Entry{}, Peering{}, false, err
	}
	return e, pr, true, nil
}

// FileShare files a department's share request for a resource of the
// upstream hub. It is checked here against the entry (fields, share type)
// and carried upstream by the sync; the upstream hub's rules decide it.
func (s *Service) FileShare(ctx context.Context, p identity.Principal, app ShareApplication) (ShareRequest, error) {
	if p.Role != identity.RoleDeptAdmin {
		return ShareRequest{}, fault.Forbiddenf("not_department_admin", "share requests are made by a department administrator, not a %s", p.Role)
	}
	app.ResourceID = strings.TrimSpace(app.ResourceID)
	if app.ResourceID == "" {
		return ShareRequest{}, fault.Invalidf("resource_id_required", "name the upstream resource").WithDetails(fault.Detail{Field: "resource_id", Pointer: "/resource_id", Reason: "required"})
	}
	e, pr, ok, err := s.UpstreamEntry(ctx, app.ResourceID)
	if err != nil {
		return ShareRequest{}, err
	}
	if !ok {
		return ShareRequest{}, fault.NotFoundf("not_found", "the upstream hub's directory shown here has no resource %s", app.ResourceID)
	}
	// The upstream hub's rules for an application, checked here as it will
	// check them there, where the department is its stand-in: a request
	// it would refuse is refused now, with its field, rather than carried.
	as := p
	as.DepartmentCode = ProxyDepartment(s.Self.Hub, p.DepartmentCode)
	checked, err := sharing.NewRequest(as, e.Resource, sharing.Application{ResourceID: e.ResourceID, Fields: app.Fields, PlainFields: app.PlainFields,
		Purposes: app.Purposes, LegalBasis: app.LegalBasis, ServiceItems: app.ServiceItems, ValidUntil: app.ValidUntil}, time.Now(),
		func(t time.Time) time.Time { return t })
	if err != nil {
		return ShareRequest{}, err
	}
	app.Fields, app.PlainFields, app.Purposes, app.LegalBasis, app.ServiceItems = checked.Fields, checked.PlainFields, checked.Purposes, checked.LegalBasis, checked.ServiceItems
	if pr.Status == StatusEnded {
		return ShareRequest{}, fault.Conflictf("peering_state", "the peering with %s has ended", pr.PeerHub)
	}
	return s.Store.CreateShare(ctx, ShareRequest{PeeringID: pr.ID, ResourceID: e.ResourceID, RequesterCode: p.DepartmentCode, RequestedBy: p.ID, Application: app})
}

// MirrorTopics returns the records topics of the resources marked for
// upward sharing that are shared and accept records, and a regular
// expression matching exactly them ("" when there are none): what
// cross-cluster replication (MirrorMaker 2) may copy to the upstream
// hub's cluster. Nothing else is to cross.
func (s *Service) MirrorTopics(ctx context.Context) ([]string, string, error) {
	topics := []string{}
	if s.RecordsTopic == nil || s.Self.Hub == "" {
		return topics, "", nil
	}
	marks, err := s.Store.Marks(ctx, "")
	if err != nil {
		return nil, "", err
	}
	for _, m := range marks {
		if !m.Marked {
			continue
		}
		res, err := s.Directory.Resource(ctx, m.ResourceID)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				continue
			}
			return nil, "", err
		}
		if res.ShareType != catalog.ShareNone && res.Status.AcceptsRecords() {
			topics = append(topics, s.RecordsTopic(res.ID))
		}
	}
	if len(topics) == 0 {
		return topics, "", nil
	}
	quoted := make([]string, len(topics))
	for i, t := range topics {
		quoted[i] = regexp.QuoteMeta(t)
	}
	return topics, "^(" + strings.Join(quoted, "|") + ")$", nil
}

// Shares lists the cross-level share requests a principal may see.
func (s *Service) Shares(ctx context.Context, p identity.Principal) ([]ShareRequest, error) {
	dept := p.DepartmentCode
	if isOffice(p) || p.Role == identity.RoleReviewer {
		dept = ""
	}
	return s.Store.Shares(ctx, dept)
}
