package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

func TestObjectionCommands(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		all := append([]string{"objection"}, args...)
		all = append(all, "--hub", h.URL, "--token", h.Secret(principal))
		code := Run(context.Background(), all, &out, &errb)
		return out.String() + errb.String(), code
	}
	lib := h.Library
	var version int
	for end := time.Now().Add(60 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		r, err := lib.Current(context.Background(), "population", lookupdemo.Citizen2)
		if err == nil {
			version = r.Version
			break
		}
		if time.Now().After(end) {
			t.Fatalf("the demo record did not reach the library: %v", err)
		}
	}
	out, code := run("gsc-system", "raise", "--resource", "population", "--subject", lookupdemo.Citizen2, "--version", strconv.Itoa(version),
		"--fields", "mobile,domicile_address", "--problem", "联系电话已停用", "--purpose", "社会保障卡申领")
	if code != 0 {
		t.Fatalf("raise: %d %s", code, out)
	}
	var o struct{ ID, Status string }
	if err := json.Unmarshal([]byte(out), &o); err != nil || o.Status != "open" {
		t.Fatalf("raise output %s: %v", out, err)
	}
	if out, code := run("admin-psb", "list", "to-me"); code != 0 || !strings.Contains(out, o.ID) {
		t.Fatalf("list to-me: %d %s", code, out)
	}
	if out, code := run("admin-psb", "reject", o.ID); code != 2 {
		t.Fatalf("reject without --reason: %d %s", code, out)
	}
	if out, code := run("admin-psb", "reject", o.ID, "--reason", "经核实号码有效"); code != 0 || !strings.Contains(out, `"rejected"`) {
		t.Fatalf("reject: %d %s", code, out)
	}
	if out, code := run("gsc-system", "show", o.ID, "--history"); code != 0 || !strings.Contains(out, `"raised"`) || !strings.Contains(out, `"rejected"`) {
		t.Fatalf("show --history: %d %s", code, out)
	}
	if out, code := run("gsc-system", "raise", "--resource", "population"); code != 2 {
		t.Fatalf("raise without flags: %d %s", code, out)
	}
	if out, code := run("gsc-system", "list", "everything"); code != 2 {
		t.Fatalf("list everything: %d %s", code, out)
	}
}
