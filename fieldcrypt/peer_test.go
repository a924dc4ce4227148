package fieldcrypt_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"yiku/cryptosuite"
	"yiku/fieldcrypt"
)

// TestPeerKeys: the upstream hub opens what the downstream hub sealed
// (fields and subject pseudonyms) with the keys it exported, stored under
// a prefix apart from its own keys of a resource with the same id; an
// import is idempotent, and a hub without a key-encryption key of the
// keys' suite refuses them.
func TestPeerKeys(t *testing.T) {
	ctx := context.Background()
	district, _ := newCipher(t, cryptosuite.SM)
	city, _ := newCipher(t, cryptosuite.SM)
	rec := []byte(`{"id_number":"11010519491231002X","name":"张三","sex":"1"}`)
	sealed, _, err := district.Seal(ctx, "population", []string{"id_number", "name"}, rec)
	if err != nil {
		t.Fatal(err)
	}
	key, err := district.SealSubject(ctx, "population", "11010519491231002X")
	if err != nil {
		t.Fatal(err)
	}
	peer := city.Under("peer:431302:")
	if _, err := peer.Open(ctx, "population", sealed); !errors.Is(err, fieldcrypt.ErrNoKey) {
		t.Fatalf("open before the keys were handed over: %v, want ErrNoKey", err)
	}
	if _, err := peer.OpenSubject(ctx, "population", key); !errors.Is(err, fieldcrypt.ErrNoKey) {
		t.Fatalf("open a pseudonym before the keys were handed over: %v, want ErrNoKey", err)
	}
	keys, err := district.ExportKeys(ctx, "population")
	if err != nil || len(keys) != 1 || keys[0].Version != 1 || keys[0].Suite != cryptosuite.SM {
		t.Fatalf("export = %+v, %v", keys, err)
	}
	for want := 1; want >= 0; want-- {
		if n, err := city.ImportKeys(ctx, "peer:431302:population", keys); err != nil || n != want {
			t.Fatalf("import = %d, %v; want %d stored", n, err, want)
		}
	}
	if back, err := peer.Open(ctx, "population", sealed); err != nil || !bytes.Equal(back, rec) {
		t.Fatalf("open at the city = %s, %v", back, err)
	}
	if s, err := peer.OpenSubject(ctx, "population", key); err != nil || s != "11010519491231002X" {
		t.Fatalf("open subject at the city = %q, %v", s, err)
	}
	// The city's own population keys are its own.
	own, err := city.SealSubject(ctx, "population", "11010519491231002X")
	if err != nil || own == key {
		t.Fatalf("the city's own pseudonym %q, %v; the district's %q", own, err, key)
	}
	if _, err := city.Open(ctx, "population", sealed); !errors.Is(err, fieldcrypt.ErrSealed) {
		t.Fatalf("the city's own key opened the district's value: %v", err)
	}
	// No KEK of the suite: refused.
	aes, _ := newCipher(t, cryptosuite.Default)
	if _, err := aes.ImportKeys(ctx, "peer:431302:population", keys); err == nil {
		t.Fatal("a hub without an sm key-encryption key imported an sm data key")
	}
}
