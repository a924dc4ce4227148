package sharing

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/gorm"

	"yiku/identity"
)

//go:embed data_model.conf
var dataModel string

//go:embed data_policy.csv
var dataPolicy string

const dataRuleTable = "casbin_data_rule"

// Bases of the built-in policy lines.
const (
	BasisProvider      = "provider"
	BasisUnconditional = "unconditional"
)

// grantRules materialises g as data policy lines: one per purpose.
func grantRules(g Grant) []dataRule {
	sub := "dept:" + g.GranteeCode
	if g.ExtendToSubordinates {
		sub = "tree:" + g.GranteeCode
	}
	from, until := strconv.FormatInt(g.ValidFrom.Unix(), 10), strconv.FormatInt(g.ValidUntil.Unix(), 10)
	out := make([]dataRule, 0, len(g.Purposes))
	for _, p := range g.Purposes {
		out = append(out, dataRule{Ptype: "p", V0: sub, V1: g.ResourceID, V2: p, V3: g.ID, V4: from, V5: until})
	}
	return out
}

// builtinRules parses the embedded built-in policy.
func builtinRules() (map[string][]string, error) {
	r := csv.NewReader(strings.NewReader(dataPolicy))
	r.Comment = '#'
	r.TrimLeadingSpace = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("sharing: parse data policy: %w", err)
	}
	out := map[string][]string{}
	for _, rec := range recs {
		if len(rec) != 7 || rec[0] != "p" {
			return nil, fmt.Errorf("sharing: data policy line %v: want p, sub, res, purpose, basis, from, until", rec)
		}
		out[rec[4]] = rec[1:]
	}
	if out[BasisProvider] == nil || out[BasisUnconditional] == nil {
		return nil, fmt.Errorf("sharing: data policy must hold the provider and unconditional lines")
	}
	return out, nil
}

// within is the matcher's validity check: from <= now < until, in Unix
// seconds. now comes from the request (the expression engine hands numbers
// over as float64); from and until are policy strings. A malformed bound
// matches nothing: deny, never allow, on bad data.
func within(args ...any) (any, error) {
	if len(args) != 3 {
		return false, fmt.Errorf("within: want 3 arguments, got %d", len(args))
	}
	var now int64
	switch v := args[0].(type) {
	case float64:
		now = int64(v)
	case int64:
		now = v
	case int:
		now = int64(v)
	default:
		return false, fmt.Errorf("within: now must be Unix seconds, got %T", args[0])
	}
	from, ok1 := args[1].(string)
	until, ok2 := args[2].(string)
	if !ok1 || !ok2 {
		return false, nil
	}
	f, err1 := strconv.ParseInt(from, 10, 64)
	u, err2 := strconv.ParseInt(until, 10, 64)
	if err1 != nil || err2 != nil {
		return false, nil
	}
	return f <= now && now < u, nil
}

// hierarchyRules links each department to the subjects it acts as.
func hierarchyRules(depts []identity.Department) [][]string {
	parent := make(map[string]string, len(depts))
	for _, d := range depts {
		if d.ParentCode != nil {
			parent[d.Code] = *d.ParentCode
		}
	}
	var out [][]string
	for _, d := range depts {
		out = append(out, []string{d.Code, "dept:" + d.Code}, []string{d.Code, "tree:" + d.Code})
		seen := map[string]bool{d.Code: true}
		for p, ok := parent[d.Code]; ok && !seen[p]; p, ok = parent[p] {
			seen[p] = true
			out = append(out, []string{d.Code, "tree:" + p})
		}
	}
	return out
}

// policySnapshot is one loaded state of the data policies: an enforcer
// built from the database, the grants it refers to, and the decisions made
// on it. A reload builds a new snapshot and swaps it in whole, so a decision
// never sees half a reload.
type policySnapshot struct {
	version  int64
	enforcer *casbin.SyncedEnforcer
	grants   map[string]Grant   // by id, every state, for bases and denial reasons
	byRes    map[string][]Grant // by resource id
	mu       sync.RWMutex
	allowed  map[decisionKey]Decision
	loadedAt time.Time
	deptHash string
}

// loader builds snapshots from the database.
type loader struct {
	db      *gorm.DB
	adapter *gormadapter.Adapter
	builtin map[string][]string
	depts   func(ctx context.Context) ([]identity.Department, error)
}

func newLoader(db *gorm.DB, depts func(ctx context.Context) ([]identity.Department, error)) (*loader, error) {
	builtin, err := builtinRules()
	if err != nil {
		return nil, err
	}
	if _, err := model.NewModelFromString(dataModel); err != nil {
		return nil, fmt.Errorf("sharing: data model: %w", err)
	}
	// The migration owns the table; keep the adapter from migrating it.
	adb := db.Session(&gorm.Session{})
	gormadapter.TurnOffAutoMigrate(adb)
	adapter, err := gormadapter.NewAdapterByDBUseTableName(adb, "", dataRuleTable)
	if err != nil {
		return nil, fmt.Errorf("sharing: data policy adapter: %w", err)
	}
	return &loader{db: db, adapter: adapter, builtin: builtin, depts: depts}, nil
}

// load reads the version first, so a change committed while loading makes
// the next version check load again rather than be missed.
func (l *loader) load(ctx context.Context, store *Store) (*policySnapshot, error) {
	version, err := store.Version(ctx)
	if err != nil {
		return nil, err
	}
	m, err := model.NewModelFromString(dataModel)
	if err != nil {
		return nil, fmt.Errorf("sharing: data model: %w", err)
	}
	if err := m.AddPolicy("p", "p", l.builtin[BasisProvider]); err != nil {
		return nil, fmt.Errorf("sharing: provider rule: %w", err)
	}
	if err := l.adapter.LoadPolicyCtx(ctx, m); err != nil {
		return nil, fmt.Errorf("sharing: load data policy: %w", err)
	}
	if err := m.AddPolicy("p", "p", l.builtin[BasisUnconditional]); err != nil {
		return nil, fmt.Errorf("sharing: unconditional rule: %w", err)
	}
	depts, err := l.depts(ctx)
	if err != nil {
		return nil, fmt.Errorf("sharing: departments: %w", err)
	}
	for _, rule := range hierarchyRules(depts) {
		if err := m.AddPolicy("g", "g", rule); err != nil {
			return nil, fmt.Errorf("sharing: hierarchy rule: %w", err)
		}
	}
	e, err := casbin.NewSyncedEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("sharing: data enforcer: %w", err)
	}
	e.AddFunction("within", within)
	if err := e.BuildRoleLinks(); err != nil {
		return nil, fmt.Errorf("sharing: role links: %w", err)
	}
	grants, err := store.Grants(ctx, GrantFilter{})
	if err != nil {
		return nil, err
	}
	snap := &policySnapshot{version: version, enforcer: e, grants: make(map[string]Grant, len(grants)),
		byRes: map[string][]Grant{}, allowed: map[decisionKey]Decision{}, loadedAt: time.Now(), deptHash: departmentsHash(depts)}
	for _, g := range grants {
		snap.grants[g.ID] = g
		snap.byRes[g.ResourceID] = append(snap.byRes[g.ResourceID], g)
	}
	return snap, nil
}

// departmentsHash fingerprints the hierarchy, to notice changes to it.
func departmentsHash(depts []identity.Department) string {
	var b strings.Builder
	for _, d := range depts {
		b.WriteString(d.Code)
		b.WriteByte('<')
		if d.ParentCode != nil {
			b.WriteString(*d.ParentCode)
		}
		b.WriteByte(';')
	}
	return b.String()
}
