package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMergeAddsMiddlewareResponses: the merge completes each operation with
// what the shared middleware answers (401 and 503 where a credential is
// needed, 400 and 413 where a body is read, 400 where path or query values
// are read) and leaves a fragment's own description of those statuses alone.
func TestMergeAddsMiddlewareResponses(t *testing.T) {
	frag := `{"paths": {
	  "/api/v1/things": {
	    "get": {"responses": {"200": {"description": "ok"}}},
	    "post": {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
	      "responses": {"201": {"description": "made"}, "400": {"description": "a thing breaks a rule"}}}
	  },
	  "/api/v1/things/{id}": {"parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}}],
	    "get": {"responses": {"200": {"description": "ok"}}}},
	  "/open": {"get": {"security": [], "responses": {"200": {"description": "ok"}}},
	    "head": {"security": [], "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}], "responses": {"200": {"description": "ok"}}}}
	}}`
	doc, err := mergeOpenAPI("test", []byte(frag))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	responses := func(path, method string) map[string]map[string]any {
		var op struct {
			Responses map[string]map[string]any `json:"responses"`
		}
		if err := json.Unmarshal(d.Paths[path][method], &op); err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		return op.Responses
	}
	statuses := func(path, method string) string {
		var out []string
		r := responses(path, method)
		for _, s := range []string{"200", "201", "400", "401", "413", "503"} {
			if _, ok := r[s]; ok {
				out = append(out, s)
			}
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ path, method, want string }{
		{"/api/v1/things", "get", "200,401,503"},
		{"/api/v1/things", "post", "201,400,401,413,503"},
		{"/api/v1/things/{id}", "get", "200,400,401,503"},
		{"/open", "get", "200"},
		{"/open", "head", "200,400"},
	} {
		if got := statuses(tc.path, tc.method); got != tc.want {
			t.Errorf("%s %s responses = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
	if got := responses("/api/v1/things", "post")["400"]["description"]; got != "a thing breaks a rule" {
		t.Errorf("the fragment's own 400 was replaced: %v", got)
	}
	if got := responses("/api/v1/things", "get")["401"]["$ref"]; got != "#/components/responses/Unauthenticated" {
		t.Errorf("401 = %v", got)
	}
}

// TestMergeRefusesDuplicates: a path or component owned by two fragments
// is an error, not a silent overwrite.
func TestMergeRefusesDuplicates(t *testing.T) {
	a := `{"paths": {"/x": {"get": {"responses": {"200": {"description": "ok"}}}}}}`
	if _, err := mergeOpenAPI("", []byte(a), []byte(a)); err == nil || !strings.Contains(err.Error(), "described twice") {
		t.Fatalf("err = %v", err)
	}
	c := `{"paths": {}, "components": {"schemas": {"X": {"type": "string"}}}}`
	if _, err := mergeOpenAPI("", []byte(c), []byte(c)); err == nil || !strings.Contains(err.Error(), "described twice") {
		t.Fatalf("err = %v", err)
	}
	if _, err := mergeOpenAPI("", []byte(`{"paths": {"/x": {"get": {}}}}`)); err == nil {
		t.Fatal("an operation without responses was merged")
	}
}
