package connectors

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"yiku/adapters"
)

const sqlSourceDoc = `sql — poll a table of a department database (PostgreSQL, MySQL/MariaDB, SQLite).

  type: sql
  driver: postgres | mysql | sqlite
  dsn: <connection string or SQLite path>    # or dsn_env: NAME_OF_VARIABLE
  table: legacy_table
  id_column: id                 # unique, never reused; orders the scan (required)
  updated_column: updated_at    # optional: incremental by last change, id breaks ties
  tombstone_column: is_deleted  # optional: a truthy value turns the row into a delete
  columns: [a, b, c]            # optional: read only these (default: all)

Without updated_column the table is read incrementally by id (new rows
only); with it, changed rows are read again after their update. Rows whose
updated_column is NULL are not read. The position (last updated value and
id) is checkpointed after each written batch.`

func init() {
	adapters.RegisterSource(adapters.SourceSpec{Name: "sql", Doc: sqlSourceDoc, New: newSQLSource})
}

// SQLSourceConfig is the sql source's settings.
type SQLSourceConfig struct {
	DBSettings      `yaml:",inline"`
	IDColumn        string   `yaml:"id_column"`
	UpdatedColumn   string   `yaml:"updated_column"`
	TombstoneColumn string   `yaml:"tombstone_column"`
	Columns         []string `yaml:"columns"`
}

func (c *SQLSourceConfig) check() error {
	if err := c.DBSettings.check(); err != nil {
		return err
	}
	if c.IDColumn == "" {
		return adapters.Fieldf("id_column", "an id column is required: it orders the scan and breaks ties")
	}
	if err := checkIdent("id_column", c.IDColumn); err != nil {
		return err
	}
	for field, col := range map[string]string{"updated_column": c.UpdatedColumn, "tombstone_column": c.TombstoneColumn} {
		if col != "" {
			if err := checkIdent(field, col); err != nil {
				return err
			}
		}
	}
	for i, col := range c.Columns {
		if err := checkIdent(fmt.Sprintf("columns[%d]", i), col); err != nil {
			return err
		}
	}
	return nil
}

type sqlSource struct {
	cfg SQLSourceConfig
	env adapters.Env
	db  *gorm.DB
	pos sqlPos
}

func newSQLSource(decode adapters.Decoder, env adapters.Env) (adapters.Source, error) {
	var cfg SQLSourceConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &sqlSource{cfg: cfg, env: env}, nil
}

// NewSQLSource builds an sql source from settings (for programs and tests).
func NewSQLSource(cfg SQLSourceConfig, env adapters.Env) (adapters.Source, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &sqlSource{cfg: cfg, env: env}, nil
}

// sqlPos is the watermark: the last row read, by (updated, id).
type sqlPos struct {
	Updated *posValue `json:"updated,omitempty"`
	ID      *posValue `json:"id,omitempty"`
}

// posValue keeps a column value with its kind, so it is bound back to the
// query with the type the driver gave it.
type posValue struct {
	Kind string `json:"kind"` // int, float, time, text
	V    string `json:"v"`
}

func toPos(v any) *posValue {
	switch x := plainValue(v).(type) {
	case int64:
		return &posValue{"int", strconv.FormatInt(x, 10)}
	case int32:
		return &posValue{"int", strconv.FormatInt(int64(x), 10)}
	case int:
		return &posValue{"int", strconv.Itoa(x)}
	case uint64:
		return &posValue{"int", strconv.FormatUint(x, 10)}
	case uint32:
		return &posValue{"int", strconv.FormatUint(uint64(x), 10)}
	case float64:
		return &posValue{"float", strconv.FormatFloat(x, 'g', -1, 64)}
	case time.Time:
		return &posValue{"time", x.UTC().Format(time.RFC3339Nano)}
	default:
		return &posValue{"text", fmt.Sprint(x)}
	}
}

func (p *posValue) value() (any, error) {
	switch p.Kind {
	case "int":
		return strconv.ParseInt(p.V, 10, 64)
	case "float":
		return strconv.ParseFloat(p.V, 64)
	case "time":
		return time.Parse(time.RFC3339Nano, p.V)
	case "text":
		return p.V, nil
	}
	return nil, fmt.Errorf("unknown position kind %q", p.Kind)
}

func (s *sqlSource) Connect(ctx context.Context, from string) error {
	s.pos = sqlPos{}
	if from != "" {
		if err := json.Unmarshal([]byte(from), &s.pos); err != nil {
			return adapters.Permanent(fmt.Errorf("sql source: checkpoint %q: %w", from, err))
		}
	}
	db, err := openDB(ctx, s.cfg.DBSettings, s.env)
	if err != nil {
		return fmt.Errorf("sql source: %w", err)
	}
	s.db = db
	return nil
}

func (s *sqlSource) Read(ctx context.Context, max int) (adapters.Batch, error) {
	if s.db == nil {
		return adapters.Batch{}, adapters.ErrNotConnected
	}
	from, err := json.Marshal(s.pos)
	if err != nil {
		return adapters.Batch{}, err
	}
	q := s.db.WithContext(ctx).Table(s.cfg.Table)
	if len(s.cfg.Columns) > 0 {
		cols := append([]string{}, s.cfg.Columns...)
		cols = appendMissing(cols, s.cfg.IDColumn, s.cfg.UpdatedColumn, s.cfg.TombstoneColumn)
		q = q.Select(cols)
	}
	id := clause.Column{Name: s.cfg.IDColumn}
	if s.cfg.UpdatedColumn != "" {
		upd := clause.Column{Name: s.cfg.UpdatedColumn}
		// SQLite keeps date-times as text in whatever shape the legacy
		// system wrote; julianday() compares them as instants.
		col, val := "?", "?"
		if s.cfg.Driver == "sqlite" {
			col, val = "julianday(?)", "julianday(?)"
		}
		q = q.Where(clause.Expr{SQL: "? IS NOT NULL", Vars: []any{upd}})
		if s.pos.Updated != nil && s.pos.ID != nil {
			u, err := s.pos.Updated.value()
			if err != nil {
				return adapters.Batch{}, adapters.Permanent(err)
			}
			i, err := s.pos.ID.value()
			if err != nil {
				return adapters.Batch{}, adapters.Permanent(err)
			}
			if t, ok := u.(time.Time); ok && s.cfg.Driver == "sqlite" {
				u = t.UTC().Format("2006-01-02 15:04:05.999999999")
			}
			q = q.Where(clause.Expr{SQL: "(" + col + " > " + val + " OR (" + col + " = " + val + " AND ? > ?))", Vars: []any{upd, u, upd, u, id, i}})
		}
		q = q.Order(clause.OrderBy{Expression: clause.Expr{SQL: col + ", ?", Vars: []any{upd, id}}})
	} else {
		if s.pos.ID != nil {
			i, err := s.pos.ID.value()
			if err != nil {
				return adapters.Batch{}, adapters.Permanent(err)
			}
			q = q.Where(clause.Expr{SQL: "? > ?", Vars: []any{id, i}})
		}
		q = q.Order(clause.OrderByColumn{Column: id})
	}
	var rows []map[string]any
	if err := q.Limit(max).Find(&rows).Error; err != nil {
		return adapters.Batch{}, fmt.Errorf("sql source: read %s: %w", s.cfg.Table, err)
	}
	if len(rows) == 0 {
		return adapters.Batch{}, adapters.ErrNoData
	}
	b := adapters.Batch{From: string(from), Messages: make([]adapters.Message, 0, len(rows))}
	for _, row := range rows {
		rec := make(adapters.Record, len(row))
		for k, v := range row {
			rec[k] = plainValue(v)
		}
		msg := adapters.Message{Record: rec, Origin: fmt.Sprintf("%s#%v", s.cfg.Table, rec[s.cfg.IDColumn])}
		if s.cfg.TombstoneColumn != "" {
			msg.Deleted = isTruthy(row[s.cfg.TombstoneColumn])
			delete(rec, s.cfg.TombstoneColumn)
		}
		b.Messages = append(b.Messages, msg)
	}
	last := rows[len(rows)-1]
	s.pos.ID = toPos(last[s.cfg.IDColumn])
	if s.cfg.UpdatedColumn != "" {
		s.pos.Updated = toPos(last[s.cfg.UpdatedColumn])
	}
	to, err := json.Marshal(s.pos)
	if err != nil {
		return adapters.Batch{}, err
	}
	b.To = string(to)
	return b, nil
}

func (s *sqlSource) Close() error {
	db := s.db
	s.db = nil
	return closeDB(db)
}

func appendMissing(cols []string, more ...string) []string {
	for _, m := range more {
		if m == "" {
			continue
		}
		found := false
		for _, c := range cols {
			if c == m {
				found = true
			}
		}
		if !found {
			cols = append(cols, m)
		}
	}
	return cols
}
