package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"yiku/catalog/compat"
	"yiku/catalog/validation"
	"yiku/fault"
	"yiku/identity"
)

// DefaultCacheTTL bounds how long a resource read from the cache may be
// stale: other hub instances see a change within this time.
const DefaultCacheTTL = 2 * time.Second

// Options tune a Service.
type Options struct {
	// CacheTTL is how long resources stay cached (DefaultCacheTTL if 0).
	CacheTTL time.Duration
	// Now is the clock (time.Now if nil).
	Now func() time.Time
}

// Service is the resource directory: it registers and changes resources
// under the directory's rules and ownership, versions their schemas with
// compatibility checks, moves them through their lifecycle, keeps the
// history of every change, and serves resources and compiled validators
// to the rest of the hub from memory.
type Service struct {
	store Store
	depts Departments
	ttl   time.Duration
	now   func() time.Time

	mu         sync.RWMutex
	resources  map[string]cachedResource // by ID and by code
	validators map[validatorKey]*recordValidator
	compiles   singleflight.Group
	loads      singleflight.Group
}

type cachedResource struct {
	r  Resource
	at time.Time
}

type validatorKey struct {
	id      string
	version int
}

var _ Directory = (*Service)(nil)

// NewService returns the directory on store, with provider departments read
// from depts.
func NewService(store Store, depts Departments, opt Options) *Service {
	if opt.CacheTTL <= 0 {
		opt.CacheTTL = DefaultCacheTTL
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	return &Service{
		store: store, depts: depts, ttl: opt.CacheTTL, now: opt.Now,
		resources:  map[string]cachedResource{},
		validators: map[validatorKey]*recordValidator{},
	}
}

// CanManage reports whether p may change resources provided by department:
// catalog admins manage every resource, department admins their own
// department's, nobody else any.
func CanManage(p identity.Principal, department string) bool {
	switch p.Role {
	case identity.RoleCatalogAdmin:
		return true
	case identity.RoleDeptAdmin:
		return p.DepartmentCode == department
	}
	return false
}

func authorize(p identity.Principal, r Resource) error {
	if CanManage(p, r.ProviderCode) {
		return nil
	}
	if p.Role == identity.RoleDeptAdmin {
		return fault.Forbiddenf("not_resource_owner", "resource %s is provided by %s; a department admin of %s manages only its own department's resources", r.ID, r.ProviderCode, p.DepartmentCode)
	}
	return fault.Forbiddenf("forbidden", "role %s may not manage catalog resources", p.Role)
}

// Register adds a resource as a draft, assigning its catalog code. If
// schema is not empty it is registered as version 1 in the same step.
func (s *Service) Register(ctx context.Context, p identity.Principal, r Resource, schema []byte) (Resource, error) {
	r.Normalize()
	if err := authorize(p, r); err != nil {
		return Resource{}, err
	}
	now := s.now().UTC()
	r.Code, r.Status, r.LatestVersion, r.Revision, r.CreatedAt, r.UpdatedAt = "", StatusDraft, 0, 1, now, now
	if err := r.Check(); err != nil {
		return Resource{}, err
	}
	if err := s.checkReferences(ctx, &r); err != nil {
		return Resource{}, err
	}
	var v *SchemaVersion
	if len(bytes.TrimSpace(schema)) > 0 && !bytes.Equal(bytes.TrimSpace(schema), []byte("null")) {
		canon, err := s.prepareSchema(r, 1, schema)
		if err != nil {
			return Resource{}, err
		}
		v = &SchemaVersion{ResourceID: r.ID, Version: 1, Fingerprint: canon.Fingerprint, Schema: canon.JSON, Fields: r.Fields, CreatedBy: p.Name, CreatedAt: now}
		r.LatestVersion = 1
	}
	c := s.change(p, r, 1, ActionCreate, "", nil)
	created, err := s.store.Create(ctx, r, c, v)
	if err != nil {
		return Resource{}, fmt.Errorf("catalog: register %s: %w", r.ID, err)
	}
	created.ProviderName = r.ProviderName
	s.forget(created)
	return created, nil
}

// Update replaces a resource's editable metadata. The ID, catalog code,
// classification, provider, status and schema versions are not changed
// here (status through Transition, schemas through RegisterSchema).
func (s *Service) Update(ctx context.Context, p identity.Principal, id string, r Resource) (Resource, error) {
	cur, err := s.load(ctx, id)
	if err != nil {
		return Resource{}, err
	}
	if err := authorize(p, cur); err != nil {
		return Resource{}, err
	}
	if cur.Status == StatusRetired {
		return Resource{}, fault.Conflictf("resource_retired", "resource %s is retired; its metadata is kept as it was", cur.ID)
	}
	r.Normalize()
	var p2 problems
	if r.ID != "" && r.ID != cur.ID {
		p2.add("id", "immutable", "the id of resource %s cannot change", cur.ID)
	}
	if r.ClassCode != "" && r.ClassCode != cur.ClassCode {
		p2.add("class_code", "immutable", "the classification of resource %s cannot change (its catalog code %s derives from it); register a new resource instead", cur.ID, cur.Code)
	}
	if r.ProviderCode != "" && r.ProviderCode != cur.ProviderCode {
		p2.add("provider_code", "immutable", "the provider of resource %s cannot change", cur.ID)
	}
	if err := p2.err("resource " + cur.ID); err != nil {
		return Resource{}, err
	}
	next := r
	next.ID, next.Code, next.ClassCode, next.ProviderCode = cur.ID, cur.Code, cur.ClassCode, cur.ProviderCode
	next.Status, next.LatestVersion, next.CreatedAt = cur.Status, cur.LatestVersion, cur.CreatedAt
	if next.PublishDate == "" {
		next.PublishDate = cur.PublishDate
	}
	if err := next.Check(); err != nil {
		return Resource{}, err
	}
	if err := s.checkReferences(ctx, &next); err != nil {
		return Resource{}, err
	}
	if cur.LatestVersion > 0 {
		v, err := s.store.Version(ctx, cur.ID, cur.LatestVersion)
		if err != nil {
			return Resource{}, fmt.Errorf("catalog: update %s: %w", cur.ID, err)
		}
		doc, err := parseDoc(v.Schema)
		if err != nil {
			return Resource{}, err
		}
		if err := next.CheckSchema(doc); err != nil {
			return Resource{}, err
		}
	}
	return s.save(ctx, p, cur, next, ActionUpdate, "", nil)
}

// save writes next as the revision after cur, if anything changed.
func (s *Service) save(ctx context.Context, p identity.Principal, cur, next Resource, action, reason string, v *SchemaVersion) (Resource, error) {
	elements := diff(cur, next)
	if len(elements) == 0 && v == nil {
		return cur, nil
	}
	next.Revision = cur.Revision + 1
	next.UpdatedAt = s.now().UTC()
	c := s.change(p, next, next.Revision, action, reason, elements)
	if err := s.store.Save(ctx, next, c, v); err != nil {
		return Resource{}, fmt.Errorf("catalog: %s %s: %w", action, cur.ID, err)
	}
	s.forget(cur)
	next.ProviderName = cur.ProviderName
	return next, nil
}

func (s *Service) change(p identity.Principal, r Resource, rev int, action, reason string, elements []Element) Change {
	return Change{ResourceID: r.ID, Revision: rev, Action: action, PrincipalID: p.ID, PrincipalName: p.Name, DepartmentCode: p.DepartmentCode, Elements: elements, Reason: reason, At: s.now().UTC()}
}

// checkReferences checks the provider department and related codes exist
// and fills in the provider's name.
func (s *Service) checkReferences(ctx context.Context, r *Resource) error {
	d, err := s.depts.Department(ctx, r.ProviderCode)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return fault.Invalidf("invalid_resource", "resource %s: provider department %s does not exist", r.ID, r.ProviderCode).
				WithDetails(fault.Detail{Field: "provider_code", Rule: RuleProviderUnknown, Reason: "no such department"})
		}
		return fmt.Errorf("catalog: provider %s: %w", r.ProviderCode, err)
	}
	r.ProviderName = d.Name
	if len(r.RelatedCodes) == 0 {
		return nil
	}
	missing, err := s.store.MissingCodes(ctx, r.RelatedCodes)
	if err != nil {
		return fmt.Errorf("catalog: related codes of %s: %w", r.ID, err)
	}
	if len(missing) > 0 {
		var p problems
		for _, m := range missing {
			p.add("related_codes", RuleRelatedCodeUnknown, "related code %s is not in the directory", m)
		}
		return p.err("resource " + r.ID)
	}
	return nil
}

// prepareSchema canonicalizes schema, checks it against r's fields,
// compiles it and checks its complexity budget.
func (s *Service) prepareSchema(r Resource, version int, schema []byte) (validation.Canonical, error) {
	canon, err := validation.Canonicalize(schema)
	if err != nil {
		return validation.Canonical{}, err
	}
	if err := r.CheckSchema(canon.Doc); err != nil {
		return validation.Canonical{}, err
	}
	v, err := validation.Compile(r.ID, version, canon.JSON)
	if err != nil {
		return validation.Canonical{}, err
	}
	// Before any compatibility check: a schema over the budget is refused
	// on its own measure, whatever it is compared with.
	if err := v.Complexity().Budget(); err != nil {
		return validation.Canonical{}, err
	}
	return canon, nil
}

// Report is the verdict of a compatibility check.
type Report struct {
	ResourceID  string `json:"resource_id"`
	Mode        string `json:"mode"`
	Compatible  bool   `json:"compatible"`
	Fingerprint string `json:"fingerprint"`
	// SameAs is the existing version with the same fingerprint, if any:
	// registering the schema again returns that version.
	SameAs int `json:"same_as,omitempty"`
	// Against lists the versions the candidate was compared with.
	Against []int          `json:"against"`
	Issues  []compat.Issue `json:"issues"`
}

// CheckSchema is the dry run of RegisterSchema: it applies the same rules
// and the compatibility check under mode (the resource's own if empty) and
// registers nothing. A schema that breaks a rule is an error; an
// incompatible one is a report with Compatible false.
func (s *Service) CheckSchema(ctx context.Context, id string, schema []byte, fields []Field, mode string) (Report, error) {
	cur, err := s.load(ctx, id)
	if err != nil {
		return Report{}, err
	}
	if mode == "" {
		mode = cur.Compatibility
	}
	m, err := compat.ParseMode(mode)
	if err != nil {
		return Report{}, fault.Invalidf("invalid_mode", "%v", err).WithDetails(fault.Detail{Field: "mode", Rule: RuleCompatibilityUnknown, Reason: "unknown compatibility mode"})
	}
	cand := cur
	if fields != nil {
		cand.Fields = fields
		cand.Normalize()
		if err := cand.Check(); err != nil {
			return Report{}, err
		}
	}
	canon, err := s.prepareSchema(cand, cur.LatestVersion+1, schema)
	if err != nil {
		return Report{}, err
	}
	prev, err := s.store.Versions(ctx, cur.ID)
	if err != nil {
		return Report{}, fmt.Errorf("catalog: versions of %s: %w", cur.ID, err)
	}
	return s.compatReport(cur.ID, m, canon, prev)
}

func (s *Service) compatReport(id string, m compat.Mode, canon validation.Canonical, prev []SchemaVersion) (Report, error) {
	rep := Report{ResourceID: id, Mode: string(m), Fingerprint: canon.Fingerprint, Against: []int{}, Issues: []compat.Issue{}}
	var versions []compat.Version
	for _, v := range prev {
		if v.Fingerprint == canon.Fingerprint {
			rep.SameAs = v.Version
		}
		versions = append(versions, compat.Version{Number: v.Version, Schema: v.Schema})
	}
	if rep.SameAs != 0 {
		rep.Compatible = true
		return rep, nil
	}
	if m != compat.None && len(versions) > 0 {
		against := versions
		if !strings.HasSuffix(string(m), "_TRANSITIVE") {
			against = versions[len(versions)-1:]
		}
		for _, v := range against {
			rep.Against = append(rep.Against, v.Number)
		}
	}
	issues, err := compat.Check(m, canon.JSON, versions)
	if err != nil {
		return Report{}, fault.Invalidf("invalid_schema", "schema cannot be checked for compatibility: %s", oneLine(err))
	}
	if issues != nil {
		rep.Issues = issues
	}
	rep.Compatible = len(rep.Issues) == 0
	return rep, nil
}

// RegisterSchema registers schema as the next version of a resource, after
// the directory's rules and the compatibility check under the resource's
// mode. fields, if not nil, become the resource's fields with this version
// (a new property needs its field). Registering a schema equal to an
// existing version returns that version and created false.
func (s *Service) RegisterSchema(ctx context.Context, p identity.Principal, id string, schema []byte, fields []Field) (SchemaVersion, bool, error) {
	cur, err := s.load(ctx, id)
	if err != nil {
		return SchemaVersion{}, false, err
	}
	if err := authorize(p, cur); err != nil {
		return SchemaVersion{}, false, err
	}
	if cur.Status == StatusRetired {
		return SchemaVersion{}, false, fault.Conflictf("resource_retired", "resource %s is retired and takes no new schema versions", cur.ID)
	}
	next := cur
	if fields != nil {
		next.Fields = fields
		next.Normalize()
		if err := next.Check(); err != nil {
			return SchemaVersion{}, false, err
		}
	}
	n := cur.LatestVersion + 1
	canon, err := s.prepareSchema(next, n, schema)
	if err != nil {
		return SchemaVersion{}, false, err
	}
	prev, err := s.store.Versions(ctx, cur.ID)
	if err != nil {
		return SchemaVersion{}, false, fmt.Errorf("catalog: versions of %s: %w", cur.ID, err)
	}
	m, err := compat.ParseMode(cur.Compatibility)
	if err != nil {
		m = compat.Backward
	}
	rep, err := s.compatReport(cur.ID, m, canon, prev)
	if err != nil {
		return SchemaVersion{}, false, err
	}
	if rep.SameAs != 0 {
		v := prev[rep.SameAs-1]
		for _, x := range prev {
			if x.Version == rep.SameAs {
				v = x
			}
		}
		return v, false, nil
	}
	if !rep.Compatible {
		return SchemaVersion{}, false, incompatible(cur.ID, rep)
	}
	v := &SchemaVersion{ResourceID: cur.ID, Version: n, Fingerprint: canon.Fingerprint, Schema: canon.JSON, Fields: next.Fields, CreatedBy: p.Name, CreatedAt: s.now().UTC()}
	next.LatestVersion = n
	if _, err := s.save(ctx, p, cur, next, ActionSchemaRegister, fmt.Sprintf("schema version %d (%s)", n, canon.Fingerprint), v); err != nil {
		return SchemaVersion{}, false, err
	}
	return *v, true, nil
}

// incompatible is the error of a schema refused by the compatibility check:
// one detail per issue, with the schema pointer and the plain-words reason.
func incompatible(id string, rep Report) error {
	e := fault.Conflictf("incompatible_schema", "the schema is not %s-compatible with version(s) %s of %s: %d issue(s)", rep.Mode, joinInts(rep.Against), id, len(rep.Issues))
	for _, is := range rep.Issues {
		e = e.WithDetails(fault.Detail{Pointer: is.Pointer, Rule: is.Direction, Reason: fmt.Sprintf("v%d: %s", is.AgainstVersion, is.Message)})
	}
	return e
}

// transitions lists the lifecycle moves: draft → published → deprecated →
// retired, a deprecated resource may be reinstated, and a draft that never
// went out may be retired directly.
var transitions = map[Status][]Status{
	StatusDraft:      {StatusPublished, StatusRetired},
	StatusPublished:  {StatusDeprecated},
	StatusDeprecated: {StatusPublished, StatusRetired},
}

// CanTransition reports whether a resource may move from one status to another.
func CanTransition(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Transition moves a resource through its lifecycle. Publishing needs a
// schema version; the first publication sets the publish date if none was
// given.
func (s *Service) Transition(ctx context.Context, p identity.Principal, id string, to Status, reason string) (Resource, error) {
	cur, err := s.load(ctx, id)
	if err != nil {
		return Resource{}, err
	}
	if err := authorize(p, cur); err != nil {
		return Resource{}, err
	}
	switch to {
	case StatusDraft, StatusPublished, StatusDeprecated, StatusRetired:
	default:
		return Resource{}, fault.Invalidf("invalid_status", "status %q is not draft, published, deprecated or retired", to).
			WithDetails(fault.Detail{Field: "status", Reason: "unknown status"})
	}
	if cur.Status == to {
		return cur, nil
	}
	if !CanTransition(cur.Status, to) {
		return Resource{}, fault.Conflictf("invalid_transition", "resource %s cannot go from %s to %s (allowed from %s: %s)", cur.ID, cur.Status, to, cur.Status, joinStatuses(transitions[cur.Status]))
	}
	if to == StatusPublished && cur.LatestVersion == 0 {
		return Resource{}, fault.Conflictf("no_schema_version", "resource %s has no schema version; register one before publishing", cur.ID)
	}
	next := cur
	next.Status = to
	if to == StatusPublished && next.PublishDate == "" {
		next.PublishDate = s.now().In(chinaTime).Format(time.DateOnly)
	}
	return s.save(ctx, p, cur, next, ActionTransition+"."+string(to), strings.TrimSpace(reason), nil)
}

var chinaTime = time.FixedZone("CST", 8*3600)

// Resource returns a resource by ID or catalog code, from memory when it
// was read less than the cache TTL ago.
func (s *Service) Resource(ctx context.Context, id string) (Resource, error) {
	now := s.now()
	s.mu.RLock()
	c, ok := s.resources[id]
	s.mu.RUnlock()
	if ok && now.Sub(c.at) < s.ttl {
		return c.r, nil
	}
	v, err, _ := s.loads.Do(id, func() (any, error) {
		r, err := s.load(ctx, id)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		at := s.now()
		s.resources[r.ID] = cachedResource{r: r, at: at}
		s.resources[r.Code] = cachedResource{r: r, at: at}
		s.mu.Unlock()
		return r, nil
	})
	if err != nil {
		return Resource{}, err
	}
	return v.(Resource), nil
}

// load reads a resource from the store with its provider's name.
func (s *Service) load(ctx context.Context, id string) (Resource, error) {
	if !ValidID(id) && !LooksLikeCode(id) {
		return Resource{}, fault.NotFoundf("resource_not_found", "resource %q not found", id)
	}
	r, err := s.store.Resource(ctx, id)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return Resource{}, fault.NotFoundf("resource_not_found", "resource %s not found", id)
		}
		return Resource{}, fmt.Errorf("catalog: resource %s: %w", id, err)
	}
	if d, err := s.depts.Department(ctx, r.ProviderCode); err == nil {
		r.ProviderName = d.Name
	}
	return r, nil
}

// forget drops a resource from the cache.
func (s *Service) forget(r Resource) {
	s.mu.Lock()
	delete(s.resources, r.ID)
	delete(s.resources, r.Code)
	s.mu.Unlock()
}

// Validator returns the compiled validator of a schema version of the
// resource with this ID (or code); version 0 means the latest. Versions
// are immutable, so compiled validators are kept for the process's life.
func (s *Service) Validator(ctx context.Context, id string, version int) (RecordValidator, error) {
	r, err := s.Resource(ctx, id)
	if err != nil {
		return nil, err
	}
	if version < 0 {
		return nil, fault.Invalidf("invalid_version", "schema version %d is not a version number", version)
	}
	if version == 0 {
		version = r.LatestVersion
		if version == 0 {
			return nil, fault.NotFoundf("no_schema_version", "resource %s has no published schema version", r.ID)
		}
	}
	key := validatorKey{r.ID, version}
	s.mu.RLock()
	v, ok := s.validators[key]
	s.mu.RUnlock()
	if ok {
		if v.unusable != nil {
			return nil, v.unusable
		}
		return v, nil
	}
	out, err, _ := s.compiles.Do(fmt.Sprintf("%s\x00%d", r.ID, version), func() (any, error) {
		sv, err := s.store.Version(ctx, r.ID, version)
		if err != nil {
			if fault.KindOf(err) == fault.NotFound {
				return nil, fault.NotFoundf("schema_version_not_found", "resource %s has no schema version %d", r.ID, version)
			}
			return nil, fmt.Errorf("catalog: schema %s v%d: %w", r.ID, version, err)
		}
		compiled, err := validation.Compile(r.ID, version, sv.Schema)
		var budget error
		switch {
		case tooComplex(err):
			budget = err
		case err != nil:
			return nil, fmt.Errorf("catalog: compile stored schema %s v%d: %w", r.ID, version, err)
		default:
			budget = compiled.Complexity().Budget()
		}
		if budget != nil {
			// A version stored before the budget existed: it stays in the
			// directory, but no record is validated against it (that could
			// run without end); remembered, so the refusal costs nothing.
			unusable := unusableVersion(r.ID, version, budget)
			s.mu.Lock()
			s.validators[key] = &recordValidator{unusable: unusable}
			s.mu.Unlock()
			return nil, unusable
		}
		rv := &recordValidator{v: compiled}
		s.mu.Lock()
		s.validators[key] = rv
		s.mu.Unlock()
		return rv, nil
	})
	if err != nil {
		return nil, err
	}
	return out.(*recordValidator), nil
}

// recordValidator serves a compiled schema as a RecordValidator, or
// remembers why a stored version cannot serve as one.
type recordValidator struct {
	v        *validation.Validator
	unusable error
}

func tooComplex(err error) bool {
	fe, ok := fault.As(err)
	return ok && fe.Code == "schema_too_complex"
}

// unusableVersion is the refusal of records against a stored version over
// the complexity budget: a Conflict (the version, not the record, is at
// fault) with code schema_version_unusable, the budget's reason and its
// details.
func unusableVersion(id string, version int, budget error) error {
	e := fault.Conflictf("schema_version_unusable", "schema version %d of %s is over the complexity budget, so no record is validated against it: %s; register a simpler version", version, id, oneLine(budget))
	if fe, ok := fault.As(budget); ok {
		e = e.WithDetails(fe.Details...)
	}
	return e
}

func (r *recordValidator) Version() int { return r.v.Version() }

func (r *recordValidator) Validate(raw []byte) []Violation {
	return violations(r.v.Validate(raw))
}

// ValidateValue checks a record decoded with encoding/json and UseNumber
// (the exchange decodes each published record once and validates that).
func (r *recordValidator) ValidateValue(inst any) []Violation {
	return violations(r.v.ValidateValue(inst))
}

func violations(vs []validation.Violation) []Violation {
	if len(vs) == 0 {
		return nil
	}
	out := make([]Violation, len(vs))
	for i, v := range vs {
		out[i] = Violation(v)
	}
	return out
}

// List returns a page of resources matching f and the total number of matches.
func (s *Service) List(ctx context.Context, f Filter) ([]Resource, int, error) {
	if f.Status != "" {
		switch Status(f.Status) {
		case StatusDraft, StatusPublished, StatusDeprecated, StatusRetired:
		default:
			return nil, 0, fault.Invalidf("invalid_query", "status %q is not draft, published, deprecated or retired", f.Status).WithDetails(fault.Detail{Field: "status", Reason: "unknown status"})
		}
	}
	if f.ShareType != "" {
		switch ShareType(f.ShareType) {
		case ShareUnconditional, ShareConditional, ShareNone:
		default:
			return nil, 0, fault.Invalidf("invalid_query", "share type %q is not unconditional, conditional or not_shared", f.ShareType).WithDetails(fault.Detail{Field: "share_type", Reason: "unknown share type"})
		}
	}
	if f.BaseLibrary != "" {
		if _, ok := baseLibraries[BaseLibrary(f.BaseLibrary)]; !ok {
			return nil, 0, fault.Invalidf("invalid_query", "base library %q is unknown", f.BaseLibrary).WithDetails(fault.Detail{Field: "base_library", Reason: "unknown base library"})
		}
	}
	rs, total, err := s.store.Resources(ctx, f)
	if err != nil {
		return nil, 0, fmt.Errorf("catalog: list: %w", err)
	}
	if err := s.fillProviders(ctx, rs); err != nil {
		return nil, 0, err
	}
	return rs, total, nil
}

// All returns the whole directory ordered by code, for export.
func (s *Service) All(ctx context.Context) ([]Resource, error) {
	rs, _, err := s.List(ctx, Filter{})
	return rs, err
}

func (s *Service) fillProviders(ctx context.Context, rs []Resource) error {
	ds, err := s.depts.Departments(ctx)
	if err != nil {
		return fmt.Errorf("catalog: departments: %w", err)
	}
	names := make(map[string]string, len(ds))
	for _, d := range ds {
		names[d.Code] = d.Name
	}
	for i := range rs {
		rs[i].ProviderName = names[rs[i].ProviderCode]
	}
	return nil
}

// Versions lists a resource's schema versions, oldest first.
func (s *Service) Versions(ctx context.Context, id string) ([]SchemaVersion, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	vs, err := s.store.Versions(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("catalog: versions of %s: %w", r.ID, err)
	}
	return vs, nil
}

// Version returns one schema version of a resource.
func (s *Service) Version(ctx context.Context, id string, version int) (SchemaVersion, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return SchemaVersion{}, err
	}
	v, err := s.store.Version(ctx, r.ID, version)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return SchemaVersion{}, fault.NotFoundf("schema_version_not_found", "resource %s has no schema version %d", r.ID, version)
		}
		return SchemaVersion{}, fmt.Errorf("catalog: schema %s v%d: %w", r.ID, version, err)
	}
	return v, nil
}

// Changes returns a resource's metadata history, oldest first.
func (s *Service) Changes(ctx context.Context, id string) ([]Change, error) {
	r, err := s.load(ctx, id)
	if err != nil {
		return nil, err
	}
	cs, err := s.store.Changes(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("catalog: changes of %s: %w", r.ID, err)
	}
	return cs, nil
}

// diff lists the metadata elements that differ between a and b, by their
// JSON names, ignoring bookkeeping (timestamps, revision, provider name).
func diff(a, b Resource) []Element {
	ma, mb := asMap(a), asMap(b)
	names := map[string]bool{}
	for k := range ma {
		names[k] = true
	}
	for k := range mb {
		names[k] = true
	}
	var out []Element
	for k := range names {
		switch k {
		case "created_at", "updated_at", "revision", "provider_name":
			continue
		}
		if !bytes.Equal(ma[k], mb[k]) {
			out = append(out, Element{Name: k, Old: ma[k], New: mb[k]})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func asMap(r Resource) map[string]json.RawMessage {
	data, _ := json.Marshal(r)
	var m map[string]json.RawMessage
	_ = json.Unmarshal(data, &m)
	return m
}

func parseDoc(schema []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(schema))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("catalog: stored schema: %w", err)
	}
	return doc, nil
}

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = fmt.Sprint(x)
	}
	return strings.Join(s, ", ")
}

func joinStatuses(xs []Status) string {
	if len(xs) == 0 {
		return "none"
	}
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func oneLine(err error) string { return strings.Join(strings.Fields(err.Error()), " ") }
