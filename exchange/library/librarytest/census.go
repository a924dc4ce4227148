// Package librarytest reads what the library holds for a set of published
// subjects, for tests that publish through a hub process and then check
// the library directly in its database (crash and fault tests).
package librarytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"sort"
	"testing"

	"yiku/fieldcrypt"
	"yiku/fieldcrypt/sqlstore"
	"yiku/keyring"
	"yiku/storage"
)

// Census is what the library holds of the subjects a test published: Want
// maps subject key to the record id (content hash) that was published.
type Census struct {
	Want int // subjects asked about
	// Exact holds the subjects whose current record is version 1, carries
	// the published record id, and whose data hashes to it.
	Exact int
	// Missing subjects have no current record.
	Missing []string
	// Wrong subjects have a current record that is not the published one
	// (another id, a data hash off its id, or a version other than 1).
	Wrong []string
	// Duplicated subjects have more than one version in the history.
	Duplicated []string
}

// OK reports whether every subject is in the library exactly once with
// its published content.
func (c Census) OK() bool {
	return c.Exact == c.Want && len(c.Missing) == 0 && len(c.Wrong) == 0 && len(c.Duplicated) == 0
}

func (c Census) String() string {
	return fmt.Sprintf("%d of %d subjects exactly once; %d missing, %d with other content, %d with more than one version%s",
		c.Exact, c.Want, len(c.Missing), len(c.Wrong), len(c.Duplicated), examples(c))
}

func examples(c Census) string {
	s := ""
	for _, l := range []struct {
		name string
		keys []string
	}{{"missing", c.Missing}, {"other content", c.Wrong}, {"duplicated", c.Duplicated}} {
		if len(l.keys) > 0 {
			s += fmt.Sprintf("; %s e.g. %v", l.name, l.keys[:min(3, len(l.keys))])
		}
	}
	return s
}

// Take reads the library rows of resource for want's subjects from the
// database at dbURL: the current record of each (library_records) and
// its number of versions (library_history). keyFile is the hub's data key
// file, with which it opens records whose sensitive fields are encrypted
// before hashing them; "" for a hub without one.
func Take(t testing.TB, ctx context.Context, dbURL, keyFile, resource string, want map[string]string) Census {
	t.Helper()
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fields := cipherOf(t, db, keyFile)
	var current []struct {
		SubjectKey string
		RecordID   string
		Version    int
		Data       string
	}
	if err := db.Gorm.Raw("SELECT subject_key, record_id, version, data FROM library_records WHERE resource_id = ?", resource).Scan(&current).Error; err != nil {
		t.Fatal(err)
	}
	c := Census{Want: len(want)}
	seen := make(map[string]bool, len(want))
	for _, r := range current {
		if fields != nil {
			// Keyed by the subject's pseudonym when the subject is sensitive.
			if r.SubjectKey, err = fields.OpenSubject(ctx, resource, r.SubjectKey); err != nil {
				t.Fatalf("census: open a subject key of %s: %v", resource, err)
			}
		}
		id, ok := want[r.SubjectKey]
		if !ok {
			continue // records the test did not publish (the demo's own)
		}
		seen[r.SubjectKey] = true
		data := []byte(r.Data)
		if fields != nil {
			if data, err = fields.Open(ctx, resource, data); err != nil {
				c.Wrong = append(c.Wrong, r.SubjectKey)
				continue
			}
		}
		sum := sha256.Sum256(data)
		if r.RecordID != id || hex.EncodeToString(sum[:]) != id || r.Version != 1 {
			c.Wrong = append(c.Wrong, r.SubjectKey)
			continue
		}
		c.Exact++
	}
	for k := range want {
		if !seen[k] {
			c.Missing = append(c.Missing, k)
		}
	}
	var history []struct {
		SubjectKey string
		N          int
	}
	if err := db.Gorm.Raw("SELECT subject_key, COUNT(*) AS n FROM library_history WHERE resource_id = ? GROUP BY subject_key HAVING COUNT(*) > 1", resource).Scan(&history).Error; err != nil {
		t.Fatal(err)
	}
	for _, h := range history {
		if fields != nil {
			if h.SubjectKey, err = fields.OpenSubject(ctx, resource, h.SubjectKey); err != nil {
				t.Fatalf("census: open a subject key of %s: %v", resource, err)
			}
		}
		if _, ok := want[h.SubjectKey]; ok {
			c.Duplicated = append(c.Duplicated, h.SubjectKey)
		}
	}
	sort.Strings(c.Missing)
	sort.Strings(c.Wrong)
	sort.Strings(c.Duplicated)
	return c
}

// cipherOf opens the data keys of the hub whose key file is keyFile; nil
// for "" (a hub without one).
func cipherOf(t testing.TB, db *storage.DB, keyFile string) *fieldcrypt.Cipher {
	t.Helper()
	if keyFile == "" {
		return nil
	}
	ring, err := keyring.Load(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	return fieldcrypt.New(ring, sqlstore.New(db.Gorm))
}

// Present counts how many of keys have a current record in resource.
// keyFile is as for Take: with it, a subject is found by its pseudonym too.
func Present(t testing.TB, ctx context.Context, dbURL, keyFile, resource string, keys []string) int {
	t.Helper()
	if len(keys) == 0 {
		return 0
	}
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if fields := cipherOf(t, db, keyFile); fields != nil {
		all := slices.Clone(keys)
		for _, k := range keys {
			p, err := fields.FindSubject(ctx, resource, k)
			if err != nil {
				t.Fatal(err)
			}
			if p != "" {
				all = append(all, p)
			}
		}
		keys = all
	}
	var n int64
	if err := db.Gorm.Raw("SELECT COUNT(*) FROM library_records WHERE resource_id = ? AND subject_key IN ?", resource, keys).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return int(n)
}
