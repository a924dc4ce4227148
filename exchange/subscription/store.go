package subscription

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"gorm.io/gorm"

	"yiku/fault"
	"yiku/storage"
)

// Store keeps subscriptions and their cursors.
type Store struct{ db *gorm.DB }

// NewStore returns the subscription store on db.
func NewStore(db *storage.DB) *Store { return &Store{db: db.Gorm} }

func (Subscription) TableName() string { return "subscriptions" }

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "sub-" + hex.EncodeToString(b)
}

// Create stores a new subscription.
func (s *Store) Create(ctx context.Context, sub Subscription) error {
	if err := s.db.WithContext(ctx).Create(&sub).Error; err != nil {
		return storage.MapError(err, "subscription")
	}
	return nil
}

// Get returns a subscription by id.
func (s *Store) Get(ctx context.Context, id string) (Subscription, error) {
	var sub Subscription
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&sub).Error; err != nil {
		if fault.KindOf(storage.MapError(err, "subscription")) == fault.NotFound {
			return Subscription{}, fault.NotFoundf("subscription_not_found", "no subscription %s", id)
		}
		return Subscription{}, fmt.Errorf("subscription: get %s: %w", id, err)
	}
	return sub, nil
}

// ByDepartment lists a department's subscriptions, newest first.
func (s *Store) ByDepartment(ctx context.Context, dept string) ([]Subscription, error) {
	out := []Subscription{}
	if err := s.db.WithContext(ctx).Where("department_code = ?", dept).Order("created_at DESC").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("subscription: list %s: %w", dept, err)
	}
	return out, nil
}

// Deliverable lists active subscriptions with a webhook due now or an
// egress topic.
func (s *Store) Deliverable(ctx context.Context, now time.Time) ([]Subscription, error) {
	var out []Subscription
	err := s.db.WithContext(ctx).
		Where("status = ? AND ((push_state IN ? AND (push_next_at IS NULL OR push_next_at <= ?)) OR egress_topic <> '')", StatusActive, []string{PushActive, PushRetrying}, now.UTC()).
		Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("subscription: deliverable: %w", err)
	}
	return out, nil
}

func (s *Store) update(ctx context.Context, id string, fields map[string]any) error {
	fields["updated_at"] = time.Now().UTC()
	if err := s.db.WithContext(ctx).Model(&Subscription{}).Where("id = ?", id).Updates(fields).Error; err != nil {
		return fmt.Errorf("subscription: update %s: %w", id, err)
	}
	return nil
}

// SetStatus sets a subscription's status.
func (s *Store) SetStatus(ctx context.Context, id, status string) error {
	return s.update(ctx, id, map[string]any{"status": status})
}

// AdvancePull moves the pull cursor forward (never back).
func (s *Store) AdvancePull(ctx context.Context, id string, cursor int64) error {
	err := s.db.WithContext(ctx).Exec("UPDATE subscriptions SET pull_cursor = ?, updated_at = ? WHERE id = ? AND pull_cursor < ?", cursor, time.Now().UTC(), id, cursor).Error
	if err != nil {
		return fmt.Errorf("subscription: ack %s: %w", id, err)
	}
	return nil
}

// PushDelivered records a successful webhook delivery up to cursor.
func (s *Store) PushDelivered(ctx context.Context, id string, cursor int64) error {
	return s.update(ctx, id, map[string]any{"push_cursor": cursor, "push_state": PushActive, "push_attempts": 0, "push_next_at": nil, "push_last_error": "", "stopped_reason": ""})
}

// PushFailed records a failed webhook attempt: retry at next, or park.
func (s *Store) PushFailed(ctx context.Context, id string, attempts int, next time.Time, park bool, reason string) error {
	state := PushRetrying
	if park {
		state = PushParked
	}
	return s.update(ctx, id, map[string]any{"push_state": state, "push_attempts": attempts, "push_next_at": next.UTC(), "push_last_error": reason})
}

// ResumePush takes a parked webhook back into delivery.
func (s *Store) ResumePush(ctx context.Context, id string) error {
	return s.update(ctx, id, map[string]any{"push_state": PushActive, "push_attempts": 0, "push_next_at": nil})
}

// EgressDelivered moves the egress cursor.
func (s *Store) EgressDelivered(ctx context.Context, id string, cursor int64) error {
	return s.update(ctx, id, map[string]any{"egress_cursor": cursor, "stopped_reason": ""})
}

// Stopped records why deliveries are held (e.g. the grant was revoked).
func (s *Store) Stopped(ctx context.Context, id, reason string) error {
	return s.update(ctx, id, map[string]any{"stopped_reason": reason})
}
