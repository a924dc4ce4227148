package compat

import (
	"strings"
	"testing"
)

// BenchmarkCheck measures a registration-sized check: a resident record
// with a nested address, against three earlier versions in FULL_TRANSITIVE.
func BenchmarkCheck(b *testing.B) {
	v1 := closed(`"name":{"type":"string","maxLength":50},"id":{"type":"string","format":"cn-resident-id"},`+
		`"age":{"type":"integer","minimum":0},"status":{"enum":["active","moved","deceased"]},`+
		`"address":`+closed(`"division":{"type":"string","pattern":"^[0-9]{6}$"},"street":{"type":"string"}`, "division")+`,`+
		`"phones":{"type":"array","items":{"type":"string"},"maxItems":5}`, "name", "id")
	v2 := strings.Replace(v1, `"maxLength":50`, `"maxLength":60`, 1)
	v3 := strings.Replace(v2, `"deceased"]`, `"deceased","abroad"]`, 1)
	cand := strings.Replace(v3, `"maxItems":5`, `"maxItems":8`, 1)
	prev := []Version{{1, []byte(v1)}, {2, []byte(v2)}, {3, []byte(v3)}}
	for b.Loop() {
		if _, err := Check(FullTransitive, []byte(cand), prev); err != nil {
			b.Fatal(err)
		}
	}
}
