package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestAdapterLintExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	_ = os.WriteFile(bad, []byte("department: lx-civil\npipelines:\n  - name: a\n    source:\n      type: filedrop\n    sink: {type: file, dir: out}\n"), 0o600)
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"adapter", "lint", "-c", bad}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2; stderr %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "bad.yaml:5: pipelines[0].source.dir") {
		t.Fatalf("the error does not name the line: %s", errb.String())
	}
	out.Reset()
	errb.Reset()
	if code := Run(context.Background(), []string{"adapter", "lint", "-c", "../adapters/examples/civil-affairs.yaml"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "ok (1 pipelines)") {
		t.Fatalf("exit %d: %s %s", code, out.String(), errb.String())
	}
	out.Reset()
	if code := Run(context.Background(), []string{"adapter", "connectors"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "filedrop") || !strings.Contains(out.String(), "hub_kafka") {
		t.Fatalf("connectors: exit %d: %s", code, out.String())
	}
}
