package connectors

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"yiku/adapters"
	"yiku/adapters/adaptertest"
)

// dropFile writes recs to dir as one file the way a legacy export does:
// written under a .part name, then renamed.
func dropFile(t *testing.T, dir, name string, recs []adapters.Record, format string) {
	t.Helper()
	var buf bytes.Buffer
	if format == "csv" {
		w := csv.NewWriter(&buf)
		_ = w.Write([]string{"k", "name", "seq"})
		for _, r := range recs {
			_ = w.Write([]string{fmt.Sprint(r["k"]), fmt.Sprint(r["name"]), fmt.Sprint(r["seq"])})
		}
		w.Flush()
	} else {
		for _, r := range recs {
			data, _ := json.Marshal(r)
			buf.Write(append(data, '\n'))
		}
	}
	part := filepath.Join(dir, name+".part")
	if err := os.WriteFile(part, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(part, filepath.Join(dir, name)); err != nil {
		t.Fatal(err)
	}
}

func TestFileDropConformance(t *testing.T) {
	for _, format := range []string{"csv", "ndjson"} {
		t.Run(format, func(t *testing.T) {
			adaptertest.RunSource(t, func(t *testing.T) adaptertest.SourceHarness {
				dir := t.TempDir()
				var n atomic.Int32
				return adaptertest.SourceHarness{
					Key:       "k",
					NoDeletes: "a dropped file is an export of records as they are; it carries no deletions",
					New: func(t *testing.T) adapters.Source {
						s, err := NewFileDrop(FileDropConfig{Dir: dir, Ready: "settled", Settle: adapters.Duration(time.Millisecond)}, adapters.Env{})
						if err != nil {
							t.Fatal(err)
						}
						return s
					},
					Feed: func(t *testing.T, recs []adapters.Record) {
						dropFile(t, dir, fmt.Sprintf("export-%03d.%s", n.Add(1), format), recs, format)
						time.Sleep(5 * time.Millisecond)
					},
				}
			})
		})
	}
}

func TestFileDropSkipsPartialAndUnmarkedFiles(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv.part"), []byte("k\n1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.csv"), []byte("k\n2\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := NewFileDrop(FileDropConfig{Dir: dir, Ready: "marker"}, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	if err := src.Connect(context.Background(), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := src.Read(context.Background(), 10); !errors.Is(err, adapters.ErrNoData) || errors.Is(err, adapters.ErrSettling) {
		t.Fatalf("without a marker nothing may be read (and nothing is about to be), got %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "b.csv.done"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	b, err := src.Read(context.Background(), 10)
	if err != nil || len(b.Messages) != 1 || b.Messages[0].Record["k"] != "2" {
		t.Fatalf("got %+v, %v; want the one row of b.csv", b, err)
	}
	if err := b.Ack(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, moved := range []string{"processed/b.csv", "processed/b.csv.done", "a.csv.part"} {
		if _, err := os.Stat(filepath.Join(dir, moved)); err != nil {
			t.Errorf("%s: %v", moved, err)
		}
	}
	// A settled-mode source does not read a file still being written.
	fresh := t.TempDir()
	if err := os.WriteFile(filepath.Join(fresh, "c.csv"), []byte("k\n3\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	s2, _ := NewFileDrop(FileDropConfig{Dir: fresh, Settle: adapters.Duration(time.Hour)}, adapters.Env{})
	_ = s2.Connect(context.Background(), "")
	// It says the file is settling, so a one-shot run waits for it.
	if _, err := s2.Read(context.Background(), 10); !errors.Is(err, adapters.ErrSettling) || !errors.Is(err, adapters.ErrNoData) {
		t.Fatalf("a file modified just now must wait, settling; got %v", err)
	}
}

func TestFileDropMalformedRowsAndGBK(t *testing.T) {
	dir := t.TempDir()
	gbk, err := simplifiedchinese.GBK.NewEncoder().String("k,name\n1,张三\n2,李四,多余\n3,\"王五\n")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "legacy.csv"), []byte(gbk), 0o600); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(dir, "legacy.csv"), time.Now().Add(-time.Minute), time.Now().Add(-time.Minute))
	cfg := FileDropConfig{Dir: dir}
	cfg.CSV.Encoding = "gbk"
	src, err := NewFileDrop(cfg, adapters.Env{})
	if err != nil {
		t.Fatal(err)
	}
	_ = src.Connect(context.Background(), "")
	b, err := src.Read(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(b.Messages) != 3 {
		t.Fatalf("got %d messages, want 3: %+v", len(b.Messages), b.Messages)
	}
	if b.Messages[0].Err != nil || b.Messages[0].Record["name"] != "张三" {
		t.Fatalf("row 1: %+v", b.Messages[0])
	}
	for _, m := range b.Messages[1:] {
		if m.Err == nil || !strings.HasPrefix(m.Origin, "legacy.csv:") {
			t.Fatalf("malformed row not flagged: %+v", m)
		}
	}
}

func TestFileSinkConformance(t *testing.T) {
	for _, format := range []string{"ndjson", "csv"} {
		t.Run(format, func(t *testing.T) {
			adaptertest.RunSink(t, func(t *testing.T) adaptertest.SinkHarness {
				dir := t.TempDir()
				return adaptertest.SinkHarness{
					Key: "k",
					New: func(t *testing.T) adapters.Sink {
						s, err := NewFileSink(FileSinkConfig{Dir: dir, Format: format}, adapters.Env{})
						if err != nil {
							t.Fatal(err)
						}
						return s
					},
					Stored: func(t *testing.T) []adapters.Record { return latestByKey(t, readDir(t, dir, format)) },
				}
			})
		})
	}
}

// readDir reads every batch file in name order... by modification time, as
// a consumer replays them.
func readDir(t *testing.T, dir, format string) []adapters.Record {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	sort.Slice(entries, func(i, j int) bool {
		a, _ := entries[i].Info()
		b, _ := entries[j].Info()
		return a.ModTime().Before(b.ModTime())
	})
	var out []adapters.Record
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if format == "csv" {
			rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			for _, row := range rows[1:] {
				r := adapters.Record{}
				for i, h := range rows[0] {
					r[h] = row[i]
				}
				if r["_deleted"] == "true" {
					r["_deleted"] = true
				} else {
					delete(r, "_deleted")
				}
				out = append(out, r)
			}
			continue
		}
		for _, line := range bytes.Split(bytes.TrimSpace(data), []byte("\n")) {
			var r adapters.Record
			if err := json.Unmarshal(line, &r); err != nil {
				t.Fatal(err)
			}
			out = append(out, r)
		}
	}
	return out
}

// latestByKey replays batch files: each key's last version stands, so a
// re-sent batch (same file name) shows as one copy.
func latestByKey(t *testing.T, recs []adapters.Record) []adapters.Record {
	t.Helper()
	idx := map[string]int{}
	var out []adapters.Record
	for _, r := range recs {
		k := fmt.Sprint(r["k"])
		if i, ok := idx[k]; ok {
			out[i] = r
			continue
		}
		idx[k] = len(out)
		out = append(out, r)
	}
	return out
}
