package console

import (
	"embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"time"
	_ "time/tzdata" // Asia/Shanghai without the system's zoneinfo
)

//go:embed i18n/*.json
var catalogFS embed.FS

// Languages the console speaks; the first is the default.
var Languages = []string{"zh-CN", "en"}

// langCookie holds the visitor's chosen language.
const langCookie = "yiku_lang"

// Catalog is the console's message catalog: every label and message, per
// language, from i18n/<lang>.json. Values are fmt formats.
type Catalog struct {
	msgs map[string]map[string]string
}

// LoadCatalog reads the embedded catalogs.
func LoadCatalog() (*Catalog, error) {
	c := &Catalog{msgs: map[string]map[string]string{}}
	for _, l := range Languages {
		data, err := catalogFS.ReadFile("i18n/" + l + ".json")
		if err != nil {
			return nil, fmt.Errorf("console: catalog %s: %w", l, err)
		}
		m := map[string]string{}
		if err := json.Unmarshal(data, &m); err != nil {
			return nil, fmt.Errorf("console: catalog %s: %w", l, err)
		}
		c.msgs[l] = m
	}
	return c, nil
}

// Keys lists the keys of lang's catalog.
func (c *Catalog) Keys(lang string) []string {
	var out []string
	for k := range c.msgs[lang] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// T translates key into lang, formatting args; a key missing from lang
// falls back to Chinese, and a key missing everywhere shows itself.
func (c *Catalog) T(lang, key string, args ...any) string {
	s, ok := c.msgs[lang][key]
	if !ok {
		if s, ok = c.msgs[Languages[0]][key]; !ok {
			return key
		}
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Has reports whether key exists in lang.
func (c *Catalog) Has(lang, key string) bool {
	_, ok := c.msgs[lang][key]
	return ok
}

func langOf(r *http.Request) string {
	if ck, err := r.Cookie(langCookie); err == nil {
		for _, l := range Languages {
			if ck.Value == l {
				return l
			}
		}
	}
	return Languages[0]
}

// china is China Standard Time: every time the console shows is in it.
var china = func() *time.Location {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		return time.FixedZone("CST", 8*3600)
	}
	return loc
}()
