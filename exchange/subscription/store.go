package subscription

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
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

// WithEgress lists every subscription with an egress topic, active or
// cancelled, for the Kafka ACL reconciler.
func (s *Store) WithEgress(ctx context.Context) ([]Subscription, error) {
	var out []Subscription
	if err := s.db.WithContext(ctx).Where("egress_topic <> ''").Find(&out).Error; err != nil {
		return nil, fmt.Errorf("subscription: with egress: %w", err)
	}
	return out, nil
}

// ErrLeaseLost: a delivery's cursor or state update found the
// subscription leased by another instance or its cursor moved; the
// delivery's outcome is not recorded and the other instance carries on.
var ErrLeaseLost = errors.New("subscription: delivery lease lost")

// Deliverable lists active subscriptions with a webhook due now or an
// egress topic that no instance holds a lease on.
func (s *Store) Deliverable(ctx context.Context, now time.Time) ([]Subscription, error) {
	var out []Subscription
	err := s.db.WithContext(ctx).
		Where("status = ? AND ((push_state IN ? AND (push_next_at IS NULL OR push_next_at <= ?)) OR egress_topic <> '') AND (lease_until IS NULL OR lease_until < ?)",
			StatusActive, []string{PushActive, PushRetrying}, now.UTC(), now.UTC()).
		Find(&out).Error
	if err != nil {
		return nil, fmt.Errorf("subscription: deliverable: %w", err)
	}
	return out, nil
}

// Claim takes the delivery lease of an active subscription for owner
// until now+ttl, if no other instance holds an unexpired one. It is one
// conditional UPDATE, so of several instances racing for it one wins. It
// returns the subscription as it is under the lease.
func (s *Store) Claim(ctx context.Context, id, owner string, now time.Time, ttl time.Duration) (Subscription, bool, error) {
	res := s.db.WithContext(ctx).Exec(
		"UPDATE subscriptions SET leased_by = ?, lease_until = ? WHERE id = ? AND status = ? AND (lease_until IS NULL OR lease_until < ? OR leased_by = ?)",
		owner, now.Add(ttl).UTC(), id, StatusActive, now.UTC(), owner)
	if res.Error != nil {
		return Subscription{}, false, fmt.Errorf("subscription: claim %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return Subscription{}, false, nil
	}
	sub, err := s.Get(ctx, id)
	if err != nil {
		return Subscription{}, false, err
	}
	return sub, sub.LeasedBy == owner, nil
}

// Release gives up owner's lease on a subscription.
func (s *Store) Release(ctx context.Context, id, owner string) error {
	err := s.db.WithContext(ctx).Exec("UPDATE subscriptions SET leased_by = '', lease_until = NULL WHERE id = ? AND leased_by = ?", id, owner).Error
	if err != nil {
		return fmt.Errorf("subscription: release %s: %w", id, err)
	}
	return nil
}

// leased updates a subscription only if owner holds its lease and the
// named cursor is still from: a compare-and-set, so an instance whose
// lease expired mid-delivery cannot move a cursor back or overwrite the
// state another instance recorded since.
func (s *Store) leased(ctx context.Context, id, owner, cursor string, from int64, fields map[string]any) error {
	fields["updated_at"] = time.Now().UTC()
	res := s.db.WithContext(ctx).Model(&Subscription{}).
		Where("id = ? AND leased_by = ? AND "+cursor+" = ?", id, owner, from).Updates(fields)
	if res.Error != nil {
		return fmt.Errorf("subscription: update %s: %w", id, res.Error)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("%w: %s (%s no longer %d)", ErrLeaseLost, id, cursor, from)
	}
	return nil
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

// PushDelivered records a successful webhook delivery from cursor from to
// cursor to, under owner's lease.
func (s *Store) PushDelivered(ctx context.Context, id, owner string, from, to int64) error {
	return s.leased(ctx, id, owner, "push_cursor", from, map[string]any{"push_cursor": to, "push_state": PushActive, "push_attempts": 0, "push_next_at": nil, "push_last_error": "", "stopped_reason": ""})
}

// PushFailed records a failed webhook attempt of the batch after cursor
// from, under owner's lease: retry at next, or park.
func (s *Store) PushFailed(ctx context.Context, id, owner string, from int64, attempts int, next time.Time, park bool, reason string) error {
	state := PushRetrying
	if park {
		state = PushParked
	}
	return s.leased(ctx, id, owner, "push_cursor", from, map[string]any{"push_state": state, "push_attempts": attempts, "push_next_at": next.UTC(), "push_last_error": reason})
}

// ResumePush takes a parked webhook back into delivery.
func (s *Store) ResumePush(ctx context.Context, id string) error {
	return s.update(ctx, id, map[string]any{"push_state": PushActive, "push_attempts": 0, "push_next_at": nil})
}

// EgressDelivered moves the egress cursor from from to to, under owner's lease.
func (s *Store) EgressDelivered(ctx context.Context, id, owner string, from, to int64) error {
	return s.leased(ctx, id, owner, "egress_cursor", from, map[string]any{"egress_cursor": to, "stopped_reason": ""})
}

// Stopped records why deliveries are held (e.g. the grant was revoked).
func (s *Store) Stopped(ctx context.Context, id, reason string) error {
	return s.update(ctx, id, map[string]any{"stopped_reason": reason})
}
