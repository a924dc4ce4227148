package sharing

import (
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// RecordIDKey derives the key of the record ids shown to partial views
// from the hub secret (HKDF-SHA256, its own label), so every instance
// sharing the secret shows the same ids and the key reveals nothing else.
func RecordIDKey(secret []byte) ([]byte, error) {
	if len(secret) < 32 {
		return nil, fmt.Errorf("sharing: secret must be at least 32 bytes, got %d", len(secret))
	}
	k, err := hkdf.Key(sha256.New, secret, nil, "yiku record id v1", 32)
	if err != nil {
		return nil, fmt.Errorf("sharing: derive record id key: %w", err)
	}
	return k, nil
}

// RecordID is the id of a library record as this decision's reader sees
// it. The library's id is the SHA-256 of the full canonical record, so a
// reader who sees only part of a record could confirm a guess of the rest
// by hashing it. The provider, who sees every field, gets that id; every
// other reader gets HMAC-SHA256 of it under a key derived from the hub
// secret, 64 hex digits as before: stable across reads, subscriptions
// and instances, equal for equal library ids, and revealing nothing about
// the fields the reader cannot see. A decision not made by the Gatekeeper
// has no key and shows no id (the empty string) rather than one anyone
// could recompute.
func (d Decision) RecordID(libraryID string) string {
	if d.Basis == BasisProvider {
		return libraryID
	}
	if len(d.recordKey) == 0 {
		return ""
	}
	return ViewRecordID(d.recordKey, libraryID)
}

// ViewRecordID is the keyed record id under key (RecordIDKey of the hub
// secret): for operators and tests matching a library id to what readers
// were shown.
func ViewRecordID(key []byte, libraryID string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(libraryID))
	return hex.EncodeToString(m.Sum(nil))
}
