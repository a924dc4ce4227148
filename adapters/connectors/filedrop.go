package connectors

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"
	"golang.org/x/text/transform"

	"yiku/adapters"
)

const fileDropDoc = `filedrop — read CSV and NDJSON files that appear in a folder.

  type: filedrop
  dir: inbox                 # watched folder (relative to the adapter.yaml)
  pattern: "*.csv"           # glob of file names (default "*")
  format: auto               # auto (by extension: .csv, .ndjson, .jsonl), csv or ndjson
  ready: settled             # settled (default) or marker
  settle: 5s                 # settled: untouched this long before it is read
  processed_dir: processed   # where finished files go (default <dir>/processed)
  csv:
    delimiter: ","           # one character; "\t" for tab
    encoding: utf-8          # utf-8 or gbk (GB 18030, as legacy Windows exports write)
    comment: "#"             # optional comment character

Partial files are never read: names starting with "." or ending in .part,
.tmp or .partial are skipped; with ready: settled a file is read only after
its modification time is settle old; with ready: marker only once a
"<name>.done" file exists next to it (the marker is moved aside with it).
Files are read in name order. A CSV file's first row names the fields.
A row that cannot be parsed (wrong number of columns, broken quotes,
invalid JSON) goes to the reject file; the rest of the file is read. A
finished file (and its marker) is moved into processed_dir after its last
batch is checkpointed.`

func init() {
	adapters.RegisterSource(adapters.SourceSpec{Name: "filedrop", Doc: fileDropDoc, New: newFileDrop})
}

// FileDropConfig is the filedrop source's settings.
type FileDropConfig struct {
	Dir          string            `yaml:"dir"`
	Pattern      string            `yaml:"pattern"`
	Format       string            `yaml:"format"`
	Ready        string            `yaml:"ready"`
	Settle       adapters.Duration `yaml:"settle"`
	ProcessedDir string            `yaml:"processed_dir"`
	CSV          struct {
		Delimiter string `yaml:"delimiter"`
		Encoding  string `yaml:"encoding"`
		Comment   string `yaml:"comment"`
	} `yaml:"csv"`
}

func (c *FileDropConfig) check(env adapters.Env) error {
	if c.Dir == "" {
		return adapters.Fieldf("dir", "the watched folder is required")
	}
	c.Dir = resolve(env, c.Dir)
	if c.Pattern == "" {
		c.Pattern = "*"
	}
	if _, err := filepath.Match(c.Pattern, "x"); err != nil {
		return adapters.Fieldf("pattern", "bad glob: %v", err)
	}
	switch c.Format {
	case "":
		c.Format = "auto"
	case "auto", "csv", "ndjson":
	default:
		return adapters.Fieldf("format", "unknown format %q: use auto, csv or ndjson", c.Format)
	}
	switch c.Ready {
	case "":
		c.Ready = "settled"
	case "settled", "marker":
	default:
		return adapters.Fieldf("ready", "unknown readiness rule %q: use settled or marker", c.Ready)
	}
	if c.Settle < 0 {
		return adapters.Fieldf("settle", "must not be negative")
	}
	if c.Settle == 0 && c.Ready == "settled" {
		c.Settle = adapters.Duration(5 * time.Second)
	}
	if c.ProcessedDir == "" {
		c.ProcessedDir = filepath.Join(c.Dir, "processed")
	} else {
		c.ProcessedDir = resolve(env, c.ProcessedDir)
	}
	switch c.CSV.Delimiter {
	case "":
		c.CSV.Delimiter = ","
	case `\t`:
		c.CSV.Delimiter = "\t"
	}
	if len([]rune(c.CSV.Delimiter)) != 1 {
		return adapters.Fieldf("csv.delimiter", "must be one character")
	}
	switch strings.ToLower(c.CSV.Encoding) {
	case "", "utf-8", "utf8":
		c.CSV.Encoding = "utf-8"
	case "gbk", "gb18030":
		c.CSV.Encoding = "gbk"
	default:
		return adapters.Fieldf("csv.encoding", "unknown encoding %q: use utf-8 or gbk", c.CSV.Encoding)
	}
	if len([]rune(c.CSV.Comment)) > 1 {
		return adapters.Fieldf("csv.comment", "must be one character")
	}
	return nil
}

func resolve(env adapters.Env, p string) string {
	if filepath.IsAbs(p) || env.Dir == "" {
		return p
	}
	return filepath.Join(env.Dir, p)
}

type fileDrop struct {
	cfg FileDropConfig
	// pos is the file being read and how many rows of it are consumed.
	pos  filePos
	cur  *fileReader
	now  func() time.Time
	open bool
}

type filePos struct {
	File string `json:"file,omitempty"`
	Rows int    `json:"rows,omitempty"`
	Done bool   `json:"done,omitempty"`
}

func newFileDrop(decode adapters.Decoder, env adapters.Env) (adapters.Source, error) {
	var cfg FileDropConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewFileDrop(cfg, env)
}

// NewFileDrop builds a filedrop source from settings.
func NewFileDrop(cfg FileDropConfig, env adapters.Env) (adapters.Source, error) {
	if err := cfg.check(env); err != nil {
		return nil, err
	}
	return &fileDrop{cfg: cfg, now: time.Now}, nil
}

func (f *fileDrop) Connect(_ context.Context, from string) error {
	f.pos = filePos{}
	if from != "" {
		if err := json.Unmarshal([]byte(from), &f.pos); err != nil {
			return adapters.Permanent(fmt.Errorf("filedrop: checkpoint %q: %w", from, err))
		}
	}
	if _, err := os.Stat(f.cfg.Dir); err != nil {
		return fmt.Errorf("filedrop: watched folder: %w", err)
	}
	if err := os.MkdirAll(f.cfg.ProcessedDir, 0o750); err != nil {
		return fmt.Errorf("filedrop: processed folder: %w", err)
	}
	f.open = true
	return nil
}

func partialName(name string) bool {
	return strings.HasPrefix(name, ".") || strings.HasSuffix(name, ".part") || strings.HasSuffix(name, ".tmp") ||
		strings.HasSuffix(name, ".partial") || strings.HasSuffix(name, ".done")
}

// ready lists the files that may be read now, in name order, and whether
// others will be once their settle time has passed.
func (f *fileDrop) ready() (out []string, settling bool, err error) {
	entries, err := os.ReadDir(f.cfg.Dir)
	if err != nil {
		return nil, false, fmt.Errorf("filedrop: list %s: %w", f.cfg.Dir, err)
	}
	for _, e := range entries {
		name := e.Name()
		if !e.Type().IsRegular() || partialName(name) {
			continue
		}
		if ok, _ := filepath.Match(f.cfg.Pattern, name); !ok {
			continue
		}
		if f.cfg.Ready == "marker" {
			if _, err := os.Stat(filepath.Join(f.cfg.Dir, name+".done")); err != nil {
				continue
			}
		} else {
			info, err := e.Info()
			if err != nil {
				continue
			}
			if f.now().Sub(info.ModTime()) < f.cfg.Settle.D() {
				settling = true
				continue
			}
		}
		out = append(out, name)
	}
	sort.Strings(out)
	return out, settling, nil
}

func (f *fileDrop) Read(ctx context.Context, max int) (adapters.Batch, error) {
	if !f.open {
		return adapters.Batch{}, adapters.ErrNotConnected
	}
	if f.cur == nil {
		if err := f.openNext(); err != nil {
			return adapters.Batch{}, err
		}
	}
	fromPos := f.pos
	from, _ := json.Marshal(fromPos)
	b := adapters.Batch{From: string(from)}
	for len(b.Messages) < max {
		if err := ctx.Err(); err != nil {
			return adapters.Batch{}, err
		}
		msg, err := f.cur.next()
		if errors.Is(err, io.EOF) {
			f.pos.Done = true
			break
		}
		if err != nil {
			return adapters.Batch{}, err
		}
		f.pos.Rows++
		b.Messages = append(b.Messages, msg)
	}
	to, _ := json.Marshal(f.pos)
	b.To = string(to)
	if f.pos.Done {
		name := f.pos.File
		f.cur.close()
		f.cur = nil
		b.Ack = func(context.Context) error { return f.moveAside(name) }
	}
	return b, nil
}

// openNext opens the file the position names, or the next ready one.
func (f *fileDrop) openNext() error {
	names, settling, err := f.ready()
	if err != nil {
		return err
	}
	if f.pos.File != "" {
		for _, n := range names {
			if n == f.pos.File {
				return f.openFile(n, f.pos.Rows)
			}
		}
		if _, err := os.Stat(filepath.Join(f.cfg.Dir, f.pos.File)); err == nil {
			// Checkpointed mid-file: keep reading it even if it no longer
			// matches (a marker removed by hand would otherwise strand it).
			return f.openFile(f.pos.File, f.pos.Rows)
		}
	}
	for _, n := range names {
		if n != f.pos.File {
			return f.openFile(n, 0)
		}
	}
	if settling {
		return adapters.ErrSettling
	}
	return adapters.ErrNoData
}

// openFile opens name and skips the rows already consumed; a file
// checkpointed as finished but not yet moved aside yields an empty last
// batch whose acknowledgement moves it.
func (f *fileDrop) openFile(name string, skip int) error {
	path := filepath.Join(f.cfg.Dir, name)
	format := f.cfg.Format
	if format == "auto" {
		switch strings.ToLower(filepath.Ext(name)) {
		case ".csv", ".txt":
			format = "csv"
		case ".ndjson", ".jsonl", ".json":
			format = "ndjson"
		default:
			return adapters.Permanent(fmt.Errorf("filedrop: %s: cannot tell the format from the extension; set format", name))
		}
	}
	r, err := openFileReader(path, name, format, f.cfg)
	if err != nil {
		return err
	}
	for i := 0; i < skip; i++ {
		if _, err := r.next(); err != nil {
			if errors.Is(err, io.EOF) {
				break
			}
			r.close()
			return err
		}
	}
	f.cur = r
	f.pos = filePos{File: name, Rows: skip}
	return nil
}

func (f *fileDrop) moveAside(name string) error {
	src := filepath.Join(f.cfg.Dir, name)
	dst := filepath.Join(f.cfg.ProcessedDir, name)
	if _, err := os.Stat(dst); err == nil {
		dst = filepath.Join(f.cfg.ProcessedDir, fmt.Sprintf("%s.%s", name, f.now().UTC().Format("20060102T150405.000000000")))
	}
	if err := os.Rename(src, dst); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("filedrop: move %s aside: %w", name, err)
	}
	if f.cfg.Ready == "marker" {
		marker := filepath.Join(f.cfg.Dir, name+".done")
		if err := os.Rename(marker, dst+".done"); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("filedrop: move %s aside: %w", marker, err)
		}
	}
	return nil
}

func (f *fileDrop) Close() error {
	if f.cur != nil {
		f.cur.close()
		f.cur = nil
	}
	f.open = false
	return nil
}

// fileReader yields one message per CSV row or NDJSON line.
type fileReader struct {
	name   string
	file   *os.File
	csv    *csv.Reader
	header []string
	lines  *bufio.Reader
	line   int
}

func openFileReader(path, name, format string, cfg FileDropConfig) (*fileReader, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("filedrop: open %s: %w", name, err)
	}
	var in io.Reader = fh
	if format == "csv" && cfg.CSV.Encoding == "gbk" {
		in = transform.NewReader(fh, simplifiedchinese.GB18030.NewDecoder())
	}
	r := &fileReader{name: name, file: fh}
	if format == "ndjson" {
		r.lines = bufio.NewReaderSize(in, 1<<20)
		return r, nil
	}
	cr := csv.NewReader(in)
	cr.Comma = []rune(cfg.CSV.Delimiter)[0]
	if cfg.CSV.Comment != "" {
		cr.Comment = []rune(cfg.CSV.Comment)[0]
	}
	cr.ReuseRecord = false
	head, err := cr.Read()
	if err != nil {
		fh.Close()
		if errors.Is(err, io.EOF) {
			return nil, adapters.Permanent(fmt.Errorf("filedrop: %s is empty: a CSV file needs a header row", name))
		}
		return nil, adapters.Permanent(fmt.Errorf("filedrop: %s: header row: %w", name, err))
	}
	for i := range head {
		head[i] = strings.TrimSpace(strings.TrimPrefix(head[i], "\ufeff"))
	}
	cr.FieldsPerRecord = len(head)
	r.csv, r.header = cr, head
	return r, nil
}

func (r *fileReader) next() (adapters.Message, error) {
	if r.lines != nil {
		return r.nextJSON()
	}
	rec, err := r.csv.Read()
	line, _ := r.csv.FieldPos(0)
	origin := fmt.Sprintf("%s:%d", r.name, line)
	if errors.Is(err, io.EOF) {
		return adapters.Message{}, io.EOF
	}
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return adapters.Message{Origin: fmt.Sprintf("%s:%d", r.name, pe.StartLine), Err: pe.Err, Record: rowRecord(r.header, rec)}, nil
		}
		return adapters.Message{}, fmt.Errorf("filedrop: read %s: %w", r.name, err)
	}
	return adapters.Message{Record: rowRecord(r.header, rec), Origin: origin}, nil
}

func rowRecord(header, row []string) adapters.Record {
	rec := make(adapters.Record, len(header))
	for i, h := range header {
		if i < len(row) {
			rec[h] = row[i]
		}
	}
	return rec
}

func (r *fileReader) nextJSON() (adapters.Message, error) {
	for {
		raw, err := r.lines.ReadBytes('\n')
		if len(raw) == 0 && errors.Is(err, io.EOF) {
			return adapters.Message{}, io.EOF
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return adapters.Message{}, fmt.Errorf("filedrop: read %s: %w", r.name, err)
		}
		r.line++
		raw = bytes.TrimSpace(raw)
		if len(raw) == 0 {
			continue // blank lines are not rows
		}
		origin := fmt.Sprintf("%s:%d", r.name, r.line)
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var rec adapters.Record
		if derr := dec.Decode(&rec); derr != nil || dec.More() || rec == nil {
			if derr == nil {
				derr = errors.New("a line must hold exactly one JSON object")
			}
			return adapters.Message{Origin: origin, Err: fmt.Errorf("invalid JSON: %w", derr), Record: adapters.Record{"_line": string(raw)}}, nil
		}
		return adapters.Message{Record: rec, Origin: origin}, nil
	}
}

func (r *fileReader) close() { _ = r.file.Close() }
