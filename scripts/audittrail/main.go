// Command audittrail writes a synthetic audit trail through the hub's own
// journal (hashing, chaining, keyed subject hashes, signed checkpoints) into
// a database, so `yiku audit verify` can be measured on a trail of realistic
// size. Each chain is written by its own journal, as by one hub instance;
// the events mimic reuse lookups (a lookup event and its reuse events) by
// officers of several departments on many applicants over a year.
//
//	go run ./scripts/audittrail --database-url postgres://… --secret-key-file secret.key --events 1000000
//
// It refuses a database that already holds audit events unless --append.
package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"yiku/audit"
	"yiku/audit/journal"
	auditstore "yiku/audit/store"
	"yiku/cryptosuite"
	"yiku/schemas"
	"yiku/storage"
)

func main() {
	var (
		dbURL, secretFile     string
		events, chains, batch int
		checkpointEvery       int
		appendTo              bool
	)
	flag.StringVar(&dbURL, "database-url", os.Getenv("YIKU_DATABASE_URL"), "postgres://… or sqlite:PATH (migrated first)")
	flag.StringVar(&secretFile, "secret-key-file", "", "the hub's secret (hex); checkpoints are signed with the key derived from it (required)")
	flag.IntVar(&events, "events", 1_000_000, "events to write in all")
	flag.IntVar(&chains, "chains", 4, "chains, written concurrently (one journal each, like hub instances)")
	flag.IntVar(&batch, "batch", 2000, "events per group commit")
	flag.IntVar(&checkpointEvery, "checkpoint-every", 50_000, "sign a checkpoint after this many events of a chain")
	flag.BoolVar(&appendTo, "append", false, "add to a database that already holds audit events")
	flag.Parse()
	if err := run(dbURL, secretFile, events, chains, batch, checkpointEvery, appendTo); err != nil {
		fmt.Fprintln(os.Stderr, "audittrail:", err)
		os.Exit(1)
	}
}

func run(dbURL, secretFile string, events, chains, batch, checkpointEvery int, appendTo bool) error {
	if dbURL == "" || secretFile == "" || events < 1 || chains < 1 || batch < 1 || checkpointEvery < 1 {
		return errors.New("--database-url, --secret-key-file and positive --events, --chains, --batch, --checkpoint-every are required")
	}
	raw, err := os.ReadFile(secretFile)
	if err != nil {
		return err
	}
	secret, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return fmt.Errorf("%s: not hex", secretFile)
	}
	keys, err := audit.DeriveKeys(secret, cryptosuite.Default)
	if err != nil {
		return err
	}
	ctx := context.Background()
	db, err := storage.Open(ctx, dbURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.MigrateUp(ctx); err != nil {
		return err
	}
	var have int64
	if err := db.SQL().QueryRowContext(ctx, "SELECT count(*) FROM audit_events").Scan(&have); err != nil {
		return err
	}
	if have > 0 && !appendTo {
		return fmt.Errorf("the database already holds %d audit events; give --append to add to them", have)
	}
	st := auditstore.New(db.Gorm)
	start := time.Now()
	var written atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, chains)
	for c := 0; c < chains; c++ {
		n := events / chains
		if c < events%chains {
			n++
		}
		wg.Add(1)
		go func(c, n int) {
			defer wg.Done()
			if err := writeChain(ctx, st, keys, c, n, batch, checkpointEvery, &written); err != nil {
				errs <- fmt.Errorf("chain %d: %w", c, err)
			}
		}(c, n)
	}
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(5 * time.Second)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				fmt.Fprintf(os.Stderr, "%d of %d events written (%.0f/s)\n", written.Load(), events, float64(written.Load())/time.Since(start).Seconds())
			}
		}
	}()
	wg.Wait()
	close(done)
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	fmt.Printf("wrote %d events in %d chains in %s; verify with: yiku audit verify --database-url … --secret-key-file %s\n",
		written.Load(), chains, time.Since(start).Round(time.Second), secretFile)
	return nil
}

var (
	departments = []string{"lx-gsc", "lx-gsc-lp", "lx-hrss", "lx-civil", "lx-amr"}
	items       = []struct{ item, purpose, resource, fields string }{
		{"social-security-card", "社会保障卡申领", "social-security", "id_number insured_status insurance_type"},
		{"marriage-registration", "结婚登记", "marriage-registration", "id_number registration_type"},
		{"business-licence-change", "营业执照变更登记", "business-licence", "licence_id holder_name status valid_until"},
	}
)

// writeChain writes n events on a fresh chain: lookups of 1 to 3 materials,
// each lookup event followed by its reuse events, grouped batch at a time.
func writeChain(ctx context.Context, st *auditstore.Store, keys audit.Keys, c, n, batch, checkpointEvery int, written *atomic.Int64) error {
	j, err := journal.New(ctx, st, keys)
	if err != nil {
		return err
	}
	r := rand.New(rand.NewPCG(uint64(c)+1, 42))
	at := time.Now().AddDate(-1, 0, 0)
	step := time.Duration(int64(365*24*time.Hour) / int64(n+1))
	sinceCheckpoint := 0
	group := make([]audit.Event, 0, batch+4)
	for left := n; left > 0; {
		dept := departments[r.IntN(len(departments))]
		it := items[r.IntN(len(items))]
		applicant := applicantID(r)
		caseNo := fmt.Sprintf("%s-%d-%06d", strings.ToUpper(dept[3:]), at.Year(), r.IntN(1_000_000))
		reqID := fmt.Sprintf("%016x", r.Uint64())
		base := audit.Event{Time: at, RequestID: reqID, PrincipalID: fmt.Sprintf("0190e7c4-0000-7000-8000-%012d", r.IntN(40)),
			PrincipalName: "officer-" + dept[3:], Department: dept, Role: "officer", Subjects: []string{applicant},
			Purpose: it.purpose, CaseNumber: caseNo, ClientAddr: fmt.Sprintf("10.1.%d.%d", r.IntN(256), r.IntN(256))}
		materials := 1 + r.IntN(3)
		lk := base
		lk.Action, lk.Outcome, lk.Count = audit.ActionLookup, audit.Allowed, materials
		lk.Reason = fmt.Sprintf("item=%s supplied=%d not_available=0 not_permitted=0", it.item, materials)
		group = append(group, lk)
		for m := 0; m < materials && len(group) < left; m++ {
			ev := base
			ev.Action, ev.Resource, ev.Outcome, ev.Count = audit.ActionReuse, it.resource, audit.Allowed, 1
			ev.Fields = strings.Fields(it.fields)
			ev.Reason = audit.ReuseReason(it.item, fmt.Sprintf("material-%d", m+1))
			group = append(group, ev)
		}
		at = at.Add(step * time.Duration(1+materials))
		if len(group) >= batch || len(group) >= left {
			if len(group) > left {
				group = group[:left]
			}
			if err := j.RecordAll(ctx, group); err != nil {
				return err
			}
			left -= len(group)
			written.Add(int64(len(group)))
			sinceCheckpoint += len(group)
			group = group[:0]
			if sinceCheckpoint >= checkpointEvery || left == 0 {
				if _, err := j.Checkpoint(ctx); err != nil {
					return err
				}
				sinceCheckpoint = 0
			}
		}
	}
	return nil
}

// applicantID returns a valid synthetic resident ID number of Louxing District.
func applicantID(r *rand.Rand) string {
	body := fmt.Sprintf("431302%04d%02d%02d%03d", 1950+r.IntN(55), 1+r.IntN(12), 1+r.IntN(28), r.IntN(1000))
	c, err := schemas.ResidentIDCheckChar(body)
	if err != nil {
		panic(err) // the body is 17 digits by construction
	}
	return body + string(c)
}
