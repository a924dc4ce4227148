package hub_test

import (
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yiku/broker"
	"yiku/config"
	"yiku/hub"
)

// TestDevKafkaLogin: the dev hub makes its embedded broker's password once
// (mode 0600) and keeps it across restarts; a password file that no longer
// matches the persisted broker is a configuration error naming the data
// dir, not a hang.
func TestDevKafkaLogin(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	cfg := &config.Config{Mode: config.ModeDev, DataDir: dir, KafkaAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0",
		MaxBodyBytes: 1 << 20, ShutdownTimeout: 5 * time.Second, TopicPartitions: 1, TopicReplication: 1, TopicPrefix: "yiku",
		TokenTTL: time.Hour, MaxBatchRecords: 10, ShareDecisionDays: 10, LogLevel: "warn", LogFormat: "text", ConnectRetry: 5 * time.Second}
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	ctx := context.Background()
	open := func() (*hub.Hub, error) { return hub.Open(ctx, cfg, log) }

	h, err := open()
	if err != nil {
		t.Fatal(err)
	}
	login := *h.DevKafka
	if login.Username != "yiku" || login.Mechanism != broker.SCRAMSHA512 || len(login.Password) < 32 || h.Broker.Security().Protocol() != "SASL_PLAINTEXT" {
		t.Fatalf("dev Kafka login %+v, security %v", login, h.Broker.Security())
	}
	if st, err := os.Stat(login.PasswordFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", st, err)
	}
	h.Close()

	h, err = open()
	if err != nil {
		t.Fatal(err)
	}
	if h.DevKafka.Password != login.Password {
		t.Fatal("the Kafka password changed across a restart")
	}
	h.Close()

	if err := os.WriteFile(login.PasswordFile, []byte("something-else-entirely\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = open()
	if !config.IsError(err) || !strings.Contains(err.Error(), "--data-dir") || !strings.Contains(err.Error(), "--reset") {
		t.Fatalf("mismatched password: %v", err)
	}
	if strings.Contains(err.Error(), "something-else-entirely") || strings.Contains(err.Error(), login.Password) {
		t.Fatalf("the error quotes a password: %v", err)
	}
}
