package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"yiku/storage"
)

// connectClient speaks to a Kafka Connect worker's REST API.
type connectClient struct {
	base string
	http http.Client
}

func (c *connectClient) do(ctx context.Context, method, path string, body any) ([]byte, int, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, 0, err
		}
		rd = bytes.NewReader(b)
	}
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, 0, fmt.Errorf("kafka connect: %s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return b, resp.StatusCode, err
}

// jdbcSinkVersion is the version of the Debezium JDBC sink plugin the
// worker loaded; an error when it has none.
func (c *connectClient) jdbcSinkVersion(ctx context.Context) (string, error) {
	b, code, err := c.do(ctx, http.MethodGet, "/connector-plugins", nil)
	if err != nil {
		return "", err
	}
	if code != http.StatusOK {
		return "", fmt.Errorf("kafka connect: GET /connector-plugins: %d %s", code, b)
	}
	var plugins []struct {
		Class   string `json:"class"`
		Version string `json:"version"`
	}
	if err := json.Unmarshal(b, &plugins); err != nil {
		return "", fmt.Errorf("kafka connect: connector plugins: %w", err)
	}
	for _, p := range plugins {
		if p.Class == "io.debezium.connector.jdbc.JdbcSinkConnector" {
			return p.Version, nil
		}
	}
	return "", fmt.Errorf("kafka connect: the worker has no io.debezium.connector.jdbc.JdbcSinkConnector plugin (it has %s)", b)
}

// create starts a connector; the worker validates the configuration first.
func (c *connectClient) create(ctx context.Context, name string, config map[string]string) error {
	b, code, err := c.do(ctx, http.MethodPut, "/connectors/"+url.PathEscape(name)+"/config", config)
	if err != nil {
		return err
	}
	if code != http.StatusCreated && code != http.StatusOK {
		return fmt.Errorf("kafka connect: create connector %s: %d %s", name, code, b)
	}
	return nil
}

// failed returns an error, with the worker's trace, when the connector or
// one of its tasks has failed; nil while they run (or are starting).
func (c *connectClient) failed(ctx context.Context, name string) error {
	b, code, err := c.do(ctx, http.MethodGet, "/connectors/"+url.PathEscape(name)+"/status", nil)
	if err != nil {
		return err
	}
	if code == http.StatusNotFound {
		return nil // not yet known to the worker
	}
	if code != http.StatusOK {
		return fmt.Errorf("kafka connect: status of %s: %d %s", name, code, b)
	}
	var st struct {
		Connector taskState   `json:"connector"`
		Tasks     []taskState `json:"tasks"`
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("kafka connect: status of %s: %w", name, err)
	}
	if st.Connector.State == "FAILED" {
		return fmt.Errorf("kafka connect: connector %s failed: %s", name, clip(st.Connector.Trace))
	}
	for _, t := range st.Tasks {
		if t.State == "FAILED" {
			return fmt.Errorf("kafka connect: task %d of connector %s failed: %s", t.ID, name, clip(t.Trace))
		}
	}
	return nil
}

func clip(s string) string {
	if len(s) > 3000 {
		return s[:3000] + "…"
	}
	return s
}

type taskState struct {
	ID    int    `json:"id"`
	State string `json:"state"`
	Trace string `json:"trace"`
}

// delete stops and removes a connector and waits until it is gone, so the
// next sink runs alone.
func (c *connectClient) delete(ctx context.Context, name string) error {
	b, code, err := c.do(ctx, http.MethodDelete, "/connectors/"+url.PathEscape(name), nil)
	if err != nil {
		return err
	}
	if code != http.StatusNoContent && code != http.StatusOK && code != http.StatusNotFound {
		return fmt.Errorf("kafka connect: delete connector %s: %d %s", name, code, b)
	}
	for {
		_, code, err := c.do(ctx, http.MethodGet, "/connectors/"+url.PathEscape(name), nil)
		if err != nil {
			return err
		}
		if code == http.StatusNotFound {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("kafka connect: connector %s still there after delete: %w", name, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// jdbcTarget is the database as the JDBC driver names it.
type jdbcTarget struct{ url, user, password string }

// jdbcTargetOf turns a postgres:// URL into a JDBC URL and credentials.
func jdbcTargetOf(dbURL string) (jdbcTarget, error) {
	u, err := url.Parse(dbURL)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
		return jdbcTarget{}, fmt.Errorf("--database-url: want postgres://user:password@host:port/database, got %q", redact(dbURL))
	}
	t := jdbcTarget{url: "jdbc:postgresql://" + u.Host + u.Path, user: u.User.Username()}
	t.password, _ = u.User.Password()
	if u.Query().Get("sslmode") == "disable" {
		t.url += "?sslmode=disable"
	}
	return t, nil
}

func redact(s string) string {
	if u, err := url.Parse(s); err == nil {
		return u.Redacted()
	}
	return "(unparsable)"
}

// newDatabase creates database name beside the one of adminURL and returns
// its URL and a function that drops it.
func newDatabase(ctx context.Context, adminURL, name string) (string, string, func() error, error) {
	u, err := url.Parse(adminURL)
	if err != nil || !strings.HasPrefix(u.Scheme, "postgres") {
		return "", "", nil, fmt.Errorf("--database-url: a postgres:// URL is needed, got %q", redact(adminURL))
	}
	admin, err := storage.Open(ctx, adminURL)
	if err != nil {
		return "", "", nil, fmt.Errorf("reach %s: %w", u.Redacted(), err)
	}
	if err := admin.Gorm.Exec("CREATE DATABASE " + name).Error; err != nil {
		admin.Close()
		return "", "", nil, fmt.Errorf("create database %s: %w", name, err)
	}
	drop := func() error {
		defer admin.Close()
		if err := admin.Gorm.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)").Error; err != nil {
			return fmt.Errorf("drop database %s: %w", name, err)
		}
		return nil
	}
	u.Path = "/" + name
	return u.String(), name, drop, nil
}
