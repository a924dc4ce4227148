// Package sqlstore keeps the resource directory in SQL through gorm — the
// same code on PostgreSQL and SQLite — in the tables of migration
// 00002_catalog: resources, schema_versions and resource_changes. It
// assigns catalog codes and maps driver errors to fault kinds; the rules
// of the directory live in package catalog.
package sqlstore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"gorm.io/gorm"

	"yiku/catalog"
	"yiku/fault"
	"yiku/storage"
)

// Store is the gorm-backed catalog.Store.
type Store struct {
	db *gorm.DB
}

var _ catalog.Store = (*Store)(nil)

// New returns a store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type resourceRow struct {
	ID              string `gorm:"primaryKey"`
	Code            string
	ClassCode       string
	Seq             int
	Name            string
	Summary         string
	ProviderCode    string
	Format          string
	Fields          string
	ShareType       string
	ShareConditions string
	ShareMode       string
	LegalBasis      string
	OpenToPublic    bool
	OpenConditions  string
	UpdateCycle     string
	PublishDate     string
	RelatedCodes    string
	BaseLibrary     string
	SubjectType     string
	SubjectKey      string
	Status          string
	Compatibility   string
	LatestVersion   int
	Revision        int
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

func (resourceRow) TableName() string { return "resources" }

func toRow(r catalog.Resource) (resourceRow, error) {
	fields, err := json.Marshal(nonNil(r.Fields))
	if err != nil {
		return resourceRow{}, fmt.Errorf("sqlstore: encode fields: %w", err)
	}
	related, err := json.Marshal(nonNilStrings(r.RelatedCodes))
	if err != nil {
		return resourceRow{}, fmt.Errorf("sqlstore: encode related codes: %w", err)
	}
	return resourceRow{
		ID: r.ID, Code: r.Code, ClassCode: r.ClassCode, Name: r.Name, Summary: r.Summary, ProviderCode: r.ProviderCode,
		Format: r.Format, Fields: string(fields), ShareType: string(r.ShareType), ShareConditions: r.ShareConditions,
		ShareMode: r.ShareMode, LegalBasis: r.LegalBasis, OpenToPublic: r.OpenToPublic, OpenConditions: r.OpenConditions,
		UpdateCycle: r.UpdateCycle, PublishDate: r.PublishDate, RelatedCodes: string(related), BaseLibrary: string(r.BaseLibrary),
		SubjectType: string(r.SubjectType), SubjectKey: r.SubjectKey, Status: string(r.Status), Compatibility: r.Compatibility,
		LatestVersion: r.LatestVersion, Revision: r.Revision, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}, nil
}

func (row resourceRow) domain() (catalog.Resource, error) {
	r := catalog.Resource{
		ID: row.ID, Code: row.Code, ClassCode: row.ClassCode, Name: row.Name, Summary: row.Summary, ProviderCode: row.ProviderCode,
		Format: row.Format, ShareType: catalog.ShareType(row.ShareType), ShareConditions: row.ShareConditions, ShareMode: row.ShareMode,
		LegalBasis: row.LegalBasis, OpenToPublic: row.OpenToPublic, OpenConditions: row.OpenConditions, UpdateCycle: row.UpdateCycle,
		PublishDate: row.PublishDate, BaseLibrary: catalog.BaseLibrary(row.BaseLibrary), SubjectType: catalog.SubjectType(row.SubjectType),
		SubjectKey: row.SubjectKey, Status: catalog.Status(row.Status), Compatibility: row.Compatibility, LatestVersion: row.LatestVersion,
		Revision: row.Revision, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC(),
	}
	if err := json.Unmarshal([]byte(row.Fields), &r.Fields); err != nil {
		return catalog.Resource{}, fmt.Errorf("sqlstore: fields of %s: %w", row.ID, err)
	}
	if err := json.Unmarshal([]byte(row.RelatedCodes), &r.RelatedCodes); err != nil {
		return catalog.Resource{}, fmt.Errorf("sqlstore: related codes of %s: %w", row.ID, err)
	}
	if len(r.RelatedCodes) == 0 {
		r.RelatedCodes = nil
	}
	return r, nil
}

type versionRow struct {
	ResourceID  string `gorm:"primaryKey"`
	Version     int    `gorm:"primaryKey"`
	Fingerprint string
	SchemaJSON  string `gorm:"column:schema_json"`
	Fields      string
	CreatedBy   string
	CreatedAt   time.Time
}

func (versionRow) TableName() string { return "schema_versions" }

func (row versionRow) domain() (catalog.SchemaVersion, error) {
	v := catalog.SchemaVersion{ResourceID: row.ResourceID, Version: row.Version, Fingerprint: row.Fingerprint, Schema: json.RawMessage(row.SchemaJSON), CreatedBy: row.CreatedBy, CreatedAt: row.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(row.Fields), &v.Fields); err != nil {
		return catalog.SchemaVersion{}, fmt.Errorf("sqlstore: fields of %s v%d: %w", row.ResourceID, row.Version, err)
	}
	return v, nil
}

type changeRow struct {
	ID             int64 `gorm:"primaryKey;autoIncrement"`
	ResourceID     string
	Revision       int
	Action         string
	PrincipalID    string
	PrincipalName  string
	DepartmentCode string
	Elements       string
	Reason         string
	CreatedAt      time.Time
}

func (changeRow) TableName() string { return "resource_changes" }

func (row changeRow) domain() (catalog.Change, error) {
	c := catalog.Change{ResourceID: row.ResourceID, Revision: row.Revision, Action: row.Action, PrincipalID: row.PrincipalID, PrincipalName: row.PrincipalName, DepartmentCode: row.DepartmentCode, Reason: row.Reason, At: row.CreatedAt.UTC()}
	if err := json.Unmarshal([]byte(row.Elements), &c.Elements); err != nil {
		return catalog.Change{}, fmt.Errorf("sqlstore: change %d: %w", row.ID, err)
	}
	return c, nil
}

func changeToRow(c catalog.Change) (changeRow, error) {
	el, err := json.Marshal(nonNilElements(c.Elements))
	if err != nil {
		return changeRow{}, fmt.Errorf("sqlstore: encode change: %w", err)
	}
	return changeRow{ResourceID: c.ResourceID, Revision: c.Revision, Action: c.Action, PrincipalID: c.PrincipalID, PrincipalName: c.PrincipalName, DepartmentCode: c.DepartmentCode, Elements: string(el), Reason: c.Reason, CreatedAt: c.At.UTC()}, nil
}

func versionToRow(v catalog.SchemaVersion) (versionRow, error) {
	fields, err := json.Marshal(nonNil(v.Fields))
	if err != nil {
		return versionRow{}, fmt.Errorf("sqlstore: encode fields: %w", err)
	}
	return versionRow{ResourceID: v.ResourceID, Version: v.Version, Fingerprint: v.Fingerprint, SchemaJSON: string(v.Schema), Fields: string(fields), CreatedBy: v.CreatedBy, CreatedAt: v.CreatedAt.UTC()}, nil
}

// errSeqTaken marks a lost race for a sequence number; Create retries.
var errSeqTaken = errors.New("sequence taken")

// Create stores a new resource, assigning the next sequence number of its
// classification. Two hubs registering in the same classification at once
// race for the number; the loser retries with the next one.
func (s *Store) Create(ctx context.Context, r catalog.Resource, c catalog.Change, v *catalog.SchemaVersion) (catalog.Resource, error) {
	for attempt := 0; ; attempt++ {
		out, err := s.create(ctx, r, c, v)
		if errors.Is(err, errSeqTaken) {
			if attempt < 8 {
				continue
			}
			return catalog.Resource{}, fault.Conflictf("concurrent_change", "too many concurrent registrations in classification %s; retry", r.ClassCode)
		}
		return out, err
	}
}

func (s *Store) create(ctx context.Context, r catalog.Resource, c catalog.Change, v *catalog.SchemaVersion) (catalog.Resource, error) {
	var out catalog.Resource
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&resourceRow{}).Where("id = ?", r.ID).Count(&n).Error; err != nil {
			return fmt.Errorf("sqlstore: check id %s: %w", r.ID, err)
		}
		if n > 0 {
			return fault.Conflictf("resource_exists", "a resource with id %s already exists", r.ID).
				WithDetails(fault.Detail{Field: "id", Rule: "id_unique", Reason: "id already taken"})
		}
		var maxSeq *int
		if err := tx.Model(&resourceRow{}).Where("class_code = ?", r.ClassCode).Select("MAX(seq)").Scan(&maxSeq).Error; err != nil {
			return fmt.Errorf("sqlstore: next sequence of %s: %w", r.ClassCode, err)
		}
		seq := 1
		if maxSeq != nil {
			seq = *maxSeq + 1
		}
		r.Code = fmt.Sprintf("%s/%06d", r.ClassCode, seq)
		row, err := toRow(r)
		if err != nil {
			return err
		}
		row.Seq = seq
		if err := tx.Create(&row).Error; err != nil {
			mapped := storage.MapError(err, "resource "+r.ID)
			if fault.KindOf(mapped) == fault.Conflict {
				// Either the id (a concurrent registration) or the sequence.
				return errSeqTaken
			}
			return mapped
		}
		if v != nil {
			vr, err := versionToRow(*v)
			if err != nil {
				return err
			}
			if err := tx.Create(&vr).Error; err != nil {
				return storage.MapError(err, fmt.Sprintf("schema version %s v%d", v.ResourceID, v.Version))
			}
		}
		cr, err := changeToRow(c)
		if err != nil {
			return err
		}
		if err := tx.Create(&cr).Error; err != nil {
			return storage.MapError(err, "change of "+r.ID)
		}
		out = r
		return nil
	})
	if err != nil {
		return catalog.Resource{}, err
	}
	return out, nil
}

// Save writes the next revision of a resource, guarded by the previous one.
func (s *Store) Save(ctx context.Context, r catalog.Resource, c catalog.Change, v *catalog.SchemaVersion) error {
	row, err := toRow(r)
	if err != nil {
		return err
	}
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&resourceRow{}).Where("id = ? AND revision = ?", r.ID, r.Revision-1).Updates(map[string]any{
			"name": row.Name, "summary": row.Summary, "format": row.Format, "fields": row.Fields, "share_type": row.ShareType,
			"share_conditions": row.ShareConditions, "share_mode": row.ShareMode, "legal_basis": row.LegalBasis,
			"open_to_public": row.OpenToPublic, "open_conditions": row.OpenConditions, "update_cycle": row.UpdateCycle,
			"publish_date": row.PublishDate, "related_codes": row.RelatedCodes, "base_library": row.BaseLibrary,
			"subject_type": row.SubjectType, "subject_key": row.SubjectKey, "status": row.Status, "compatibility": row.Compatibility,
			"latest_version": row.LatestVersion, "revision": row.Revision, "updated_at": row.UpdatedAt,
		})
		if res.Error != nil {
			return storage.MapError(res.Error, "resource "+r.ID)
		}
		if res.RowsAffected == 0 {
			return fault.Conflictf("concurrent_change", "resource %s was changed by someone else meanwhile; read it again and retry", r.ID)
		}
		if v != nil {
			vr, err := versionToRow(*v)
			if err != nil {
				return err
			}
			if err := tx.Create(&vr).Error; err != nil {
				mapped := storage.MapError(err, fmt.Sprintf("schema version %s v%d", v.ResourceID, v.Version))
				if fault.KindOf(mapped) == fault.Conflict {
					return fault.Conflictf("concurrent_change", "schema version %d of %s was registered meanwhile; retry", v.Version, v.ResourceID)
				}
				return mapped
			}
		}
		cr, err := changeToRow(c)
		if err != nil {
			return err
		}
		if err := tx.Create(&cr).Error; err != nil {
			return storage.MapError(err, "change of "+r.ID)
		}
		return nil
	})
}

// Resource returns the resource with this ID or catalog code.
func (s *Store) Resource(ctx context.Context, idOrCode string) (catalog.Resource, error) {
	var row resourceRow
	q := s.db.WithContext(ctx)
	if strings.Contains(idOrCode, "/") {
		q = q.Where("code = ?", idOrCode)
	} else {
		q = q.Where("id = ?", idOrCode)
	}
	if err := q.Take(&row).Error; err != nil {
		return catalog.Resource{}, storage.MapError(err, "resource "+idOrCode)
	}
	return row.domain()
}

// Resources lists resources matching f ordered by code.
func (s *Store) Resources(ctx context.Context, f catalog.Filter) ([]catalog.Resource, int, error) {
	q := s.db.WithContext(ctx).Model(&resourceRow{})
	if f.Provider != "" {
		q = q.Where("provider_code = ?", f.Provider)
	}
	if f.BaseLibrary != "" {
		q = q.Where("base_library = ?", f.BaseLibrary)
	}
	if f.ShareType != "" {
		q = q.Where("share_type = ?", f.ShareType)
	}
	if f.Status != "" {
		q = q.Where("status = ?", f.Status)
	}
	if kw := strings.TrimSpace(f.Keyword); kw != "" {
		like := "%" + escapeLike(strings.ToLower(kw)) + "%"
		q = q.Where("(LOWER(id) LIKE ? ESCAPE '\\' OR code LIKE ? ESCAPE '\\' OR LOWER(name) LIKE ? ESCAPE '\\' OR LOWER(summary) LIKE ? ESCAPE '\\')", like, like, like, like)
	}
	var total int64
	if err := q.Count(&total).Error; err != nil {
		return nil, 0, fmt.Errorf("sqlstore: count resources: %w", err)
	}
	q = q.Order("code")
	if f.Limit > 0 {
		q = q.Limit(f.Limit)
	}
	if f.Offset > 0 {
		q = q.Offset(f.Offset)
	}
	var rows []resourceRow
	if err := q.Find(&rows).Error; err != nil {
		return nil, 0, fmt.Errorf("sqlstore: list resources: %w", err)
	}
	out := make([]catalog.Resource, 0, len(rows))
	for _, row := range rows {
		r, err := row.domain()
		if err != nil {
			return nil, 0, err
		}
		out = append(out, r)
	}
	return out, int(total), nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// Versions lists a resource's schema versions, oldest first.
func (s *Store) Versions(ctx context.Context, id string) ([]catalog.SchemaVersion, error) {
	var rows []versionRow
	if err := s.db.WithContext(ctx).Where("resource_id = ?", id).Order("version").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("sqlstore: versions of %s: %w", id, err)
	}
	out := make([]catalog.SchemaVersion, 0, len(rows))
	for _, row := range rows {
		v, err := row.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Version returns one schema version.
func (s *Store) Version(ctx context.Context, id string, version int) (catalog.SchemaVersion, error) {
	var row versionRow
	if err := s.db.WithContext(ctx).Where("resource_id = ? AND version = ?", id, version).Take(&row).Error; err != nil {
		return catalog.SchemaVersion{}, storage.MapError(err, fmt.Sprintf("schema version %s v%d", id, version))
	}
	return row.domain()
}

// Changes lists a resource's change history, oldest first.
func (s *Store) Changes(ctx context.Context, id string) ([]catalog.Change, error) {
	var rows []changeRow
	if err := s.db.WithContext(ctx).Where("resource_id = ?", id).Order("revision").Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("sqlstore: changes of %s: %w", id, err)
	}
	out := make([]catalog.Change, 0, len(rows))
	for _, row := range rows {
		c, err := row.domain()
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// MissingCodes returns those of codes no resource has.
func (s *Store) MissingCodes(ctx context.Context, codes []string) ([]string, error) {
	var found []string
	if err := s.db.WithContext(ctx).Model(&resourceRow{}).Where("code IN ?", codes).Pluck("code", &found).Error; err != nil {
		return nil, fmt.Errorf("sqlstore: look up codes: %w", err)
	}
	have := map[string]bool{}
	for _, c := range found {
		have[c] = true
	}
	var missing []string
	for _, c := range codes {
		if !have[c] {
			missing = append(missing, c)
		}
	}
	return missing, nil
}

func nonNil(fs []catalog.Field) []catalog.Field {
	if fs == nil {
		return []catalog.Field{}
	}
	return fs
}

func nonNilStrings(ss []string) []string {
	if ss == nil {
		return []string{}
	}
	return ss
}

func nonNilElements(es []catalog.Element) []catalog.Element {
	if es == nil {
		return []catalog.Element{}
	}
	return es
}
