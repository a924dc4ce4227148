package runtime

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"yiku/adapters/examples"
	"yiku/hub/hubtest"
)

// TestMalformedLegacyFile: a 2,000-row CSV export in which 5% of the rows
// are malformed in three ways — broken CSV, an impossible date, a
// registration number the hub's schema refuses. The good rows arrive, each
// bad one lands in the reject file with the reason from the stage that
// refused it, and the run ends with a summary.
func TestMalformedLegacyFile(t *testing.T) {
	h := hubtest.Start(t)
	base := libraryBaseline(t, h, "marriage-registration")
	dir := t.TempDir()
	inbox := filepath.Join(dir, "inbox")
	if err := os.MkdirAll(inbox, 0o750); err != nil {
		t.Fatal(err)
	}
	const rows, bad = 2000, 100
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	cols := []string{"DJZH", "DJLX", "NF_SFZH", "NF_XM", "NV_SFZH", "NV_XM", "DJRQ", "DJJG"}
	_ = w.Write(cols)
	want := map[string]int{}
	for i := 0; i < rows; i++ {
		r := examples.MarriageRow(i, false)
		rec := make([]string, len(cols))
		for j, c := range cols {
			rec[j] = fmt.Sprint(r[c])
		}
		if i%(rows/bad) == 7 {
			switch (i / (rows / bad)) % 3 {
			case 0: // a row the export cut short
				w.Flush()
				buf.WriteString(strings.Join(rec[:4], ",") + "\n")
				want["source"]++
				continue
			case 1:
				rec[6] = "2019/2/29"
				want["mapping"]++
			case 2:
				rec[0] = "X-" + rec[0]
				want["sink"]++
			}
		}
		_ = w.Write(rec)
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(inbox, "hydj-20240601.csv.part"), buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(inbox, "hydj-20240601.csv.part"), filepath.Join(inbox, "hydj-20240601.csv")); err != nil {
		t.Fatal(err)
	}
	pipeline := `
  - name: marriage-file
    source: {type: filedrop, dir: inbox, ready: settled, settle: 10ms}
    mapping:
      fields:
        - {to: registration_number, from: DJZH, required: true}
        - {to: registration_type, from: DJLX, codes: {"1": marriage, "2": divorce}}
        - {to: id_number, from: NF_SFZH, convert: resident_id}
        - {to: name, from: NF_XM}
        - {to: spouse_id_number, from: NV_SFZH, convert: resident_id}
        - {to: spouse_name, from: NV_XM}
        - {to: registration_date, from: DJRQ, convert: date}
        - {to: registration_office, from: DJJG}
    sink: {type: hub, resource: marriage-registration}
    batch_size: 250
`
	cfg := writeConfig(t, dir, "lx-civil", h.URL, h.Secret("civil-system"), pipeline)
	time.Sleep(20 * time.Millisecond)
	r, err := NewRunner(cfg, Options{Once: true})
	if err != nil {
		t.Fatal(err)
	}
	stats := r.Run(context.Background())
	st := stats[0]
	summary := Summary(stats)
	t.Logf("summary:\n%s", summary)
	if st.Err != nil {
		t.Fatal(st.Err)
	}
	if st.Read != rows || st.Rejected != bad || st.Written != rows-bad {
		t.Fatalf("read %d written %d rejected %d; want %d, %d, %d", st.Read, st.Written, st.Rejected, rows, rows-bad, bad)
	}
	if !strings.Contains(summary, "marriage-file") || !strings.Contains(summary, st.RejectFile) {
		t.Fatalf("summary lacks the pipeline or reject file:\n%s", summary)
	}
	got := map[string]int{}
	for _, rj := range readRejects(t, st.RejectFile) {
		got[rj.Stage]++
		if len(rj.Reasons) == 0 || rj.Reasons[0].Message == "" || !strings.HasPrefix(rj.Origin, "hydj-20240601.csv:") {
			t.Fatalf("reject without reason or origin: %+v", rj)
		}
		if rj.Stage == "sink" && (rj.Reasons[0].Pointer != "/registration_number" || rj.Reasons[0].Rule == "") {
			t.Fatalf("hub reject without the hub's pointer and rule: %+v", rj)
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("rejects by stage %v, want %v", got, want)
	}
	m := r.Metrics()
	if w, rj := counter(t, m.Written.WithLabelValues("marriage-file")), counter(t, m.Rejected.WithLabelValues("marriage-file", "sink")); w != rows-bad || rj != float64(want["sink"]) {
		t.Fatalf("metrics: written %v, rejected at the sink %v", w, rj)
	}
	if _, err := os.Stat(filepath.Join(inbox, "processed", "hydj-20240601.csv")); err != nil {
		t.Fatalf("the finished file was not moved aside: %v", err)
	}
	if cur, ver := waitLibrary(t, h, "marriage-registration", base, rows-bad); cur != rows-bad || ver != rows-bad {
		t.Fatalf("library: %d current, %d versions; want %d each", cur, ver, rows-bad)
	}
}

func counter(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
