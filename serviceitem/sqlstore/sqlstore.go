// Package sqlstore keeps service items and their materials in the hub's
// database (PostgreSQL or SQLite, through gorm): tables service_items and
// service_item_materials of migration 00006.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/fault"
	"yiku/serviceitem"
	"yiku/storage"
)

// Store is the gorm-backed serviceitem.Store.
type Store struct{ db *gorm.DB }

var (
	_ serviceitem.Store     = (*Store)(nil)
	_ serviceitem.TypeStore = (*Store)(nil)
)

// New returns a store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type itemRow struct {
	Code           string `gorm:"primaryKey"`
	Name           string
	ItemCode       string
	DepartmentCode string
	ApplicantType  string
	Description    string
	Category       string
	Level          string
	LegalBasis     string
	Conditions     string
	TimeLimitDays  int
	Flow           string
	Revision       int
	CreatedBy      string
	UpdatedBy      string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

func (itemRow) TableName() string { return "service_items" }

type materialRow struct {
	ItemCode    string `gorm:"primaryKey"`
	Position    int
	Code        string `gorm:"primaryKey"`
	Name        string
	ResourceID  string
	TypeCode    string
	Description string
}

func (materialRow) TableName() string { return "service_item_materials" }

func rowsOf(it serviceitem.Item) (itemRow, []materialRow) {
	r := itemRow{Code: it.Code, Name: it.Name, ItemCode: it.ItemCode, DepartmentCode: it.DepartmentCode, ApplicantType: string(it.ApplicantType),
		Description: it.Description, Category: string(it.Category), Level: string(it.Level), LegalBasis: it.LegalBasis, Conditions: it.Conditions,
		TimeLimitDays: it.TimeLimitDays, Flow: it.Flow,
		Revision: it.Revision, CreatedBy: it.CreatedBy, UpdatedBy: it.UpdatedBy, CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC()}
	ms := make([]materialRow, len(it.Materials))
	for i, m := range it.Materials {
		ms[i] = materialRow{ItemCode: it.Code, Position: i, Code: m.Code, Name: m.Name, ResourceID: m.Resource, TypeCode: m.Type, Description: m.Description}
	}
	return r, ms
}

func itemOf(r itemRow, ms []materialRow) serviceitem.Item {
	it := serviceitem.Item{Code: r.Code, Name: r.Name, ItemCode: r.ItemCode, DepartmentCode: r.DepartmentCode, ApplicantType: serviceitem.ApplicantType(r.ApplicantType),
		Description: r.Description, Category: serviceitem.Category(r.Category), Level: serviceitem.Level(r.Level), LegalBasis: r.LegalBasis,
		Conditions: r.Conditions, TimeLimitDays: r.TimeLimitDays, Flow: r.Flow,
		Revision: r.Revision, CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Materials: make([]serviceitem.Material, 0, len(ms))}
	for _, m := range ms {
		it.Materials = append(it.Materials, serviceitem.Material{Code: m.Code, Name: m.Name, Type: m.TypeCode, Resource: m.ResourceID, Description: m.Description})
	}
	return it
}

// Create stores a new item (fault Conflict if its code is taken).
func (s *Store) Create(ctx context.Context, it serviceitem.Item) (serviceitem.Item, error) {
	r, ms := rowsOf(it)
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&r).Error; err != nil {
			return err
		}
		return tx.Create(&ms).Error
	})
	if err != nil {
		err = storage.MapError(err, "service item "+it.Code)
		if fe, ok := fault.As(err); ok && fe.Kind == fault.Conflict {
			return serviceitem.Item{}, fault.Conflictf("service_item_exists", "service item %s already exists", it.Code)
		}
		return serviceitem.Item{}, err
	}
	return it, nil
}

// Update replaces an item if its stored revision is rev.
func (s *Store) Update(ctx context.Context, it serviceitem.Item, rev int) (serviceitem.Item, error) {
	var out serviceitem.Item
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&itemRow{}).Where("code = ? AND revision = ?", it.Code, rev).Updates(map[string]any{
			"name": it.Name, "item_code": it.ItemCode, "department_code": it.DepartmentCode, "applicant_type": string(it.ApplicantType),
			"description": it.Description, "category": string(it.Category), "level": string(it.Level), "legal_basis": it.LegalBasis,
			"conditions": it.Conditions, "time_limit_days": it.TimeLimitDays, "flow": it.Flow, "revision": rev + 1, "updated_by": it.UpdatedBy, "updated_at": it.UpdatedAt.UTC(),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			if _, err := get(tx, it.Code); err != nil {
				return err
			}
			return fault.Conflictf("revision_mismatch", "service item %s changed since revision %d; read it again", it.Code, rev)
		}
		if err := tx.Where("item_code = ?", it.Code).Delete(&materialRow{}).Error; err != nil {
			return err
		}
		_, ms := rowsOf(it)
		if err := tx.Create(&ms).Error; err != nil {
			return err
		}
		var err error
		out, err = get(tx, it.Code)
		return err
	})
	if err != nil {
		if _, ok := fault.As(err); ok {
			return serviceitem.Item{}, err
		}
		return serviceitem.Item{}, storage.MapError(err, "service item "+it.Code)
	}
	return out, nil
}

// Delete removes an item and its materials.
func (s *Store) Delete(ctx context.Context, code string) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		if err := tx.Where("item_code = ?", code).Delete(&materialRow{}).Error; err != nil {
			return fmt.Errorf("serviceitem: delete materials of %s: %w", code, err)
		}
		res := tx.Where("code = ?", code).Delete(&itemRow{})
		if res.Error != nil {
			return fmt.Errorf("serviceitem: delete %s: %w", code, res.Error)
		}
		if res.RowsAffected == 0 {
			return notFound(code)
		}
		return nil
	})
}

// Get returns an item with its materials in order.
func (s *Store) Get(ctx context.Context, code string) (serviceitem.Item, error) {
	return get(s.db.WithContext(ctx), code)
}

func get(db *gorm.DB, code string) (serviceitem.Item, error) {
	var r itemRow
	if err := db.Where("code = ?", code).Take(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return serviceitem.Item{}, notFound(code)
		}
		return serviceitem.Item{}, fmt.Errorf("serviceitem: get %s: %w", code, err)
	}
	var ms []materialRow
	if err := db.Where("item_code = ?", code).Order("position").Find(&ms).Error; err != nil {
		return serviceitem.Item{}, fmt.Errorf("serviceitem: materials of %s: %w", code, err)
	}
	if err := resolve(db, ms); err != nil {
		return serviceitem.Item{}, err
	}
	return itemOf(r, ms), nil
}

// resolve gives each typed material its type's current resource: the type
// supplies it, so a change of the type reaches every item naming it.
func resolve(db *gorm.DB, ms []materialRow) error {
	var codes []string
	for _, m := range ms {
		if m.TypeCode != "" {
			codes = append(codes, m.TypeCode)
		}
	}
	if len(codes) == 0 {
		return nil
	}
	var ts []typeRow
	if err := db.Where("code IN ?", codes).Find(&ts).Error; err != nil {
		return fmt.Errorf("serviceitem: material types: %w", err)
	}
	by := make(map[string]string, len(ts))
	for _, t := range ts {
		by[t.Code] = t.ResourceID
	}
	for i, m := range ms {
		if res, ok := by[m.TypeCode]; ok && m.TypeCode != "" {
			ms[i].ResourceID = res
		}
	}
	return nil
}

func notFound(code string) error {
	return fault.NotFoundf("service_item_not_found", "service item %s not found", code)
}

// List returns items by code, with their materials.
func (s *Store) List(ctx context.Context, f serviceitem.Filter) ([]serviceitem.Item, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&itemRow{}).Order("code")
	if f.Department != "" {
		q = q.Where("department_code = ?", f.Department)
	}
	if f.Resource != "" {
		q = q.Where("code IN (?)", db.Model(&materialRow{}).Select("item_code").Where("resource_id = ?", f.Resource))
	}
	if f.Type != "" {
		q = q.Where("code IN (?)", db.Model(&materialRow{}).Select("item_code").Where("type_code = ?", f.Type))
	}
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	if f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	var rows []itemRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("serviceitem: list: %w", err)
	}
	if len(rows) == 0 {
		return []serviceitem.Item{}, nil
	}
	codes := make([]string, len(rows))
	for i, r := range rows {
		codes[i] = r.Code
	}
	var ms []materialRow
	if err := db.Where("item_code IN ?", codes).Order("item_code, position").Find(&ms).Error; err != nil {
		return nil, fmt.Errorf("serviceitem: list materials: %w", err)
	}
	if err := resolve(db, ms); err != nil {
		return nil, err
	}
	by := map[string][]materialRow{}
	for _, m := range ms {
		by[m.ItemCode] = append(by[m.ItemCode], m)
	}
	out := make([]serviceitem.Item, len(rows))
	for i, r := range rows {
		out[i] = itemOf(r, by[r.Code])
	}
	return out, nil
}

type typeRow struct {
	Code        string `gorm:"primaryKey"`
	Name        string
	ResourceID  string
	Description string
	Revision    int
	CreatedBy   string
	UpdatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

func (typeRow) TableName() string { return "material_types" }

func typeOf(r typeRow) serviceitem.MaterialType {
	return serviceitem.MaterialType{Code: r.Code, Name: r.Name, Resource: r.ResourceID, Description: r.Description, Revision: r.Revision,
		CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// PutType creates a material type or replaces its name, resource and
// description (keeping who created it and when), incrementing its revision.
func (s *Store) PutType(ctx context.Context, t serviceitem.MaterialType) (serviceitem.MaterialType, bool, error) {
	var out typeRow
	created := false
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&typeRow{}).Where("code = ?", t.Code).Updates(map[string]any{
			"name": t.Name, "resource_id": t.Resource, "description": t.Description,
			"revision": gorm.Expr("revision + 1"), "updated_by": t.UpdatedBy, "updated_at": t.UpdatedAt.UTC(),
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 0 {
			created = true
			r := typeRow{Code: t.Code, Name: t.Name, ResourceID: t.Resource, Description: t.Description, Revision: 1,
				CreatedBy: t.CreatedBy, UpdatedBy: t.UpdatedBy, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
			if err := tx.Create(&r).Error; err != nil {
				return err
			}
		}
		return tx.Where("code = ?", t.Code).Take(&out).Error
	})
	if err != nil {
		return serviceitem.MaterialType{}, false, storage.MapError(err, "material type "+t.Code)
	}
	return typeOf(out), created, nil
}

// GetType returns a material type.
func (s *Store) GetType(ctx context.Context, code string) (serviceitem.MaterialType, error) {
	var r typeRow
	if err := s.db.WithContext(ctx).Where("code = ?", code).Take(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return serviceitem.MaterialType{}, fault.NotFoundf("material_type_not_found", "material type %s not found", code)
		}
		return serviceitem.MaterialType{}, fmt.Errorf("serviceitem: material type %s: %w", code, err)
	}
	return typeOf(r), nil
}

// ListTypes lists material types by code.
func (s *Store) ListTypes(ctx context.Context, limit, offset int) ([]serviceitem.MaterialType, error) {
	var rows []typeRow
	q := s.db.WithContext(ctx).Order("code").Limit(limit)
	if offset > 0 {
		q = q.Offset(offset)
	}
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("serviceitem: list material types: %w", err)
	}
	out := make([]serviceitem.MaterialType, len(rows))
	for i, r := range rows {
		out[i] = typeOf(r)
	}
	return out, nil
}
