package connectors

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"yiku/adapters"
)

const fileSinkDoc = `file — write each batch to a file of its own in a folder.

  type: file
  dir: outbox          # folder (relative to the adapter.yaml)
  format: ndjson       # ndjson (default) or csv
  columns: [a, b]      # csv: the columns, in order (default: the batch's fields, sorted)

A batch becomes <dir>/<batch key>.<ext>, written to a temporary
name, synced and renamed, so a reader never sees half a file and writing the
same batch again replaces it with the same content. Deletes are written as
NDJSON lines {"_deleted": true, ...record} (CSV: a trailing _deleted column).`

func init() {
	adapters.RegisterSink(adapters.SinkSpec{Name: "file", Doc: fileSinkDoc, New: newFileSink})
}

// FileSinkConfig is the file sink's settings.
type FileSinkConfig struct {
	Dir     string   `yaml:"dir"`
	Format  string   `yaml:"format"`
	Columns []string `yaml:"columns"`
}

type fileSink struct {
	cfg  FileSinkConfig
	open bool
}

func newFileSink(decode adapters.Decoder, env adapters.Env) (adapters.Sink, error) {
	var cfg FileSinkConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewFileSink(cfg, env)
}

// NewFileSink builds a file sink.
func NewFileSink(cfg FileSinkConfig, env adapters.Env) (adapters.Sink, error) {
	if cfg.Dir == "" {
		return nil, adapters.Fieldf("dir", "the output folder is required")
	}
	cfg.Dir = resolve(env, cfg.Dir)
	switch cfg.Format {
	case "":
		cfg.Format = "ndjson"
	case "ndjson", "csv":
	default:
		return nil, adapters.Fieldf("format", "unknown format %q: use ndjson or csv", cfg.Format)
	}
	if len(cfg.Columns) > 0 && cfg.Format != "csv" {
		return nil, adapters.Fieldf("columns", "columns apply to csv only")
	}
	return &fileSink{cfg: cfg}, nil
}

func (f *fileSink) Connect(context.Context) error {
	if err := os.MkdirAll(f.cfg.Dir, 0o750); err != nil {
		return fmt.Errorf("file sink: %w", err)
	}
	f.open = true
	return nil
}

func (f *fileSink) Write(_ context.Context, msgs []adapters.Message, key string) (adapters.Result, error) {
	if !f.open {
		return adapters.Result{}, adapters.ErrNotConnected
	}
	if len(msgs) == 0 {
		return adapters.Result{}, nil
	}
	name := filepath.Join(f.cfg.Dir, safeName(key)+"."+f.cfg.Format)
	tmp, err := os.CreateTemp(f.cfg.Dir, ".batch-*.tmp")
	if err != nil {
		return adapters.Result{}, fmt.Errorf("file sink: %w", err)
	}
	defer os.Remove(tmp.Name())
	var res adapters.Result
	if f.cfg.Format == "csv" {
		res, err = f.writeCSV(tmp, msgs)
	} else {
		res, err = writeNDJSON(tmp, msgs)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), name)
	}
	if err != nil {
		return adapters.Result{}, fmt.Errorf("file sink: write %s: %w", name, err)
	}
	return res, nil
}

func writeNDJSON(w *os.File, msgs []adapters.Message) (adapters.Result, error) {
	var res adapters.Result
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for i, m := range msgs {
		rec := m.Record
		if m.Deleted {
			rec = make(adapters.Record, len(m.Record)+1)
			for k, v := range m.Record {
				rec[k] = v
			}
			rec["_deleted"] = true
		}
		if err := enc.Encode(rec); err != nil {
			if _, ok := err.(*json.UnsupportedValueError); ok {
				res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Rule: "json", Message: err.Error()}}})
				continue
			}
			return res, err
		}
		res.Written++
	}
	return res, nil
}

func (f *fileSink) writeCSV(w *os.File, msgs []adapters.Message) (adapters.Result, error) {
	cols := f.cfg.Columns
	if len(cols) == 0 {
		seen := map[string]bool{}
		for _, m := range msgs {
			for k := range m.Record {
				if !seen[k] {
					seen[k] = true
					cols = append(cols, k)
				}
			}
		}
		sort.Strings(cols)
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(append(append([]string{}, cols...), "_deleted")); err != nil {
		return adapters.Result{}, err
	}
	var res adapters.Result
	for _, m := range msgs {
		row := make([]string, 0, len(cols)+1)
		for _, c := range cols {
			v := m.Record[c]
			switch x := v.(type) {
			case nil:
				row = append(row, "")
			case string:
				row = append(row, x)
			case map[string]any, []any:
				data, _ := json.Marshal(x)
				row = append(row, string(data))
			default:
				row = append(row, fmt.Sprint(x))
			}
		}
		del := ""
		if m.Deleted {
			del = "true"
		}
		if err := cw.Write(append(row, del)); err != nil {
			return res, err
		}
		res.Written++
	}
	cw.Flush()
	return res, cw.Error()
}

// safeName keeps a batch key usable as a file name.
func safeName(key string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' {
			return r
		}
		return '_'
	}, key)
}

func (f *fileSink) Close() error {
	f.open = false
	return nil
}
