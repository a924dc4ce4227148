// Package lookup is the one-library reuse lookup (一证通办): for an
// applicant (ID number or credit code), a service item, a case number and a
// purpose it answers, material by material, whether the library supplies it
// (with the projected, masked record and, for e-licences, the certificate's
// validity), whether the applicant must bring it, or whether the calling
// department has no right to it. Every library read goes through the sharing
// Gate with action lookup; the audit events the lookup produces (one reuse
// event per supplied material, one denial per refused material) are returned
// for the caller to record with its own event. It holds no storage and no
// HTTP (lookup/lookupapi).
package lookup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"yiku/audit"
	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
	"yiku/inputtext"
	"yiku/objection"
	"yiku/policies/sharing"
	"yiku/schemas"
	"yiku/serviceitem"
)

// Status is what a lookup says about one material.
type Status string

const (
	// Supplied: the library holds the material and the caller may read it;
	// the applicant need not bring it.
	Supplied Status = "supplied"
	// NotAvailable: the library cannot supply it (the item maps it to no
	// resource, or the library holds no current record of the applicant);
	// the applicant must bring it.
	NotAvailable Status = "not_available"
	// NotPermitted: the sharing gate refused the caller's department.
	NotPermitted Status = "not_permitted"
	// TemporarilyUnavailable: the material is held by another hub
	// (federation) that cannot be asked now; the applicant need not bring
	// it, the lookup may be repeated.
	TemporarilyUnavailable Status = "temporarily_unavailable"
)

// Validity of a certificate (e-licence).
const (
	CertValid   = "valid"
	CertRevoked = "revoked"
	CertExpired = "expired"
)

// Request is one lookup.
type Request struct {
	// Applicant is the applicant's resident ID number (natural persons) or
	// unified social credit code (organisations).
	Applicant   string `json:"applicant"`
	ServiceItem string `json:"service_item"`
	CaseNumber  string `json:"case_number"`
	Purpose     string `json:"purpose"`
}

// Result answers a lookup.
type Result struct {
	Applicant     string                    `json:"applicant"`
	ApplicantType serviceitem.ApplicantType `json:"applicant_type"`
	ServiceItem   string                    `json:"service_item"`
	ItemName      string                    `json:"service_item_name"`
	CaseNumber    string                    `json:"case_number"`
	Purpose       string                    `json:"purpose"`
	Materials     []MaterialResult          `json:"materials"`
	// Summary counts the materials by status; ToBring lists the names of
	// those the applicant must still bring (not available, not permitted, or
	// certificates that are not valid).
	Summary map[Status]int `json:"summary"`
	ToBring []string       `json:"to_bring"`
	At      time.Time      `json:"at"`
}

// MaterialResult is one material's answer.
type MaterialResult struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Status   Status `json:"status"`
	Resource string `json:"resource,omitempty"`
	// Reason explains not_available and not_permitted (a stable code, then
	// a sentence).
	Reason string `json:"reason,omitempty"`
	// Record is the projected and masked record, for supplied materials.
	Record json.RawMessage `json:"record,omitempty"`
	Fields []string        `json:"fields,omitempty"`
	Basis  string          `json:"basis,omitempty"`
	// Version and PublishedAt say which version of the record was read.
	Version     int          `json:"version,omitempty"`
	Publisher   string       `json:"publisher,omitempty"`
	PublishedAt *time.Time   `json:"published_at,omitempty"`
	Certificate *Certificate `json:"certificate,omitempty"`
	// UnderObjection names the open objections disputing the version read.
	UnderObjection *objection.Flag `json:"under_objection,omitempty"`
	// Source is material_library when the answer comes from an upload in
	// the material library (材料库) rather than from a library record.
	Source string `json:"source,omitempty"`
	// Upload is the material library's upload the answer is about (with
	// its validity): supplied, or expired and to be brought again.
	Upload *Upload `json:"upload,omitempty"`
}

// SourceMaterialLibrary marks answers from the material library.
const SourceMaterialLibrary = "material_library"

// Upload is a material the applicant handed in before, as the material
// library holds it.
type Upload struct {
	ID               string    `json:"id"`
	MaterialType     string    `json:"material_type"`
	IssuingAuthority string    `json:"issuing_authority,omitempty"`
	IssueDate        string    `json:"issue_date,omitempty"`
	ValidUntil       string    `json:"valid_until,omitempty"`
	ContentType      string    `json:"content_type"`
	Size             int64     `json:"size"`
	Department       string    `json:"department_code"`
	UploadedAt       time.Time `json:"uploaded_at"`
	// Validity is valid or expired (valid_until before today).
	Validity string `json:"validity"`
}

// MaterialLibrary answers, per material type, the newest current (not
// superseded, not removed) upload of an applicant; types without one are
// absent.
type MaterialLibrary interface {
	Current(ctx context.Context, applicant string, types []string) (map[string]Upload, error)
}

// MaterialKey is the key a material is reused by across service items:
// its material type, or its code for items that name no type yet.
func MaterialKey(m serviceitem.Material) string {
	if m.Type != "" {
		return m.Type
	}
	return m.Code
}

// TakesUpload reports whether what the applicant brings for material m,
// answered as mr, belongs in the material library: a material the one
// library cannot supply (no catalog resource) that the lookup did not
// supply — nobody uploaded it yet, the upload expired, or the gate refused
// the material library. A later lookup reuses such an upload by the
// material's key (MaterialKey); for a material with a catalog resource it
// would not, so none is taken.
func TakesUpload(m serviceitem.Material, mr MaterialResult) bool {
	return !m.FromLibrary() && mr.Code == m.Code && mr.Status != Supplied
}

// Certificate is the validity of a supplied e-licence. Validity and Reason
// are judged on the unmasked record and say nothing of its field values;
// LicenceID, Status and ValidUntil are copied from the projected and masked
// record, and so are present only when the reader's plan returns them.
type Certificate struct {
	LicenceID  string `json:"licence_id,omitempty"`
	Validity   string `json:"validity"`         // valid, revoked or expired
	Status     string `json:"status,omitempty"` // as the issuer recorded it
	ValidUntil string `json:"valid_until,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Record is a library record as the lookup reads it.
type Record struct {
	Data        []byte
	Deleted     bool
	Version     int
	Publisher   string
	PublishedAt time.Time
}

// Library reads the current records of one subject: for each of resources
// that holds one, its current version (deleted subjects included, with
// Deleted set), by resource id; resources without a record of the subject
// are absent. A lookup reads all its materials' records with one call.
type Library interface {
	Current(ctx context.Context, subject string, resources []string) (map[string]Record, error)
}

// Remote answers materials held by another hub: the upstream hub of a
// federation, asked on the officer's behalf and deciding with its own gate.
type Remote interface {
	// Holds reports whether resource, which this hub's catalog does not
	// hold, is held by the other hub.
	Holds(ctx context.Context, resource string) (bool, error)
	// Lookup asks for the records of req.Applicant in resources; the
	// answers are by resource. An error of fault kind Unavailable means
	// the other hub cannot be asked now.
	Lookup(ctx context.Context, p identity.Principal, req Request, resources []string) (map[string]RemoteAnswer, error)
}

// RemoteAnswer is another hub's answer for one resource: Status supplied
// (with the record as that hub's gate projected and masked it),
// not_available or not_permitted (with Reason).
type RemoteAnswer struct {
	Status      Status
	Reason      string
	Record      json.RawMessage
	Fields      []string
	Basis       string
	Version     int
	Publisher   string
	PublishedAt *time.Time
	// Hub names the hub that answered.
	Hub string
}

// Items returns service items (fault NotFound if unknown).
type Items interface {
	Get(ctx context.Context, code string) (serviceitem.Item, error)
}

// Service answers lookups.
type Service struct {
	Items     Items
	Directory catalog.Directory
	Gate      sharing.Gate
	Library   Library
	// Objections flags supplied materials whose record is under open
	// objection (nil: no flags).
	Objections objection.Flags
	// Remote answers materials of resources another hub holds (package
	// federation); nil: only this hub's library.
	Remote Remote
	// Materials, when set, answers materials the library cannot supply
	// from uploads in the material library, which is shared as the catalog
	// resource MaterialResource through the same gate.
	Materials        MaterialLibrary
	MaterialResource string
	// Now is the clock (time.Now when nil); certificate expiry is judged by
	// the calendar date in Asia/Shanghai.
	Now func() time.Time
}

const (
	maxPurposeRunes = 100
	maxCaseNumber   = 64
)

var cst = time.FixedZone("CST", 8*3600)

// Applicant validates an ID number or credit code and returns its normal
// form and type.
func Applicant(s string) (string, serviceitem.ApplicantType, error) {
	switch key, kind, ok := schemas.ParseSubject(s); {
	case ok && kind == schemas.SubjectPerson:
		return key, serviceitem.ApplicantPerson, nil
	case ok && kind == schemas.SubjectEntity:
		return key, serviceitem.ApplicantEntity, nil
	}
	return "", "", fault.Invalidf("invalid_applicant", "applicant must be an 18-digit resident ID number or an 18-character unified social credit code").
		WithDetails(fault.Detail{Field: "applicant", Pointer: "/applicant", Reason: "not a valid ID number or credit code"})
}

// Check validates and normalises a request, returning the applicant type.
func Check(req Request) (Request, serviceitem.ApplicantType, error) {
	var t serviceitem.ApplicantType
	var err error
	if req.Applicant, t, err = Applicant(req.Applicant); err != nil {
		return req, "", err
	}
	req.ServiceItem = strings.TrimSpace(req.ServiceItem)
	req.CaseNumber = strings.TrimSpace(req.CaseNumber)
	req.Purpose = strings.TrimSpace(req.Purpose)
	if req.ServiceItem == "" {
		return req, "", missing("service_item")
	}
	if req.CaseNumber == "" {
		return req, "", missing("case_number")
	}
	if len(req.CaseNumber) > maxCaseNumber {
		return req, "", fault.Invalidf("invalid_case_number", "case_number is at most %d bytes of text", maxCaseNumber).
			WithDetails(fault.Detail{Field: "case_number", Pointer: "/case_number", Reason: "too long"})
	}
	if why := inputtext.Problem(req.CaseNumber); why != "" {
		return req, "", fault.Invalidf("invalid_case_number", "case_number is %s", why).
			WithDetails(fault.Detail{Field: "case_number", Pointer: "/case_number", Reason: why})
	}
	if req.Purpose == "" {
		return req, "", missing("purpose")
	}
	if utf8.RuneCountInString(req.Purpose) > maxPurposeRunes {
		return req, "", fault.Invalidf("invalid_purpose", "purpose is at most %d characters", maxPurposeRunes).
			WithDetails(fault.Detail{Field: "purpose", Pointer: "/purpose", Reason: "too long"})
	}
	if why := inputtext.Problem(req.Purpose); why != "" {
		return req, "", fault.Invalidf("invalid_purpose", "purpose is %s", why).
			WithDetails(fault.Detail{Field: "purpose", Pointer: "/purpose", Reason: why})
	}
	return req, t, nil
}

func missing(field string) error {
	return fault.Invalidf(field+"_required", "every lookup names its %s", field).
		WithDetails(fault.Detail{Field: field, Pointer: "/" + field, Reason: "required"})
}

// Lookup answers req for principal p. It returns the result and the audit
// events it produced: one reuse event (audit.ActionReuse, allowed) per
// supplied material and one denied reuse event per refused material; the
// caller records them with the call's own event before releasing the
// result. An error means nothing was read (invalid request, unknown item,
// wrong applicant type) or the library or gate failed.
func (s *Service) Lookup(ctx context.Context, p identity.Principal, req Request) (Result, []audit.Event, error) {
	req, t, err := Check(req)
	if err != nil {
		return Result{}, nil, err
	}
	item, err := s.Items.Get(ctx, req.ServiceItem)
	if err != nil {
		return Result{}, nil, err
	}
	if item.ApplicantType != t {
		return Result{}, nil, fault.Invalidf("applicant_type_mismatch", "service item %s is applied for by a %s, but the applicant is a %s", item.Code, item.ApplicantType, t).
			WithDetails(fault.Detail{Field: "applicant", Pointer: "/applicant", Reason: "wrong kind of identifier for this service item"})
	}
	now := time.Now()
	if s.Now != nil {
		now = s.Now()
	}
	out := Result{Applicant: req.Applicant, ApplicantType: t, ServiceItem: item.Code, ItemName: item.Name, CaseNumber: req.CaseNumber,
		Purpose: req.Purpose, Materials: make([]MaterialResult, 0, len(item.Materials)), Summary: map[Status]int{}, ToBring: []string{}, At: now.UTC()}
	// First the catalog and the gate for every material, then one library
	// read for all the materials the gate allowed, then the answers in the
	// item's order.
	steps := make([]step, len(item.Materials))
	var allowed []string
	for i, m := range item.Materials {
		st, err := s.decide(ctx, p, req, item, m)
		if err != nil {
			return Result{}, nil, fmt.Errorf("lookup: %s material %s: %w", item.Code, m.Code, err)
		}
		steps[i] = st
		if st.dec.Allowed && !slices.Contains(allowed, st.res.ID) {
			allowed = append(allowed, st.res.ID)
		}
	}
	var remote []string
	for _, st := range steps {
		if st.remote && !slices.Contains(remote, st.mr.Resource) {
			remote = append(remote, st.mr.Resource)
		}
	}
	var answers map[string]RemoteAnswer
	var remoteErr error
	if len(remote) > 0 {
		// Whatever keeps the other hub from answering (down, link cut,
		// peering suspended) leaves this hub's own materials answered and
		// the other hub's temporarily unavailable.
		answers, remoteErr = s.Remote.Lookup(ctx, p, req, remote)
	}
	for i := range steps {
		if steps[i].remote {
			steps[i].fromRemote(answers, remoteErr)
		}
	}
	var records map[string]Record
	if len(allowed) > 0 {
		if records, err = s.Library.Current(ctx, req.Applicant, allowed); err != nil {
			return Result{}, nil, fmt.Errorf("lookup: %s: read the library: %w", item.Code, err)
		}
	}
	var open map[objection.Key][]objection.Open
	if s.Objections != nil && len(records) > 0 {
		keys := make([]objection.Key, 0, len(records))
		for id := range records {
			keys = append(keys, objection.Key{Resource: id, Subject: req.Applicant})
		}
		if open, err = s.Objections.OpenFor(ctx, keys); err != nil {
			return Result{}, nil, fmt.Errorf("lookup: %s: objections: %w", item.Code, err)
		}
	}
	if err := s.fromMaterialLibrary(ctx, p, req, item, steps); err != nil {
		return Result{}, nil, fmt.Errorf("lookup: %s: material library: %w", item.Code, err)
	}
	var events []audit.Event
	for i, m := range item.Materials {
		mr, ev, err := s.answer(steps[i], records, now)
		if err != nil {
			return Result{}, nil, fmt.Errorf("lookup: %s material %s: %w", item.Code, m.Code, err)
		}
		if mr.Status == Supplied {
			mr.UnderObjection = objection.FlagOf(open[objection.Key{Resource: mr.Resource, Subject: req.Applicant}], mr.Version)
		}
		out.Materials = append(out.Materials, mr)
		out.Summary[mr.Status]++
		if (mr.Status != Supplied && mr.Status != TemporarilyUnavailable) || (mr.Certificate != nil && mr.Certificate.Validity != CertValid) {
			out.ToBring = append(out.ToBring, mr.Name)
		}
		if ev != nil {
			events = append(events, *ev)
		}
	}
	return out, events, nil
}

// fromMaterialLibrary settles the materials the library cannot supply for
// which the material library holds a current upload of the applicant:
// supplied when the gate allows the material library and the upload is
// valid, reported as expired (to bring again) when its validity has
// passed, not permitted when the gate refuses. The gate is asked only when
// there is an upload to read; a material without one stays not available,
// as before the material library.
func (s *Service) fromMaterialLibrary(ctx context.Context, p identity.Principal, req Request, item serviceitem.Item, steps []step) error {
	if s.Materials == nil || s.MaterialResource == "" {
		return nil
	}
	var keys []string
	for i, m := range item.Materials {
		if !m.FromLibrary() && steps[i].settled && !slices.Contains(keys, MaterialKey(m)) {
			keys = append(keys, MaterialKey(m))
		}
	}
	if len(keys) == 0 {
		return nil
	}
	uploads, err := s.Materials.Current(ctx, req.Applicant, keys)
	if err != nil || len(uploads) == 0 {
		return err
	}
	res, err := s.Directory.Resource(ctx, s.MaterialResource)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return nil // not in the directory: not shared, nothing to supply
		}
		return err
	}
	var (
		dec    sharing.Decision
		denial string
		asked  bool
	)
	for i, m := range item.Materials {
		u, ok := uploads[MaterialKey(m)]
		if m.FromLibrary() || !ok {
			continue
		}
		if !asked {
			asked = true
			dec, err = s.Gate.Decide(ctx, sharing.ReadRequest{Principal: p, Resource: res, Action: sharing.ActionLookup, Purpose: req.Purpose, CaseNumber: req.CaseNumber})
			if err != nil || !dec.Allowed || dec.Plan == nil {
				fe, ok := fault.As(err)
				if err != nil && (!ok || fe.Kind != fault.Forbidden) {
					return err
				}
				code, msg := dec.Basis, "the sharing gate refused"
				if ok {
					code, msg = fe.Code, fe.Message
				}
				denial = code + ": " + msg
			}
		}
		st := &steps[i]
		st.mr.Source, st.mr.Resource = SourceMaterialLibrary, res.ID
		st.event = &audit.Event{Action: audit.ActionReuse, Resource: res.ID, Subjects: []string{req.Applicant}, Purpose: req.Purpose, CaseNumber: req.CaseNumber,
			Reason: audit.ReuseReason(item.Code, m.Code) + " source=" + SourceMaterialLibrary}
		if denial != "" {
			st.mr.Status, st.mr.Reason = NotPermitted, denial
			st.event.Outcome, st.event.Reason = audit.Denied, st.event.Reason+" denied="+strings.SplitN(denial, ":", 2)[0]
			continue
		}
		uc := u
		st.mr.Upload = &uc
		st.event.Reason += " upload=" + u.ID + " validity=" + u.Validity
		if u.Validity != CertValid {
			st.mr.Status, st.mr.Reason = NotAvailable, "material_expired: the applicant's "+m.Name+" in the material library was valid until "+u.ValidUntil+"; the applicant brings a current one"
			st.event = nil
			continue
		}
		rec, err := json.Marshal(map[string]any{"upload_id": u.ID, "applicant": req.Applicant, "material_type": u.MaterialType, "issuing_authority": u.IssuingAuthority,
			"issue_date": u.IssueDate, "valid_until": u.ValidUntil, "content_type": u.ContentType, "size": u.Size,
			"uploaded_at": u.UploadedAt.UTC().Format(time.RFC3339), "department_code": u.Department})
		if err != nil {
			return err
		}
		masked, err := dec.Plan.ApplyJSON(rec)
		if err != nil {
			return fmt.Errorf("mask %s: %w", res.ID, err)
		}
		st.mr.Status, st.mr.Reason, st.mr.Record, st.mr.Basis, st.mr.Fields = Supplied, "", masked, dec.Basis, nil
		for _, f := range dec.Plan.Fields() {
			st.mr.Fields = append(st.mr.Fields, f.Name)
		}
		st.event.Fields, st.event.Outcome, st.event.Count = st.mr.Fields, audit.Allowed, 1
	}
	return nil
}

// step is one material after the catalog and the gate: either settled (a
// not-available or not-permitted answer, with its event if any) or allowed
// and waiting for the library read.
type step struct {
	mr      MaterialResult
	event   *audit.Event
	settled bool
	res     catalog.Resource
	dec     sharing.Decision
	// remote: the material is held by another hub (Service.Remote).
	remote bool
}

// fromRemote settles a remote step with the other hub's answer, or as
// temporarily unavailable when it could not be asked (err).
func (st *step) fromRemote(answers map[string]RemoteAnswer, err error) {
	st.settled = true
	a, ok := answers[st.mr.Resource]
	switch {
	case err != nil:
		fe, _ := fault.As(err)
		code := "peer_unavailable"
		if fe != nil {
			code = fe.Code
		}
		st.mr.Status, st.mr.Reason = TemporarilyUnavailable, code+": the hub holding "+st.mr.Resource+" cannot be asked now; repeat the lookup later"
		st.event.Outcome, st.event.Reason = audit.Failed, st.event.Reason+" unavailable="+code
	case !ok:
		st.mr.Status, st.mr.Reason = TemporarilyUnavailable, "peer_no_answer: the hub holding "+st.mr.Resource+" gave no answer for it"
		st.event.Outcome, st.event.Reason = audit.Failed, st.event.Reason+" unavailable=peer_no_answer"
	case a.Status == Supplied:
		st.mr.Status, st.mr.Record, st.mr.Fields, st.mr.Basis = Supplied, a.Record, a.Fields, "peer:"+a.Hub+"/"+a.Basis
		st.mr.Version, st.mr.Publisher, st.mr.PublishedAt = a.Version, a.Publisher, a.PublishedAt
		st.event.Outcome, st.event.Fields, st.event.Count = audit.Allowed, a.Fields, 1
		st.event.Reason += " peer=" + a.Hub
	case a.Status == NotPermitted:
		st.mr.Status, st.mr.Reason = NotPermitted, a.Reason
		code, _, _ := strings.Cut(a.Reason, ":")
		st.event.Outcome, st.event.Reason = audit.Denied, st.event.Reason+" peer="+a.Hub+" denied="+code
	default:
		st.mr.Status, st.mr.Reason = NotAvailable, a.Reason
		st.event = nil
	}
}

func (s *Service) decide(ctx context.Context, p identity.Principal, req Request, item serviceitem.Item, m serviceitem.Material) (step, error) {
	st := step{mr: MaterialResult{Code: m.Code, Name: m.Name, Resource: m.Resource}}
	if !m.FromLibrary() {
		st.mr.Status, st.mr.Reason, st.settled = NotAvailable, "not_in_library: the library holds no such material; the applicant brings it", true
		return st, nil
	}
	res, err := s.Directory.Resource(ctx, m.Resource)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound && s.Remote != nil {
			held, herr := s.Remote.Holds(ctx, m.Resource)
			if herr != nil {
				return st, herr
			}
			if held {
				st.remote = true
				st.event = &audit.Event{Action: audit.ActionReuse, Resource: m.Resource, Subjects: []string{req.Applicant},
					Purpose: req.Purpose, CaseNumber: req.CaseNumber, Reason: audit.ReuseReason(item.Code, m.Code)}
				return st, nil
			}
		}
		if fault.KindOf(err) == fault.NotFound {
			st.mr.Status, st.mr.Reason, st.settled = NotAvailable, "resource_gone: the resource "+m.Resource+" is no longer in the catalog", true
			return st, nil
		}
		return st, err
	}
	st.res, st.mr.Resource = res, res.ID
	st.event = &audit.Event{Action: audit.ActionReuse, Resource: res.ID, Subjects: []string{req.Applicant},
		Purpose: req.Purpose, CaseNumber: req.CaseNumber, Reason: audit.ReuseReason(item.Code, m.Code)}
	dec, err := s.Gate.Decide(ctx, sharing.ReadRequest{Principal: p, Resource: res, Action: sharing.ActionLookup, Purpose: req.Purpose, CaseNumber: req.CaseNumber})
	if err != nil || !dec.Allowed || dec.Plan == nil {
		fe, ok := fault.As(err)
		if err != nil && (!ok || fe.Kind != fault.Forbidden) {
			return st, err
		}
		code, msg := dec.Basis, "the sharing gate refused"
		if ok {
			code, msg = fe.Code, fe.Message
		}
		st.mr.Status, st.mr.Reason, st.settled = NotPermitted, code+": "+msg, true
		st.event.Outcome, st.event.Reason = audit.Denied, st.event.Reason+" denied="+code
		return st, nil
	}
	st.dec = dec
	return st, nil
}

func (s *Service) answer(st step, records map[string]Record, now time.Time) (MaterialResult, *audit.Event, error) {
	mr, event, res := st.mr, st.event, st.res
	if st.settled {
		return mr, event, nil
	}
	rec, ok := records[res.ID]
	if !ok {
		mr.Status, mr.Reason = NotAvailable, "no_record: the library holds no record of the applicant in "+res.ID
		return mr, nil, nil
	}
	if rec.Deleted || rec.Data == nil {
		mr.Status, mr.Reason = NotAvailable, "record_deleted: the applicant's record in "+res.ID+" was withdrawn by its provider"
		return mr, nil, nil
	}
	masked, err := st.dec.Plan.ApplyJSON(rec.Data)
	if err != nil {
		return mr, nil, fmt.Errorf("mask %s: %w", res.ID, err)
	}
	mr.Status, mr.Record, mr.Basis = Supplied, masked, st.dec.Basis
	mr.Version, mr.Publisher = rec.Version, rec.Publisher
	if !rec.PublishedAt.IsZero() {
		at := rec.PublishedAt.UTC()
		mr.PublishedAt = &at
	}
	for _, f := range st.dec.Plan.Fields() {
		mr.Fields = append(mr.Fields, f.Name)
	}
	if res.BaseLibrary == catalog.LibElicence {
		// Validity is judged on the unmasked record: the status and dates
		// are the issuer's, whatever the reader may see of them.
		c, err := CertificateOf(rec.Data, now)
		if err != nil {
			return mr, nil, fmt.Errorf("certificate of %s: %w", res.ID, err)
		}
		if err := c.fillFrom(masked); err != nil {
			return mr, nil, fmt.Errorf("certificate of %s: %w", res.ID, err)
		}
		mr.Certificate = &c
		event.Reason += " validity=" + c.Validity
	}
	event.Fields, event.Outcome, event.Count = mr.Fields, audit.Allowed, 1
	return mr, event, nil
}

// CertificateOf reads an e-licence record's validity at now: revoked or
// expired as the issuer recorded it, expired when valid_until (a date) is
// before today in Asia/Shanghai, valid otherwise. It returns only the
// validity and a reason that quotes no field value: the record it reads is
// the unmasked one, and the reader may be allowed to see none of it. A
// record that is not an e-licence object is an error.
func CertificateOf(data []byte, now time.Time) (Certificate, error) {
	var rec struct {
		LicenceID  string `json:"licence_id"`
		Status     string `json:"status"`
		ValidUntil string `json:"valid_until"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		return Certificate{}, fmt.Errorf("lookup: e-licence record: %w", err)
	}
	var c Certificate
	switch rec.Status {
	case CertRevoked:
		c.Validity, c.Reason = CertRevoked, "revoked by the issuer"
		return c, nil
	case CertExpired:
		c.Validity, c.Reason = CertExpired, "marked expired by the issuer"
		return c, nil
	case CertValid:
	default:
		return Certificate{}, errors.New("lookup: e-licence status is none of valid, revoked, expired")
	}
	c.Validity = CertValid
	if rec.ValidUntil != "" {
		until, err := time.ParseInLocation(time.DateOnly, rec.ValidUntil, cst)
		if err != nil {
			return Certificate{}, errors.New("lookup: e-licence valid_until is not a date (YYYY-MM-DD)")
		}
		today := now.In(cst)
		if until.Before(time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, cst)) {
			c.Validity, c.Reason = CertExpired, "valid_until has passed"
		}
	}
	return c, nil
}

// fillFrom copies the certificate's details from the projected and masked
// record: a field the plan left out stays empty, a masked one is copied as
// masked.
func (c *Certificate) fillFrom(masked []byte) error {
	var rec map[string]json.RawMessage
	if err := json.Unmarshal(masked, &rec); err != nil {
		return fmt.Errorf("lookup: masked e-licence record: %w", err)
	}
	for name, dst := range map[string]*string{"licence_id": &c.LicenceID, "status": &c.Status, "valid_until": &c.ValidUntil} {
		if raw, ok := rec[name]; ok {
			var v string
			if json.Unmarshal(raw, &v) == nil {
				*dst = v
			}
		}
	}
	return nil
}

// LibraryFunc adapts a function to Library.
type LibraryFunc func(ctx context.Context, subject string, resources []string) (map[string]Record, error)

// Current implements Library.
func (f LibraryFunc) Current(ctx context.Context, subject string, resources []string) (map[string]Record, error) {
	return f(ctx, subject, resources)
}
