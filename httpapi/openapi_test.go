package httpapi

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestMergeAddsMiddlewareResponses: the merge completes each operation with
// what the shared middleware answers (401 and 503 where a credential is
// needed, 400 and 413 where a body is read) and leaves a fragment's own
// description of those statuses alone.
func TestMergeAddsMiddlewareResponses(t *testing.T) {
	frag := `{"paths": {
	  "/api/v1/things": {
	    "get": {"responses": {"200": {"description": "ok"}}},
	    "post": {"requestBody": {"content": {"application/json": {"schema": {"type": "object"}}}},
	      "responses": {"201": {"description": "made"}, "400": {"description": "a thing breaks a rule"}}}
	  },
	  "/open": {"get": {"security": [], "responses": {"200": {"description": "ok"}}}}
	}}`
	doc, err := mergeOpenAPI("test", []byte(frag))
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		Paths map[string]map[string]struct {
			Responses map[string]map[string]any `json:"responses"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(doc, &d); err != nil {
		t.Fatal(err)
	}
	statuses := func(path, method string) string {
		var out []string
		for _, s := range []string{"200", "201", "400", "401", "413", "503"} {
			if _, ok := d.Paths[path][method].Responses[s]; ok {
				out = append(out, s)
			}
		}
		return strings.Join(out, ",")
	}
	for _, tc := range []struct{ path, method, want string }{
		{"/api/v1/things", "get", "200,401,503"},
		{"/api/v1/things", "post", "201,400,401,413,503"},
		{"/open", "get", "200"},
	} {
		if got := statuses(tc.path, tc.method); got != tc.want {
			t.Errorf("%s %s responses = %s, want %s", tc.method, tc.path, got, tc.want)
		}
	}
	if got := d.Paths["/api/v1/things"]["post"].Responses["400"]["description"]; got != "a thing breaks a rule" {
		t.Errorf("the fragment's own 400 was replaced: %v", d.Paths["/api/v1/things"]["post"].Responses["400"])
	}
	if got := d.Paths["/api/v1/things"]["get"].Responses["401"]["$ref"]; got != "#/components/responses/Unauthenticated" {
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
