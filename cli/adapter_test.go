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

// TestAdapterSeveralConfigs: -c repeats and takes a folder; every file's
// mistakes are printed; two configs sharing a state folder are refused
// before anything runs.
func TestAdapterSeveralConfigs(t *testing.T) {
	var out, errb bytes.Buffer
	if code := Run(context.Background(), []string{"adapter", "lint", "-c", "../adapters/examples"}, &out, &errb); code != 0 || strings.Count(out.String(), ": ok (") != 3 {
		t.Fatalf("lint of the examples folder: exit %d: %s %s", code, out.String(), errb.String())
	}
	dir := t.TempDir()
	good := "department: lx-civil\nstate_dir: state\npipelines:\n  - name: a\n    source: {type: filedrop, dir: in}\n    sink: {type: file, dir: out}\n"
	bad := "department: lx-amr\npipelines:\n  - name: a\n    source: {type: filedrop}\n    sink: {type: file, dir: out}\n"
	_ = os.WriteFile(filepath.Join(dir, "a.yaml"), []byte(good), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(bad), 0o600)
	_ = os.WriteFile(filepath.Join(dir, "c.yaml"), []byte(strings.Replace(bad, "{type: filedrop}", "{type: ftp}", 1)), 0o600)
	out.Reset()
	errb.Reset()
	if code := Run(context.Background(), []string{"adapter", "lint", "-c", filepath.Join(dir, "a.yaml"), "-c", filepath.Join(dir, "b.yaml"), "-c", filepath.Join(dir, "c.yaml")}, &out, &errb); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	if !strings.Contains(errb.String(), "b.yaml:4:") || !strings.Contains(errb.String(), "c.yaml:4:") {
		t.Fatalf("every file's mistakes must be printed with their line: %s", errb.String())
	}
	_ = os.WriteFile(filepath.Join(dir, "b.yaml"), []byte(strings.Replace(good, "lx-civil", "lx-amr", 1)), 0o600)
	errb.Reset()
	if code := Run(context.Background(), []string{"adapter", "run", "--once", "-c", filepath.Join(dir, "a.yaml"), "-c", filepath.Join(dir, "b.yaml")}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "share the state folder") {
		t.Fatalf("two configs on one state folder: exit %d: %s", code, errb.String())
	}
}
