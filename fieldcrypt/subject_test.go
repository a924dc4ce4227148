package fieldcrypt_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"yiku/cryptosuite"
	"yiku/fieldcrypt"
	"yiku/fieldcrypt/sqlstore"
	"yiku/keyring"
	"yiku/storage/storagetest"
)

// TestSubjectPseudonyms: a subject's pseudonym is the same on every call
// and every instance, holds no part of the subject, differs between
// subjects and between resources, opens back to the subject, and refuses
// alteration and moving, in both suites.
func TestSubjectPseudonyms(t *testing.T) {
	ctx := context.Background()
	const id = "11010519491231002X"
	for _, suite := range cryptosuite.Names() {
		t.Run(string(suite), func(t *testing.T) {
			st := sqlstore.New(storagetest.Open(t).Gorm)
			ring := keyring.NewForTest(cryptosuite.Must(suite))
			c := fieldcrypt.New(ring, st)
			if got, err := c.FindSubject(ctx, "population", id); err != nil || got != "" {
				t.Fatalf("find before any key = %q, %v; want none", got, err)
			}
			p, err := c.SealSubject(ctx, "population", id)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(p, "ykp1.1."+string(suite)+".") || !fieldcrypt.SealedSubject(p) {
				t.Fatalf("pseudonym %q", p)
			}
			for _, part := range []string{id, id[:6], id[6:14], id[14:]} {
				if strings.Contains(p, part) {
					t.Fatalf("pseudonym %q holds %q", p, part)
				}
			}
			again, _ := c.SealSubject(ctx, "population", id)
			found, _ := c.FindSubject(ctx, "population", id)
			// Another instance over the same store and key file.
			other := fieldcrypt.New(ring, st)
			fromOther, err := other.SealSubject(ctx, "population", id)
			if err != nil {
				t.Fatal(err)
			}
			if again != p || found != p || fromOther != p {
				t.Fatalf("pseudonyms differ: %q %q %q %q", p, again, found, fromOther)
			}
			if back, err := other.OpenSubject(ctx, "population", p); err != nil || back != id {
				t.Fatalf("open = %q, %v", back, err)
			}
			q, _ := c.SealSubject(ctx, "population", "110105194912310038")
			r, _ := c.SealSubject(ctx, "marriage", id)
			if q == p || r == p {
				t.Fatalf("pseudonyms collide: %q %q %q", p, q, r)
			}
			// A key that is not a pseudonym is returned as it is.
			if back, err := c.OpenSubject(ctx, "population", "91430100MA4L0XXXXX"); err != nil || back != "91430100MA4L0XXXXX" {
				t.Fatalf("open of a plain key = %q, %v", back, err)
			}
			// Altered anywhere, moved to another resource, or another
			// encryption of the same subject (not the canonical one): refused.
			bad := []string{r}
			for _, i := range []int{len(p) - 1, len(p) - 20, len("ykp1.1." + string(suite) + ".")} {
				b := []byte(p)
				if b[i] == 'A' {
					b[i] = 'B'
				} else {
					b[i] = 'A'
				}
				bad = append(bad, string(b))
			}
			bad = append(bad, strings.Replace(p, "ykp1.1.", "ykp1.2.", 1), "ykp1.", "ykp1.1."+string(suite)+".", p+"A")
			for _, k := range bad {
				if got, err := c.OpenSubject(ctx, "population", k); !errors.Is(err, fieldcrypt.ErrSealed) {
					t.Errorf("open %q = %q, %v; want ErrSealed", k, got, err)
				}
			}
		})
	}
}

// TestSubjectPseudonymsSurviveRotation: a rotation of the key-encryption
// key and a switch of suite leave every pseudonym as it was: the index
// keys derive from the resource's first data key, which rotation only
// re-wraps.
func TestSubjectPseudonymsSurviveRotation(t *testing.T) {
	ctx := context.Background()
	path, _, load := keyFile(t)
	before, err := load().SealSubject(ctx, "population", "11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	for _, suite := range []cryptosuite.Name{cryptosuite.Default, cryptosuite.SM} {
		if _, err := keyring.Rotate(path, suite); err != nil {
			t.Fatal(err)
		}
		c := load()
		if _, err := c.Rewrap(ctx); err != nil {
			t.Fatal(err)
		}
		// New field values are sealed with a newer data key of the new suite.
		if _, _, err := c.Seal(ctx, "population", []string{"id_number"}, []byte(`{"id_number":"1"}`)); err != nil {
			t.Fatal(err)
		}
		after, err := c.SealSubject(ctx, "population", "11010519491231002X")
		if err != nil || after != before {
			t.Fatalf("after rotating to %s: %q, %v; want %q", suite, after, err, before)
		}
		if back, err := c.OpenSubject(ctx, "population", before); err != nil || back != "11010519491231002X" {
			t.Fatalf("open after rotating to %s = %q, %v", suite, back, err)
		}
	}
}

// FuzzOpenSubject: no key but the pseudonym this cipher made opens to a
// subject, and no text makes OpenSubject panic.
func FuzzOpenSubject(f *testing.F) {
	ctx := context.Background()
	c, _ := newCipher(f, cryptosuite.Default)
	genuine, err := c.SealSubject(ctx, "population", "11010519491231002X")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(genuine)
	f.Add("ykp1.1.default.")
	f.Add("ykp1.1.sm.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("11010519491231002X")
	f.Fuzz(func(t *testing.T, key string) {
		got, err := c.OpenSubject(ctx, "population", key)
		switch {
		case key == genuine:
			if err != nil || got != "11010519491231002X" {
				t.Fatalf("genuine pseudonym: %q, %v", got, err)
			}
		case fieldcrypt.SealedSubject(key):
			if err == nil {
				t.Fatalf("forged pseudonym %q opened to %q", key, got)
			}
		default:
			if err != nil || got != key {
				t.Fatalf("plain key %q: %q, %v", key, got, err)
			}
		}
	})
}

// BenchmarkSubjectPseudonym: what keying a record by its subject's
// pseudonym adds: one SealSubject at publish, one OpenSubject in the sink,
// and one FindSubject per resource a read by subject asks (keys cached, as
// in a running hub).
func BenchmarkSubjectPseudonym(b *testing.B) {
	ctx := context.Background()
	for _, suite := range cryptosuite.Names() {
		c, _ := newCipher(b, suite)
		p, err := c.SealSubject(ctx, "population", "11010519491231002X")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(string(suite)+"/seal", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.SealSubject(ctx, "population", "11010519491231002X"); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(string(suite)+"/open", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.OpenSubject(ctx, "population", p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
