package federation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"yiku/audit"
	"yiku/catalog"
	"yiku/fault"
	"yiku/federation/peer"
	"yiku/fieldcrypt"
	"yiku/identity"
	"yiku/inputtext"
	"yiku/lookup"
	"yiku/policies/sharing"
	"yiku/schemas"
)

// Departments is what the peer API needs of this hub's departments: the
// departments of a downstream hub are represented here by departments of
// their own (<hub>_<code>), so the sharing rules, grants and gate apply to
// them unchanged.
type Departments interface {
	Department(ctx context.Context, code string) (identity.Department, error)
	CreateDepartment(ctx context.Context, d identity.Department) (identity.Department, error)
}

// Server is the peer API of this hub, served to downstream hubs on the
// mutual-TLS listener under /federation/v1. A caller is the downstream
// peering whose pinned fingerprint its certificate has; only a peering
// request is taken from an unknown certificate, and data moves only while
// the peering is open on both sides. Everything it does for a peer is
// audited in this hub's trail, under the caller's trace id.
type Server struct {
	Store     *Store
	Self      Self
	Directory Directory
	// Registrar, when set, registers a downstream resource that accepts
	// records in this hub's catalog (MirrorResourceID, provided by its
	// stand-in department), so the records MirrorMaker copies can be
	// applied here (MirrorSink).
	Registrar   Registrar
	Departments Departments
	Sharing     *sharing.Service
	Gate        sharing.Gate
	Library     lookup.Library
	// Fields is this hub's field cipher (nil without a data key file): it
	// keeps the data keys downstream hubs hand over (PeerKeyPrefix).
	Fields *fieldcrypt.Cipher
	Audit  audit.BatchRecorder
	Log    *slog.Logger
}

// Handler returns the peer API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /federation/v1/peerings", s.join)
	mux.HandleFunc("POST /federation/v1/peering/status", s.with(false, s.status))
	mux.HandleFunc("PUT /federation/v1/directory/{resource}", s.with(true, s.publish))
	mux.HandleFunc("GET /federation/v1/directory", s.with(true, s.directory))
	mux.HandleFunc("PUT /federation/v1/keys/{resource}", s.with(true, s.putKeys))
	mux.HandleFunc("POST /federation/v1/share-requests", s.with(true, s.fileShare))
	mux.HandleFunc("GET /federation/v1/share-requests/{id}", s.with(true, s.shareState))
	mux.HandleFunc("POST /federation/v1/lookups", s.with(true, s.lookup))
	return http.MaxBytesHandler(mux, 4<<20)
}

type handler func(w http.ResponseWriter, r *http.Request, p Peering) error

// with resolves the calling peering from the presented certificate;
// needOpen requires the peering open on both sides.
func (s *Server) with(needOpen bool, h handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		fp := peer.Presented(r)
		p, ok, err := s.Store.ByFingerprint(r.Context(), fp)
		switch {
		case err != nil:
		case !ok:
			err = fault.Forbiddenf("unknown_peer", "no peering of this hub pins the certificate presented")
			s.Log.Warn("federation: a hub with an unknown certificate was refused", "fingerprint", fp, "client", r.RemoteAddr, "path", r.URL.Path)
		case needOpen && p.Status != StatusActive:
			err = fault.Forbiddenf("peering_not_active", "the peering of %s is %s at this hub", p.PeerHub, p.Status)
		case needOpen && p.PeerStatus != StatusActive:
			err = fault.Forbiddenf("peering_not_active", "the peering of %s is %s at its own hub", p.PeerHub, p.PeerStatus)
		default:
			err = h(w, r, p)
		}
		if err != nil {
			s.fail(w, r, err)
		}
	}
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	fe, ok := fault.As(err)
	if !ok {
		s.Log.Error("federation: peer API failed", "path", r.URL.Path, "err", err)
		fe = fault.New(fault.Internal, "internal", "internal error")
	}
	st := http.StatusInternalServerError
	switch fe.Kind {
	case fault.Invalid, fault.TooLarge:
		st = http.StatusBadRequest
	case fault.Forbidden:
		st = http.StatusForbidden
	case fault.NotFound:
		st = http.StatusNotFound
	case fault.Conflict:
		st = http.StatusConflict
	case fault.Unavailable:
		st = http.StatusServiceUnavailable
	}
	writeJSON(w, st, map[string]any{"error": map[string]string{"code": fe.Code, "message": fe.Message}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func readJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return fault.Invalidf("invalid_body", "the body could not be read")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fault.Invalidf("invalid_json", "the body is not the expected JSON: %s", strings.Join(strings.Fields(err.Error()), " "))
	}
	return nil
}

// join takes a peering request from a hub of a lower level: pending until
// this hub's office approves the certificate's fingerprint. Asking again
// with the same certificate answers the state of that request.
func (s *Server) join(w http.ResponseWriter, r *http.Request) {
	fp := peer.Presented(r)
	if fp == "" {
		s.fail(w, r, fault.Forbiddenf("no_certificate", "present the hub's certificate"))
		return
	}
	ctx := r.Context()
	if p, ok, err := s.Store.ByFingerprint(ctx, fp); err != nil {
		s.fail(w, r, err)
		return
	} else if ok {
		writeJSON(w, http.StatusOK, PeerState{Self: s.Self, Status: p.Status})
		return
	}
	var in Self
	if err := readJSON(r, &in); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := CheckHub(in.Hub); err != nil {
		s.fail(w, r, err)
		return
	}
	if in.Level.Rank() == 0 || in.Level.Rank() >= s.Self.Level.Rank() {
		s.fail(w, r, fault.Invalidf("peer_level", "a %s hub joins hubs of a higher level; this is a %s hub", in.Level, s.Self.Level))
		return
	}
	if why := inputtext.Problem(in.Name); why != "" || len([]rune(in.Name)) > 100 {
		s.fail(w, r, fault.Invalidf("invalid_name", "name: at most 100 characters of text"))
		return
	}
	p, err := s.Store.CreatePeering(ctx, Peering{Direction: Downstream, PeerHub: in.Hub, PeerName: in.Name, PeerLevel: in.Level,
		Fingerprint: fp, Status: StatusPending, PeerStatus: StatusRequested})
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.record(ctx, r, p, "", audit.Event{Action: "federation.peering.request", Outcome: audit.Allowed, Reason: "peering=" + p.ID + " fingerprint=" + fp})
	writeJSON(w, http.StatusCreated, PeerState{Self: s.Self, Status: p.Status})
}

func (s *Server) status(w http.ResponseWriter, r *http.Request, p Peering) error {
	var in struct {
		Status Status `json:"status"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	switch in.Status {
	case StatusRequested, StatusActive, StatusSuspended, StatusEnded:
	default:
		return fault.Invalidf("invalid_status", "status: requested, active, suspended or ended")
	}
	if in.Status != p.PeerStatus {
		if err := s.Store.SetPeerStatus(r.Context(), p.ID, in.Status); err != nil {
			return err
		}
		s.record(r.Context(), r, p, "", audit.Event{Action: "federation.peering.peer_status", Outcome: audit.Allowed,
			Reason: "peering=" + p.ID + " peer_status=" + string(in.Status)})
	}
	writeJSON(w, http.StatusOK, PeerState{Self: s.Self, Status: p.Status})
	return nil
}

// publish stores a downstream entry, tagged with its origin.
func (s *Server) publish(w http.ResponseWriter, r *http.Request, p Peering) error {
	var in Published
	if err := readJSON(r, &in); err != nil {
		return err
	}
	res := in.Resource
	if res.ID != r.PathValue("resource") || res.ID == "" {
		return fault.Invalidf("invalid_entry", "the entry's id must be the path's resource")
	}
	if res.ProviderCode == "" || res.Revision < 1 {
		return fault.Invalidf("invalid_entry", "an entry names its provider and revision")
	}
	e := Entry{PeeringID: p.ID, ResourceID: res.ID, OriginHub: p.PeerHub, OriginLevel: p.PeerLevel, OriginDept: res.ProviderCode,
		OriginDeptName: in.OriginDeptName, Revision: res.Revision, Status: res.Status, Resource: res}
	e.Topic = in.Topic
	if err := s.Store.PutEntry(r.Context(), e); err != nil {
		return err
	}
	if err := s.adopt(r.Context(), p, in); err != nil {
		return err
	}
	s.record(r.Context(), r, p, "", audit.Event{Action: "federation.directory.receive", Resource: res.ID, Outcome: audit.Allowed,
		Reason: "origin=" + p.PeerHub + "/" + res.ProviderCode + " status=" + string(res.Status)})
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// PeerKeyPrefix is the prefix under which this hub keeps the data keys
// downstream hub hub handed over, apart from its own (fieldcrypt.Under).
func PeerKeyPrefix(hub string) string { return "peer:" + hub + ":" }

// putKeys keeps the data keys of a downstream resource whose records this
// hub applies, wrapped under its own key-encryption keys.
func (s *Server) putKeys(w http.ResponseWriter, r *http.Request, p Peering) error {
	var in struct {
		Keys []fieldcrypt.ExportedKey `json:"keys"`
	}
	if err := readJSON(r, &in); err != nil {
		return err
	}
	id := r.PathValue("resource")
	if len(in.Keys) == 0 || len(in.Keys) > 100 {
		return fault.Invalidf("invalid_keys", "1 to 100 data keys")
	}
	e, ok, err := s.Store.Entry(r.Context(), p.ID, id)
	if err != nil {
		return err
	}
	if !ok || e.Topic == "" || !e.Status.AcceptsRecords() {
		return fault.NotFoundf("entry_not_found", "%s has shared no resource %s whose records this hub applies", p.PeerHub, id)
	}
	if s.Fields == nil {
		return fault.Conflictf("record_keys_missing", "this hub has no data key file: it cannot keep the data keys of %s, and cannot open its sealed records; its operator starts it with --data-key-file", id)
	}
	n, err := s.Fields.ImportKeys(r.Context(), PeerKeyPrefix(p.PeerHub)+id, in.Keys)
	if err != nil {
		return fault.Wrap(err, fault.Conflict, "keys_refused", "the data keys of %s could not be kept here", id)
	}
	if n > 0 {
		s.record(r.Context(), r, p, "", audit.Event{Action: "federation.keys.receive", Resource: id, Outcome: audit.Allowed, Count: n,
			Reason: fmt.Sprintf("origin=%s versions=%d", p.PeerHub, len(in.Keys))})
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// Registrar registers resources in this hub's catalog and keeps them.
type Registrar interface {
	Register(ctx context.Context, p identity.Principal, r catalog.Resource, schema []byte) (catalog.Resource, error)
	Transition(ctx context.Context, p identity.Principal, id string, to catalog.Status, reason string) (catalog.Resource, error)
	RegisterSchema(ctx context.Context, p identity.Principal, id string, schema []byte, fields []catalog.Field) (catalog.SchemaVersion, bool, error)
}

// MirrorResourceID is the id under which this hub keeps resource id of
// downstream hub: its records, copied by MirrorMaker, are applied to it.
func MirrorResourceID(hub, id string) string { return "fed-" + hub + "-" + id }

// adopt registers a downstream resource that accepts records in this
// hub's catalog, once, with its origin's schema and fields; its provider is
// the origin department's stand-in. Later entries of it are followed
// (follow).
func (s *Server) adopt(ctx context.Context, p Peering, in Published) error {
	res := in.Resource
	if s.Registrar == nil {
		return nil
	}
	id := MirrorResourceID(p.PeerHub, res.ID)
	if len(id) > 63 {
		s.Log.Warn("federation: a downstream resource id is too long to keep here; its records are not applied", "peer", p.PeerHub, "resource", res.ID)
		return nil
	}
	cur, err := s.Directory.Resource(ctx, id)
	if err == nil {
		who := identity.Principal{ID: "peer:" + p.PeerHub, Name: "peer-" + p.PeerHub, Kind: identity.KindSystem, Role: identity.RoleCatalogAdmin, DepartmentCode: cur.ProviderCode}
		return s.follow(ctx, who, p, cur, in)
	}
	if fault.KindOf(err) != fault.NotFound {
		return err
	}
	if len(in.Schema) == 0 || in.Topic == "" || !res.Status.AcceptsRecords() {
		return nil
	}
	dept, err := s.proxy(ctx, p, res.ProviderCode, in.OriginDeptName)
	if err != nil {
		return err
	}
	who := identity.Principal{ID: "peer:" + p.PeerHub, Name: "peer-" + p.PeerHub, Kind: identity.KindSystem, Role: identity.RoleCatalogAdmin, DepartmentCode: dept}
	r := catalog.Resource{ID: id, Name: res.Name + "（" + p.PeerName + "）", ClassCode: res.ClassCode, Summary: res.Summary, ProviderCode: dept,
		Format: res.Format, Fields: res.Fields, ShareType: res.ShareType, ShareConditions: res.ShareConditions, ShareMode: res.ShareMode,
		LegalBasis: res.LegalBasis, UpdateCycle: res.UpdateCycle, BaseLibrary: res.BaseLibrary, SubjectType: res.SubjectType, SubjectKey: res.SubjectKey}
	if _, err := s.Registrar.Register(ctx, who, r, in.Schema); err != nil {
		if fe, ok := fault.As(err); ok && fe.Code == "resource_exists" {
			return nil
		}
		return fmt.Errorf("federation: register %s: %w", id, err)
	}
	if _, err := s.Registrar.Transition(ctx, who, id, catalog.StatusPublished, "records copied from "+p.PeerHub); err != nil {
		return fmt.Errorf("federation: publish %s: %w", id, err)
	}
	return nil
}

// follow keeps this hub's copy cur of a downstream resource in step with
// its origin's entry: a new schema version is registered with its fields
// (so the records of that version are read with them), and the origin's
// deprecation, retirement (the district stopped sharing it upward, retired
// it, or made it not shared) and republication are the copy's. A schema
// the copy's compatibility mode refuses is logged and left; the entry
// itself is stored either way.
func (s *Server) follow(ctx context.Context, who identity.Principal, p Peering, cur catalog.Resource, in Published) error {
	want := in.Resource.Status
	if cur.Status != catalog.StatusRetired && len(in.Schema) > 0 && want.AcceptsRecords() {
		if v, created, err := s.Registrar.RegisterSchema(ctx, who, cur.ID, in.Schema, in.Resource.Fields); err != nil {
			s.Log.Warn("federation: a downstream resource's new schema is not taken here", "peer", p.PeerHub, "resource", cur.ID, "err", err)
		} else if created {
			s.Log.Info("federation: a downstream resource's schema follows its origin", "peer", p.PeerHub, "resource", cur.ID, "version", v.Version)
		}
	}
	if want == cur.Status || cur.Status == catalog.StatusRetired || want == catalog.StatusDraft {
		return nil
	}
	// The lifecycle goes published → deprecated → retired, and back from
	// deprecated to published.
	steps := []catalog.Status{want}
	if want == catalog.StatusRetired && cur.Status == catalog.StatusPublished {
		steps = []catalog.Status{catalog.StatusDeprecated, catalog.StatusRetired}
	}
	for _, to := range steps {
		if _, err := s.Registrar.Transition(ctx, who, cur.ID, to, string(want)+" at "+p.PeerHub); err != nil {
			return fmt.Errorf("federation: %s %s: %w", to, cur.ID, err)
		}
	}
	return nil
}

// Shareable is this hub's own resources offered to downstream hubs:
// shared (unconditionally or on conditions), published or deprecated.
func Shareable(rs []catalog.Resource) []catalog.Resource {
	var out []catalog.Resource
	for _, r := range rs {
		if r.ShareType != catalog.ShareNone && r.Status.AcceptsRecords() {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) directory(w http.ResponseWriter, r *http.Request, p Peering) error {
	all, err := s.Directory.All(r.Context())
	if err != nil {
		return err
	}
	out := []Published{}
	for _, res := range Shareable(all) {
		if strings.HasPrefix(res.ID, "fed-") {
			continue // a downstream hub's resource kept here: not offered back down
		}
		out = append(out, Published{Resource: res, OriginDeptName: res.ProviderName})
	}
	writeJSON(w, http.StatusOK, map[string]any{"hub": s.Self, "entries": out})
	return nil
}

// ProxyDepartment is the code of this hub's department that stands for
// department dept of downstream hub.
func ProxyDepartment(hub, dept string) string { return hub + "_" + dept }

func (s *Server) proxy(ctx context.Context, p Peering, dept, name string) (string, error) {
	code := ProxyDepartment(p.PeerHub, dept)
	if _, err := s.Departments.Department(ctx, code); err == nil {
		return code, nil
	} else if fault.KindOf(err) != fault.NotFound {
		return "", err
	}
	if name == "" {
		name = dept
	}
	_, err := s.Departments.CreateDepartment(ctx, identity.Department{Code: code, Name: strings.TrimSpace(name + " (" + p.PeerName + ")"),
		Level: identity.LevelDistrict, DivisionCode: p.PeerHub})
	if err != nil && fault.KindOf(err) != fault.Conflict {
		return "", err
	}
	return code, nil
}

func peerPrincipal(p Peering, id, name, dept string, role identity.Role) identity.Principal {
	return identity.Principal{ID: "peer:" + p.PeerHub + ":" + id, Name: name, DisplayName: name, Kind: identity.KindPerson, Role: role, DepartmentCode: dept}
}

func (s *Server) fileShare(w http.ResponseWriter, r *http.Request, p Peering) error {
	ctx := r.Context()
	var in RemoteShare
	if err := readJSON(r, &in); err != nil {
		return err
	}
	if in.Department == "" || in.RequestedBy == "" {
		return fault.Invalidf("invalid_request", "a carried share request names its department and requester")
	}
	dept, err := s.proxy(ctx, p, in.Department, in.DepartmentName)
	if err != nil {
		return err
	}
	who := peerPrincipal(p, in.RequestedBy, in.RequestedBy, dept, identity.RoleDeptAdmin)
	a := in.Application
	req, err := s.Sharing.Apply(ctx, who, sharing.Application{ResourceID: a.ResourceID, Fields: a.Fields, PlainFields: a.PlainFields,
		Purposes: a.Purposes, LegalBasis: a.LegalBasis, ServiceItems: a.ServiceItems, ValidUntil: a.ValidUntil})
	ev := audit.Event{Action: "share.request", Resource: a.ResourceID, Fields: a.Fields, Outcome: audit.Allowed,
		Reason: "peer=" + p.PeerHub + " local_id=" + in.ID}
	if err != nil {
		code := "error"
		if fe, ok := fault.As(err); ok {
			code = fe.Code
		}
		ev.Outcome, ev.Reason = audit.Denied, ev.Reason+" refused="+code
		s.recordAs(ctx, r, who, ev)
		return err
	}
	ev.Reason += " request=" + req.ID
	s.recordAs(ctx, r, who, ev)
	writeJSON(w, http.StatusCreated, RemoteShareState{RemoteID: req.ID, Status: string(req.Status)})
	return nil
}

func (s *Server) shareState(w http.ResponseWriter, r *http.Request, p Peering) error {
	req, err := s.Sharing.Store.Request(r.Context(), r.PathValue("id"), time.Now())
	if err != nil {
		return err
	}
	if !strings.HasPrefix(req.RequesterCode, p.PeerHub+"_") {
		return fault.NotFoundf("not_found", "no share request %s of this peer", r.PathValue("id"))
	}
	writeJSON(w, http.StatusOK, RemoteShareState{RemoteID: req.ID, Status: string(req.Status), GrantID: req.GrantID, Reason: req.DecisionReason})
	return nil
}

// lookup answers a downstream officer's lookup for resources of this hub:
// each through this hub's gate as the officer's department here, masked
// and projected by the plan of its grant; one event per resource.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request, p Peering) error {
	ctx := r.Context()
	var in RemoteLookup
	if err := readJSON(r, &in); err != nil {
		return err
	}
	subject, _, ok := schemas.ParseSubject(in.Subject)
	if !ok {
		return fault.Invalidf("invalid_applicant", "subject must be an ID number or credit code")
	}
	if in.Officer == "" || in.Department == "" || strings.TrimSpace(in.Purpose) == "" || strings.TrimSpace(in.CaseNumber) == "" {
		return fault.Invalidf("invalid_lookup", "a peer lookup names its officer, department, purpose and case number")
	}
	if len(in.Resources) == 0 || len(in.Resources) > 50 {
		return fault.Invalidf("invalid_lookup", "from 1 to 50 resources")
	}
	dept, err := s.proxy(ctx, p, in.Department, in.DepartmentName)
	if err != nil {
		return err
	}
	who := peerPrincipal(p, in.Officer, in.OfficerName, dept, identity.RoleOfficer)
	trace := r.Header.Get(TraceHeader)
	out := make([]RemoteMaterial, len(in.Resources))
	decisions := make([]sharing.Decision, len(in.Resources))
	events := make([]audit.Event, len(in.Resources))
	var allowed []string
	for i, id := range in.Resources {
		out[i] = RemoteMaterial{Resource: id}
		events[i] = audit.Event{Action: audit.ActionReuse, Resource: id, Subjects: []string{subject}, Purpose: in.Purpose, CaseNumber: in.CaseNumber,
			Reason: "peer=" + p.PeerHub + " item=" + in.ServiceItem}
		res, err := s.Directory.Resource(ctx, id)
		if err != nil {
			if fault.KindOf(err) != fault.NotFound {
				return err
			}
			out[i].Status, out[i].Reason = string(lookup.NotAvailable), "resource_gone: no resource "+id+" here"
			events[i].Outcome, events[i].Reason = audit.Denied, events[i].Reason+" denied=resource_gone"
			continue
		}
		dec, err := s.Gate.Decide(ctx, sharing.ReadRequest{Principal: who, Resource: res, Action: sharing.ActionLookup, Purpose: in.Purpose, CaseNumber: in.CaseNumber})
		if err != nil || !dec.Allowed || dec.Plan == nil {
			fe, ok := fault.As(err)
			if err != nil && (!ok || (fe.Kind != fault.Forbidden && fe.Kind != fault.Invalid)) {
				return err
			}
			code, msg := dec.Basis, "the sharing gate refused"
			if ok {
				code, msg = fe.Code, fe.Message
			}
			out[i].Status, out[i].Reason = string(lookup.NotPermitted), code+": "+msg
			events[i].Outcome, events[i].Reason = audit.Denied, events[i].Reason+" denied="+code
			continue
		}
		decisions[i] = dec
		allowed = append(allowed, res.ID)
	}
	var records map[string]lookup.Record
	if len(allowed) > 0 {
		if records, err = s.Library.Current(ctx, subject, allowed); err != nil {
			return err
		}
	}
	for i := range out {
		if decisions[i].Plan == nil {
			continue
		}
		rec, ok := records[out[i].Resource]
		if !ok || rec.Deleted || rec.Data == nil {
			out[i].Status, out[i].Reason = string(lookup.NotAvailable), "no_record: no current record of the applicant in "+out[i].Resource
			events[i].Outcome, events[i].Reason = audit.Allowed, events[i].Reason+" no_record"
			continue
		}
		masked, err := decisions[i].Plan.ApplyJSON(rec.Data)
		if err != nil {
			return err
		}
		m := &out[i]
		m.Status, m.Record, m.Basis, m.Version, m.Publisher = string(lookup.Supplied), masked, decisions[i].Basis, rec.Version, rec.Publisher
		if !rec.PublishedAt.IsZero() {
			at := rec.PublishedAt.UTC()
			m.PublishedAt = &at
		}
		for _, f := range decisions[i].Plan.Fields() {
			m.Fields = append(m.Fields, f.Name)
		}
		events[i].Fields, events[i].Outcome, events[i].Count = m.Fields, audit.Allowed, 1
	}
	for i := range events {
		s.fill(r, who, trace, &events[i])
	}
	if err := s.Audit.RecordAll(ctx, events); err != nil {
		// Nothing leaves without its trail.
		return fault.Wrap(err, fault.Unavailable, "audit_unavailable", "the audit trail cannot be written; nothing is returned")
	}
	writeJSON(w, http.StatusOK, map[string]any{"materials": out})
	return nil
}

func (s *Server) fill(r *http.Request, who identity.Principal, trace string, e *audit.Event) {
	e.Time = time.Now().UTC()
	e.RequestID = trace
	e.PrincipalID, e.PrincipalName, e.Department, e.Role = who.ID, who.Name, who.DepartmentCode, string(who.Role)
	if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		e.ClientAddr = host
	}
}

func (s *Server) recordAs(ctx context.Context, r *http.Request, who identity.Principal, e audit.Event) {
	s.fill(r, who, r.Header.Get(TraceHeader), &e)
	if err := s.Audit.Record(ctx, e); err != nil {
		s.Log.Error("federation: audit of a peer call failed", "action", e.Action, "err", err)
	}
}

func (s *Server) record(ctx context.Context, r *http.Request, p Peering, dept string, e audit.Event) {
	s.recordAs(ctx, r, identity.Principal{ID: "peer:" + p.PeerHub, Name: p.PeerName, Role: "peer_hub", DepartmentCode: dept}, e)
}

// Serve serves h on ln with the peer TLS configuration until ctx ends.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, own peer.Identity, log *slog.Logger) error {
	srv := &http.Server{Handler: h, TLSConfig: peer.ServerTLS(own), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	done := make(chan error, 1)
	go func() { done <- srv.ServeTLS(ln, "", "") }()
	select {
	case err := <-done:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
		return nil
	}
}
