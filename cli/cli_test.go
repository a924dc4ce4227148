package cli

import (
	"bytes"
	"context"
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

func TestVersion(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"version"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if !strings.HasPrefix(out.String(), "yiku ") {
		t.Fatalf("version output %q", out.String())
	}
}
