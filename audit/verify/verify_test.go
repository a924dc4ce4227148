package verify_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/journal"
	"yiku/audit/store"
	"yiku/audit/verify"
	"yiku/migrations"
	"yiku/storage"
	"yiku/storage/storagetest"
)

func keys(t testing.TB) audit.Keys {
	t.Helper()
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	k, err := audit.DeriveKeys(secret)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// seed writes n events on one chain, checkpointing after cp of them, and
// returns their ids in seq order.
func seed(t testing.TB, db *storage.DB, k audit.Keys, n, cp int) (*journal.Journal, []string) {
	t.Helper()
	ctx := context.Background()
	j, err := journal.New(ctx, store.New(db.Gorm), k)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("ev-%03d", i+1)
		e := audit.Event{ID: id, Time: time.Unix(1700000000+int64(i), 0), PrincipalID: "p1", PrincipalName: "officer-gsc",
			Department: "lx-gsc", Role: "officer", Action: "record.read", Resource: "population",
			Subjects: []string{"43130219900101001X"}, Fields: []string{"name", "id_number"}, Purpose: "审批", CaseNumber: "LX-1", Outcome: audit.Allowed}
		if err := j.Record(ctx, e); err != nil {
			t.Fatal(err)
		}
		if i+1 == cp {
			if _, err := j.Checkpoint(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	ids := make([]string, n)
	for i := range ids {
		ids[i] = fmt.Sprintf("ev-%03d", i+1)
	}
	return j, ids
}

// unlock drops the append-only protection, as someone with direct database
// access would, so the test can tamper with rows.
func unlock(t testing.TB, db *storage.DB) {
	t.Helper()
	var stmts []string
	if db.Dialect == migrations.Postgres {
		stmts = []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`, `ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`}
	} else {
		stmts = []string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`, `DROP TRIGGER audit_checkpoints_no_delete`}
	}
	for _, s := range stmts {
		if err := db.Gorm.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func run(t testing.TB, db *storage.DB, pub ed25519.PublicKey) verify.Report {
	t.Helper()
	rep, err := verify.Run(context.Background(), db.SQL(), verify.Options{PublicKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

func TestIntactTrailVerifies(t *testing.T) {
	db := storagetest.Open(t)
	k := keys(t)
	j, _ := seed(t, db, k, 20, 20)
	rep := run(t, db, j.PublicKey())
	if !rep.OK() || rep.Events != 20 || rep.Chains != 1 || rep.Checkpoints != 1 || rep.Unanchored != 0 {
		t.Fatalf("report = %+v", rep)
	}
	// A second instance writes its own chain; both verify.
	seed2, _ := journal.New(context.Background(), store.New(db.Gorm), k)
	if err := seed2.Record(context.Background(), audit.Event{Action: "record.read", Outcome: audit.Denied}); err != nil {
		t.Fatal(err)
	}
	rep = run(t, db, j.PublicKey())
	if !rep.OK() || rep.Chains != 2 || rep.Events != 21 || rep.Unanchored != 1 {
		t.Fatalf("two chains: %+v", rep)
	}
}

func TestTrailIsAppendOnly(t *testing.T) {
	db := storagetest.Open(t)
	seed(t, db, keys(t), 2, 0)
	for _, s := range []string{`UPDATE audit_events SET purpose = 'x'`, `DELETE FROM audit_events`, `UPDATE audit_subjects SET seq = 9`, `DELETE FROM audit_subjects`} {
		if err := db.Gorm.Exec(s).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: err = %v, want the append-only refusal", s, err)
		}
	}
}

func TestTamperingIsFoundWithTheEventID(t *testing.T) {
	cases := []struct {
		name   string
		tamper []string
		kind   verify.Kind
		event  string
	}{
		{"edit a purpose", []string{`UPDATE audit_events SET purpose = '个人好奇' WHERE id = 'ev-007'`}, verify.Altered, "ev-007"},
		{"edit a principal", []string{`UPDATE audit_events SET principal_name = 'someone-else' WHERE id = 'ev-003'`}, verify.Altered, "ev-003"},
		{"hide a subject", []string{`UPDATE audit_events SET subjects = '' WHERE id = 'ev-010'`}, verify.Altered, "ev-010"},
		{"delete one", []string{`DELETE FROM audit_events WHERE id = 'ev-005'`}, verify.Missing, "ev-006"},
		{"delete and renumber", []string{`DELETE FROM audit_events WHERE id = 'ev-005'`,
			`UPDATE audit_events SET seq = seq - 1 WHERE seq > 5`}, verify.Altered, "ev-006"},
		{"reorder two", []string{`UPDATE audit_events SET seq = -1 WHERE id = 'ev-004'`,
			`UPDATE audit_events SET seq = 4 WHERE id = 'ev-009'`, `UPDATE audit_events SET seq = 9 WHERE id = 'ev-004'`}, verify.Altered, "ev-009"},
		{"delete the newest", []string{`DELETE FROM audit_events WHERE seq > 10`}, verify.Truncated, ""},
		{"edit the checkpointed entry's hash", []string{`UPDATE audit_events SET hash = prev_hash WHERE id = 'ev-012'`}, verify.Altered, "ev-012"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			db := storagetest.Open(t)
			j, _ := seed(t, db, keys(t), 15, 12)
			unlock(t, db)
			for _, s := range tc.tamper {
				if err := db.Gorm.Exec(s).Error; err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			rep := run(t, db, j.PublicKey())
			if len(rep.Problems) != 1 {
				t.Fatalf("problems = %+v, want exactly one", rep.Problems)
			}
			p := rep.Problems[0]
			if p.Kind != tc.kind || p.EventID != tc.event || p.Chain != j.Chain() {
				t.Fatalf("problem = %s; want %s at event %q", p, tc.kind, tc.event)
			}
		})
	}
}

func TestForgedCheckpointIsRejected(t *testing.T) {
	db := storagetest.Open(t)
	j, _ := seed(t, db, keys(t), 5, 5)
	// Someone re-signs a checkpoint with their own key: its stored key
	// verifies, the trusted key does not.
	other := keys(t)
	c := audit.Checkpoint{Chain: j.Chain(), Seq: 5, Hash: make([]byte, 32), AtMicros: time.Now().UnixMicro()}
	c.Sign(other.Checkpoint)
	if err := store.New(db.Gorm).AddCheckpoint(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	rep := run(t, db, j.PublicKey())
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != verify.BadSignature {
		t.Fatalf("problems = %+v", rep.Problems)
	}
}
