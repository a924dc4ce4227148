package runtime

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLintNamesTheLine(t *testing.T) {
	cases := []struct {
		name string
		yaml string
		line int
		want string
	}{
		{"missing department", "pipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", 0, "department"},
		{"unknown top-level key", "department: lx-civil\nhubb: {}\n", 2, "unknown field"},
		{"unknown source type", "department: d\npipelines:\n  - name: a\n    source:\n      type: ftp\n    sink: {type: file, dir: out}\n", 5, "unknown source type"},
		{"unknown connector setting", "department: d\npipelines:\n  - name: a\n    source:\n      type: filedrop\n      dir: in\n      folder: x\n    sink: {type: file, dir: out}\n", 7, "unknown field"},
		{"bad connector value", "department: d\npipelines:\n  - name: a\n    source:\n      type: sql\n      driver: oracle\n      dsn: x\n      table: t\n      id_column: id\n    sink: {type: file, dir: out}\n", 6, "unknown driver"},
		{"bad mapping", "department: d\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    mapping:\n      fields:\n        - to: x\n          convert: rot13\n    sink: {type: file, dir: out}\n", 8, "unknown conversion"},
		{"bad duration", "department: d\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n    poll_interval: soon\n", 6, "not a duration"},
		{"duplicate pipeline", "department: d\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", 6, "defined twice"},
		{"hub sink without hub", "department: d\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink:\n      type: hub\n      resource: population\n", 7, "hub block"},
		{"two credentials", "department: d\nhub:\n  url: http://h\n  token: a\n  token_env: B\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", 3, "exactly one"},
		{"batch too big", "department: d\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n    batch_size: 100000\n", 6, "batch_size"},
		{"not yaml", "department: [\n", 1, ""},
		{"kafka: unknown mechanism", fmt.Sprintf("department: d\nhub:\n  url: http://h\n  token: a\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topic_prefix: yiku\n%s\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", "    sasl_mechanism: GSSAPI\n    username: u\n    password_env: P"), 6, "not one of"},
		{"kafka: password file and env", fmt.Sprintf("department: d\nhub:\n  url: http://h\n  token: a\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topic_prefix: yiku\n%s\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", "    sasl_mechanism: SCRAM-SHA-512\n    username: u\n    password_env: P\n    password_file: pw"), 6, "not both"},
		{"kafka: no password", fmt.Sprintf("department: d\nhub:\n  url: http://h\n  token: a\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topic_prefix: yiku\n%s\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", "    sasl_mechanism: SCRAM-SHA-512\n    username: u"), 6, "needs a password"},
		{"kafka: missing password file", fmt.Sprintf("department: d\nhub:\n  url: http://h\n  token: a\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topic_prefix: yiku\n%s\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", "    sasl_mechanism: scram-sha-512\n    username: u\n    password_file: no-such-file"), 6, "read password file"},
		{"kafka: CA without TLS", fmt.Sprintf("department: d\nhub:\n  url: http://h\n  token: a\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topic_prefix: yiku\n%s\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", "    ca_file: ca.pem"), 6, "needs TLS"},
		{"kafka: PLAIN without TLS", fmt.Sprintf("department: d\nhub:\n  url: http://h\n  token: a\n  kafka:\n    brokers: [127.0.0.1:9092]\n    topic_prefix: yiku\n%s\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n", "    sasl_mechanism: PLAIN\n    username: u\n    password_env: P"), 6, "only with tls"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("adapter.yaml", []byte(tc.yaml))
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("want config errors, got %v", err)
			}
			e := errs[0]
			if e.Line != tc.line || !strings.Contains(e.Error(), tc.want) || !strings.HasPrefix(e.Error(), "adapter.yaml:") {
				t.Fatalf("got %q (line %d), want line %d mentioning %q", e.Error(), e.Line, tc.line, tc.want)
			}
		})
	}
}

// TestKafkaLogin: the hub.kafka login resolves files against the config's
// folder and reads password_env only when the adapter runs.
func TestKafkaLogin(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kafka-password"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := &KafkaConfig{Brokers: []string{"127.0.0.1:9092"}, TopicPrefix: "yiku", SASLMechanism: "SCRAM-SHA-512", Username: "lx-civil-ingress", PasswordFile: "kafka-password"}
	sec, err := k.Security(dir, true)
	if err != nil || sec.Protocol() != "SASL_PLAINTEXT" || sec.Principal() != "User:lx-civil-ingress" {
		t.Fatalf("password_file: %v %v", sec, err)
	}
	k.PasswordFile, k.PasswordEnv = "", "YIKU_TEST_ADAPTER_KAFKA_PASSWORD"
	if _, err := k.Security(dir, false); err != nil {
		t.Fatalf("lint must not need the variable: %v", err)
	}
	t.Setenv("YIKU_TEST_ADAPTER_KAFKA_PASSWORD", "")
	if _, err := k.Security(dir, true); err == nil || !strings.Contains(err.Error(), "YIKU_TEST_ADAPTER_KAFKA_PASSWORD") {
		t.Fatalf("empty password_env: %v", err)
	}
	t.Setenv("YIKU_TEST_ADAPTER_KAFKA_PASSWORD", "from-env")
	k.TLS = true
	if sec, err := k.Security(dir, true); err != nil || sec.Protocol() != "SASL_SSL" {
		t.Fatalf("password_env with TLS: %v %v", sec, err)
	}
}

func TestLintAcceptsTheExamples(t *testing.T) {
	for _, f := range []string{"civil-affairs.yaml", "market-regulation.yaml", "service-centre.yaml"} {
		if _, err := Load("../examples/" + f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

// FuzzParse: whatever bytes an adapter.yaml holds, Parse returns a config
// or errors; it never panics.
func FuzzParse(f *testing.F) {
	f.Add([]byte("department: d\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n"))
	f.Add([]byte("department: d\npipelines:\n  - name: a\n    source:\n      type: sql\n      driver: sqlite\n"))
	f.Add([]byte("pipelines: [{source: 3}]"))
	f.Add([]byte("&a [*a]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := Parse("fuzz.yaml", data)
		if err == nil && cfg == nil {
			t.Fatal("no config and no error")
		}
	})
}

func TestExpandEnv(t *testing.T) {
	t.Setenv("YIKU_TEST_HUB", "http://10.0.0.5:8080")
	t.Setenv("YIKU_TEST_EMPTY", "")
	cases := []struct {
		name, in, want string
		errLine        int
	}{
		{"set", "url: ${YIKU_TEST_HUB}\n", "url: http://10.0.0.5:8080\n", 0},
		{"set wins over default", "url: ${YIKU_TEST_HUB:-http://127.0.0.1:8080}\n", "url: http://10.0.0.5:8080\n", 0},
		{"default when unset", "dir: ${YIKU_TEST_UNSET:-../../.yiku}/legacy\n", "dir: ../../.yiku/legacy\n", 0},
		{"default when empty", "dir: ${YIKU_TEST_EMPTY:-x}\n", "dir: x\n", 0},
		{"empty default", "a: '${YIKU_TEST_UNSET:-}'\n", "a: ''\n", 0},
		{"escaped", "password: a$${b}\n", "password: a${b}\n", 0},
		{"bare dollar left alone", "password: a$b$\n", "password: a$b$\n", 0},
		{"unset without default", "department: d\nhub:\n  url: ${YIKU_TEST_UNSET}\n", "", 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, errs := expandEnv("adapter.yaml", []byte(tc.in))
			if tc.errLine > 0 {
				if len(errs) != 1 || errs[0].Line != tc.errLine || !strings.Contains(errs[0].Error(), "YIKU_TEST_UNSET") {
					t.Fatalf("errors %v, want one at line %d naming the variable", errs, tc.errLine)
				}
				return
			}
			if len(errs) > 0 || string(got) != tc.want {
				t.Fatalf("got %q %v, want %q", got, errs, tc.want)
			}
		})
	}
}
