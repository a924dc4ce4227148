// Package sqlstore keeps the hub's Kafka credential rows (table
// kafka_credentials, migration 00020) with gorm on PostgreSQL or SQLite:
// who a SCRAM user is for, its state and when it changed, never a
// password.
package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/fault"
	"yiku/kafkaacl"
	"yiku/storage"
)

// Store implements kafkaacl.Store.
type Store struct{ db *gorm.DB }

var _ kafkaacl.Store = (*Store)(nil)

// New returns the store on db.
func New(db *storage.DB) *Store { return &Store{db: db.Gorm} }

type row struct {
	Username       string `gorm:"primaryKey"`
	Kind           string
	Owner          string
	DepartmentCode string
	State          string
	CreatedAt      time.Time
	RotatedAt      time.Time
	RevokedAt      *time.Time
}

func (row) TableName() string { return "kafka_credentials" }

func (r row) domain() kafkaacl.Credential {
	c := kafkaacl.Credential{User: r.Username, Kind: kafkaacl.Kind(r.Kind), Owner: r.Owner, Department: r.DepartmentCode, State: r.State,
		CreatedAt: r.CreatedAt.UTC(), RotatedAt: r.RotatedAt.UTC()}
	if r.RevokedAt != nil {
		t := r.RevokedAt.UTC()
		c.RevokedAt = &t
	}
	return c
}

// Get returns the credential of user.
func (s *Store) Get(ctx context.Context, user string) (kafkaacl.Credential, error) {
	var r row
	err := s.db.WithContext(ctx).Where("username = ?", user).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return kafkaacl.Credential{}, fault.NotFoundf("kafka_credentials_not_found", "no Kafka credentials %s", user)
	}
	if err != nil {
		return kafkaacl.Credential{}, fmt.Errorf("kafka credentials: get %s: %w", user, err)
	}
	return r.domain(), nil
}

// Claim inserts c as active, or makes a revoked or removed row of the same
// user active again; an active row is a conflict.
func (s *Store) Claim(ctx context.Context, c kafkaacl.Credential) error {
	return s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		res := tx.Model(&row{}).Where("username = ? AND state <> ?", c.User, kafkaacl.StateActive).Updates(map[string]any{
			"kind": string(c.Kind), "owner": c.Owner, "department_code": c.Department, "state": kafkaacl.StateActive,
			"created_at": c.CreatedAt, "rotated_at": c.RotatedAt, "revoked_at": nil,
		})
		if res.Error != nil {
			return fmt.Errorf("kafka credentials: claim %s: %w", c.User, res.Error)
		}
		if res.RowsAffected == 1 {
			return nil
		}
		err := tx.Create(&row{Username: c.User, Kind: string(c.Kind), Owner: c.Owner, DepartmentCode: c.Department, State: kafkaacl.StateActive,
			CreatedAt: c.CreatedAt, RotatedAt: c.RotatedAt}).Error
		if err != nil {
			if fault.KindOf(storage.MapError(err, "kafka credentials")) == fault.Conflict {
				return fault.Conflictf("kafka_credentials_active", "Kafka credentials %s are active", c.User)
			}
			return fmt.Errorf("kafka credentials: claim %s: %w", c.User, err)
		}
		return nil
	})
}

// Rotated moves rotated_at from prev to now on an active row.
func (s *Store) Rotated(ctx context.Context, user string, prev, now time.Time) error {
	res := s.db.WithContext(ctx).Model(&row{}).Where("username = ? AND state = ? AND rotated_at = ?", user, kafkaacl.StateActive, prev).
		Update("rotated_at", now)
	if res.Error != nil {
		return fmt.Errorf("kafka credentials: rotate %s: %w", user, res.Error)
	}
	if res.RowsAffected == 0 {
		return fault.Conflictf("kafka_credentials_changed", "Kafka credentials %s changed meanwhile", user)
	}
	return nil
}

// SetState changes a row's state; revoking sets revoked_at.
func (s *Store) SetState(ctx context.Context, user, state string, at time.Time) error {
	fields := map[string]any{"state": state}
	if state == kafkaacl.StateRevoked {
		fields["revoked_at"] = at
	}
	if err := s.db.WithContext(ctx).Model(&row{}).Where("username = ?", user).Updates(fields).Error; err != nil {
		return fmt.Errorf("kafka credentials: %s %s: %w", state, user, err)
	}
	return nil
}

// List returns the rows in states (all without), by user name.
func (s *Store) List(ctx context.Context, states ...string) ([]kafkaacl.Credential, error) {
	q := s.db.WithContext(ctx).Order("username")
	if len(states) > 0 {
		q = q.Where("state IN ?", states)
	}
	var rows []row
	if err := q.Find(&rows).Error; err != nil {
		return nil, fmt.Errorf("kafka credentials: list: %w", err)
	}
	out := make([]kafkaacl.Credential, len(rows))
	for i, r := range rows {
		out[i] = r.domain()
	}
	return out, nil
}
