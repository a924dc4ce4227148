package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"yiku/hub/hubtest"
)

func TestShareCommands(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		all := append([]string{"share"}, args...)
		all = append(all, "--hub", h.URL, "--token", h.Secret(principal))
		code := Run(context.Background(), all, &out, &errb)
		return out.String() + errb.String(), code
	}
	out, code := run("admin-gsc", "apply", "--resource", "social-security", "--fields", "id_number,insured_status",
		"--purpose", "社保待遇资格认证", "--legal-basis", "社会保险法", "--service-item", "待遇资格认证",
		"--until", time.Now().AddDate(0, 1, 0).Format("2006-01-02"))
	if code != 0 {
		t.Fatalf("apply: %d %s", code, out)
	}
	var req struct{ ID, Status string }
	if err := json.Unmarshal([]byte(out), &req); err != nil || req.Status != "pending" {
		t.Fatalf("apply output %s: %v", out, err)
	}
	// Without its argument, list says which arguments it takes.
	if out, code := run("admin-hrss", "list"); code != 2 || !strings.Contains(out, "list mine|to-me|overdue|all") {
		t.Fatalf("list without an argument: %d %s", code, out)
	}
	if out, code := run("admin-hrss", "list", "to-me"); code != 0 || !strings.Contains(out, req.ID) {
		t.Fatalf("list to-me: %d %s", code, out)
	}
	// Every department's requests: the e-government office's, not a department admin's.
	if out, code := run("catalog-admin", "list", "all", "--status", "pending"); code != 0 || !strings.Contains(out, req.ID) || !strings.Contains(out, `"overdue": false`) {
		t.Fatalf("list all: %d %s", code, out)
	}
	if out, code := run("admin-hrss", "list", "all"); code != 1 || !strings.Contains(out, "forbidden") {
		t.Fatalf("list all as a department admin: %d %s", code, out)
	}
	if out, code := run("admin-hrss", "approve", req.ID, "--fields", "insured_status"); code != 0 || !strings.Contains(out, `"insured_status"`) {
		t.Fatalf("approve: %d %s", code, out)
	}
	if out, code := run("gsc-system", "access", "social-security", "--purpose", "其他"); code != 1 || !strings.Contains(out, "purpose_not_granted") {
		t.Fatalf("access with another purpose: %d %s", code, out)
	}
	if out, code := run("admin-hrss", "reject", req.ID); code != 2 {
		t.Fatalf("reject without --reason: %d %s", code, out)
	}
}
