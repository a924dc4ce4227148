package identity

import (
	"context"
	"time"

	"yiku/fault"
)

// ExpiryTolerance is how far in the past a requested expiry may lie and
// still mean "now": the clocks of the caller and the hub differ a little, and
// a form filled in a minute ago should not be refused for it.
const ExpiryTolerance = time.Minute

// NewExpiry applies the rule for setting k's expiry to at, evaluated at now,
// and returns the expiry to store. A zero at, or one within ExpiryTolerance
// before now, means now: the key stops working at once. An expiry may only
// bring a key's end closer: a key's life is extended by issuing a new key,
// so that whoever checks the old one's lifetime at issue keeps a true answer.
// A revoked or already expired key cannot be changed.
func (k APIKey) NewExpiry(at, now time.Time) (time.Time, error) {
	if k.RevokedAt != nil {
		return time.Time{}, fault.Conflictf("api_key_revoked", "api key %s was revoked at %s", k.ID, k.RevokedAt.UTC().Format(time.RFC3339))
	}
	if k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return time.Time{}, fault.Conflictf("api_key_expired", "api key %s expired at %s", k.ID, k.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if at.IsZero() {
		at = now
	}
	if at.Before(now.Add(-ExpiryTolerance)) {
		return time.Time{}, fault.Invalidf("expiry_in_past", "expiry %s lies in the past: use a time from now on, or none for now", at.UTC().Format(time.RFC3339)).
			WithDetails(fault.Detail{Field: "at", Reason: "not before now"})
	}
	if at.Before(now) {
		at = now
	}
	// Stores keep microseconds; the expiry compared later is the stored one.
	at = at.UTC().Truncate(time.Microsecond)
	if k.ExpiresAt != nil && at.After(*k.ExpiresAt) {
		return time.Time{}, fault.Conflictf("expiry_extension", "api key %s expires at %s; an expiry can only be brought forward: issue a new key for a longer life", k.ID, k.ExpiresAt.UTC().Format(time.RFC3339)).
			WithDetails(fault.Detail{Field: "at", Reason: "not after the key's current expiry"})
	}
	return at, nil
}

// ExpireAPIKey sets key id's expiry to at (zero: now) under the rule of
// APIKey.NewExpiry and drops the key from this instance's cache, so from its
// expiry on it stops working here at once and within the cache's lifetime
// on other instances.
func (a *Authenticator) ExpireAPIKey(ctx context.Context, id string, at time.Time) (APIKey, error) {
	// The update changes the row only as it was read; a revoke or another
	// expiry in between makes it read again and apply the rule afresh.
	for attempt := 0; attempt < 3; attempt++ {
		row, err := a.store.apiKey(ctx, id)
		if err != nil {
			return APIKey{}, err
		}
		exp, err := row.domain().NewExpiry(at, a.now())
		if err != nil {
			return APIKey{}, err
		}
		ok, err := a.store.setAPIKeyExpiry(ctx, row, exp)
		if err != nil {
			return APIKey{}, err
		}
		if ok {
			a.forgetKey(id)
			row.ExpiresAt = &exp
			return row.domain(), nil
		}
	}
	return APIKey{}, fault.Conflictf("api_key_busy", "api key %s is being changed by another request; try again", id)
}
