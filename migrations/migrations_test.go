package migrations_test

import (
	"context"
	"testing"

	"yiku/storage/storagetest"
)

// TestUpDownUp proves every migration can be rolled back and re-applied, and
// that rows written before a rollback of later versions survive.
func TestUpDownUp(t *testing.T) {
	ctx := context.Background()
	db := storagetest.Open(t)
	r, err := db.Migrator()
	if err != nil {
		t.Fatal(err)
	}
	top, err := r.Version(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if top < 1 {
		t.Fatalf("version after up = %d, want >= 1", top)
	}
	if err := db.Gorm.Exec(`INSERT INTO departments (code, name, level) VALUES ('431302000000', '娄星区', 'district')`).Error; err != nil {
		t.Fatal(err)
	}
	// Roll back everything above the foundation, re-apply, and check the row survived.
	if err := r.DownTo(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.Gorm.Raw(`SELECT count(*) FROM departments`).Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("departments after down/up = %d, want 1", n)
	}
	// Now all the way down and up again.
	if err := r.DownTo(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if v, _ := r.Version(ctx); v != 0 {
		t.Fatalf("version after full down = %d", v)
	}
	if _, err := r.Up(ctx); err != nil {
		t.Fatal(err)
	}
	st, err := r.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range st {
		if !s.Applied {
			t.Errorf("migration %d (%s) not applied after up", s.Version, s.Name)
		}
	}
	if v, _ := r.Version(ctx); v != top {
		t.Fatalf("version after re-up = %d, want %d", v, top)
	}
}
