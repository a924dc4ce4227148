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

var _ serviceitem.Store = (*Store)(nil)

// New returns a store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type itemRow struct {
	Code           string `gorm:"primaryKey"`
	Name           string
	ItemCode       string
	DepartmentCode string
	ApplicantType  string
	Description    string
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
	Description string
}

func (materialRow) TableName() string { return "service_item_materials" }

func rowsOf(it serviceitem.Item) (itemRow, []materialRow) {
	r := itemRow{Code: it.Code, Name: it.Name, ItemCode: it.ItemCode, DepartmentCode: it.DepartmentCode, ApplicantType: string(it.ApplicantType),
		Description: it.Description, Revision: it.Revision, CreatedBy: it.CreatedBy, UpdatedBy: it.UpdatedBy, CreatedAt: it.CreatedAt.UTC(), UpdatedAt: it.UpdatedAt.UTC()}
	ms := make([]materialRow, len(it.Materials))
	for i, m := range it.Materials {
		ms[i] = materialRow{ItemCode: it.Code, Position: i, Code: m.Code, Name: m.Name, ResourceID: m.Resource, Description: m.Description}
	}
	return r, ms
}

func itemOf(r itemRow, ms []materialRow) serviceitem.Item {
	it := serviceitem.Item{Code: r.Code, Name: r.Name, ItemCode: r.ItemCode, DepartmentCode: r.DepartmentCode, ApplicantType: serviceitem.ApplicantType(r.ApplicantType),
		Description: r.Description, Revision: r.Revision, CreatedBy: r.CreatedBy, UpdatedBy: r.UpdatedBy, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		Materials: make([]serviceitem.Material, 0, len(ms))}
	for _, m := range ms {
		it.Materials = append(it.Materials, serviceitem.Material{Code: m.Code, Name: m.Name, Resource: m.ResourceID, Description: m.Description})
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
			"description": it.Description, "revision": rev + 1, "updated_by": it.UpdatedBy, "updated_at": it.UpdatedAt.UTC(),
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
	return itemOf(r, ms), nil
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
