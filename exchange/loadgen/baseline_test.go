package loadgen_test

import (
	"context"
	"testing"

	"yiku/exchange/loadgen"
	"yiku/storage/storagetest"
)

// The raw PostgreSQL baselines write every row they time (each checks its
// row counts before it answers), in both forms, on a migrated database,
// without touching the hub's own tables or sequences.
func TestRawPostgresBaselinesWriteEveryRow(t *testing.T) {
	if !storagetest.Postgres() {
		t.Skip("needs PostgreSQL (" + storagetest.EnvURL + ")")
	}
	db, url := storagetest.OpenURL(t)
	type seqState struct {
		LastValue int64
		IsCalled  bool
	}
	hubSeq := func() seqState {
		var st seqState
		if err := db.Gorm.Raw(`SELECT last_value, is_called FROM library_history_seq_seq`).Scan(&st).Error; err != nil {
			t.Fatal(err)
		}
		return st
	}
	before := hubSeq()
	var all loadgen.Sample
	for _, k := range []loadgen.Kind{loadgen.KindPopulation, loadgen.KindLegalEntity} {
		s, err := loadgen.NewSample(k, 2500, 7)
		if err != nil {
			t.Fatal(err)
		}
		all.Records = append(all.Records, s.Records...)
	}
	ctx := context.Background()
	multi, err := loadgen.PostgresUpsert(ctx, url, all, 2000)
	if err != nil {
		t.Fatalf("multi-row: %v", err)
	}
	arrays, err := loadgen.PostgresUpsertArrays(ctx, url, all, 2000, 3)
	if err != nil {
		t.Fatalf("arrays: %v", err)
	}
	for _, st := range []loadgen.Stage{multi, arrays} {
		if st.Records != len(all.Records) || st.Rate() <= 0 {
			t.Fatalf("stage %+v, want %d records at a rate > 0", st, len(all.Records))
		}
	}
	// The scratch tables number their rows themselves: the hub's own
	// history sequence is left as it was.
	if after := hubSeq(); after != before {
		t.Fatalf("library_history's sequence moved from %+v to %+v", before, after)
	}
}
