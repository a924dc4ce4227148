package identity

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/fault"
	"yiku/storage"
)

// Store keeps departments, principals and API keys.
type Store struct {
	db *gorm.DB
}

// NewStore returns a store on db.
func NewStore(db *gorm.DB) *Store { return &Store{db: db} }

type departmentRow struct {
	Code         string `gorm:"primaryKey"`
	Name         string
	Level        string
	ParentCode   *string
	DivisionCode string
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (departmentRow) TableName() string { return "departments" }

func (r departmentRow) domain() Department {
	return Department{Code: r.Code, Name: r.Name, Level: Level(r.Level), ParentCode: r.ParentCode, DivisionCode: r.DivisionCode, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

type principalRow struct {
	ID             string `gorm:"primaryKey"`
	Name           string
	DisplayName    string
	Kind           string
	Role           string
	DepartmentCode string
	IDNumberHash   string
	CreatedAt      time.Time
	DisabledAt     *time.Time
}

func (principalRow) TableName() string { return "principals" }

func (r principalRow) domain() Principal {
	return Principal{ID: r.ID, Name: r.Name, DisplayName: r.DisplayName, Kind: Kind(r.Kind), Role: Role(r.Role), DepartmentCode: r.DepartmentCode, IDNumberHash: r.IDNumberHash, CreatedAt: r.CreatedAt, DisabledAt: r.DisabledAt}
}

type apiKeyRow struct {
	ID          string `gorm:"primaryKey"`
	PrincipalID string
	SecretHash  string
	Label       string
	CreatedAt   time.Time
	ExpiresAt   *time.Time
	RevokedAt   *time.Time
	LastUsedAt  *time.Time
}

func (apiKeyRow) TableName() string { return "api_keys" }

func (r apiKeyRow) domain() APIKey {
	return APIKey{ID: r.ID, PrincipalID: r.PrincipalID, Label: r.Label, CreatedAt: r.CreatedAt, ExpiresAt: r.ExpiresAt, RevokedAt: r.RevokedAt, LastUsedAt: r.LastUsedAt}
}

// CreateDepartment stores d after checking its parent exists and sits one
// level above it.
func (s *Store) CreateDepartment(ctx context.Context, d Department) (Department, error) {
	if err := d.Validate(); err != nil {
		return Department{}, err
	}
	if err := s.checkParent(ctx, d); err != nil {
		return Department{}, err
	}
	now := time.Now().UTC()
	row := departmentRow{Code: d.Code, Name: d.Name, Level: string(d.Level), ParentCode: d.ParentCode, DivisionCode: d.DivisionCode, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return Department{}, storage.MapError(err, "department "+d.Code)
	}
	return row.domain(), nil
}

// UpdateDepartment changes a department's name, division code, level and parent.
func (s *Store) UpdateDepartment(ctx context.Context, d Department) (Department, error) {
	if err := d.Validate(); err != nil {
		return Department{}, err
	}
	if err := s.checkParent(ctx, d); err != nil {
		return Department{}, err
	}
	res := s.db.WithContext(ctx).Model(&departmentRow{}).Where("code = ?", d.Code).Updates(map[string]any{
		"name": d.Name, "level": string(d.Level), "parent_code": d.ParentCode, "division_code": d.DivisionCode, "updated_at": time.Now().UTC(),
	})
	if res.Error != nil {
		return Department{}, storage.MapError(res.Error, "department "+d.Code)
	}
	if res.RowsAffected == 0 {
		return Department{}, fault.NotFoundf("department_not_found", "department %s not found", d.Code)
	}
	return s.Department(ctx, d.Code)
}

func (s *Store) checkParent(ctx context.Context, d Department) error {
	if d.ParentCode == nil || *d.ParentCode == "" {
		return nil
	}
	if *d.ParentCode == d.Code {
		return fault.Invalidf("invalid_department", "department %s cannot be its own parent", d.Code)
	}
	parent, err := s.Department(ctx, *d.ParentCode)
	if err != nil {
		if fault.KindOf(err) == fault.NotFound {
			return fault.Invalidf("invalid_department", "department %s: parent %s does not exist", d.Code, *d.ParentCode).
				WithDetails(fault.Detail{Field: "parent_code", Reason: "no such department"})
		}
		return err
	}
	if parent.Level.rank() >= d.Level.rank() {
		return fault.Invalidf("invalid_department", "department %s (%s) cannot sit under %s (%s): a parent must be a higher level", d.Code, d.Level, parent.Code, parent.Level).
			WithDetails(fault.Detail{Field: "parent_code", Reason: "parent must be a higher level"})
	}
	return nil
}

// Department returns one department.
func (s *Store) Department(ctx context.Context, code string) (Department, error) {
	var row departmentRow
	err := s.db.WithContext(ctx).Where("code = ?", code).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Department{}, fault.NotFoundf("department_not_found", "department %s not found", code)
	}
	if err != nil {
		return Department{}, fmt.Errorf("identity: department %s: %w", code, err)
	}
	return row.domain(), nil
}

// Departments lists every department ordered by code.
func (s *Store) Departments(ctx context.Context) ([]Department, error) {
	var rows []departmentRow
	if err := s.db.WithContext(ctx).Order("code").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("identity: list departments: %w", err)
	}
	out := make([]Department, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// Ancestors returns code's parent, grandparent and so on, nearest first.
func (s *Store) Ancestors(ctx context.Context, code string) ([]Department, error) {
	var out []Department
	seen := map[string]bool{code: true}
	d, err := s.Department(ctx, code)
	if err != nil {
		return nil, err
	}
	for d.ParentCode != nil && !seen[*d.ParentCode] {
		seen[*d.ParentCode] = true
		if d, err = s.Department(ctx, *d.ParentCode); err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, nil
}

// CreatePrincipal stores p with a new id.
func (s *Store) CreatePrincipal(ctx context.Context, p Principal) (Principal, error) {
	if err := p.Validate(); err != nil {
		return Principal{}, err
	}
	if _, err := s.Department(ctx, p.DepartmentCode); err != nil {
		return Principal{}, err
	}
	if p.ID == "" {
		p.ID = newID()
	}
	row := principalRow{ID: p.ID, Name: p.Name, DisplayName: p.DisplayName, Kind: string(p.Kind), Role: string(p.Role), DepartmentCode: p.DepartmentCode, IDNumberHash: p.IDNumberHash, CreatedAt: time.Now().UTC()}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return Principal{}, storage.MapError(err, "principal "+p.Name)
	}
	return row.domain(), nil
}

// Principal returns a principal by id.
func (s *Store) Principal(ctx context.Context, id string) (Principal, error) {
	var row principalRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, fault.NotFoundf("principal_not_found", "principal %s not found", id)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("identity: principal %s: %w", id, err)
	}
	return row.domain(), nil
}

// PrincipalByName returns a principal by its unique name.
func (s *Store) PrincipalByName(ctx context.Context, name string) (Principal, error) {
	var row principalRow
	err := s.db.WithContext(ctx).Where("name = ?", name).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return Principal{}, fault.NotFoundf("principal_not_found", "principal %s not found", name)
	}
	if err != nil {
		return Principal{}, fmt.Errorf("identity: principal %s: %w", name, err)
	}
	return row.domain(), nil
}

// Principals lists principals, optionally of one department.
func (s *Store) Principals(ctx context.Context, department string) ([]Principal, error) {
	q := s.db.WithContext(ctx).Order("name")
	if department != "" {
		q = q.Where("department_code = ?", department)
	}
	var rows []principalRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("identity: list principals: %w", err)
	}
	out := make([]Principal, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// SetIDNumberHash links a citizen principal to the keyed hash of their ID
// number (package audit's subject hash), so the citizen's data-access report
// finds the accesses to their data.
func (s *Store) SetIDNumberHash(ctx context.Context, id, hash string) error {
	res := s.db.WithContext(ctx).Model(&principalRow{}).Where("id = ? AND role = ?", id, string(RoleCitizen)).Update("id_number_hash", hash)
	if res.Error != nil {
		return fmt.Errorf("identity: link %s to an ID number: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fault.NotFoundf("principal_not_found", "citizen principal %s not found", id)
	}
	return nil
}

// DeleteUnusedPrincipal removes a principal that has no API keys yet; it
// undoes a creation whose role assignment failed. Principals that were ever
// used are disabled, never deleted, so the audit trail keeps naming them.
func (s *Store) DeleteUnusedPrincipal(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var keys int64
		if err := tx.Model(&apiKeyRow{}).Where("principal_id = ?", id).Count(&keys).Error; err != nil {
			return fmt.Errorf("identity: count keys of %s: %w", id, err)
		}
		if keys > 0 {
			return fault.Conflictf("principal_in_use", "principal %s has API keys; disable it instead", id)
		}
		if err := tx.Where("id = ?", id).Delete(&principalRow{}).Error; err != nil {
			return fmt.Errorf("identity: delete principal %s: %w", id, err)
		}
		return nil
	})
}

// DisablePrincipal stops a principal from authenticating. It refuses to
// disable the last active catalog admin: only catalog admins appoint catalog
// admins, so the hub would have no one left to administer it.
//
// Two catalog admins disabling each other at the same moment must not both
// succeed, so the check and the update share one transaction that first
// locks every active catalog admin row (FOR UPDATE on PostgreSQL; SQLite
// has a single writer connection, which serialises the transactions). Under
// PostgreSQL's read committed, the second transaction waits for the first
// and then no longer sees the admin it disabled as active.
func (s *Store) DisablePrincipal(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var row principalRow
		err := tx.Where("id = ? AND disabled_at IS NULL", id).Take(&row).Error
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return fault.NotFoundf("principal_not_found", "active principal %s not found", id)
		}
		if err != nil {
			return fmt.Errorf("identity: load principal %s: %w", id, err)
		}
		if Role(row.Role) == RoleCatalogAdmin {
			var active []string
			if err := tx.Model(&principalRow{}).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
				Where("role = ? AND disabled_at IS NULL", string(RoleCatalogAdmin)).Order("id").Pluck("id", &active).Error; err != nil {
				return fmt.Errorf("identity: lock catalog admins: %w", err)
			}
			if !containsOther(active, id) {
				return fault.Conflictf("last_catalog_admin", "principal %s is the last active catalog admin; appoint another catalog admin before disabling it", id)
			}
		}
		res := tx.Model(&principalRow{}).Where("id = ? AND disabled_at IS NULL", id).Update("disabled_at", time.Now().UTC())
		if res.Error != nil {
			return fmt.Errorf("identity: disable %s: %w", id, res.Error)
		}
		if res.RowsAffected == 0 {
			return fault.NotFoundf("principal_not_found", "active principal %s not found", id)
		}
		return nil
	})
}

func containsOther(ids []string, id string) bool {
	for _, x := range ids {
		if x != id {
			return true
		}
	}
	return false
}

func (s *Store) createAPIKey(ctx context.Context, row apiKeyRow) error {
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return storage.MapError(err, "api key")
	}
	return nil
}

func (s *Store) apiKey(ctx context.Context, id string) (apiKeyRow, error) {
	var row apiKeyRow
	err := s.db.WithContext(ctx).Where("id = ?", id).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return apiKeyRow{}, fault.NotFoundf("api_key_not_found", "api key %s not found", id)
	}
	if err != nil {
		return apiKeyRow{}, fmt.Errorf("identity: api key %s: %w", id, err)
	}
	return row, nil
}

// APIKeys lists a principal's keys (never their secrets).
func (s *Store) APIKeys(ctx context.Context, principalID string) ([]APIKey, error) {
	var rows []apiKeyRow
	if err := s.db.WithContext(ctx).Where("principal_id = ?", principalID).Order("created_at").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("identity: list api keys: %w", err)
	}
	out := make([]APIKey, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}

// RevokeAPIKey marks a key revoked; it stops working at once on this instance
// and within the authentication cache's lifetime on others.
func (s *Store) revokeAPIKey(ctx context.Context, id string) error {
	res := s.db.WithContext(ctx).Model(&apiKeyRow{}).Where("id = ? AND revoked_at IS NULL", id).Update("revoked_at", time.Now().UTC())
	if res.Error != nil {
		return fmt.Errorf("identity: revoke api key %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fault.NotFoundf("api_key_not_found", "active api key %s not found", id)
	}
	return nil
}

// setAPIKeyExpiry sets row's key to expire at exp if the key is still as
// row was read (not revoked, same expiry); false when it changed meanwhile.
func (s *Store) setAPIKeyExpiry(ctx context.Context, row apiKeyRow, exp time.Time) (bool, error) {
	q := s.db.WithContext(ctx).Model(&apiKeyRow{}).Where("id = ? AND revoked_at IS NULL", row.ID)
	if row.ExpiresAt == nil {
		q = q.Where("expires_at IS NULL")
	} else {
		q = q.Where("expires_at = ?", *row.ExpiresAt)
	}
	res := q.Update("expires_at", exp)
	if res.Error != nil {
		return false, fmt.Errorf("identity: expire api key %s: %w", row.ID, res.Error)
	}
	return res.RowsAffected == 1, nil
}

func (s *Store) touchAPIKey(ctx context.Context, id string, at time.Time) error {
	return s.db.WithContext(ctx).Model(&apiKeyRow{}).Where("id = ?", id).Update("last_used_at", at).Error
}
