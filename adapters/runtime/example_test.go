package runtime

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"yiku/adapters/client"
	"yiku/adapters/examples"
	"yiku/hub/hubtest"
)

// loadExamples loads the worked example's three configs as they are in
// adapters/examples, pointed at h through YIKU_HUB and YIKU_DATA_DIR, the
// receiving department's config first: the run must not depend on order.
func loadExamples(t *testing.T, h *hubtest.Hub, dataDir string, files ...string) []*Runner {
	t.Helper()
	t.Setenv("YIKU_HUB", h.URL)
	t.Setenv("YIKU_DATA_DIR", dataDir)
	var runners []*Runner
	for _, f := range files {
		cfg, err := Load(filepath.Join("..", "examples", f))
		if err != nil {
			t.Fatal(err)
		}
		cfg.MetricsAddr = "" // tests run side by side; the port is not theirs
		r, err := NewRunner(cfg, Options{Once: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		runners = append(runners, r)
	}
	return runners
}

func runGroup(t *testing.T, runners ...*Runner) map[string]Stats {
	t.Helper()
	g, err := NewGroup(runners...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	stats := g.Run(ctx)
	t.Logf("summary:\n%s", Summary(stats))
	out := map[string]Stats{}
	for _, s := range stats {
		if s.Err != nil {
			t.Fatalf("pipeline %s: %v", s.Pipeline, s.Err)
		}
		out[s.Pipeline] = s
	}
	return out
}

// receivedLicences returns the service centre's table: licence_id to
// holder_id.
func receivedLicences(t *testing.T, dataDir string) map[string]string {
	t.Helper()
	db, err := openLegacy(filepath.Join(dataDir, "legacy", "service-centre.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer closeLegacy(db)
	var rows []struct{ LicenceID, HolderID string }
	if err := db.Raw("SELECT licence_id, holder_id FROM received_licences").Scan(&rows).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range rows {
		out[r.LicenceID] = r.HolderID
	}
	return out
}

// TestWorkedExample runs docs/adapters.md's worked example as one run of
// the three example configs against a hub, the receiving service centre
// listed first: the civil affairs table reaches the hub (bad dates
// rejected with reasons), the market regulation export reaches the hub,
// and the service centre's own table receives every business licence with
// holder_id masked. A licence the bureau then deletes at the hub leaves
// the centre's table (keyed on licence_id) at the next run.
func TestWorkedExample(t *testing.T) {
	h := hubtest.Start(t)
	ctx := context.Background()
	if err := examples.DevSeeder(h.Dir)(ctx); err != nil {
		t.Fatal(err)
	}
	base := libraryBaseline(t, h, "business-licence")
	st := runGroup(t, loadExamples(t, h, h.Dir, "service-centre.yaml", "civil-affairs.yaml", "market-regulation.yaml")...)

	if s := st["marriage-registration"]; s.Department != "lx-civil" || s.Read != 300 || s.Written != 293 || s.Rejected != 7 {
		t.Fatalf("marriage-registration: %+v; want 300 read, 293 written, 7 rejected", s)
	}
	for _, rj := range readRejects(t, st["marriage-registration"].RejectFile) {
		if rj.Stage != "mapping" || len(rj.Reasons) == 0 || rj.Reasons[0].Pointer != "/registration_date" {
			t.Fatalf("reject without its reason: %+v", rj)
		}
	}
	if s := st["business-licences"]; s.Read != 50 || s.Written != 50 || s.Rejected != 0 {
		t.Fatalf("business-licences: %+v; want 50 read and written", s)
	}
	// The centre receives the export's 50 licences and whatever the demo
	// seed published before.
	in := st["licences-in"]
	table := receivedLicences(t, h.Dir)
	if in.Written != in.Read || in.Read != base.cur+50 || int64(len(table)) != in.Written {
		t.Fatalf("licences-in: %+v, table holds %d; want %d received and stored", in, len(table), base.cur+50)
	}
	for i := 0; i < 50; i++ {
		l := examples.Licence(i)
		holder, ok := table[l["licence_id"].(string)]
		if !ok {
			t.Fatalf("licence %d (%s) did not reach the service centre", i, l["licence_id"])
		}
		if holder == l["holder_id"] {
			t.Fatalf("licence %d: holder_id %s arrived unmasked", i, holder)
		}
	}

	// The bureau deletes licence 0 at the hub; the centre's next run
	// removes the row by licence_id, although the hub keys the record on
	// the (masked) holder_id.
	amr, err := client.New(h.URL, h.Secret("amr-system"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := amr.Delete(ctx, "business-licence", examples.USCC(0), "营业执照注销"); err != nil {
		t.Fatal(err)
	}
	again := runGroup(t, loadExamples(t, h, h.Dir, "service-centre.yaml")...)["licences-in"]
	if again.Read != 1 || again.Written != 1 || again.Rejected != 0 {
		t.Fatalf("after the deletion: %+v; want the one delete read and applied", again)
	}
	after := receivedLicences(t, h.Dir)
	if _, ok := after[examples.Licence(0)["licence_id"].(string)]; ok || len(after) != len(table)-1 {
		t.Fatalf("the deleted licence is still in the centre's table (%d rows, had %d)", len(after), len(table))
	}
}
