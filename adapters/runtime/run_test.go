package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yiku/adapters/client"
	"yiku/adapters/examples"
	"yiku/hub/hubtest"
)

// civilPipeline is the marriage pipeline of the worked example, pointed at
// a test's legacy database.
const civilPipeline = `
  - name: marriage
    source:
      type: sql
      driver: sqlite
      dsn: %s
      table: HY_DJXX
      id_column: ID
      updated_column: GXSJ
      tombstone_column: SCBZ
    mapping:
      fields:
        - {to: registration_number, from: DJZH, convert: upper, required: true}
        - {to: registration_type, from: DJLX, codes: {"1": marriage, "2": divorce}}
        - {to: id_number, from: NF_SFZH, convert: resident_id, required: true}
        - {to: name, from: NF_XM, convert: trim}
        - {to: spouse_id_number, from: NV_SFZH, convert: resident_id}
        - {to: spouse_name, from: NV_XM, convert: trim}
        - {to: registration_date, from: DJRQ, convert: date}
        - {to: registration_office, from: DJJG, default: 娄星区民政局婚姻登记处}
    sink:
      type: hub
      resource: marriage-registration
    batch_size: %d
`

func writeConfig(t *testing.T, dir, dept, hubURL, token, pipelines string) *Config {
	t.Helper()
	return loadConfigText(t, dir, fmt.Sprintf("department: %s\nhub:\n  url: %s\n  token: %s\nstate_dir: state\npipelines:%s", dept, hubURL, token, pipelines))
}

// loadConfigText writes body as dir/adapter.yaml and loads it.
func loadConfigText(t *testing.T, dir, body string) *Config {
	t.Helper()
	path := filepath.Join(dir, "adapter.yaml")
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, body)
	}
	return cfg
}

// baseline is what the test hub's library holds of a resource before a
// test writes (the demo seed publishes a few records).
type baseline struct{ cur, ver int64 }

func libraryBaseline(t *testing.T, h *hubtest.Hub, resource string) baseline {
	t.Helper()
	// The demo seed's records travel through Kafka too; let them land:
	// first until the hub reports its library has applied everything
	// published to the resource, then until the counts stop moving.
	c, err := client.New(h.URL, h.Secret("civil-system"))
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(60 * time.Second); ; {
		st, err := c.ExchangeStatus(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if lag, ok := st.Resource(resource); !ok || lag.Lag == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the hub's library did not catch up with %s", resource)
		}
		time.Sleep(200 * time.Millisecond)
	}
	var b baseline
	for i := 0; i < 10; i++ {
		cur, ver, err := h.Library.Counts(context.Background(), resource)
		if err != nil {
			t.Fatal(err)
		}
		if i > 2 && cur == b.cur && ver == b.ver {
			break
		}
		b = baseline{cur, ver}
		time.Sleep(300 * time.Millisecond)
	}
	return b
}

// waitLibrary waits until the hub's library holds want more current
// records of resource than at base and returns how many more current
// records and versions it holds.
func waitLibrary(t *testing.T, h *hubtest.Hub, resource string, base baseline, want int64) (int64, int64) {
	t.Helper()
	lib := h.Library
	deadline := time.Now().Add(120 * time.Second)
	var cur, ver int64
	for time.Now().Before(deadline) {
		var err error
		cur, ver, err = lib.Counts(context.Background(), resource)
		if err != nil {
			t.Fatal(err)
		}
		if cur-base.cur >= want {
			// Let any straggling duplicate land before judging.
			time.Sleep(500 * time.Millisecond)
			cur, ver, _ = lib.Counts(context.Background(), resource)
			return cur - base.cur, ver - base.ver
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("library holds %d new current records of %s, want %d", cur-base.cur, resource, want)
	return 0, 0
}

func readRejects(t *testing.T, path string) []Reject {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Reject
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var r Reject
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("reject line %q: %v", sc.Text(), err)
		}
		out = append(out, r)
	}
	return out
}

// TestMarriageTableToHub runs the civil affairs example against a hub:
// legacy shapes are mapped, malformed rows rejected with reasons, a second
// run sends nothing again, a correction and a deletion in the legacy table
// reach the hub.
func TestMarriageTableToHub(t *testing.T) {
	h := hubtest.Start(t)
	base := libraryBaseline(t, h, "marriage-registration")
	dir := t.TempDir()
	dbPath := filepath.Join(dir, "civil.db")
	if err := examples.WriteCivilAffairsDB(context.Background(), dbPath, 300, 20); err != nil {
		t.Fatal(err)
	}
	cfg := writeConfig(t, dir, "lx-civil", h.URL, h.Secret("civil-system"), fmt.Sprintf(civilPipeline, dbPath, 64))
	run := func() Stats {
		r, err := NewRunner(cfg, Options{Once: true, MinBackoff: 20 * time.Millisecond, MaxBackoff: time.Second})
		if err != nil {
			t.Fatal(err)
		}
		st := r.Run(context.Background())[0]
		if st.Err != nil {
			t.Fatalf("run: %v", st.Err)
		}
		return st
	}
	st := run()
	if st.Read != 300 || st.Written != 285 || st.Rejected != 15 {
		t.Fatalf("read %d written %d rejected %d; want 300, 285, 15\n%s", st.Read, st.Written, st.Rejected, Summary([]Stats{st}))
	}
	rejects := readRejects(t, st.RejectFile)
	if len(rejects) != 15 {
		t.Fatalf("%d rejects in the file, want 15", len(rejects))
	}
	for _, rj := range rejects {
		if rj.Stage != "mapping" || rj.Reasons[0].Pointer != "/registration_date" || !strings.HasPrefix(rj.Origin, "HY_DJXX#") || rj.Record["DJZH"] == nil {
			t.Fatalf("reject without its reason, origin or record: %+v", rj)
		}
	}
	if cur, ver := waitLibrary(t, h, "marriage-registration", base, 285); cur != 285 || ver != 285 {
		t.Fatalf("library: %d current, %d versions; want 285 each", cur, ver)
	}

	// Nothing new: a second run reads nothing.
	if again := run(); again.Read != 0 {
		t.Fatalf("second run read %d rows, want 0", again.Read)
	}

	// A clerk corrects row 1's name and deletes row 2.
	db, err := openLegacy(dbPath)
	if err != nil {
		t.Fatal(err)
	}
	later := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := db.Exec("UPDATE HY_DJXX SET NF_XM = ?, GXSJ = ? WHERE ID = 1", "王伟（更正）", later).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec("UPDATE HY_DJXX SET SCBZ = 1, GXSJ = ? WHERE ID = 2", later.Add(time.Second)).Error; err != nil {
		t.Fatal(err)
	}
	closeLegacy(db)
	if st := run(); st.Read != 2 || st.Written != 2 || st.Rejected != 0 {
		t.Fatalf("correction run: read %d written %d rejected %d; want 2, 2, 0", st.Read, st.Written, st.Rejected)
	}
	lib := h.Library
	deadline := time.Now().Add(30 * time.Second)
	for {
		row, err := lib.Current(context.Background(), "marriage-registration", examples.ResidentID(0, true))
		var data []byte
		if err == nil {
			data, err = lib.Plain(context.Background(), row)
		}
		if err == nil && strings.Contains(string(data), "更正") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the correction did not reach the library: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for {
		row, err := lib.Current(context.Background(), "marriage-registration", examples.ResidentID(1, true))
		if (err == nil && row.Deleted) || (err != nil && strings.Contains(err.Error(), "not found")) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deletion did not reach the library: %+v %v", row, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
