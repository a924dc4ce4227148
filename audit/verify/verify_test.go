package verify_test

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/audittest"
	"yiku/audit/journal"
	"yiku/audit/store"
	"yiku/audit/verify"
	"yiku/cryptosuite"
	"yiku/migrations"
	"yiku/storage"
	"yiku/storage/storagetest"
)

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
		stmts = []string{`ALTER TABLE audit_events DISABLE TRIGGER USER`, `ALTER TABLE audit_checkpoints DISABLE TRIGGER USER`,
			`ALTER TABLE audit_subjects DISABLE TRIGGER USER`}
	} else {
		stmts = []string{`DROP TRIGGER audit_events_no_update`, `DROP TRIGGER audit_events_no_delete`, `DROP TRIGGER audit_checkpoints_no_delete`,
			`DROP TRIGGER audit_subjects_no_update`, `DROP TRIGGER audit_subjects_no_delete`}
	}
	for _, s := range stmts {
		if err := db.Gorm.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func run(t testing.TB, db *storage.DB, pub []byte) verify.Report {
	t.Helper()
	rep, err := verify.Run(context.Background(), db.SQL(), verify.Options{Trusted: [][]byte{pub}})
	if err != nil {
		t.Fatal(err)
	}
	return rep
}

// tamperAndVerify seeds 15 events with a checkpoint at the 12th, runs the
// tamper statements with the append-only triggers off, and verifies. It
// returns the report and the seeded chain's id.
func tamperAndVerify(t testing.TB, tamper []string) (verify.Report, string) {
	t.Helper()
	return tamperAndVerifySuite(t, cryptosuite.Default, tamper)
}

// tamperAndVerifySuite is tamperAndVerify on a chain written with suite.
func tamperAndVerifySuite(t testing.TB, suite cryptosuite.Name, tamper []string) (verify.Report, string) {
	t.Helper()
	db := storagetest.Open(t)
	j, _ := seed(t, db, audittest.SuiteKeys(t, suite), 15, 12)
	unlock(t, db)
	for _, s := range tamper {
		if err := db.Gorm.Exec(s).Error; err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return run(t, db, j.PublicKey()), j.Chain()
}

func TestIntactTrailVerifies(t *testing.T) {
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	j, _ := seed(t, db, k, 20, 20)
	rep := run(t, db, j.PublicKey())
	if !rep.OK() || rep.Events != 20 || rep.Chains != 1 || rep.Checkpoints != 1 || rep.Unanchored != 0 ||
		rep.IndexRows != 20 || rep.IndexProblems != 0 || rep.ProblemCount() != 0 {
		t.Fatalf("report = %+v", rep)
	}
	// A second instance writes its own chain; both verify.
	seed2, _ := journal.New(context.Background(), store.New(db.Gorm), k)
	if err := seed2.Record(context.Background(), audit.Event{Action: "record.read", Outcome: audit.Denied}); err != nil {
		t.Fatal(err)
	}
	rep = run(t, db, j.PublicKey())
	if !rep.OK() || rep.Chains != 2 || rep.Events != 21 || rep.Unanchored != 1 || rep.IndexRows != 20 {
		t.Fatalf("two chains: %+v", rep)
	}
}

func TestTrailIsAppendOnly(t *testing.T) {
	db := storagetest.Open(t)
	seed(t, db, audittest.Keys(t), 2, 0)
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
	for _, suite := range cryptosuite.Names() {
		for _, tc := range cases {
			t.Run(string(suite)+"/"+tc.name, func(t *testing.T) {
				rep, chain := tamperAndVerifySuite(t, suite, tc.tamper)
				if len(rep.Problems) != 1 {
					t.Fatalf("problems = %+v, want exactly one", rep.Problems)
				}
				p := rep.Problems[0]
				if p.Kind != tc.kind || p.EventID != tc.event || p.Chain != chain {
					t.Fatalf("problem = %s; want %s at event %q", p, tc.kind, tc.event)
				}
				if rep.Suites[suite] != 1 {
					t.Fatalf("suites = %v, want one %s chain", rep.Suites, suite)
				}
			})
		}
	}
}

// TestTrailOfBothSuitesVerifies: a hub switched from the default suite to
// sm keeps one trail: the old chains verify with SHA-256 and Ed25519, the
// new ones with SM3 and SM2, against the keys both derive from one secret,
// and the report counts the chains of each suite.
func TestTrailOfBothSuitesVerifies(t *testing.T) {
	db := storagetest.Open(t)
	secret := make([]byte, 32)
	for i := range secret {
		secret[i] = byte(i * 7)
	}
	var trusted [][]byte
	for _, suite := range cryptosuite.Names() {
		k, err := audit.DeriveKeys(secret, suite)
		if err != nil {
			t.Fatal(err)
		}
		trusted = k.Trusted
		j, err := journal.New(context.Background(), store.New(db.Gorm), k)
		if err != nil {
			t.Fatal(err)
		}
		if suite == cryptosuite.SM && !strings.HasPrefix(j.Chain(), "sm:") {
			t.Fatalf("sm chain id %q", j.Chain())
		}
		for i := range 5 {
			if err := j.Record(context.Background(), audit.Event{Action: "record.read", Subjects: []string{fmt.Sprintf("43010219900101%04d", i)}}); err != nil {
				t.Fatal(err)
			}
		}
		if ok, err := j.Checkpoint(context.Background()); err != nil || !ok {
			t.Fatalf("checkpoint: %v %v", ok, err)
		}
	}
	rep, err := verify.Run(context.Background(), db.SQL(), verify.Options{Trusted: trusted})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.OK() || rep.Chains != 2 || rep.Events != 10 || rep.Checkpoints != 2 || rep.Unanchored != 0 ||
		rep.Suites[cryptosuite.Default] != 1 || rep.Suites[cryptosuite.SM] != 1 {
		t.Fatalf("report = %+v", rep)
	}
	// Keys of another secret vouch for neither chain.
	other := audittest.SuiteKeys(t, cryptosuite.SM)
	rep, err = verify.Run(context.Background(), db.SQL(), verify.Options{Trusted: other.Trusted})
	if err != nil {
		t.Fatal(err)
	}
	if len(rep.Problems) != 2 || rep.Problems[0].Kind != verify.BadSignature || rep.Problems[1].Kind != verify.BadSignature {
		t.Fatalf("foreign keys: %+v", rep.Problems)
	}
}

func TestForgedCheckpointIsRejected(t *testing.T) {
	db := storagetest.Open(t)
	j, _ := seed(t, db, audittest.Keys(t), 5, 5)
	// Someone re-signs a checkpoint with their own key: its stored key
	// verifies, the trusted key does not.
	other := audittest.Keys(t)
	c := audit.Checkpoint{Chain: j.Chain(), Seq: 5, Hash: make([]byte, 32), AtMicros: time.Now().UnixMicro()}
	if err := c.Sign(other.Checkpoint); err != nil {
		t.Fatal(err)
	}
	if err := store.New(db.Gorm).AddCheckpoint(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	rep := run(t, db, j.PublicKey())
	if len(rep.Problems) != 1 || rep.Problems[0].Kind != verify.BadSignature {
		t.Fatalf("problems = %+v", rep.Problems)
	}
}

func TestIndexTamperingIsFoundWithTheEventID(t *testing.T) {
	type want struct {
		kind   verify.Kind
		seq    int64
		event  string
		detail string
		chain  string // "" for the seeded chain
	}
	cases := []struct {
		name   string
		tamper []string
		want   []want
	}{
		{"delete an index row", []string{`DELETE FROM audit_subjects WHERE seq = 7`},
			[]want{{kind: verify.IndexMissing, seq: 7, event: "ev-007", detail: "index row missing for event ev-007 subject #1"}}},
		{"add a row for a subject the event does not list", []string{`INSERT INTO audit_subjects (subject_hash, at_us, chain_id, seq)
			SELECT 'c0ffee', at_us, chain_id, seq FROM audit_events WHERE id = 'ev-004'`},
			[]want{{kind: verify.IndexStray, seq: 4, event: "ev-004", detail: "points to event ev-004, whose subjects do not include it"}}},
		{"add a row pointing to no event", []string{`INSERT INTO audit_subjects (subject_hash, at_us, chain_id, seq)
			SELECT subject_hash, at_us, chain_id, 99 FROM audit_subjects WHERE seq = 3`},
			[]want{{kind: verify.IndexStray, seq: 99, detail: "points to no event"}}},
		{"add a row on a chain with no events", []string{`INSERT INTO audit_subjects (subject_hash, at_us, chain_id, seq)
			SELECT subject_hash, at_us, 'no-such-chain', seq FROM audit_subjects WHERE seq = 3`},
			[]want{{kind: verify.IndexStray, seq: 3, detail: "points to no event", chain: "no-such-chain"}}},
		{"change a row's subject hash", []string{`UPDATE audit_subjects SET subject_hash = 'c0ffee' WHERE seq = 9`},
			[]want{{kind: verify.IndexMissing, seq: 9, event: "ev-009", detail: "subject #1"},
				{kind: verify.IndexStray, seq: 9, event: "ev-009", detail: "for subject c0ffee points to event ev-009, whose subjects do not include it"}}},
		{"change a row's time", []string{`UPDATE audit_subjects SET at_us = at_us + 1 WHERE seq = 11`},
			[]want{{kind: verify.IndexTime, seq: 11, event: "ev-011", detail: "index row at_us differs for event ev-011 subject #1"}}},
		{"move a row to the next event", []string{`UPDATE audit_subjects SET seq = 14 WHERE seq = 13`},
			[]want{{kind: verify.IndexMissing, seq: 13, event: "ev-013"},
				{kind: verify.IndexStray, seq: 14, event: "ev-014", detail: "a second row for event ev-014 subject #1"}}},
		// The index is checked against verified entries only: the chain's
		// first broken link is reported, index rows after it are not.
		{"rows after a chain break", []string{`UPDATE audit_events SET purpose = 'x' WHERE id = 'ev-010'`,
			`DELETE FROM audit_subjects WHERE seq IN (3, 13)`},
			[]want{{kind: verify.Altered, seq: 10, event: "ev-010"}, {kind: verify.IndexMissing, seq: 3, event: "ev-003"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep, seeded := tamperAndVerify(t, tc.tamper)
			if len(rep.Problems) != len(tc.want) || rep.ProblemCount() != int64(len(tc.want)) {
				t.Fatalf("problems = %+v, want %d", rep.Problems, len(tc.want))
			}
			for i, w := range tc.want {
				p := rep.Problems[i]
				chain := cmp.Or(w.chain, seeded)
				if p.Kind != w.kind || p.Seq != w.seq || p.EventID != w.event || p.Chain != chain || !strings.Contains(p.Detail, w.detail) {
					t.Errorf("problem %d = %s; want %s at chain %s seq %d event %q, detail with %q", i, p, w.kind, chain, w.seq, w.event, w.detail)
				}
			}
		})
	}
}

func TestIndexProblemNamesTheSubject(t *testing.T) {
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	j, _ := seed(t, db, k, 3, 0)
	ctx := context.Background()
	if err := j.Record(ctx, audit.Event{ID: "ev-many", Action: "record.read", Outcome: audit.Allowed,
		Subjects: []string{"43130219900101001X", "91430100MA4L0XXX1A", "43130219850505002X"}}); err != nil {
		t.Fatal(err)
	}
	unlock(t, db)
	second := k.Subject.Hash("91430100MA4L0XXX1A")
	if err := db.Gorm.Exec(`DELETE FROM audit_subjects WHERE subject_hash = ?`, second).Error; err != nil {
		t.Fatal(err)
	}
	rep := run(t, db, j.PublicKey())
	if len(rep.Problems) != 1 || rep.IndexProblems != 1 || rep.IndexRows != 5 {
		t.Fatalf("report = %+v", rep)
	}
	if p := rep.Problems[0]; p.Kind != verify.IndexMissing || p.EventID != "ev-many" || p.Seq != 4 ||
		!strings.Contains(p.Detail, "subject #2 ("+second[:16]) {
		t.Fatalf("problem = %s", p)
	}
}

// appendChain writes n entries of chain directly through the store, seq
// from onwards, chained after prev, each with the one subject hash
// subject(seq); it returns the last entry's hash.
func appendChain(t testing.TB, st *store.Store, chain string, from, n int64, prev []byte, subject func(seq int64) string) []byte {
	t.Helper()
	batch := make([]audit.Entry, 0, 1000)
	flush := func() {
		if err := st.Append(context.Background(), batch); err != nil {
			t.Error(err)
		}
		batch = batch[:0]
	}
	for seq := from; seq < from+n; seq++ {
		e := audit.Entry{Chain: chain, Seq: seq, ID: fmt.Sprintf("%s-%06d", chain, seq), AtMicros: 1700000000_000000 + seq,
			Action: "lookup", Resource: "population", Subjects: subject(seq), Outcome: "allowed", PrevHash: prev}
		e.Seal()
		prev = e.Hash
		if batch = append(batch, e); len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
	return prev
}

// The index is compared in blocks of seqs; problems on both sides of a
// block boundary, and far more than a report lists, are all found.
func TestIndexCheckAcrossBlocks(t *testing.T) {
	const n = 20_000
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	appendChain(t, store.New(db.Gorm), "c1", 1, n, audit.GenesisHash, func(seq int64) string {
		return k.Subject.Hash(fmt.Sprint(seq % 97))
	})
	rep := run(t, db, nil)
	if !rep.OK() || rep.Events != n || rep.IndexRows != n {
		t.Fatalf("intact: %+v", rep)
	}
	unlock(t, db)
	for _, s := range []string{`DELETE FROM audit_subjects WHERE seq IN (16383, 16384)`,
		`INSERT INTO audit_subjects (subject_hash, at_us, chain_id, seq) VALUES ('c0ffee', 1, 'c1', 20001)`} {
		if err := db.Gorm.Exec(s).Error; err != nil {
			t.Fatal(err)
		}
	}
	rep = run(t, db, nil)
	var got []string
	for _, p := range rep.Problems {
		got = append(got, fmt.Sprintf("%s %d %s", p.Kind, p.Seq, p.EventID))
	}
	if want := "index_missing 16383 c1-016383,index_missing 16384 c1-016384,index_stray 20001 "; strings.Join(got, ",") != want || rep.IndexProblems != 3 {
		t.Fatalf("problems = %q, want %q", got, want)
	}
	if err := db.Gorm.Exec(`DELETE FROM audit_subjects`).Error; err != nil {
		t.Fatal(err)
	}
	rep = run(t, db, nil)
	if rep.IndexProblems != n || len(rep.Problems) != verify.MaxListedIndexProblems || rep.ProblemCount() != n || rep.IndexRows != 0 {
		t.Fatalf("index emptied: %d problems, %d listed, count %d", rep.IndexProblems, len(rep.Problems), rep.ProblemCount())
	}
	if p := rep.Problems[0]; p.Kind != verify.IndexMissing || p.EventID != "c1-000001" {
		t.Fatalf("first problem = %s", p)
	}
}

// Events and their index rows arriving during a verification are either
// both in its snapshot or both out of it.
func TestVerifyWhileAppending(t *testing.T) {
	db := storagetest.Open(t)
	k := audittest.Keys(t)
	st := store.New(db.Gorm)
	subject := func(seq int64) string { return k.Subject.Hash(fmt.Sprint(seq)) }
	prev := appendChain(t, st, "c1", 1, 5000, audit.GenesisHash, subject)
	stop := make(chan struct{})
	done := make(chan struct{})
	go func() {
		defer close(done)
		for seq := int64(5001); ; seq += 10 {
			select {
			case <-stop:
				return
			default:
			}
			prev = appendChain(t, st, "c1", seq, 10, prev, subject)
		}
	}()
	for i := 0; i < 5; i++ {
		if rep := run(t, db, nil); !rep.OK() {
			t.Errorf("run %d while appending: %v", i, rep.Problems)
		}
	}
	close(stop)
	<-done
}
