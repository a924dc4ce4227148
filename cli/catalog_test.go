package cli

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"yiku/hub/hubtest"
)

func TestCatalogCommandsAgainstARunningHub(t *testing.T) {
	h := hubtest.Start(t)
	run := func(principal string, args ...string) (int, string, string) {
		var out, errb bytes.Buffer
		all := append([]string{"catalog"}, args...)
		all = append(all, "--hub", h.URL, "--token", h.Secret(principal))
		code := Run(context.Background(), all, &out, &errb)
		return code, out.String(), errb.String()
	}

	code, out, errs := run("officer-gsc", "list", "--provider", "lx-amr")
	if code != 0 || !strings.Contains(out, "legal-entity") || !strings.Contains(out, "business-licence") || strings.Contains(out, "population") {
		t.Fatalf("list: %d %s %s", code, out, errs)
	}
	// Every listed resource names its provider in the PROVIDER column.
	lines := strings.Split(strings.TrimSpace(out), "\n")
	for _, line := range lines[1 : len(lines)-1] {
		if cols := strings.Fields(line); len(cols) < 6 || cols[5] != "lx-amr" {
			t.Fatalf("list: provider column of %q is not lx-amr:\n%s", line, out)
		}
	}
	code, out, _ = run("officer-gsc", "show", "101001/000001")
	if code != 0 || !strings.Contains(out, `"id": "population"`) {
		t.Fatalf("show: %d %s", code, out)
	}

	dir := t.TempDir()
	schema := `{"type":"object","required":["id_number"],"properties":{"id_number":{"type":"string","format":"cn-resident-id"},"benefit":{"type":"string"}}}`
	if err := os.WriteFile(filepath.Join(dir, "schema.json"), []byte(schema), 0o600); err != nil {
		t.Fatal(err)
	}
	yml := `id: relief-recipients
name: 社会救助对象信息
class_code: "203002"
provider_code: lx-civil
summary: 低保、特困等社会救助对象
share_type: conditional
share_conditions: 用于救助资格核验
update_cycle: monthly
base_library: theme
subject_type: natural_person
subject_key: id_number
fields:
  - {name: id_number, title: 公民身份号码, data_type: C, sensitivity: sensitive, mask: id_number}
  - {name: benefit, title: 救助类别, data_type: C}
schema_file: schema.json
`
	file := filepath.Join(dir, "resource.yaml")
	if err := os.WriteFile(file, []byte(yml), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errs = run("admin-civil", "register", "-f", file, "--publish")
	if code != 0 || !strings.Contains(out, "registered relief-recipients as 203002/000001") || !strings.Contains(out, "published") {
		t.Fatalf("register: %d %s %s", code, out, errs)
	}
	// The hub's refusal reaches the user with its reasons.
	code, _, errs = run("admin-amr", "register", "-f", file)
	if code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("foreign register: %d %s", code, errs)
	}

	csvPath := filepath.Join(dir, "catalog.csv")
	code, out, errs = run("reviewer", "export", "--format", "csv", "-o", csvPath)
	if code != 0 {
		t.Fatalf("export: %d %s %s", code, out, errs)
	}
	data, err := os.ReadFile(csvPath)
	if err != nil || !strings.Contains(string(data), "信息资源代码") || !strings.Contains(string(data), "203002/000001") {
		t.Fatalf("csv: %v %s", err, data)
	}
	if code, _, _ := run("reviewer", "export", "--format", "xml"); code != 2 {
		t.Fatalf("bad format exit %d", code)
	}
	var out2, errb bytes.Buffer
	if code := Run(context.Background(), []string{"catalog", "list", "--hub", h.URL, "--token", ""}, &out2, &errb); code != 2 {
		t.Fatalf("missing token exit %d", code)
	}
}
