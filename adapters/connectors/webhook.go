package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"time"

	"yiku/adapters"
	"yiku/exchange/subscription"
)

const webhookDoc = `webhook — POST each batch to a department system's URL.

  type: webhook
  url: https://dept.example/yiku/records
  secret_env: WEBHOOK_SECRET   # optional: sign the body (X-Yiku-Signature: t=<unix>,v1=<hex HMAC of "t.body">, as the hub's webhooks)
  timeout: 30s

The body is {"records": [...]} where each record is the mapped record and
deletes carry "_deleted": true. Every request carries Idempotency-Key: the
batch key, which is the same when a batch is re-sent, so the receiver can
drop repeats. 2xx is success; 408, 429 and 5xx are retried with back-off;
other answers stop the pipeline.`

func init() {
	adapters.RegisterSink(adapters.SinkSpec{Name: "webhook", Doc: webhookDoc, New: newWebhook})
}

// WebhookConfig is the webhook sink's settings.
type WebhookConfig struct {
	URL       string            `yaml:"url"`
	SecretEnv string            `yaml:"secret_env"`
	Timeout   adapters.Duration `yaml:"timeout"`
}

type webhook struct {
	cfg    WebhookConfig
	secret []byte
	http   *http.Client
}

func newWebhook(decode adapters.Decoder, _ adapters.Env) (adapters.Sink, error) {
	var cfg WebhookConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewWebhook(cfg)
}

// NewWebhook builds a webhook sink.
func NewWebhook(cfg WebhookConfig) (adapters.Sink, error) {
	u, err := url.Parse(cfg.URL)
	if cfg.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, adapters.Fieldf("url", "an http(s) URL is required")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = adapters.Duration(30 * time.Second)
	}
	return &webhook{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout.D()}}, nil
}

func (w *webhook) Connect(context.Context) error {
	if w.cfg.SecretEnv != "" {
		s := os.Getenv(w.cfg.SecretEnv)
		if s == "" {
			return adapters.Permanent(fmt.Errorf("webhook: environment variable %s (secret_env) is empty", w.cfg.SecretEnv))
		}
		w.secret = []byte(s)
	}
	w.http.Transport = http.DefaultTransport
	return nil
}

func (w *webhook) Write(ctx context.Context, msgs []adapters.Message, key string) (adapters.Result, error) {
	if w.http.Transport == nil {
		return adapters.Result{}, adapters.ErrNotConnected
	}
	recs := make([]adapters.Record, len(msgs))
	for i, m := range msgs {
		recs[i] = m.Record
		if m.Deleted {
			r := make(adapters.Record, len(m.Record)+1)
			for k, v := range m.Record {
				r[k] = v
			}
			r["_deleted"] = true
			recs[i] = r
		}
	}
	body, err := json.Marshal(map[string]any{"records": recs})
	if err != nil {
		return adapters.Result{}, adapters.Permanent(fmt.Errorf("webhook: encode: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return adapters.Result{}, adapters.Permanent(fmt.Errorf("webhook: %w", err))
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Idempotency-Key", key)
	if w.secret != nil {
		// The same timestamped scheme as the hub's own webhooks, so one
		// receiver check (subscription.Verify) serves both and a captured
		// request cannot be replayed later.
		req.Header.Set("X-Yiku-Signature", subscription.Sign(w.secret, time.Now(), body))
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return adapters.Result{}, fmt.Errorf("webhook: POST %s: %w", w.cfg.URL, err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return adapters.Result{Written: len(msgs)}, nil
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		return adapters.Result{}, fmt.Errorf("webhook: POST %s: status %d: %s", w.cfg.URL, resp.StatusCode, bytes.TrimSpace(msg))
	}
	return adapters.Result{}, adapters.Permanent(fmt.Errorf("webhook: POST %s: status %d: %s", w.cfg.URL, resp.StatusCode, bytes.TrimSpace(msg)))
}

func (w *webhook) Close() error {
	if w.http.Transport != nil {
		w.http.CloseIdleConnections()
	}
	w.http.Transport = nil
	return nil
}
