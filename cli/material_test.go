package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yiku/hub/hubtest"
	"yiku/lookup/lookupdemo"
)

func TestMaterialCommands(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (string, int) {
		var out, errb bytes.Buffer
		all := append([]string{"material"}, args...)
		all = append(all, "--hub", h.URL, "--token", h.Secret(principal))
		code := Run(context.Background(), all, &out, &errb)
		return out.String() + errb.String(), code
	}
	dir := t.TempDir()
	scan := filepath.Join(dir, "hukou.pdf")
	content := append([]byte("%PDF-1.4\n"), bytes.Repeat([]byte("scan "), 50_000)...)
	if err := os.WriteFile(scan, content, 0o600); err != nil {
		t.Fatal(err)
	}
	out, code := run("officer-gsc", "upload", scan, "--applicant", lookupdemo.Citizen, "--type", "household-register", "--case", "CLI-1", "--purpose", "结婚登记")
	if code != 0 {
		t.Fatalf("upload: %d %s", code, out)
	}
	var u struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(out), &u); err != nil || u.ID == "" {
		t.Fatalf("upload output %s: %v", out, err)
	}
	// Not a PDF though it is named one: a usage of the hub's clear error.
	fake := filepath.Join(dir, "fake.pdf")
	_ = os.WriteFile(fake, []byte("just text"), 0o600)
	if out, code := run("officer-gsc", "upload", fake, "--applicant", lookupdemo.Citizen, "--type", "household-register", "--case", "CLI-1", "--purpose", "结婚登记"); code != 1 || !strings.Contains(out, "unsupported_material_file") {
		t.Fatalf("fake pdf: %d %s", code, out)
	}
	if out, code := run("officer-gsc", "list", "--applicant", lookupdemo.Citizen, "--purpose", "结婚登记", "--case", "CLI-1"); code != 0 || !strings.Contains(out, u.ID) {
		t.Fatalf("list: %d %s", code, out)
	}
	if out, code := run("reviewer", "get", u.ID); code != 0 || !strings.Contains(out, `"household-register"`) {
		t.Fatalf("get: %d %s", code, out)
	}
	dst := filepath.Join(dir, "back.pdf")
	if out, code := run("officer-gsc", "download", u.ID, "--purpose", "结婚登记", "--case", "CLI-1", "--out", dst); code != 0 {
		t.Fatalf("download: %d %s", code, out)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, content) {
		t.Fatalf("downloaded %d bytes, uploaded %d", len(got), len(content))
	}
}
