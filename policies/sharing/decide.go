package sharing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"yiku/catalog"
	"yiku/fault"
	"yiku/identity"
	"yiku/inputtext"
	"yiku/policies/mask"
)

// Gatekeeper is the Gate: it asks the Casbin data enforcer of the current
// policy snapshot, then projects and masks with a plan cached per (basis,
// resource revision). Allowed decisions are cached per snapshot until the
// grant behind them expires; a reload replaces the snapshot and with it the
// cache, which is how a revocation takes effect.
type Gatekeeper struct {
	store     *Store
	loader    *loader
	schemas   Schemas
	hashKey   []byte
	recordKey []byte // keys the record ids shown to partial views
	now       func() time.Time

	snap     atomic.Pointer[policySnapshot]
	reloadMu sync.Mutex

	plansMu sync.RWMutex
	plans   map[planKey]*mask.Plan
}

var _ Gate = (*Gatekeeper)(nil)

const (
	maxPurposeLen  = 100 // runes; a policy column holds 100 characters
	maxCachedPlans = 4096
	maxCachedAllow = 20000
)

type decisionKey struct {
	dept, res, purpose, provider string
	share                        catalog.ShareType
	revision, version            int
	updated                      int64
}

type planKey struct {
	basis, res        string
	revision, version int
	updated           int64
}

// NewGatekeeper loads the data policies and returns the gate. schemas
// gives the resources' schemas (the field semantics of the masking rule);
// secret is the hub secret: it keys the keyed_hash masking rule, and the
// key of the record ids shown to partial views is derived from it; depts
// lists the departments (for the hierarchy); now is the clock (time.Now
// when nil).
func NewGatekeeper(ctx context.Context, store *Store, schemas Schemas, depts func(ctx context.Context) ([]identity.Department, error), secret []byte, now func() time.Time) (*Gatekeeper, error) {
	if now == nil {
		now = time.Now
	}
	l, err := newLoader(store.db, depts)
	if err != nil {
		return nil, err
	}
	rk, err := RecordIDKey(secret)
	if err != nil {
		return nil, err
	}
	k := &Gatekeeper{store: store, loader: l, schemas: schemas, hashKey: secret, recordKey: rk, now: now, plans: map[planKey]*mask.Plan{}}
	if err := k.Reload(ctx); err != nil {
		return nil, err
	}
	return k, nil
}

// Version is the policy version of the loaded snapshot.
func (k *Gatekeeper) Version() int64 { return k.snap.Load().version }

// Reload builds a fresh snapshot from the database and swaps it in.
func (k *Gatekeeper) Reload(ctx context.Context) error {
	k.reloadMu.Lock()
	defer k.reloadMu.Unlock()
	s, err := k.loader.load(ctx, k.store)
	if err != nil {
		return err
	}
	k.snap.Store(s)
	return nil
}

// Decide answers one read request. See Gate.
func (k *Gatekeeper) Decide(ctx context.Context, req ReadRequest) (Decision, error) {
	purpose := strings.TrimSpace(req.Purpose)
	if purpose == "" {
		return Decision{Basis: "purpose_required"}, fault.Invalidf("purpose_required", "every read states its purpose (事由): set purpose").
			WithDetails(fault.Detail{Field: "purpose", Reason: "required"})
	}
	if utf8.RuneCountInString(purpose) > maxPurposeLen {
		return Decision{Basis: "invalid_purpose"}, fault.Invalidf("invalid_purpose", "purpose is longer than %d characters", maxPurposeLen).
			WithDetails(fault.Detail{Field: "purpose", Reason: "too long"})
	}
	if why := inputtext.Problem(purpose); why != "" {
		return Decision{Basis: "invalid_purpose"}, fault.Invalidf("invalid_purpose", "purpose is %s", why).
			WithDetails(fault.Detail{Field: "purpose", Reason: why})
	}
	if req.Principal.Kind == identity.KindPerson {
		cn := strings.TrimSpace(req.CaseNumber)
		if cn == "" {
			return Decision{Basis: "case_number_required"}, fault.Invalidf("case_number_required", "a person's read carries the case number (办件编号) it serves: set case_number").
				WithDetails(fault.Detail{Field: "case_number", Reason: "required for reads by a person"})
		}
		if len(cn) > maxCaseNoLen {
			return Decision{Basis: "invalid_case_number"}, fault.Invalidf("invalid_case_number", "case number is longer than %d bytes", maxCaseNoLen).
				WithDetails(fault.Detail{Field: "case_number", Reason: "too long"})
		}
	}
	if why := inputtext.Problem(req.CaseNumber); why != "" {
		return Decision{Basis: "invalid_case_number"}, fault.Invalidf("invalid_case_number", "case number is %s", why).
			WithDetails(fault.Detail{Field: "case_number", Reason: why})
	}
	switch req.Principal.Role {
	case identity.RoleSystem, identity.RoleOfficer, identity.RoleDeptAdmin:
	default:
		return Decision{Basis: "role_not_reader"}, fault.Forbiddenf("role_not_reader", "role %s does not read library data", req.Principal.Role)
	}
	if req.Resource.ID == "" || req.Principal.DepartmentCode == "" {
		return Decision{}, fmt.Errorf("sharing: decide: request without resource id or department")
	}
	return k.decide(ctx, k.snap.Load(), req.Principal.DepartmentCode, req.Resource, purpose, k.now())
}

func (k *Gatekeeper) decide(ctx context.Context, s *policySnapshot, dept string, res catalog.Resource, purpose string, now time.Time) (Decision, error) {
	key := decisionKey{dept: dept, res: res.ID, purpose: purpose, provider: res.ProviderCode, share: res.ShareType,
		revision: res.Revision, version: res.LatestVersion, updated: res.UpdatedAt.UnixNano()}
	s.mu.RLock()
	d, ok := s.allowed[key]
	s.mu.RUnlock()
	if ok && (d.ExpiresAt == nil || now.Before(*d.ExpiresAt)) {
		return d, nil
	}

	allowed, explain, err := s.enforcer.EnforceEx(dept, res.ID, purpose, string(res.ShareType), res.ProviderCode, now.Unix())
	if err != nil {
		return Decision{}, fmt.Errorf("sharing: enforce: %w", err)
	}
	if !allowed || len(explain) < 4 {
		code, msg := k.denial(s, dept, res, purpose, now)
		return Decision{Basis: code}, fault.Forbiddenf(code, "%s", msg)
	}
	d = Decision{Allowed: true, recordKey: k.recordKey}
	var granted, plain []string
	switch basis := explain[3]; basis {
	case BasisProvider:
		d.Basis = BasisProvider
		granted = fieldNames(res)
		plain = granted
	case BasisUnconditional:
		d.Basis = BasisUnconditional
		granted = fieldNames(res)
	default:
		g, ok := s.grants[basis]
		if !ok {
			return Decision{}, fmt.Errorf("sharing: policy names grant %s, which is not loaded", basis)
		}
		d.Basis, d.GrantID = "grant:"+g.ID, g.ID
		until := g.ValidUntil
		d.ExpiresAt = &until
		// Fields dropped from the catalog since the grant are dropped here too.
		for _, f := range g.Fields {
			if _, ok := res.Field(f); ok {
				granted = append(granted, f)
			}
		}
		for _, f := range g.PlainFields {
			if slices.Contains(granted, f) {
				plain = append(plain, f)
			}
		}
	}
	d.Plan, err = k.plan(ctx, planKey{basis: explain[3], res: res.ID, revision: res.Revision, version: res.LatestVersion, updated: res.UpdatedAt.UnixNano()}, res, granted, plain)
	if err != nil {
		return Decision{}, err
	}
	s.mu.Lock()
	if len(s.allowed) < maxCachedAllow {
		s.allowed[key] = d
	}
	s.mu.Unlock()
	return d, nil
}

func (k *Gatekeeper) plan(ctx context.Context, key planKey, res catalog.Resource, granted, plain []string) (*mask.Plan, error) {
	k.plansMu.RLock()
	p, ok := k.plans[key]
	k.plansMu.RUnlock()
	if ok {
		return p, nil
	}
	p, err := k.Preview(ctx, res, granted, plain)
	if err != nil {
		return nil, err
	}
	k.plansMu.Lock()
	if len(k.plans) >= maxCachedPlans {
		clear(k.plans)
	}
	k.plans[key] = p
	k.plansMu.Unlock()
	return p, nil
}

// Preview compiles the plan that fields granted (plain ones unmasked)
// would get on res, uncached: every plan of the gate is built here, so the
// derivation rule of package mask applies to reads, lookups and
// subscriptions alike, and approvals see the same plan in advance.
func (k *Gatekeeper) Preview(ctx context.Context, res catalog.Resource, granted, plain []string) (*mask.Plan, error) {
	var schema []byte
	if k.schemas != nil && res.LatestVersion > 0 {
		v, err := k.schemas.Version(ctx, res.ID, res.LatestVersion)
		if err != nil {
			return nil, fmt.Errorf("sharing: schema of %s v%d: %w", res.ID, res.LatestVersion, err)
		}
		schema = v.Schema
	}
	fields, err := MaskFields(res, schema)
	if err != nil {
		return nil, err
	}
	p, err := mask.NewPlan(fields, granted, plain, k.hashKey)
	if err != nil {
		return nil, fmt.Errorf("sharing: plan for %s: %w", res.ID, err)
	}
	return p, nil
}

func fieldNames(res catalog.Resource) []string {
	out := make([]string, len(res.Fields))
	for i, f := range res.Fields {
		out[i] = f.Name
	}
	return out
}

// covers reports whether grant g reaches department dept.
func covers(s *policySnapshot, g Grant, dept string) bool {
	if g.GranteeCode == dept {
		return true
	}
	if !g.ExtendToSubordinates {
		return false
	}
	ok, err := s.enforcer.GetRoleManager().HasLink(dept, "tree:"+g.GranteeCode)
	return err == nil && ok
}

// denial explains a refusal, off the hot path: the most telling reason.
func (k *Gatekeeper) denial(s *policySnapshot, dept string, res catalog.Resource, purpose string, now time.Time) (code, msg string) {
	if res.ShareType == catalog.ShareNone {
		return "not_shared", fmt.Sprintf("resource %s is not shared (不予共享); only its provider %s reads it", res.ID, res.ProviderCode)
	}
	if res.ShareType != catalog.ShareConditional && res.ShareType != catalog.ShareUnconditional {
		return "share_type_unknown", fmt.Sprintf("resource %s has no share type the hub knows (%q)", res.ID, res.ShareType)
	}
	var (
		best  string
		bestG Grant
		rank  = map[string]int{"purpose_not_granted": 5, "grant_not_yet_valid": 4, "grant_expired": 3, "grant_revoked": 2}
	)
	for _, g := range s.byRes[res.ID] {
		if !covers(s, g, dept) {
			continue
		}
		var c string
		switch st := g.StatusAt(now); {
		case st == GrantActive && now.Before(g.ValidFrom):
			c = "grant_not_yet_valid"
		case st == GrantActive:
			c = "purpose_not_granted"
		case st == GrantExpired:
			c = "grant_expired"
		case st == GrantRevoked:
			c = "grant_revoked"
		}
		if rank[c] > rank[best] || (rank[c] == rank[best] && g.CreatedAt.After(bestG.CreatedAt)) {
			best, bestG = c, g
		}
	}
	switch best {
	case "purpose_not_granted":
		return best, fmt.Sprintf("purpose %q is not among the purposes of grant %s (%s)", purpose, bestG.ID, strings.Join(bestG.Purposes, "; "))
	case "grant_not_yet_valid":
		return best, fmt.Sprintf("grant %s is valid from %s", bestG.ID, bestG.ValidFrom.Format(time.RFC3339))
	case "grant_expired":
		return best, fmt.Sprintf("grant %s expired at %s; apply again with a share request", bestG.ID, bestG.ValidUntil.Format(time.RFC3339))
	case "grant_revoked":
		return best, fmt.Sprintf("grant %s was revoked by the provider; apply again with a share request", bestG.ID)
	}
	return "no_grant", fmt.Sprintf("resource %s is shared on conditions (有条件共享): department %s needs an approved share request", res.ID, dept)
}

// Access is one resource a department may read, for the "what may I read"
// answer.
type Access struct {
	ResourceID   string            `json:"resource_id"`
	ResourceName string            `json:"resource_name"`
	ShareType    catalog.ShareType `json:"share_type"`
	ProviderCode string            `json:"provider_code"`
	// Basis is provider, unconditional or grant:<id>.
	Basis   string           `json:"basis"`
	GrantID string           `json:"grant_id,omitempty"`
	Fields  []mask.FieldView `json:"fields"`
	// Purposes are the purposes the access is bound to; empty means any
	// stated purpose.
	Purposes  []string   `json:"purposes"`
	ExpiresAt *time.Time `json:"expires_at,omitempty"`
}

// anyPurpose is a purpose no grant can carry (requests refuse control
// characters), used to ask the enforcer about purpose-free bases.
const anyPurpose = "\x00any"

// Readable lists what department dept may read among resources: its own
// resources, unconditional ones, and one entry per grant in force that
// reaches it. Every entry is confirmed by the enforcer.
func (k *Gatekeeper) Readable(ctx context.Context, dept string, resources []catalog.Resource) ([]Access, error) {
	s := k.snap.Load()
	now := k.now()
	out := []Access{}
	for _, res := range resources {
		if res.ID == "" {
			continue
		}
		base := Access{ResourceID: res.ID, ResourceName: res.Name, ShareType: res.ShareType, ProviderCode: res.ProviderCode, Purposes: []string{}}
		for _, g := range s.byRes[res.ID] {
			if g.StatusAt(now) != GrantActive || now.Before(g.ValidFrom) || !covers(s, g, dept) || len(g.Purposes) == 0 {
				continue
			}
			d, err := k.decide(ctx, s, dept, res, g.Purposes[0], now)
			if fault.KindOf(err) == fault.Forbidden || (err == nil && d.GrantID != g.ID) {
				continue
			}
			if err != nil {
				return nil, err
			}
			a := base
			a.Basis, a.GrantID, a.Fields, a.Purposes, a.ExpiresAt = d.Basis, g.ID, d.Plan.Fields(), g.Purposes, d.ExpiresAt
			out = append(out, a)
		}
		d, err := k.decide(ctx, s, dept, res, anyPurpose, now)
		if fault.KindOf(err) == fault.Forbidden {
			continue
		}
		if err != nil {
			return nil, err
		}
		a := base
		a.Basis, a.Fields = d.Basis, d.Plan.Fields()
		out = append(out, a)
	}
	return out, nil
}
