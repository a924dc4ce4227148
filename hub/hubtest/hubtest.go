// Package hubtest starts a whole hub for integration tests: on the test's own
// database (a fresh PostgreSQL database under `make test`, SQLite otherwise),
// on Kafka (the real broker under `make test`, an embedded one otherwise) with
// topics no other test uses, seeded with the demo district and principals,
// serving HTTP on a loopback port. Tests then talk to it as clients do.
package hubtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/segmentio/kafka-go"

	"yiku/broker/brokertest"
	"yiku/config"
	"yiku/cryptosuite"
	"yiku/demo"
	"yiku/exchange/library"
	"yiku/hub"
	"yiku/keyring"
	"yiku/lookup/lookupdemo"
	"yiku/storage/storagetest"
)

// Hub is a running test hub.
type Hub struct {
	*hub.Hub
	URL   string
	Creds []demo.Credential
	// DatabaseURL and Brokers let a test start a second instance on the same backing.
	DatabaseURL string
	Brokers     []string
	// Kafka is the broker with its super user's security; test clients
	// of their own connect through it (Kafka.Client, h.Broker.NewReader).
	Kafka  *brokertest.Kafka
	Dir    string
	t      testing.TB
	cancel context.CancelFunc
	done   chan error
}

// EnvCrypto names the variable that runs test hubs with another
// cryptographic suite (`make test-sm` sets it to sm).
const EnvCrypto = "YIKU_TEST_CRYPTO"

// suiteOf is the suite a test hub runs with: the shared hub's, else
// YIKU_TEST_CRYPTO's, else the default. A Configure that changes Crypto
// must also set Options.Suite, so the keys written match.
func suiteOf(opt Options) cryptosuite.Name {
	if opt.Suite != "" {
		return opt.Suite
	}
	if opt.Share != nil {
		return cryptosuite.Name(opt.Share.Cfg.Crypto)
	}
	s, err := cryptosuite.Get(os.Getenv(EnvCrypto))
	if err != nil {
		return cryptosuite.Default
	}
	return s.Name()
}

// Options adjust the test hub.
type Options struct {
	// Share runs this hub on another test hub's database, broker, keys and topics.
	Share *Hub
	// Suite runs the hub with this cryptographic suite (keys included).
	Suite cryptosuite.Name
	// Configure may change the config before the hub opens.
	Configure func(*config.Config)
	// Kafka runs the hub on this broker instead of the test's own (two
	// federated hubs each on their own cluster: brokertest.StartEnv).
	Kafka *brokertest.Kafka
}

// Start starts a seeded hub for t and stops it when t ends.
func Start(t testing.TB) *Hub { return StartWith(t, Options{}) }

// StartWith starts a hub with options.
func StartWith(t testing.TB, opt Options) *Hub {
	t.Helper()
	var (
		dbURL  string
		kafka  *brokertest.Kafka
		dir    string
		prefix string
	)
	if opt.Share != nil {
		dbURL, kafka, dir, prefix = opt.Share.DatabaseURL, opt.Share.Kafka, opt.Share.Dir, opt.Share.Cfg.TopicPrefix
	} else {
		dbURL = storagetest.NewURL(t)
		dir = t.TempDir()
		if opt.Kafka != nil {
			kafka = opt.Kafka
			prefix = kafka.Prefix(t)
		} else {
			kafka = brokertest.Start(t)
			prefix = brokertest.Prefix(t)
		}
		WriteKeys(t, dir, suiteOf(opt))
	}
	cfg := &config.Config{
		Mode: config.ModeServe, HTTPAddr: "127.0.0.1:0", MaxBodyBytes: 16 << 20, ShutdownTimeout: 10 * time.Second,
		DatabaseURL: dbURL, KafkaBrokers: kafka.Brokers, TopicPartitions: 3, TopicReplication: 1, TopicPrefix: prefix,
		JWTKeyFile: filepath.Join(dir, "jwt.pem"), SecretKeyFile: filepath.Join(dir, "secret.key"), DataKeyFile: filepath.Join(dir, "data-keys.json"), TokenTTL: time.Hour,
		MaxBatchRecords: 5000, ShareDecisionDays: 10, ObjectionDays: 5, LogLevel: "warn", LogFormat: "text", ConnectRetry: 10 * time.Second,
		Crypto:        string(suiteOf(opt)),
		MaterialStore: "file://" + filepath.ToSlash(filepath.Join(dir, "materials")) + "?create_dir=true&no_tmp_dir=true",
		// Test receivers listen on loopback over plain http.
		WebhookAllowPrivate: true,
	}
	s := kafka.Settings
	cfg.KafkaSASLMechanism, cfg.KafkaUsername, cfg.KafkaPasswordFile = s.Mechanism, s.Username, s.PasswordFile
	cfg.KafkaTLS, cfg.KafkaCAFile, cfg.KafkaCertFile, cfg.KafkaKeyFile, cfg.KafkaTLSServerName = s.TLS, s.CAFile, s.CertFile, s.KeyFile, s.ServerName
	if opt.Configure != nil {
		opt.Configure(cfg)
	}
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx, cancel := context.WithCancel(context.Background())
	h, err := hub.Open(ctx, cfg, log)
	if err != nil {
		cancel()
		t.Fatalf("hubtest: open: %v", err)
	}
	var seeders []demo.Seeder
	for _, s := range h.DemoSeeders() {
		seeders = append(seeders, s)
	}
	creds, _, err := demo.Seed(ctx, dir, h.Auth, h.Identity, time.Hour, seeders...)
	if err != nil {
		cancel()
		h.Close()
		t.Fatalf("hubtest: seed: %v", err)
	}
	ready := make(chan string, 1)
	th := &Hub{Hub: h, Creds: creds, DatabaseURL: dbURL, Brokers: kafka.Brokers, Kafka: kafka, Dir: dir, t: t, cancel: cancel, done: make(chan error, 1)}
	go func() { th.done <- h.Run(ctx, ready) }()
	select {
	case addr := <-ready:
		th.URL = "http://" + addr
	case err := <-th.done:
		cancel()
		h.Close()
		t.Fatalf("hubtest: run: %v", err)
	}
	t.Cleanup(th.Stop)
	return th
}

// Stop shuts the hub down gracefully (idempotent).
func (h *Hub) Stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("hubtest: run: %v", err)
		}
	case <-time.After(30 * time.Second):
		h.t.Errorf("hubtest: hub did not stop within 30s")
	}
	h.Close()
}

// Secret returns the demo credential of principal.
func (h *Hub) Secret(principal string) string {
	h.t.Helper()
	c, ok := demo.Find(h.Creds, principal)
	if !ok {
		h.t.Fatalf("hubtest: no demo principal %s", principal)
	}
	return c.Secret
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into v, failing the test on error.
func (r Response) JSON(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("decode %s: %v", r.Body, err)
	}
}

// Do sends a request as principal ("" for none). A non-nil body that is not
// []byte or string is sent as JSON.
func (h *Hub) Do(method, path, principal string, body any, headers ...string) Response {
	h.t.Helper()
	secret := ""
	if principal != "" {
		secret = h.Secret(principal)
	}
	return h.DoSecret(method, path, secret, body, headers...)
}

// DoSecret is Do with an explicit bearer secret.
func (h *Hub) DoSecret(method, path, secret string, body any, headers ...string) Response {
	h.t.Helper()
	var rd io.Reader
	ct := "application/json"
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = bytes.NewReader([]byte(b))
	default:
		data, err := json.Marshal(b)
		if err != nil {
			h.t.Fatalf("hubtest: marshal: %v", err)
		}
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, h.URL+path, rd)
	if err != nil {
		h.t.Fatalf("hubtest: request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", ct)
	}
	if secret != "" {
		req.Header.Set("Authorization", "Bearer "+secret)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("hubtest: %s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatalf("hubtest: read: %v", err)
	}
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}

// WriteKeys writes a fresh token signing key of suite (jwt.pem), hub secret
// (secret.key) and data key file (data-keys.json) into dir, as an operator
// provisions them for yiku serve.
func WriteKeys(t testing.TB, dir string, suite cryptosuite.Name) {
	t.Helper()
	_, pemBytes, err := cryptosuite.Must(suite).GenerateSigningKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "jwt.pem"), pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	sec := make([]byte, 32)
	if _, err := rand.Read(sec); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "secret.key"), []byte(hex.EncodeToString(sec)), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.Init(filepath.Join(dir, "data-keys.json"), suite); err != nil {
		t.Fatal(err)
	}
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Logf("%s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// WaitDemoLibrary waits until the library sink has applied the lookup
// demo's records (lookupdemo.Records), which the hub seeds at start; tests
// of lookups, reads and cases start from there. It fails the test after
// three minutes.
func (h *Hub) WaitDemoLibrary(t testing.TB) {
	t.Helper()
	lib := library.NewStore(h.DB)
	deadline := time.Now().Add(3 * time.Minute)
	for res, want := range lookupdemo.Records() {
		for {
			cur, _, err := lib.Counts(context.Background(), res)
			if err != nil {
				t.Fatal(err)
			}
			if cur >= int64(want) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("library holds %d of %d demo records of %s", cur, want, res)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

// TopicMessages reads every message topic holds now, all partitions, up
// to the end offsets it had when called.
func (h *Hub) TopicMessages(t testing.TB, topic string) []kafka.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ends, err := h.Broker.EndOffsets(ctx, topic)
	if err != nil {
		t.Fatal(err)
	}
	var out []kafka.Message
	for p, end := range ends {
		if end == 0 {
			continue
		}
		r := h.Broker.NewReader(kafka.ReaderConfig{Topic: topic, Partition: p, MaxWait: 100 * time.Millisecond})
		for {
			m, err := r.FetchMessage(ctx)
			if err != nil {
				r.Close()
				t.Fatalf("read %s/%d: %v", topic, p, err)
			}
			out = append(out, m)
			if m.Offset+1 >= end {
				break
			}
		}
		r.Close()
	}
	return out
}
