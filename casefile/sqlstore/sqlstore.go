// Package sqlstore keeps case records in the hub's database (PostgreSQL or
// SQLite, through gorm): tables cases and case_materials of migration 00061.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/casefile"
	"yiku/fault"
	"yiku/storage"
)

// Store is the gorm-backed casefile.Store.
type Store struct{ db *gorm.DB }

var _ casefile.Store = (*Store)(nil)

// New returns a store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type caseRow struct {
	CaseNumber        string `gorm:"primaryKey"`
	Applicant         string
	ApplicantHash     string
	ApplicantType     string
	ServiceItem       string
	ItemName          string
	DepartmentCode    string
	Officer           string
	OfficerDepartment string
	State             string
	TimeLimitDays     int
	Note              string
	Revision          int
	OpenedAt          time.Time
	UpdatedAt         time.Time
	AcceptedAt        *time.Time
	DecidedAt         *time.Time
	FinishedAt        *time.Time
}

func (caseRow) TableName() string { return "cases" }

type materialRow struct {
	CaseNumber string `gorm:"primaryKey"`
	Position   int
	Code       string `gorm:"primaryKey"`
	Name       string
	TypeCode   string
	Source     string
	Status     string
	ResourceID string
}

func (materialRow) TableName() string { return "case_materials" }

func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

func rowOf(c casefile.Case) caseRow {
	return caseRow{CaseNumber: c.Number, Applicant: c.Applicant, ApplicantHash: c.ApplicantHash, ApplicantType: c.ApplicantType,
		ServiceItem: c.ServiceItem, ItemName: c.ItemName, DepartmentCode: c.Department, Officer: c.Officer, OfficerDepartment: c.OfficerDepartment,
		State: string(c.State), TimeLimitDays: c.TimeLimitDays, Note: c.Note, Revision: c.Revision, OpenedAt: c.OpenedAt.UTC(), UpdatedAt: c.UpdatedAt.UTC(),
		AcceptedAt: utc(c.AcceptedAt), DecidedAt: utc(c.DecidedAt), FinishedAt: utc(c.FinishedAt)}
}

func materialsOf(c casefile.Case) []materialRow {
	ms := make([]materialRow, len(c.Materials))
	for i, m := range c.Materials {
		ms[i] = materialRow{CaseNumber: c.Number, Position: i, Code: m.Code, Name: m.Name, TypeCode: m.Type, Source: string(m.Source), Status: m.Status, ResourceID: m.Resource}
	}
	return ms
}

func caseOf(r caseRow, ms []materialRow) casefile.Case {
	c := casefile.Case{Number: r.CaseNumber, Applicant: r.Applicant, ApplicantHash: r.ApplicantHash, ApplicantType: r.ApplicantType,
		ServiceItem: r.ServiceItem, ItemName: r.ItemName, Department: r.DepartmentCode, Officer: r.Officer, OfficerDepartment: r.OfficerDepartment,
		State: casefile.State(r.State), TimeLimitDays: r.TimeLimitDays, Note: r.Note, Revision: r.Revision, OpenedAt: r.OpenedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
		AcceptedAt: utc(r.AcceptedAt), DecidedAt: utc(r.DecidedAt), FinishedAt: utc(r.FinishedAt), Materials: make([]casefile.Material, 0, len(ms))}
	for _, m := range ms {
		c.Materials = append(c.Materials, casefile.Material{Code: m.Code, Name: m.Name, Type: m.TypeCode, Source: casefile.Source(m.Source), Status: m.Status, Resource: m.ResourceID})
	}
	return c
}

// Get returns a case with its materials in order.
func (s *Store) Get(ctx context.Context, number string) (casefile.Case, error) {
	return get(s.db.WithContext(ctx), number)
}

func get(db *gorm.DB, number string) (casefile.Case, error) {
	var r caseRow
	if err := db.Where("case_number = ?", number).Take(&r).Error; err != nil {
		if errors.Is(err, gorm.ErrRecordNotFound) {
			return casefile.Case{}, fault.NotFoundf("case_not_found", "case %s not found", number)
		}
		return casefile.Case{}, fmt.Errorf("casefile: get %s: %w", number, err)
	}
	var ms []materialRow
	if err := db.Where("case_number = ?", number).Order("position").Find(&ms).Error; err != nil {
		return casefile.Case{}, fmt.Errorf("casefile: materials of %s: %w", number, err)
	}
	return caseOf(r, ms), nil
}

func putMaterials(tx *gorm.DB, c casefile.Case) error {
	if err := tx.Where("case_number = ?", c.Number).Delete(&materialRow{}).Error; err != nil {
		return err
	}
	if ms := materialsOf(c); len(ms) > 0 {
		return tx.Create(&ms).Error
	}
	return nil
}

// Open creates c or updates the stored case through update.
func (s *Store) Open(ctx context.Context, c casefile.Case, update func(cur casefile.Case) (casefile.Case, error)) (casefile.Case, error) {
	var out casefile.Case
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		// Most lookups open a new case: the insert that finds no row with
		// the number is the whole check.
		r := rowOf(c)
		res := tx.Clauses(clause.OnConflict{Columns: []clause.Column{{Name: "case_number"}}, DoNothing: true}).Create(&r)
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected == 1 {
			if ms := materialsOf(c); len(ms) > 0 {
				if err := tx.Create(&ms).Error; err != nil {
					return err
				}
			}
			out = c
			return nil
		}
		// The case exists. Lookups under one number wait for each other
		// here (FOR UPDATE on PostgreSQL; SQLite's single writer serialises
		// them anyway).
		var locked []string
		if err := tx.Model(&caseRow{}).Clauses(clause.Locking{Strength: clause.LockingStrengthUpdate}).
			Where("case_number = ?", c.Number).Pluck("case_number", &locked).Error; err != nil {
			return err
		}
		cur, err := get(tx, c.Number)
		if err != nil {
			return err
		}
		next, err := update(cur)
		if err != nil {
			return err
		}
		res = tx.Model(&caseRow{}).Where("case_number = ? AND revision = ?", c.Number, cur.Revision).Updates(map[string]any{
			"officer": next.Officer, "officer_department": next.OfficerDepartment, "updated_at": next.UpdatedAt.UTC(), "revision": next.Revision,
		})
		if res.Error != nil {
			return res.Error
		}
		if res.RowsAffected != 1 {
			return fault.Conflictf("case_changed", "case %s changed meanwhile; look it up again", c.Number)
		}
		if err := putMaterials(tx, next); err != nil {
			return err
		}
		out = next
		return nil
	})
	if err != nil {
		if _, ok := fault.As(err); ok {
			return casefile.Case{}, err
		}
		err = storage.MapError(err, "case "+c.Number)
		if fault.KindOf(err) == fault.Conflict {
			// Another lookup created the case meanwhile.
			return casefile.Case{}, fault.Conflictf("case_changed", "case %s changed meanwhile; look it up again", c.Number)
		}
		return casefile.Case{}, err
	}
	return out, nil
}

// Move stores a state change if the stored revision is rev.
func (s *Store) Move(ctx context.Context, c casefile.Case, rev int) (casefile.Case, error) {
	res := s.db.WithContext(ctx).Model(&caseRow{}).Where("case_number = ? AND revision = ?", c.Number, rev).Updates(map[string]any{
		"state": string(c.State), "note": c.Note, "revision": c.Revision, "updated_at": c.UpdatedAt.UTC(),
		"accepted_at": utc(c.AcceptedAt), "decided_at": utc(c.DecidedAt), "finished_at": utc(c.FinishedAt),
	})
	if res.Error != nil {
		return casefile.Case{}, storage.MapError(res.Error, "case "+c.Number)
	}
	if res.RowsAffected != 1 {
		return casefile.Case{}, fault.Conflictf("case_changed", "case %s changed since revision %d; read it again", c.Number, rev)
	}
	return s.Get(ctx, c.Number)
}

// List returns cases newest first, with their materials, and the number of
// cases the filter matches.
func (s *Store) List(ctx context.Context, f casefile.Filter) ([]casefile.Case, int, error) {
	db := s.db.WithContext(ctx)
	q := db.Model(&caseRow{})
	if f.Department != "" {
		q = q.Where("department_code = ? OR officer_department = ?", f.Department, f.Department)
	}
	if f.ApplicantHash != "" {
		q = q.Where("applicant_hash = ?", f.ApplicantHash)
	}
	if f.ServiceItem != "" {
		q = q.Where("service_item = ?", f.ServiceItem)
	}
	if f.State != "" {
		q = q.Where("state = ?", string(f.State))
	}
	if !f.From.IsZero() {
		q = q.Where("opened_at >= ?", f.From.UTC())
	}
	if !f.To.IsZero() {
		q = q.Where("opened_at < ?", f.To.UTC())
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("casefile: count: %w", err)
	}
	q = q.Order("opened_at DESC, case_number")
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	if f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	var rows []caseRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("casefile: list: %w", err)
	}
	out := make([]casefile.Case, 0, len(rows))
	if len(rows) == 0 {
		return out, int(total), nil
	}
	numbers := make([]string, len(rows))
	for i, r := range rows {
		numbers[i] = r.CaseNumber
	}
	var ms []materialRow
	if err := db.Where("case_number IN ?", numbers).Order("case_number, position").Find(&ms).Error; err != nil {
		return nil, 0, fmt.Errorf("casefile: list materials: %w", err)
	}
	by := map[string][]materialRow{}
	for _, m := range ms {
		by[m.CaseNumber] = append(by[m.CaseNumber], m)
	}
	for _, r := range rows {
		out = append(out, caseOf(r, by[r.CaseNumber]))
	}
	return out, int(total), nil
}
