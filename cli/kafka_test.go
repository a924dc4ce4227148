package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"yiku/hub/hubtest"
)

func TestKafkaIngressCommands(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		all := append([]string{"kafka"}, args...)
		all = append(all, "--hub", h.URL, "--token", h.Secret(principal))
		code := Run(context.Background(), all, &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("admin-civil", "ingress", "enable", "lx-civil")
	if code != 0 {
		t.Fatalf("enable: %d %s", code, out)
	}
	var l struct{ Username, Password, Topic string }
	if err := json.Unmarshal([]byte(out), &l); err != nil || l.Password == "" || l.Username != h.Cfg.TopicPrefix+"-dept-lx-civil" {
		t.Fatalf("enable output %s: %v", out, err)
	}
	if out, code := run("admin-civil", "ingress", "rotate", "lx-civil"); code != 0 || strings.Contains(out, l.Password) || !strings.Contains(out, `"password"`) {
		t.Fatalf("rotate: %d %s", code, out)
	}
	if out, code := run("admin-civil", "ingress", "status", "lx-civil"); code != 0 || strings.Contains(out, `"password"`) || !strings.Contains(out, `"active"`) {
		t.Fatalf("status: %d %s", code, out)
	}
	if out, code := run("admin-psb", "ingress", "revoke", "lx-civil"); code != 1 || !strings.Contains(out, "forbidden") {
		t.Fatalf("another department's admin revokes: %d %s", code, out)
	}
	if out, code := run("admin-civil", "ingress", "revoke", "lx-civil"); code != 0 || !strings.Contains(out, `"removed"`) {
		t.Fatalf("revoke: %d %s", code, out)
	}
	if out, code := run("admin-civil", "ingress", "enable"); code != 2 {
		t.Fatalf("enable without a department: %d %s", code, out)
	}
}
