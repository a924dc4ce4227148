package runtime

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"yiku/adapters"
)

// Checkpoints persists each pipeline's source position in one JSON file,
// replaced atomically (write, fsync, rename) on every save, so a crash
// leaves either the old or the new position, never half of one.
type Checkpoints struct {
	mu   sync.Mutex
	path string
	pos  map[string]string
}

// OpenCheckpoints loads the checkpoint file at path (absent = empty).
func OpenCheckpoints(path string) (*Checkpoints, error) {
	c := &Checkpoints{path: path, pos: map[string]string{}}
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return nil, fmt.Errorf("checkpoints: %w", err)
	}
	if err := json.Unmarshal(data, &c.pos); err != nil {
		return nil, fmt.Errorf("checkpoints: %s is damaged: %w", path, err)
	}
	return c, nil
}

// Get returns a pipeline's position ("" = from the start).
func (c *Checkpoints) Get(pipeline string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pos[pipeline]
}

// Save stores a pipeline's position durably.
func (c *Checkpoints) Save(pipeline, pos string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pos[pipeline] = pos
	data, err := json.MarshalIndent(c.pos, "", "  ")
	if err != nil {
		return err
	}
	return writeAtomic(c.path, data)
}

func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, ".checkpoints-*.tmp")
	if err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoints: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("checkpoints: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("checkpoints: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
	return nil
}

// Reject is one line of a reject file.
type Reject struct {
	At       time.Time         `json:"at"`
	Pipeline string            `json:"pipeline"`
	Origin   string            `json:"origin,omitempty"`
	Stage    string            `json:"stage"` // source, mapping or sink
	Reasons  []adapters.Reason `json:"reasons"`
	Record   adapters.Record   `json:"record,omitempty"`
}

// RejectFile appends refused records as NDJSON and syncs after each batch.
type RejectFile struct {
	mu   sync.Mutex
	f    *os.File
	path string
}

// OpenRejectFile opens (creating) the reject file for appending.
func OpenRejectFile(path string) (*RejectFile, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("reject file: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o640)
	if err != nil {
		return nil, fmt.Errorf("reject file: %w", err)
	}
	return &RejectFile{f: f, path: path}, nil
}

// Path is where the file is.
func (r *RejectFile) Path() string { return r.path }

// Write appends rejects and syncs.
func (r *RejectFile) Write(rs []Reject) error {
	if len(rs) == 0 {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var buf []byte
	for _, x := range rs {
		line, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("reject file: %w", err)
		}
		buf = append(append(buf, line...), '\n')
	}
	if _, err := r.f.Write(buf); err != nil {
		return fmt.Errorf("reject file: %w", err)
	}
	return r.f.Sync()
}

// Close closes the file.
func (r *RejectFile) Close() error { return r.f.Close() }
