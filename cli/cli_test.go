package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestBadConfigurationExitsTwoWithOneLine: every configuration mistake ends
// the program with status 2 and exactly one line naming the setting.
func TestBadConfigurationExitsTwoWithOneLine(t *testing.T) {
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown flag", []string{"dev", "--no-such-flag"}, nil, "unknown flag: --no-such-flag"},
		{"unknown command", []string{"launch"}, nil, `unknown command "launch"`},
		{"malformed broker address", []string{"serve", "--database-url", "postgres://u:p@127.0.0.1:1/db", "--kafka-brokers", "localhost"}, nil, "--kafka-brokers"},
		{"serve without database", []string{"serve", "--kafka-brokers", "127.0.0.1:9092"}, nil, "--database-url: required"},
		{"bad http address", []string{"dev", "--http-addr", "8080"}, nil, "--http-addr"},
		{"bad duration", []string{"dev", "--shutdown-timeout", "soon"}, nil, "--shutdown-timeout"},
		{"bad env value", []string{"dev"}, map[string]string{"YIKU_LOG_LEVEL": "chatty"}, "--log-level"},
		{"missing config file", []string{"dev", "--config", "/nonexistent/yiku.yaml"}, nil, "--config"},
		{"unknown crypto suite", []string{"dev", "--crypto", "rot13"}, nil, "--crypto"},
		{"unreachable database", []string{"serve", "--database-url", "postgres://u:p@127.0.0.1:1/db", "--kafka-brokers", "127.0.0.1:1",
			"--jwt-key-file", "/dev/null", "--secret-key-file", "/dev/null", "--connect-retry", "0s"}, nil, "database unreachable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			code := Run(context.Background(), tc.args, &out, &errb)
			if code != 2 {
				t.Fatalf("exit = %d, want 2; stderr: %s", code, errb.String())
			}
			msg := errb.String()
			if strings.Count(msg, "\n") != 1 || !strings.HasPrefix(msg, "yiku: ") {
				t.Fatalf("want one line starting with 'yiku: ', got %q", msg)
			}
			if !strings.Contains(msg, tc.want) {
				t.Fatalf("message %q does not mention %q", msg, tc.want)
			}
		})
	}
}

// TestBadKafkaSecurityExitsTwo: the Kafka SASL and TLS settings are
// checked like every other setting, from flags and YIKU_* variables, and
// no message quotes the password.
func TestBadKafkaSecurityExitsTwo(t *testing.T) {
	dir := t.TempDir()
	const password = "kafka-pa55word-not-for-stderr"
	pw := filepath.Join(dir, "pw")
	notPEM := filepath.Join(dir, "ca.pem")
	for path, content := range map[string]string{pw: password + "\n", notPEM: password} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	serve := []string{"serve", "--database-url", "postgres://u:p@127.0.0.1:1/db", "--kafka-brokers", "127.0.0.1:1"}
	cases := []struct {
		name string
		args []string
		env  map[string]string
		want string
	}{
		{"unknown mechanism", []string{"--kafka-sasl-mechanism", "GSSAPI"}, nil, "--kafka-sasl-mechanism"},
		{"mechanism without user", []string{"--kafka-sasl-mechanism", "SCRAM-SHA-512", "--kafka-password-file", pw}, nil, "--kafka-username: required"},
		{"mechanism without password", []string{"--kafka-sasl-mechanism", "scram-sha-512", "--kafka-username", "yiku"}, nil, "--kafka-password-file: required"},
		{"password file missing", nil, map[string]string{"YIKU_KAFKA_SASL_MECHANISM": "SCRAM-SHA-256", "YIKU_KAFKA_USERNAME": "yiku", "YIKU_KAFKA_PASSWORD_FILE": dir + "/nope"}, "--kafka-password-file: cannot read"},
		{"user without mechanism", []string{"--kafka-username", "yiku"}, nil, "--kafka-username: needs --kafka-sasl-mechanism"},
		{"PLAIN without TLS", []string{"--kafka-sasl-mechanism", "PLAIN", "--kafka-username", "yiku", "--kafka-password-file", pw}, nil, "--kafka-sasl-mechanism: PLAIN"},
		{"CA without TLS", []string{"--kafka-ca-file", notPEM}, nil, "--kafka-ca-file: needs --kafka-tls"},
		{"CA not PEM", []string{"--kafka-tls", "--kafka-ca-file", notPEM}, nil, "--kafka-ca-file"},
		{"cert without key", []string{"--kafka-tls", "--kafka-cert-file", notPEM}, nil, "--kafka-cert-file"},
		{"cert not PEM", []string{"--kafka-tls", "--kafka-cert-file", notPEM, "--kafka-key-file", pw}, nil, "--kafka-cert-file"},
		{"tls not a bool", nil, map[string]string{"YIKU_KAFKA_TLS": "maybe"}, "--kafka-tls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errb bytes.Buffer
			code := Run(context.Background(), append(append([]string{}, serve...), tc.args...), &out, &errb)
			msg := errb.String()
			if code != 2 || strings.Count(msg, "\n") != 1 || !strings.Contains(msg, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and one line with %q", code, msg, tc.want)
			}
			if strings.Contains(msg, password) {
				t.Fatalf("the message quotes the password: %q", msg)
			}
		})
	}
}

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "yiku ") {
		t.Fatalf("version output %q", out.String())
	}
}

// TestConfigFile: settings come from a YAML file too, flags win over it, and
// an unknown key in it is a configuration error naming the file.
func TestConfigFile(t *testing.T) {
	dir := t.TempDir()
	bad := dir + "/bad.yaml"
	if err := os.WriteFile(bad, []byte("http-addr: 127.0.0.1:0\ncolour: red\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"dev", "--config", bad}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown setting "colour"`) {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
	good := dir + "/good.yaml"
	if err := os.WriteFile(good, []byte("log-level: chatty\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	errb.Reset()
	if code := Run(context.Background(), []string{"dev", "--config", good}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--log-level") {
		t.Fatalf("value from file not validated: exit %d, stderr %q", code, errb.String())
	}
	// The flag overrides the file's bad value, so validation moves on to the
	// next bad setting (the broker address), proving the precedence.
	errb.Reset()
	if code := Run(context.Background(), []string{"dev", "--config", good, "--log-level", "warn", "--kafka-addr", "nowhere"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "--kafka-addr") {
		t.Fatalf("flag did not win over file: exit %d, stderr %q", code, errb.String())
	}
}

// TestServeRefusesUnreachableKafka: with a reachable database and no broker,
// serve gives up after its bounded retry with one clear line and status 2.
func TestServeRefusesUnreachableKafka(t *testing.T) {
	dbURL := os.Getenv("YIKU_TEST_DATABASE_URL")
	if dbURL == "" {
		t.Skip("needs YIKU_TEST_DATABASE_URL (serve runs on PostgreSQL only); make test sets it")
	}
	dir := t.TempDir()
	key, secret := dir+"/jwt.pem", dir+"/secret.key"
	if err := os.WriteFile(secret, []byte(strings.Repeat("ab", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, []byte("unused: the broker check fails first"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"serve", "--database-url", dbURL, "--kafka-brokers", "127.0.0.1:1",
		"--jwt-key-file", key, "--secret-key-file", secret, "--connect-retry", "1s"}, &out, &errb)
	if code != 2 || strings.Count(errb.String(), "\n") != 1 || !strings.Contains(errb.String(), "Kafka unreachable") {
		t.Fatalf("exit %d, stderr %q", code, errb.String())
	}
}

// TestMigrateCommands: up, down --to and status on a fresh SQLite file.
func TestMigrateCommands(t *testing.T) {
	db := "sqlite:" + t.TempDir() + "/yiku.db"
	run := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if code := Run(context.Background(), append(args, "--database-url", db), &out, &errb); code != 0 {
			t.Fatalf("%v: exit %d: %s", args, code, errb.String())
		}
		return out.String()
	}
	if out := run("migrate", "up"); !strings.Contains(out, "sqlite schema at version") || strings.Contains(out, "applied 0") {
		t.Fatalf("up: %q", out)
	}
	if out := run("migrate", "down", "--to", "1"); !strings.Contains(out, "at version 1") {
		t.Fatalf("down: %q", out)
	}
	st := run("migrate", "status")
	if !strings.Contains(st, "00001  applied") || !strings.Contains(st, "00002  pending") {
		t.Fatalf("status: %q", st)
	}
	if out := run("migrate", "up"); strings.Contains(out, "applied 0") {
		t.Fatalf("re-up applied nothing: %q", out)
	}
}
