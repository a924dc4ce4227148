package catalogapi_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestRecordOverBudgetRejectedOnPublish: under a schema within the
// registration budget (1,000 patterns on one property), a publish of one
// ordinary record and one whose checks would scan 20 MB answers within a
// deadline: the first accepted, the second rejected with rule "budget".
func TestRecordOverBudgetRejectedOnPublish(t *testing.T) {
	h := hubtest.Start(t)
	const id = "marriage-costly"
	body := marriageBody(id)
	s := body["schema"].(map[string]any)
	all := make([]any, 1000)
	for i := range all {
		all[i] = map[string]any{"pattern": fmt.Sprintf("^[^%d]", i%10)}
	}
	s["properties"].(map[string]any)["name"] = map[string]any{"type": "string", "allOf": all}
	expect(t, h.Do("POST", base+"/resources", "admin-civil", body), http.StatusCreated)
	expect(t, h.Do("POST", base+"/resources/"+id+"/lifecycle", "admin-civil", map[string]any{"status": "published", "reason": "上线"}), http.StatusOK)

	records := []map[string]any{
		{"id_number": "431302198506120031", "name": "李四"},
		{"id_number": "431302198506120031", "name": strings.Repeat("李", 7000)}, // 21 KB × 1,000 patterns
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done := make(chan hubtest.Response, 1)
	go func() { done <- h.Do("POST", "/api/v1/resources/"+id+"/records", "civil-system", records) }()
	var resp hubtest.Response
	select {
	case resp = <-done:
	case <-ctx.Done():
		t.Fatal("publish did not answer within 10 s")
	}
	expect(t, resp, http.StatusOK)
	var out struct {
		Accepted, Rejected int
		Errors             []struct {
			Index         int
			Rule, Message string
		}
	}
	resp.JSON(t, &out)
	if out.Accepted != 1 || out.Rejected != 1 || len(out.Errors) != 1 || out.Errors[0].Index != 1 || out.Errors[0].Rule != validation.RuleBudget ||
		!strings.HasPrefix(out.Errors[0].Message, "validation budget exceeded") {
		t.Fatalf("publish answer %s", resp.Body)
	}
	t.Log(out.Errors[0].Message)
}
