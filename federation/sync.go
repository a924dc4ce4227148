package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
)

// Syncer is the downstream hub's worker for its upstream peering: each
// round it exchanges the two sides' peering states, then (while the
// peering is open) publishes the marked entries that changed, refreshes
// the upstream hub's entries shown here, delivers waiting share requests
// and fetches the decisions on delivered ones. What cannot be delivered
// while the peer is unreachable waits for a later round, in order.
type Syncer struct {
	Service  *Service
	Names    func(ctx context.Context, code string) (identity.Department, error)
	Interval time.Duration

	// keysSent is, per resource, how many data key versions the upstream
	// hub has taken since this instance started (it takes them again
	// idempotently after a restart).
	keysSent map[string]int
}

// Name names the worker.
func (s *Syncer) Name() string { return "federation-sync" }

// Run syncs every Interval until ctx ends.
func (s *Syncer) Run(ctx context.Context) error {
	t := time.NewTicker(s.Interval)
	defer t.Stop()
	failing := false
	for {
		if err := s.Round(ctx); err != nil && ctx.Err() == nil {
			if !failing || !Unreachable(err) {
				s.Service.Log.Warn("federation: sync with the upstream hub failed; retrying", "err", err)
			}
			failing = true
		} else if failing {
			s.Service.Log.Info("federation: the upstream hub answers again")
			failing = false
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Round runs one sync round.
func (s *Syncer) Round(ctx context.Context) error {
	svc := s.Service
	if svc.Link == nil {
		return nil
	}
	pr, ok, err := svc.Store.Current(ctx, Upstream)
	if err != nil || !ok {
		return err
	}
	st, err := svc.Link.Report(ctx, pr.Status)
	if err != nil {
		return err
	}
	if err := svc.Store.SetPeerStatus(ctx, pr.ID, st.Status); err != nil {
		return err
	}
	pr.PeerStatus = st.Status
	if pr.Status == StatusRequested && st.Status == StatusActive {
		// Approved there: this side opens and says so at once.
		if pr, err = svc.Store.SetStatus(ctx, pr.ID, []Status{StatusRequested}, StatusActive, "", "approved by the upstream hub"); err != nil {
			return err
		}
		if _, err := svc.Link.Report(ctx, pr.Status); err != nil {
			return err
		}
		pr.PeerStatus = st.Status
	}
	if !pr.Open() {
		return nil
	}
	return errors.Join(s.publish(ctx), s.sendKeys(ctx), s.pull(ctx, pr), s.deliver(ctx), s.decisions(ctx))
}

// publish sends the marked entries whose revision or status changed since
// they were last sent, and the retirement of unmarked ones.
func (s *Syncer) publish(ctx context.Context) error {
	svc := s.Service
	marks, err := svc.Store.Marks(ctx, "")
	if err != nil {
		return err
	}
	for _, m := range marks {
		res, err := svc.Directory.Resource(ctx, m.ResourceID)
		if err != nil && fault.KindOf(err) != fault.NotFound {
			return err
		}
		gone := err != nil
		if gone {
			res = catalog.Resource{ID: m.ResourceID, ProviderCode: m.Department, Revision: m.SentRevision + 1}
		}
		if !m.Marked || gone || res.ShareType == catalog.ShareNone {
			res.Status = catalog.StatusRetired
		}
		if res.Status == catalog.StatusDraft {
			continue // not offered before it is published
		}
		if res.Revision == m.SentRevision && res.Status == m.SentStatus {
			continue
		}
		name := ""
		if s.Names != nil {
			if d, err := s.Names(ctx, res.ProviderCode); err == nil {
				name = d.Name
			}
		}
		pub := Published{Resource: res, OriginDeptName: name}
		if res.Status.AcceptsRecords() {
			if svc.RecordsTopic != nil {
				pub.Topic = svc.RecordsTopic(res.ID)
			}
			if svc.Schema != nil && res.LatestVersion > 0 {
				if pub.Schema, err = svc.Schema(ctx, res.ID, res.LatestVersion); err != nil {
					return fmt.Errorf("schema of %s: %w", res.ID, err)
				}
			}
		}
		if err := svc.Link.Publish(ctx, pub); err != nil {
			return fmt.Errorf("publish %s: %w", res.ID, err)
		}
		if err := svc.Store.Sent(ctx, res.ID, res.Revision, res.Status, m.Marked && !gone); err != nil {
			return err
		}
	}
	return nil
}

// sendKeys hands the upstream hub the data keys of the marked resources
// that accept records, each new version once: MirrorMaker copies the
// records as they are, sealed under these keys (docs/federation.md,
// "Field encryption and the record flow").
func (s *Syncer) sendKeys(ctx context.Context) error {
	svc := s.Service
	if svc.Fields == nil {
		return nil
	}
	if s.keysSent == nil {
		s.keysSent = map[string]int{}
	}
	marks, err := svc.Store.Marks(ctx, "")
	if err != nil {
		return err
	}
	for _, m := range marks {
		if !m.Marked || !m.SentStatus.AcceptsRecords() {
			continue
		}
		keys, err := svc.Fields.ExportKeys(ctx, m.ResourceID)
		if err != nil {
			return err
		}
		if len(keys) == 0 || len(keys) <= s.keysSent[m.ResourceID] {
			continue // nothing sealed yet, or nothing new
		}
		if err := svc.Link.PutKeys(ctx, m.ResourceID, keys); err != nil {
			return fmt.Errorf("data keys of %s: %w", m.ResourceID, err)
		}
		s.keysSent[m.ResourceID] = len(keys)
	}
	return nil
}

// pull refreshes the upstream hub's shareable entries shown here; those
// it no longer offers are kept as retired.
func (s *Syncer) pull(ctx context.Context, pr Peering) error {
	svc := s.Service
	entries, err := svc.Link.Directory(ctx)
	if err != nil {
		return err
	}
	keep := make([]string, 0, len(entries))
	for _, p := range entries {
		r := p.Resource
		if r.ID == "" {
			continue
		}
		keep = append(keep, r.ID)
		if err := svc.Store.PutEntry(ctx, Entry{PeeringID: pr.ID, ResourceID: r.ID, OriginHub: pr.PeerHub, OriginLevel: pr.PeerLevel,
			OriginDept: r.ProviderCode, OriginDeptName: p.OriginDeptName, Revision: r.Revision, Status: r.Status, Resource: r}); err != nil {
			return err
		}
	}
	return svc.Store.RetireMissing(ctx, pr.ID, keep)
}

// deliver carries waiting share requests upstream, oldest first; a refusal
// there is kept with its reason, an unreachable peer stops the round.
func (s *Syncer) deliver(ctx context.Context) error {
	svc := s.Service
	waiting, err := svc.Store.Shares(ctx, "", ShareWaiting)
	if err != nil {
		return err
	}
	for _, sr := range waiting {
		name := ""
		if s.Names != nil {
			if d, err := s.Names(ctx, sr.RequesterCode); err == nil {
				name = d.Name
			}
		}
		st, err := svc.Link.FileShare(ctx, RemoteShare{ID: sr.ID, Department: sr.RequesterCode, DepartmentName: name, RequestedBy: sr.RequestedBy, Application: sr.Application})
		if err != nil {
			fe, ok := fault.As(err)
			if !ok || fe.Kind == fault.Unavailable || fe.Kind == fault.Internal {
				return err
			}
			st = RemoteShareState{Status: ShareRefused, Reason: fe.Code + ": " + fe.Message}
		}
		if err := svc.Store.UpdateShare(ctx, sr.ID, st); err != nil {
			return err
		}
	}
	return nil
}

// decisions fetches the upstream decision on delivered requests.
func (s *Syncer) decisions(ctx context.Context) error {
	svc := s.Service
	pending, err := svc.Store.Shares(ctx, "", SharePending)
	if err != nil {
		return err
	}
	for _, sr := range pending {
		st, err := svc.Link.ShareState(ctx, sr.RemoteID)
		if err != nil {
			return err
		}
		if st.Status != sr.Status {
			if err := svc.Store.UpdateShare(ctx, sr.ID, st); err != nil {
				return err
			}
		}
	}
	return nil
}
