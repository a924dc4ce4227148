package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/adapters"
)

const sqlSinkDoc = `sql — upsert records into a table of a department database.

  type: sql
  driver: postgres | mysql | sqlite
  dsn: <connection string or SQLite path>    # or dsn_env: NAME_OF_VARIABLE
  table: received_licences
  key: [licence_id]       # columns of a primary key or unique index (required)
  columns: [a, b, c]      # optional: write only these fields (default: all)

Each record becomes one row, inserted or, when a row with the same key
exists, updated; a delete removes the row with the record's key. Writing
the same batch twice leaves the table as writing it once. Nested values are
stored as JSON text. A row the database refuses (a NOT NULL or type
violation) goes to the reject file with the database's reason.`

func init() {
	adapters.RegisterSink(adapters.SinkSpec{Name: "sql", Doc: sqlSinkDoc, New: newSQLSink})
}

// SQLSinkConfig is the sql sink's settings.
type SQLSinkConfig struct {
	DBSettings `yaml:",inline"`
	Key        []string `yaml:"key"`
	Columns    []string `yaml:"columns"`
}

func (c *SQLSinkConfig) check() error {
	if err := c.DBSettings.check(); err != nil {
		return err
	}
	if len(c.Key) == 0 {
		return adapters.Fieldf("key", "the key columns are required (a primary key or unique index)")
	}
	for i, k := range c.Key {
		if err := checkIdent(fmt.Sprintf("key[%d]", i), k); err != nil {
			return err
		}
	}
	for i, k := range c.Columns {
		if err := checkIdent(fmt.Sprintf("columns[%d]", i), k); err != nil {
			return err
		}
	}
	return nil
}

type sqlSink struct {
	cfg  SQLSinkConfig
	env  adapters.Env
	db   *gorm.DB
	only map[string]bool
}

func newSQLSink(decode adapters.Decoder, env adapters.Env) (adapters.Sink, error) {
	var cfg SQLSinkConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewSQLSink(cfg, env)
}

// NewSQLSink builds an sql sink from settings.
func NewSQLSink(cfg SQLSinkConfig, env adapters.Env) (adapters.Sink, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	s := &sqlSink{cfg: cfg, env: env}
	if len(cfg.Columns) > 0 {
		s.only = map[string]bool{}
		for _, c := range appendMissing(append([]string{}, cfg.Columns...), cfg.Key...) {
			s.only[c] = true
		}
	}
	return s, nil
}

func (s *sqlSink) Connect(ctx context.Context) error {
	db, err := openDB(ctx, s.cfg.DBSettings, s.env)
	if err != nil {
		return fmt.Errorf("sql sink: %w", err)
	}
	s.db = db
	return nil
}

// row turns a record into column values.
func (s *sqlSink) row(r adapters.Record) (map[string]any, error) {
	out := make(map[string]any, len(r))
	for k, v := range r {
		if s.only != nil && !s.only[k] {
			continue
		}
		if !identRE.MatchString(k) {
			return nil, fmt.Errorf("field %q is not a usable column name", k)
		}
		switch v.(type) {
		case map[string]any, []any:
			data, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			v = string(data)
		case json.Number:
			v = v.(json.Number).String()
		}
		out[k] = v
	}
	for _, k := range s.cfg.Key {
		if v, ok := out[k]; !ok || v == nil {
			return nil, fmt.Errorf("key field %q is missing", k)
		}
	}
	return out, nil
}

func (s *sqlSink) Write(ctx context.Context, msgs []adapters.Message, _ string) (adapters.Result, error) {
	if s.db == nil {
		return adapters.Result{}, adapters.ErrNotConnected
	}
	var res adapters.Result
	type item struct {
		idx int
		row map[string]any
		del bool
	}
	items := make([]item, 0, len(msgs))
	for i, m := range msgs {
		row, err := s.row(m.Record)
		if err != nil {
			res.Rejected = append(res.Rejected, adapters.Rejection{Index: i, Reasons: []adapters.Reason{{Rule: "sql_row", Message: err.Error()}}})
			continue
		}
		items = append(items, item{i, row, m.Deleted})
	}
	// The batch is one transaction; if the database refuses it, find the
	// rows it refuses one by one so the others still land.
	err := s.db.WithContext(ctx).Transaction(func(tx *gorm.DB) error {
		for _, it := range items {
			if err := s.apply(tx, it.row, it.del); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil {
		res.Written = len(items)
		return res, nil
	}
	if perr := s.ping(ctx); perr != nil {
		return adapters.Result{}, fmt.Errorf("sql sink: write %s: %w", s.cfg.Table, err)
	}
	for _, it := range items {
		if err := s.apply(s.db.WithContext(ctx), it.row, it.del); err != nil {
			if perr := s.ping(ctx); perr != nil {
				return adapters.Result{}, fmt.Errorf("sql sink: write %s: %w", s.cfg.Table, err)
			}
			res.Rejected = append(res.Rejected, adapters.Rejection{Index: it.idx, Reasons: []adapters.Reason{{Rule: "sql_write", Message: err.Error()}}})
			continue
		}
		res.Written++
	}
	sort.Slice(res.Rejected, func(i, j int) bool { return res.Rejected[i].Index < res.Rejected[j].Index })
	return res, nil
}

func (s *sqlSink) apply(tx *gorm.DB, row map[string]any, del bool) error {
	if del {
		where := map[string]any{}
		for _, k := range s.cfg.Key {
			where[k] = row[k]
		}
		return tx.Table(s.cfg.Table).Where(where).Delete(map[string]any{}).Error
	}
	keys := make([]clause.Column, len(s.cfg.Key))
	isKey := map[string]bool{}
	for i, k := range s.cfg.Key {
		keys[i] = clause.Column{Name: k}
		isKey[k] = true
	}
	var upd []string
	for k := range row {
		if !isKey[k] {
			upd = append(upd, k)
		}
	}
	sort.Strings(upd)
	oc := clause.OnConflict{Columns: keys, DoNothing: len(upd) == 0}
	if len(upd) > 0 {
		oc.DoUpdates = clause.AssignmentColumns(upd)
	}
	// gorm writes the new row's id back into a map it creates from, so
	// give it a copy: the row may be retried.
	vals := make(map[string]any, len(row))
	for k, v := range row {
		vals[k] = v
	}
	return tx.Table(s.cfg.Table).Clauses(oc).Create(vals).Error
}

func (s *sqlSink) ping(ctx context.Context) error {
	sqlDB, err := s.db.DB()
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return sqlDB.PingContext(pctx)
}

func (s *sqlSink) Close() error {
	db := s.db
	s.db = nil
	return closeDB(db)
}
