package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
)

// sessionCookie names the cookie holding the session id. The hub stores
// only the id's SHA-256, so a copy of the table signs no one in.
const sessionCookie = "yiku_session"

// sessionRow is one console session (table console_sessions).
type sessionRow struct {
	IDHash      string    `gorm:"column:id_hash;primaryKey"`
	PrincipalID string    `gorm:"column:principal_id"`
	CSRFToken   string    `gorm:"column:csrf_token"`
	ClientAddr  string    `gorm:"column:client_addr"`
	CreatedAt   time.Time `gorm:"column:created_at"`
	LastSeenAt  time.Time `gorm:"column:last_seen_at"`
	ExpiresAt   time.Time `gorm:"column:expires_at"`
}

func (sessionRow) TableName() string { return "console_sessions" }

type sessionStore struct{ db *gorm.DB }

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) string {
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:])
}

// create starts a session for principalID and returns its id (for the
// cookie) and row.
func (s *sessionStore) create(ctx context.Context, principalID, addr string, now time.Time, maxAge time.Duration) (string, sessionRow, error) {
	id := randomToken()
	now = now.UTC()
	row := sessionRow{IDHash: hashID(id), PrincipalID: principalID, CSRFToken: randomToken(), ClientAddr: addr,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(maxAge)}
	if err := s.db.WithContext(ctx).Create(&row).Error; err != nil {
		return "", sessionRow{}, fmt.Errorf("console: create session: %w", err)
	}
	// Sweep sessions past their absolute expiry now and then, so the table
	// does not grow with abandoned sessions.
	if row.IDHash[0] == '0' {
		_ = s.db.WithContext(ctx).Where("expires_at < ?", now).Delete(&sessionRow{}).Error
	}
	return id, row, nil
}

var errNoSession = errors.New("console: no session")

// get returns the live session with id, ending it when it has been idle
// longer than idle or is past its absolute expiry. It records the visit
// at most once a minute.
func (s *sessionStore) get(ctx context.Context, id string, now time.Time, idle time.Duration) (sessionRow, error) {
	if id == "" || len(id) > 100 {
		return sessionRow{}, errNoSession
	}
	var row sessionRow
	err := s.db.WithContext(ctx).Where("id_hash = ?", hashID(id)).Take(&row).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return sessionRow{}, errNoSession
	}
	if err != nil {
		return sessionRow{}, fmt.Errorf("console: read session: %w", err)
	}
	now = now.UTC()
	if !now.Before(row.ExpiresAt) || now.Sub(row.LastSeenAt) > idle {
		_ = s.delete(ctx, id)
		return sessionRow{}, errNoSession
	}
	if now.Sub(row.LastSeenAt) > time.Minute {
		row.LastSeenAt = now
		if err := s.db.WithContext(ctx).Model(&sessionRow{}).Where("id_hash = ?", row.IDHash).Update("last_seen_at", now).Error; err != nil {
			return sessionRow{}, fmt.Errorf("console: touch session: %w", err)
		}
	}
	return row, nil
}

func (s *sessionStore) delete(ctx context.Context, id string) error {
	return s.db.WithContext(ctx).Where("id_hash = ?", hashID(id)).Delete(&sessionRow{}).Error
}
