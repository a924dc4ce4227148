// Package sqlstore keeps the wrapped data keys of package fieldcrypt in the
// table record_data_keys (PostgreSQL or SQLite, through gorm).
package sqlstore

import (
	"context"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/cryptosuite"
	"yiku/fieldcrypt"
	"yiku/storage"
)

// Store is the gorm store of wrapped data keys.
type Store struct{ db *gorm.DB }

var _ fieldcrypt.Store = (*Store)(nil)

// New returns the store on db.
func New(db *gorm.DB) *Store { return &Store{db: db} }

type row struct {
	ResourceID  string
	KeyVersion  int
	Suite       string
	KEKID       string `gorm:"column:kek_id"`
	Wrapped     []byte
	CreatedAt   time.Time
	RewrappedAt *time.Time
}

func (row) TableName() string { return "record_data_keys" }

func (r row) key() fieldcrypt.StoredKey {
	return fieldcrypt.StoredKey{Resource: r.ResourceID, Version: r.KeyVersion, Suite: cryptosuite.Name(r.Suite), KEK: r.KEKID, Wrapped: r.Wrapped, Created: r.CreatedAt}
}

// Keys implements fieldcrypt.Store.
func (s *Store) Keys(ctx context.Context, resource string) ([]fieldcrypt.StoredKey, error) {
	var rows []row
	if err := s.db.WithContext(ctx).Where("resource_id = ?", resource).Find(&rows).Error; err != nil {
		return nil, storage.MapError(err, "data keys")
	}
	out := make([]fieldcrypt.StoredKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// AllKeys implements fieldcrypt.Store.
func (s *Store) AllKeys(ctx context.Context) ([]fieldcrypt.StoredKey, error) {
	var rows []row
	if err := s.db.WithContext(ctx).Order("resource_id, key_version").Find(&rows).Error; err != nil {
		return nil, storage.MapError(err, "data keys")
	}
	out := make([]fieldcrypt.StoredKey, len(rows))
	for i, r := range rows {
		out[i] = r.key()
	}
	return out, nil
}

// AddKey implements fieldcrypt.Store.
func (s *Store) AddKey(ctx context.Context, k fieldcrypt.StoredKey) error {
	err := s.db.WithContext(ctx).Exec(`INSERT INTO record_data_keys (resource_id, key_version, suite, kek_id, wrapped, created_at)
VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (resource_id, key_version) DO NOTHING`,
		k.Resource, k.Version, string(k.Suite), k.KEK, k.Wrapped, k.Created.UTC()).Error
	if err != nil {
		return fmt.Errorf("fieldcrypt: add data key: %w", storage.MapError(err, "data key"))
	}
	return nil
}

// Rewrap implements fieldcrypt.Store.
func (s *Store) Rewrap(ctx context.Context, resource string, version int, old, wrapped []byte, kek string, at time.Time) (bool, error) {
	res := s.db.WithContext(ctx).Exec(`UPDATE record_data_keys SET wrapped = ?, kek_id = ?, rewrapped_at = ?
WHERE resource_id = ? AND key_version = ? AND wrapped = ?`, wrapped, kek, at.UTC(), resource, version, old)
	if res.Error != nil {
		return false, fmt.Errorf("fieldcrypt: rewrap data key: %w", storage.MapError(res.Error, "data key"))
	}
	return res.RowsAffected == 1, nil
}
