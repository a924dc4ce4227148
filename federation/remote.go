package federation

import (
	"context"

	"yiku/audit"
	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
	"yiku/lookup"
)

// Remote lets this hub's lookups supply materials the upstream hub holds
// (lookup.Remote): the officer, department, purpose and case number go
// along and are checked there; the upstream gate projects and masks.
type Remote struct {
	Service *Service
	// Names gives department names to send along (optional).
	Names func(ctx context.Context, code string) (identity.Department, error)
}

// Holds reports whether the upstream hub's directory shown here offers resource.
func (r *Remote) Holds(ctx context.Context, resource string) (bool, error) {
	_, _, ok, err := r.Service.UpstreamEntry(ctx, resource)
	return ok, err
}

// Lookup asks the upstream hub. A peering that is not open on both sides,
// an unreachable hub or a wrong certificate is fault Unavailable.
func (r *Remote) Lookup(ctx context.Context, p identity.Principal, req lookup.Request, resources []string) (map[string]lookup.RemoteAnswer, error) {
	svc := r.Service
	if svc.Link == nil {
		return nil, fault.New(fault.Unavailable, "no_upstream", "no upstream hub is configured")
	}
	pr, ok, err := svc.Store.Current(ctx, Upstream)
	if err != nil {
		return nil, err
	}
	if !ok || !pr.Open() {
		return nil, fault.New(fault.Unavailable, "peering_not_active", "the peering with the upstream hub is not active")
	}
	dname := ""
	if r.Names != nil {
		if d, err := r.Names(ctx, p.DepartmentCode); err == nil {
			dname = d.Name
		}
	}
	name := p.DisplayName
	if name == "" {
		name = p.Name
	}
	ms, err := svc.Link.Lookup(ctx, audit.TraceOf(ctx), RemoteLookup{Subject: req.Applicant, Resources: resources, Purpose: req.Purpose,
		CaseNumber: req.CaseNumber, ServiceItem: req.ServiceItem, Officer: p.ID, OfficerName: name, Department: p.DepartmentCode, DepartmentName: dname})
	if err != nil {
		if fe, ok := fault.As(err); ok && fe.Kind != fault.Unavailable {
			// A refusal of the call as a whole (peering suspended there,
			// certificate no longer pinned): not the officer's fault, the
			// materials wait like when the hub is down.
			return nil, fault.Wrap(err, fault.Unavailable, fe.Code, "%s", fe.Message)
		}
		return nil, err
	}
	out := make(map[string]lookup.RemoteAnswer, len(ms))
	for _, m := range ms {
		out[m.Resource] = lookup.RemoteAnswer{Status: lookup.Status(m.Status), Reason: m.Reason, Record: m.Record, Fields: m.Fields,
			Basis: m.Basis, Version: m.Version, Publisher: m.Publisher, PublishedAt: m.PublishedAt, Hub: pr.PeerHub}
	}
	return out, nil
}

// WithUpstream is a catalog.Directory that also finds the upstream hub's
// entries shown here (read-only), for service items whose materials come
// from the upstream hub. This hub's own resources win.
type WithUpstream struct {
	catalog.Directory
	Service *Service
}

// Resource returns the local resource, else the upstream entry's.
func (d WithUpstream) Resource(ctx context.Context, id string) (catalog.Resource, error) {
	r, err := d.Directory.Resource(ctx, id)
	if err == nil || fault.KindOf(err) != fault.NotFound {
		return r, err
	}
	e, _, ok, uerr := d.Service.UpstreamEntry(ctx, id)
	if uerr != nil {
		return catalog.Resource{}, uerr
	}
	if !ok {
		return r, err
	}
	return e.Resource, nil
}
