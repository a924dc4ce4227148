package cli

import (
	"bytes"
	"context"
	"regexp"
	"strings"
	"testing"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

func TestMaterialTypeAndCaseCommands(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		all := append(args, "--hub", h.URL, "--token", h.Secret(principal))
		code := Run(context.Background(), all, &out, &errb)
		return out.String() + errb.String(), code
	}
	if out, code := run("officer-gsc", "material-type", "list"); code != 0 || !strings.Contains(out, "marriage-certificate") || !strings.Contains(out, "结婚证") {
		t.Fatalf("material-type list: %d %s", code, out)
	}
	if out, code := run("catalog-admin", "material-type", "put", "birth-certificate", "--name", "出生医学证明"); code != 0 || !strings.Contains(out, `"revision":1`) {
		t.Fatalf("material-type put: %d %s", code, out)
	}
	if out, code := run("officer-gsc", "material-type", "put", "birth-certificate", "--name", "x"); code != 1 || !strings.Contains(out, "403") {
		t.Fatalf("material-type put by an officer: %d %s", code, out)
	}
	if out, code := run("catalog-admin", "material-type", "put", "birth-certificate"); code != 2 {
		t.Fatalf("material-type put without a name: %d %s", code, out)
	}

	if r := h.Do("POST", "/api/v1/lookups", "officer-gsc", map[string]string{"applicant": lookupdemo.Citizen, "service_item": lookupdemo.ItemSocialSecurity,
		"case_number": "LX-SB-CLI-0002", "purpose": "社会保障卡申领"}); r.Status != 200 {
		t.Fatalf("lookup: %d %s", r.Status, r.Body)
	}
	if out, code := run("officer-gsc", "case", "list"); code != 0 || !strings.Contains(out, "LX-SB-CLI-0002") || !strings.Contains(out, "opened") {
		t.Fatalf("case list: %d %s", code, out)
	}
	if out, code := run("gsc-system", "case", "move", "LX-SB-CLI-0002", "accepted", "--note", "材料齐全"); code != 0 || !strings.Contains(out, `"state":"accepted"`) {
		t.Fatalf("case move: %d %s", code, out)
	}
	if out, code := run("gsc-system", "case", "move", "LX-SB-CLI-0002", "accepted"); code != 1 || !strings.Contains(out, "illegal_transition") {
		t.Fatalf("case move twice: %d %s", code, out)
	}
	if out, code := run("citizen-demo", "case", "show", "LX-SB-CLI-0002", "--json"); code != 0 || !strings.Contains(out, `"type":"id-photo","source":"brought"`) {
		t.Fatalf("case show --json by the applicant: %d %s", code, out)
	}
	if out, code := run("citizen-demo", "case", "show", "LX-SB-CLI-0002"); code != 0 || !strings.Contains(out, "state accepted") ||
		!regexp.MustCompile(`photo \S+\s+id-photo\s+brought\s+-`).MatchString(out) ||
		!strings.Contains(out, "time limit 10 working days") {
		t.Fatalf("case show by the applicant: %d %s", code, out)
	}
	if out, code := run("catalog-admin", "stats", "reuse"); code != 0 || !strings.Contains(out, "case processing") || !strings.Contains(out, "social-security-card  10") {
		t.Fatalf("stats reuse: %d %s", code, out)
	}
}
