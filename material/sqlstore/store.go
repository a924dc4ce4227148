// Package sqlstore keeps the material library's rows in the hub's database
// (PostgreSQL or SQLite, through gorm): tables material_blobs and
// material_uploads of migration 00070. The files themselves are in blob
// storage (package material).
package sqlstore

import (
	"context"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/fault"
	"yiku/material"
	"yiku/storage"
)

// Store is the gorm-backed material.Store.
type Store struct{ db *gorm.DB }

var _ material.Store = (*Store)(nil)

// New returns a store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type blobRow struct {
	ContentHash string `gorm:"primaryKey"`
	BlobKey     string
	WrappedKey  []byte
	ContentType string
	Size        int64
	CreatedAt   time.Time
}

func (blobRow) TableName() string { return "material_blobs" }

type uploadRow struct {
	ID               string `gorm:"primaryKey"`
	Applicant        string
	ApplicantHash    string
	MaterialType     string
	IssuingAuthority string
	IssueDate        string
	ValidUntil       string
	ContentHash      string
	ContentType      string
	Size             int64
	FileName         string
	DepartmentCode   string
	UploadedBy       string
	UploadedByName   string
	CaseNumber       string
	Purpose          string
	Status           string
	SupersededBy     string
	StatusReason     string
	CreatedAt        time.Time
	StatusAt         *time.Time
}

func (uploadRow) TableName() string { return "material_uploads" }

func (r uploadRow) upload() material.Upload {
	u := material.Upload{ID: r.ID, Meta: material.Meta{Applicant: r.Applicant, MaterialType: r.MaterialType, IssuingAuthority: r.IssuingAuthority,
		IssueDate: r.IssueDate, ValidUntil: r.ValidUntil, CaseNumber: r.CaseNumber, Purpose: r.Purpose, FileName: r.FileName},
		ContentHash: r.ContentHash, ContentType: r.ContentType, Size: r.Size, DepartmentCode: r.DepartmentCode, UploadedBy: r.UploadedBy,
		UploadedByName: r.UploadedByName, Status: material.Status(r.Status), SupersededBy: r.SupersededBy, StatusReason: r.StatusReason,
		CreatedAt: r.CreatedAt.UTC()}
	if r.StatusAt != nil {
		at := r.StatusAt.UTC()
		u.StatusAt = &at
	}
	return u
}

// BlobOf implements material.Store.
func (s *Store) BlobOf(ctx context.Context, hash string) (material.Blob, error) {
	var r blobRow
	if err := s.db.WithContext(ctx).Where("content_hash = ?", hash).Take(&r).Error; err != nil {
		return material.Blob{}, storage.MapError(err, "material blob")
	}
	return material.Blob(r), nil
}

// AddBlob implements material.Store: the first row of a hash wins.
func (s *Store) AddBlob(ctx context.Context, b material.Blob) (material.Blob, bool, error) {
	r := blobRow(b)
	r.CreatedAt = r.CreatedAt.UTC()
	res := s.db.WithContext(ctx).Clauses(clause.OnConflict{DoNothing: true}).Create(&r)
	if res.Error != nil {
		return material.Blob{}, false, storage.MapError(res.Error, "material blob")
	}
	if res.RowsAffected == 1 {
		return b, true, nil
	}
	got, err := s.BlobOf(ctx, b.ContentHash)
	return got, false, err
}

// DeleteBlob implements material.Store.
func (s *Store) DeleteBlob(ctx context.Context, hash string) error {
	return storage.MapError(s.db.WithContext(ctx).Where("content_hash = ?", hash).Delete(&blobRow{}).Error, "material blob")
}

// Create implements material.Store.
func (s *Store) Create(ctx context.Context, u material.Upload, applicantHash string) error {
	r := uploadRow{ID: u.ID, Applicant: u.Applicant, ApplicantHash: applicantHash, MaterialType: u.MaterialType, IssuingAuthority: u.IssuingAuthority,
		IssueDate: u.IssueDate, ValidUntil: u.ValidUntil, ContentHash: u.ContentHash, ContentType: u.ContentType, Size: u.Size, FileName: u.FileName,
		DepartmentCode: u.DepartmentCode, UploadedBy: u.UploadedBy, UploadedByName: u.UploadedByName, CaseNumber: u.CaseNumber, Purpose: u.Purpose,
		Status: string(u.Status), CreatedAt: u.CreatedAt.UTC()}
	return storage.MapError(s.db.WithContext(ctx).Create(&r).Error, "material upload")
}

// Get implements material.Store.
func (s *Store) Get(ctx context.Context, id string) (material.Upload, error) {
	var r uploadRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		if fault.KindOf(storage.MapError(err, "")) == fault.NotFound {
			return material.Upload{}, fault.NotFoundf("material_not_found", "no material upload %s", id)
		}
		return material.Upload{}, storage.MapError(err, "material upload")
	}
	return r.upload(), nil
}

// List implements material.Store, newest first.
func (s *Store) List(ctx context.Context, f material.Filter) ([]material.Upload, error) {
	q := s.db.WithContext(ctx).Model(&uploadRow{})
	if f.Applicant != "" {
		q = q.Where("applicant = ?", f.Applicant)
	}
	if f.SubjectHash != "" {
		q = q.Where("applicant_hash = ?", f.SubjectHash)
	}
	if f.MaterialType != "" {
		q = q.Where("material_type = ?", f.MaterialType)
	}
	if f.Department != "" {
		q = q.Where("department_code = ?", f.Department)
	}
	if !f.All {
		q = q.Where("status = ?", string(material.StatusCurrent))
	}
	if f.Limit <= 0 {
		f.Limit = 100
	}
	var rows []uploadRow
	if err := q.Order("created_at DESC, id").Limit(f.Limit).Offset(f.Offset).Find(&rows).Error; err != nil {
		return nil, storage.MapError(err, "material uploads")
	}
	out := make([]material.Upload, len(rows))
	for i, r := range rows {
		out[i] = r.upload()
	}
	return out, nil
}

// CurrentOf implements material.Store.
func (s *Store) CurrentOf(ctx context.Context, applicant string, types []string) ([]material.Upload, error) {
	var rows []uploadRow
	err := s.db.WithContext(ctx).Where("applicant = ? AND material_type IN ? AND status = ?", applicant, types, string(material.StatusCurrent)).
		Order("created_at DESC, id").Limit(1000).Find(&rows).Error
	if err != nil {
		return nil, storage.MapError(err, "material uploads")
	}
	out := make([]material.Upload, len(rows))
	for i, r := range rows {
		out[i] = r.upload()
	}
	return out, nil
}

// SetStatus implements material.Store.
func (s *Store) SetStatus(ctx context.Context, id string, to material.Status, supersededBy, reason string, at time.Time) error {
	at = at.UTC()
	// Only a current upload is superseded; a superseded one can still be
	// removed or expire.
	from := []string{string(material.StatusCurrent)}
	if to != material.StatusSuperseded {
		from = append(from, string(material.StatusSuperseded))
	}
	res := s.db.WithContext(ctx).Model(&uploadRow{}).Where("id = ? AND status IN ?", id, from).
		Updates(map[string]any{"status": string(to), "superseded_by": supersededBy, "status_reason": reason, "status_at": at})
	if res.Error != nil {
		return storage.MapError(res.Error, "material upload")
	}
	if res.RowsAffected == 0 {
		return fault.Conflictf("material_not_current", "upload %s is no longer %s", id, from[len(from)-1])
	}
	return nil
}

// Live implements material.Store.
func (s *Store) Live(ctx context.Context, hash string) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&uploadRow{}).Where("content_hash = ? AND status IN ?", hash,
		[]string{string(material.StatusCurrent), string(material.StatusSuperseded)}).Count(&n).Error
	return n, storage.MapError(err, "material uploads")
}

// Older implements material.Store.
func (s *Store) Older(ctx context.Context, materialType string, t time.Time, limit int) ([]material.Upload, error) {
	var rows []uploadRow
	err := s.db.WithContext(ctx).Where("material_type = ? AND status IN ? AND created_at < ?", materialType,
		[]string{string(material.StatusCurrent), string(material.StatusSuperseded)}, t.UTC()).Order("created_at").Limit(limit).Find(&rows).Error
	if err != nil {
		return nil, storage.MapError(err, "material uploads")
	}
	out := make([]material.Upload, len(rows))
	for i, r := range rows {
		out[i] = r.upload()
	}
	return out, nil
}

type removalRow struct {
	ID             string `gorm:"primaryKey"`
	UploadID       string
	ApplicantHash  string
	Reason         string
	RequestedBy    string
	RequestedRole  string
	Status         string
	DecidedBy      string
	DecisionReason string
	CreatedAt      time.Time
	DecidedAt      *time.Time
}

func (removalRow) TableName() string { return "material_removal_requests" }

func (r removalRow) removal() material.Removal {
	out := material.Removal{ID: r.ID, UploadID: r.UploadID, Reason: r.Reason, RequestedBy: r.RequestedBy, RequestedRole: r.RequestedRole,
		Status: material.RemovalStatus(r.Status), DecidedBy: r.DecidedBy, DecisionReason: r.DecisionReason, CreatedAt: r.CreatedAt.UTC()}
	if r.DecidedAt != nil {
		at := r.DecidedAt.UTC()
		out.DecidedAt = &at
	}
	return out
}

var _ material.RemovalStore = (*Store)(nil)

// CreateRemoval implements material.RemovalStore.
func (s *Store) CreateRemoval(ctx context.Context, r material.Removal, applicantHash string) error {
	row := removalRow{ID: r.ID, UploadID: r.UploadID, ApplicantHash: applicantHash, Reason: r.Reason, RequestedBy: r.RequestedBy,
		RequestedRole: r.RequestedRole, Status: string(r.Status), CreatedAt: r.CreatedAt.UTC()}
	return storage.MapError(s.db.WithContext(ctx).Create(&row).Error, "material removal request")
}

// Removal implements material.RemovalStore.
func (s *Store) Removal(ctx context.Context, id string) (material.Removal, error) {
	var r removalRow
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		if fault.KindOf(storage.MapError(err, "")) == fault.NotFound {
			return material.Removal{}, fault.NotFoundf("removal_request_not_found", "no removal request %s", id)
		}
		return material.Removal{}, storage.MapError(err, "material removal request")
	}
	return r.removal(), nil
}

// Removals implements material.RemovalStore, oldest first.
func (s *Store) Removals(ctx context.Context, status material.RemovalStatus, limit, offset int) ([]material.Removal, error) {
	q := s.db.WithContext(ctx).Model(&removalRow{})
	if status != "" {
		q = q.Where("status = ?", string(status))
	}
	var rows []removalRow
	if err := q.Order("created_at, id").Limit(limit).Offset(offset).Find(&rows).Error; err != nil {
		return nil, storage.MapError(err, "material removal requests")
	}
	out := make([]material.Removal, len(rows))
	for i, r := range rows {
		out[i] = r.removal()
	}
	return out, nil
}

// DecideRemoval implements material.RemovalStore.
func (s *Store) DecideRemoval(ctx context.Context, id string, to material.RemovalStatus, by, reason string, at time.Time) error {
	at = at.UTC()
	res := s.db.WithContext(ctx).Model(&removalRow{}).Where("id = ? AND status = ?", id, string(material.RemovalPending)).
		Updates(map[string]any{"status": string(to), "decided_by": by, "decision_reason": reason, "decided_at": at})
	if res.Error != nil {
		return storage.MapError(res.Error, "material removal request")
	}
	if res.RowsAffected == 0 {
		if _, err := s.Removal(ctx, id); err != nil {
			return err
		}
		return fault.Conflictf("removal_request_decided", "removal request %s is already decided", id)
	}
	return nil
}
