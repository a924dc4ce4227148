package catalogapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"yiku/catalog/validation"
	"yiku/hub/hubtest"
)

// poisonSchema is the marriage schema with the schema of the security
// review under "name": $defs that double at each of 40 levels
// (d_i = {allOf: [{$ref: d_{i-1}}, {$ref: d_{i-1}}]}) with a pattern at
// the bottom. Validating one record against it would never end.
func poisonSchema() map[string]any {
	s := marriageBody("x")["schema"].(map[string]any)
	defs := map[string]any{"d0": map[string]any{"type": "string", "pattern": "^.+$"}}
	for i := 1; i <= 40; i++ {
		ref := fmt.Sprintf("#/$defs/d%d", i-1)
		defs[fmt.Sprintf("d%d", i)] = map[string]any{"allOf": []any{map[string]any{"$ref": ref}, map[string]any{"$ref": ref}}}
	}
	s["$defs"] = defs
	s["properties"].(map[string]any)["name"] = map[string]any{"type": "string", "$ref": "#/$defs/d40"}
	return s
}

// TestPoisonSchemaRefused: the poison schema is refused at registration
// (with the resource, as a new version, and in the dry run) with 400
// schema_too_complex, naming the budget and the measured size, and nothing
// is registered.
func TestPoisonSchemaRefused(t *testing.T) {
	h := hubtest.Start(t)
	const id = "marriage-poison"
	budget := fmt.Sprintf("exceeds the budget of %d", validation.MaxExpandedNodes)
	refused := func(t *testing.T, r hubtest.Response) {
		t.Helper()
		expect(t, r, http.StatusBadRequest)
		e := errorOf(t, r)
		if e.Code != "schema_too_complex" || !strings.Contains(e.Message, "expanded schema size") || !strings.Contains(e.Message, budget) {
			t.Fatalf("error %+v, want schema_too_complex naming the budget", e)
		}
		if len(e.Details) == 0 || e.Details[0].Rule != "expanded_nodes" {
			t.Fatalf("details %+v", e.Details)
		}
	}

	body := marriageBody(id)
	body["schema"] = poisonSchema()
	refused(t, h.Do("POST", base+"/resources", "admin-civil", body))
	expect(t, h.Do("GET", base+"/resources/"+id, "admin-civil", nil), http.StatusNotFound)

	expect(t, h.Do("POST", base+"/resources", "admin-civil", marriageBody(id)), http.StatusCreated)
	refused(t, h.Do("POST", base+"/resources/"+id+"/compatibility", "admin-civil", map[string]any{"schema": poisonSchema()}))
	refused(t, h.Do("POST", base+"/resources/"+id+"/versions", "admin-civil", map[string]any{"schema": poisonSchema()}))
	resp := h.Do("GET", base+"/resources/"+id+"/versions", "admin-civil", nil)
	expect(t, resp, http.StatusOK)
	if strings.Contains(string(resp.Body), `"version":2`) {
		t.Fatalf("a version was registered: %s", resp.Body)
	}
}
