package hub_test

import (
	"net/http"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/identity"
)

// TestOpenAPIIsComplete keeps /openapi.json from lagging the server: every
// reference resolves; every operation that needs a credential describes 401;
// every operation some role is refused by the API policy describes 403;
// every operation with a path parameter describes 404; every operation with
// a body, a path or a query parameter describes 400, and with a body 413; every limit and offset states its range;
// every error response carries the error schema and every answer with a body
// has a schema.
func TestOpenAPIIsComplete(t *testing.T) {
	h := hubtest.Start(t)
	resp := h.Do("GET", "/openapi.json", "", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", resp.Status)
	}
	var doc map[string]any
	resp.JSON(t, &doc)

	// Every $ref anywhere in the document points at something defined.
	walkRefs(doc, func(ref string) {
		if _, ok := resolvePointer(doc, ref); !ok {
			t.Errorf("$ref %s is not defined", ref)
		}
	})

	// One principal per role, to ask the hub's API policy who is refused.
	var principals []identity.Principal
	for _, role := range identity.Roles() {
		p := identity.Principal{ID: "openapi-check-" + string(role), Role: role, DepartmentCode: "lx-psb"}
		if err := h.Enforcer.AssignRole(p); err != nil {
			t.Fatal(err)
		}
		principals = append(principals, p)
	}
	// The role watcher may reload the rules from the database while the
	// roles are being written and drop one for a tick; wait until every
	// role shows (every role may GET /api/v1/me).
	for deadline := time.Now().Add(5 * time.Second); ; {
		all := true
		for _, p := range principals {
			if ok, err := h.Enforcer.Allowed(p, "/api/v1/me", "GET"); err != nil || !ok {
				all = false
			}
		}
		if all {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the roles assigned for the check did not reach the enforcer")
		}
		time.Sleep(50 * time.Millisecond)
	}
	ginRoute := map[string]string{}
	for _, r := range h.Server.Routes() {
		ginRoute[r.Method+" "+httpapi.OpenAPIPath(r.Path)] = r.Path
	}

	defaultSecurity, _ := doc["security"].([]any)
	paths, _ := doc["paths"].(map[string]any)
	if len(paths) == 0 {
		t.Fatal("the document has no paths")
	}
	ops := 0
	for _, path := range sortedKeys(paths) {
		item, _ := paths[path].(map[string]any)
		for _, method := range []string{"get", "put", "post", "delete", "patch"} {
			op, ok := item[method].(map[string]any)
			if !ok {
				continue
			}
			ops++
			name := strings.ToUpper(method) + " " + path
			responses, _ := op["responses"].(map[string]any)
			has := func(status string) bool { _, ok := responses[status]; return ok }
			security := defaultSecurity
			if s, ok := op["security"].([]any); ok {
				security = s
			}
			if len(security) > 0 && !has("401") {
				t.Errorf("%s needs a credential but does not describe 401", name)
			}
			if hasPathParameter(item, op) && !has("404") {
				t.Errorf("%s has a path parameter but does not describe 404", name)
			}
			checkPaging(t, name, item, op)
			if hasParameter(item, op, "path", "query") && !has("400") {
				t.Errorf("%s reads path or query values but does not describe 400", name)
			}
			if _, ok := op["requestBody"]; ok {
				for _, s := range []string{"400", "413"} {
					if !has(s) {
						t.Errorf("%s takes a body but does not describe %s", name, s)
					}
				}
			}
			if route, ok := ginRoute[strings.ToUpper(method)+" "+path]; ok && len(security) > 0 {
				for _, p := range principals {
					allowed, err := h.Enforcer.Allowed(p, route, strings.ToUpper(method))
					if err != nil {
						t.Fatal(err)
					}
					if !allowed && !has("403") {
						t.Errorf("%s refuses role %s by the API policy but does not describe 403", name, p.Role)
						break
					}
				}
			}
			for _, status := range sortedKeys(responses) {
				checkResponse(t, doc, name, status, responses[status])
			}
		}
	}
	if ops < 50 {
		t.Fatalf("only %d operations described", ops)
	}
}

// checkResponse: an error answers with the Error schema in JSON; any other
// answer except 204 says what its body is.
func checkResponse(t *testing.T, doc map[string]any, op, status string, raw any) {
	t.Helper()
	r, _ := raw.(map[string]any)
	if ref, ok := r["$ref"].(string); ok {
		v, _ := resolvePointer(doc, ref)
		r, _ = v.(map[string]any)
	}
	if r == nil {
		t.Errorf("%s %s: response is not an object", op, status)
		return
	}
	if d, _ := r["description"].(string); d == "" {
		t.Errorf("%s %s: response has no description", op, status)
	}
	code, err := strconv.Atoi(status)
	if err != nil {
		t.Errorf("%s: response key %q is not a status code", op, status)
		return
	}
	content, _ := r["content"].(map[string]any)
	if code == http.StatusNoContent {
		if len(content) > 0 {
			t.Errorf("%s 204 describes a body", op)
		}
		return
	}
	if len(content) == 0 {
		t.Errorf("%s %s: response describes no body", op, status)
		return
	}
	for mt, m := range content {
		media, _ := m.(map[string]any)
		if _, ok := media["schema"]; !ok {
			t.Errorf("%s %s %s: no schema", op, status, mt)
		}
	}
	if code >= 400 {
		media, _ := content["application/json"].(map[string]any)
		schema, _ := media["schema"].(map[string]any)
		if ref, _ := schema["$ref"].(string); ref != "#/components/schemas/Error" && !(op == "GET /readyz" && code == 503) {
			t.Errorf("%s %s: an error answer must use the Error schema, has %v", op, status, schema)
		}
	}
}

// checkPaging: a limit states its range and an offset its floor, as the
// handlers enforce them (400 outside).
func checkPaging(t *testing.T, op string, item, o map[string]any) {
	t.Helper()
	for _, src := range []map[string]any{item, o} {
		params, _ := src["parameters"].([]any)
		for _, p := range params {
			m, _ := p.(map[string]any)
			schema, _ := m["schema"].(map[string]any)
			_, hasMin := schema["minimum"]
			_, hasMax := schema["maximum"]
			switch m["name"] {
			case "limit":
				if schema["type"] != "integer" || !hasMin || !hasMax {
					t.Errorf("%s: limit must be an integer with minimum and maximum, is %v", op, schema)
				}
			case "offset":
				if schema["type"] != "integer" || schema["minimum"] != float64(0) {
					t.Errorf("%s: offset must be an integer with minimum 0, is %v", op, schema)
				}
			}
		}
	}
}

func hasPathParameter(item, op map[string]any) bool { return hasParameter(item, op, "path") }

// hasParameter reports whether the path item or the operation declares a
// parameter in one of the places.
func hasParameter(item, op map[string]any, in ...string) bool {
	for _, src := range []map[string]any{item, op} {
		params, _ := src["parameters"].([]any)
		for _, p := range params {
			m, _ := p.(map[string]any)
			for _, where := range in {
				if m["in"] == where {
					return true
				}
			}
		}
	}
	return false
}

func walkRefs(v any, fn func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if s, ok := e.(string); ok && k == "$ref" {
				fn(s)
				continue
			}
			walkRefs(e, fn)
		}
	case []any:
		for _, e := range x {
			walkRefs(e, fn)
		}
	}
}

// resolvePointer follows a local reference (#/a/b) inside doc.
func resolvePointer(doc map[string]any, ref string) (any, bool) {
	if !strings.HasPrefix(ref, "#/") {
		return nil, false
	}
	var cur any = doc
	for _, part := range strings.Split(ref[2:], "/") {
		part = strings.ReplaceAll(strings.ReplaceAll(part, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
