package console

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// Every key of the message catalog is in every language, and every key a
// template or handler names literally exists.
func TestCatalogComplete(t *testing.T) {
	c, err := LoadCatalog()
	if err != nil {
		t.Fatal(err)
	}
	base := c.Keys(Languages[0])
	for _, l := range Languages[1:] {
		for _, k := range base {
			if !c.Has(l, k) {
				t.Errorf("%s lacks %q", l, k)
			}
		}
		for _, k := range c.Keys(l) {
			if !c.Has(Languages[0], k) {
				t.Errorf("%s has %q, which %s lacks", l, k, Languages[0])
			}
		}
	}
	// Keys named in templates ({{.T "key"}}, {{$.T "key"}}) and in Go
	// (v.T("key"), "nav.x" titles, error pages).
	used := map[string]bool{}
	tmplKey := regexp.MustCompile(`\.T "([a-z_.A-Z0-9]+)"`)
	goKey := regexp.MustCompile(`"((?:nav|error|signin|form|lookup|share|field|reason)\.[a-z_.]+)"`)
	_ = fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
		return nil
	})
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, _ := os.ReadFile(f)
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = true
		}
	}
	if len(used) < 50 {
		t.Fatalf("found only %d keys in use; the scan is broken", len(used))
	}
	for k := range used {
		if !c.Has(Languages[0], k) {
			t.Errorf("key %q is used but not in the catalog", k)
		}
	}
	// Values that take arguments take the same number in every language.
	verbs := regexp.MustCompile(`%[dsv]`)
	for _, k := range base {
		zh, en := c.T(Languages[0], k), c.T("en", k)
		if len(verbs.FindAllString(zh, -1)) != len(verbs.FindAllString(en, -1)) {
			t.Errorf("%q: %q and %q take different arguments", k, zh, en)
		}
	}
}
