package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestKeysCommands(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data-keys.json")
	run := func(args ...string) (string, int) {
		var out, errb bytes.Buffer
		code := Run(context.Background(), append([]string{"keys"}, args...), &out, &errb)
		return out.String() + errb.String(), code
	}
	if out, code := run("status"); code != 2 || !strings.Contains(out, "--data-key-file is required") {
		t.Fatalf("status without a file: %d %s", code, out)
	}
	if out, code := run("init", "--data-key-file", path); code != 0 || !strings.Contains(out, "key k1 (default)") {
		t.Fatalf("init: %d %s", code, out)
	}
	if out, code := run("init", "--data-key-file", path); code != 1 || !strings.Contains(out, "never overwritten") {
		t.Fatalf("second init: %d %s", code, out)
	}
	if out, code := run("rotate", "--data-key-file", path, "--crypto", "rot13"); code != 2 {
		t.Fatalf("unknown suite: %d %s", code, out)
	}
	if out, code := run("rotate", "--data-key-file", path, "--crypto", "sm"); code != 0 || !strings.Contains(out, "added key k2 (sm)") {
		t.Fatalf("rotate: %d %s", code, out)
	}
	out, code := run("status", "--data-key-file", path, "--json")
	var st struct {
		Keys []struct {
			ID, Suite, Fingerprint string
			Newest                 bool
		}
	}
	if code != 0 || json.Unmarshal([]byte(out), &st) != nil || len(st.Keys) != 2 || st.Keys[0].ID != "k2" || !st.Keys[0].Newest ||
		st.Keys[0].Suite != "sm" || st.Keys[1].Suite != "default" || st.Keys[1].Fingerprint == "" {
		t.Fatalf("status: %d %s", code, out)
	}
	if out, code := run("status", "--data-key-file", path); code != 0 || !strings.Contains(out, "wraps new data keys") || !strings.Contains(out, "2 key(s)") {
		t.Fatalf("status table: %d %s", code, out)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, code := run("status", "--data-key-file", path); code != 1 || !strings.Contains(out, "chmod 600") {
		t.Fatalf("world-readable file: %d %s", code, out)
	}
}
