// Package policies holds Yiku's access rules: the Casbin models and default
// policies, the enforcer that decides every API call, and (in subpackages)
// the need-to-share machinery. Policies are persisted in the database through
// the gorm adapter, so every hub instance enforces the same rules.
package policies

import (
	"context"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"sync"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/identity"
)

//go:embed api_model.conf
var apiModel string

//go:embed api_policy.csv
var apiPolicy string

// Enforcer decides whether a principal may call an API route.
type Enforcer struct {
	e  *casbin.SyncedEnforcer
	db *gorm.DB

	// memo remembers decisions per (principal, department, route, method)
	// until the next role or policy change: a route pattern and a method
	// name are few, and the Casbin matcher (role links, keyMatch, regexp)
	// is the costliest step of authorising a call.
	memoMu  sync.RWMutex
	memo    map[apiCall]bool
	memoGen uint64

	// loaded is the rules' fingerprint read just before the rules in
	// memory were last loaded from the database (RoleWatcher compares the
	// database with it). Read before the load, a change that lands while
	// loading is either in the load or shows as a difference later.
	loadedMu sync.Mutex
	loaded   ruleFingerprint

	// changeMu orders role changes and reloads: a reload reads the
	// database and then replaces the rules in memory, so a role written
	// between the two would be dropped from memory until the next reload,
	// and a principal created a moment before would be refused.
	changeMu sync.Mutex
}

type apiCall struct{ sub, dom, route, method string }

// maxMemo bounds the memo; it is simply cleared when full.
const maxMemo = 50000

// casbinRule mirrors gorm-adapter's row, for syncing the default policy.
type casbinRule struct {
	ID    uint `gorm:"primaryKey;autoIncrement"`
	Ptype string
	V0    string
	V1    string
	V2    string
	V3    string
	V4    string
	V5    string
}

func (casbinRule) TableName() string { return "casbin_rule" }

// NewEnforcer loads the model, makes the database's API rules equal to the
// embedded default policy, and loads every rule.
func NewEnforcer(ctx context.Context, db *gorm.DB) (*Enforcer, error) {
	m, err := model.NewModelFromString(apiModel)
	if err != nil {
		return nil, fmt.Errorf("policies: model: %w", err)
	}
	// TurnOffAutoMigrate rewrites the handle it is given; give it a session
	// of its own so the hub's shared handle stays as it is.
	adb := db.Session(&gorm.Session{})
	gormadapter.TurnOffAutoMigrate(adb)
	adapter, err := gormadapter.NewAdapterByDBUseTableName(adb, "", "casbin_rule")
	if err != nil {
		return nil, fmt.Errorf("policies: adapter: %w", err)
	}
	if err := syncDefaults(ctx, db); err != nil {
		return nil, err
	}
	en := &Enforcer{db: db, memo: map[apiCall]bool{}}
	if en.loaded, err = en.fingerprint(ctx); err != nil {
		return nil, err
	}
	if en.e, err = casbin.NewSyncedEnforcer(m, adapter); err != nil {
		return nil, fmt.Errorf("policies: enforcer: %w", err)
	}
	return en, nil
}

// DefaultAPIRules parses the embedded default policy.
func DefaultAPIRules() ([][]string, error) {
	r := csv.NewReader(strings.NewReader(apiPolicy))
	r.Comment = '#'
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("policies: parse default policy: %w", err)
	}
	var out [][]string
	for _, rec := range recs {
		if len(rec) != 5 || rec[0] != "p" {
			return nil, fmt.Errorf("policies: default policy line %v: want p, role, department, route, methods", rec)
		}
		out = append(out, rec[1:])
	}
	return out, nil
}

// syncDefaults replaces the stored "p" rules with the embedded defaults,
// touching only rows that differ, so concurrent starts do not conflict.
func syncDefaults(ctx context.Context, db *gorm.DB) error {
	want, err := DefaultAPIRules()
	if err != nil {
		return err
	}
	wantSet := map[[4]string]bool{}
	for _, w := range want {
		wantSet[[4]string{w[0], w[1], w[2], w[3]}] = true
	}
	return db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var have []casbinRule
		if err := tx.Where("ptype = ?", "p").Find(&have).Error; err != nil {
			return fmt.Errorf("policies: read rules: %w", err)
		}
		haveSet := map[[4]string]bool{}
		for _, h := range have {
			k := [4]string{h.V0, h.V1, h.V2, h.V3}
			haveSet[k] = true
			if !wantSet[k] {
				if err := tx.Delete(&casbinRule{}, h.ID).Error; err != nil {
					return fmt.Errorf("policies: drop stale rule: %w", err)
				}
			}
		}
		var add []casbinRule
		for k := range wantSet {
			if !haveSet[k] {
				add = append(add, casbinRule{Ptype: "p", V0: k[0], V1: k[1], V2: k[2], V3: k[3]})
			}
		}
		if len(add) == 0 {
			return nil
		}
		if err := tx.Clauses(clause.OnConflict{DoNothing: true}).Create(&add).Error; err != nil {
			return fmt.Errorf("policies: add default rules: %w", err)
		}
		return nil
	})
}

// Allowed reports whether p may call route (gin's full path) with method.
func (en *Enforcer) Allowed(p identity.Principal, route, method string) (bool, error) {
	k := apiCall{sub: p.Subject(), dom: p.DepartmentCode, route: route, method: method}
	en.memoMu.RLock()
	ok, hit := en.memo[k]
	gen := en.memoGen
	en.memoMu.RUnlock()
	if hit {
		return ok, nil
	}
	ok, err := en.e.Enforce(k.sub, k.dom, route, method)
	if err != nil {
		return false, fmt.Errorf("policies: enforce: %w", err)
	}
	en.memoMu.Lock()
	// A change since gen was read may have made ok stale: keep it only if
	// none happened.
	if en.memoGen == gen {
		if len(en.memo) >= maxMemo {
			clear(en.memo)
		}
		en.memo[k] = ok
	}
	en.memoMu.Unlock()
	return ok, nil
}

// forget drops every remembered decision; called after each change to the
// rules or roles.
func (en *Enforcer) forget() {
	en.memoMu.Lock()
	en.memoGen++
	clear(en.memo)
	en.memoMu.Unlock()
}

// AssignRole gives p its role in its department.
func (en *Enforcer) AssignRole(p identity.Principal) error {
	en.changeMu.Lock()
	defer en.changeMu.Unlock()
	defer en.forget()
	if _, err := en.e.AddGroupingPolicy(p.Subject(), "role:"+string(p.Role), p.DepartmentCode); err != nil {
		return fmt.Errorf("policies: assign role: %w", err)
	}
	return nil
}

// RemoveRoles takes every role from p.
func (en *Enforcer) RemoveRoles(p identity.Principal) error {
	en.changeMu.Lock()
	defer en.changeMu.Unlock()
	defer en.forget()
	if _, err := en.e.RemoveFilteredGroupingPolicy(0, p.Subject()); err != nil {
		return fmt.Errorf("policies: remove roles: %w", err)
	}
	return nil
}

// Reload reloads every rule from the database, picking up changes made by
// other hub instances.
func (en *Enforcer) Reload() error { return en.reload(context.Background()) }

func (en *Enforcer) reload(ctx context.Context) error {
	en.changeMu.Lock()
	defer en.changeMu.Unlock()
	defer en.forget()
	fp, err := en.fingerprint(ctx)
	if err != nil {
		return err
	}
	if err := en.e.LoadPolicy(); err != nil {
		return fmt.Errorf("policies: reload: %w", err)
	}
	en.loadedMu.Lock()
	en.loaded = fp
	en.loadedMu.Unlock()
	return nil
}

// loadedFingerprint is the fingerprint of the rules last loaded.
func (en *Enforcer) loadedFingerprint() ruleFingerprint {
	en.loadedMu.Lock()
	defer en.loadedMu.Unlock()
	return en.loaded
}
