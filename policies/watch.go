package policies

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"yiku/periodic"
)

// RoleWatcher keeps an enforcer's role assignments equal to the database's
// when other hub instances change them: it compares a cheap fingerprint of
// the stored rules (count and highest id) every Interval with the one read
// just before the enforcer last loaded them, and reloads when they differ.
// An insert raises the highest id and a delete lowers the count, so every
// change is seen within one interval — also one made while this instance
// was starting, between its first load and the watcher's first look.
type RoleWatcher struct {
	Enforcer *Enforcer
	Interval time.Duration
	Log      *slog.Logger
}

// Name names the worker.
func (w *RoleWatcher) Name() string { return "api-policy-watch" }

// Run checks at once and then every Interval until ctx ends. A failed
// check is logged and tried again; Run returns nil when ctx ends.
func (w *RoleWatcher) Run(ctx context.Context) error {
	interval := w.Interval
	if interval <= 0 {
		interval = time.Second
	}
	periodic.Run(ctx, interval, w.Log, "api policy watch", func(ctx context.Context) error {
		fp, err := w.Enforcer.fingerprint(ctx)
		if err != nil || fp == w.Enforcer.loadedFingerprint() {
			return err
		}
		return w.Enforcer.reload(ctx)
	})
	return nil
}

type ruleFingerprint struct {
	Count int64
	MaxID int64
}

func (en *Enforcer) fingerprint(ctx context.Context) (ruleFingerprint, error) {
	var fp ruleFingerprint
	err := en.db.WithContext(ctx).Raw(`SELECT count(*) AS count, coalesce(max(id), 0) AS max_id FROM casbin_rule WHERE ptype IN ('p', 'g')`).Scan(&fp).Error
	if err != nil {
		return fp, fmt.Errorf("policies: fingerprint: %w", err)
	}
	return fp, nil
}
