package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"testing"

	"yiku/hub/hubtest"
)

// An intact trail's JSON report lists its problems as [], not null.
func TestAuditVerifyJSONListsNoProblemsAsEmpty(t *testing.T) {
	h := hubtest.Start(t)
	var out, errb bytes.Buffer
	code := Run(context.Background(), []string{"audit", "verify", "--json", "--quiet",
		"--database-url", h.DatabaseURL, "--secret-key-file", filepath.Join(h.Dir, "secret.key")}, &out, &errb)
	if code != 0 {
		t.Fatalf("verify: exit %d\n%s%s", code, out.String(), errb.String())
	}
	var rep map[string]json.RawMessage
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
		t.Fatalf("decode %s: %v", out.String(), err)
	}
	if got := string(rep["problems"]); got != "[]" {
		t.Fatalf(`"problems": %s, want []`, got)
	}
}
