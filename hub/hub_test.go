package hub_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"yiku/config"

	"yiku/httpapi"
	"yiku/hub/hubtest"
)

// TestEveryRouteIsDescribed keeps /openapi.json true to the routes: every
// registered route must be an operation in the document, and the document
// must describe no route that does not exist.
func TestEveryRouteIsDescribed(t *testing.T) {
	h := hubtest.Start(t)
	resp := h.Do("GET", "/openapi.json", "", nil)
	if resp.Status != http.StatusOK {
		t.Fatalf("GET /openapi.json: %d", resp.Status)
	}
	described, err := httpapi.DescribedOperations(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, op := range described {
		have[op] = true
	}
	registered := map[string]bool{}
	for _, r := range h.Server.Routes() {
		op := r.Method + " " + httpapi.OpenAPIPath(r.Path)
		registered[op] = true
		if !have[op] {
			t.Errorf("route %s %s is not described in /openapi.json", r.Method, r.Path)
		}
	}
	for op := range have {
		if !registered[op] {
			t.Errorf("/openapi.json describes %s, which is not a route", op)
		}
	}
}

// TestAuthenticationAndAuthorization: 401 without or with a bad credential,
// 403 for a role the policy does not allow, both in the JSON error shape and
// with no data.
func TestAuthenticationAndAuthorization(t *testing.T) {
	h := hubtest.Start(t)
	cases := []struct {
		name   string
		secret string
		method string
		path   string
		want   int
		code   string
		body   any
	}{
		{"no credential", "", "GET", "/api/v1/catalog/departments", 401, "unauthenticated", nil},
		{"garbage bearer", "nonsense", "GET", "/api/v1/catalog/departments", 401, "unauthenticated", nil},
		{"forged api key", "yk_0000000000000000_deadbeef", "GET", "/api/v1/catalog/departments", 401, "unauthenticated", nil},
		{"tampered token", h.Secret("officer-gsc") + "x", "GET", "/api/v1/me", 401, "unauthenticated", nil},
		{"officer may not list principals", h.Secret("officer-gsc"), "GET", "/api/v1/admin/principals", 403, "forbidden", nil},
		{"system may not create departments", h.Secret("psb-system"), "POST", "/api/v1/catalog/departments", 403, "forbidden", map[string]any{"code": "lx-x", "name": "x", "level": "district"}},
		{"citizen may not manage principals", h.Secret("citizen-demo"), "GET", "/api/v1/admin/principals", 403, "forbidden", nil},
		{"department admin may not appoint a reviewer", h.Secret("admin-psb"), "POST", "/api/v1/admin/principals", 403, "forbidden", map[string]any{"name": "x-reviewer", "kind": "person", "role": "security_reviewer", "department_code": "lx-psb"}},
		{"department admin may not create in another department", h.Secret("admin-psb"), "POST", "/api/v1/admin/principals", 403, "forbidden", map[string]any{"name": "x-sys", "kind": "system", "role": "department_system", "department_code": "lx-amr"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.DoSecret(tc.method, tc.path, tc.secret, tc.body)
			if resp.Status != tc.want {
				t.Fatalf("status = %d, want %d: %s", resp.Status, tc.want, resp.Body)
			}
			var e httpapi.ErrorBody
			resp.JSON(t, &e)
			if e.Error.Code != tc.code || e.Error.Message == "" || e.Error.RequestID == "" {
				t.Fatalf("error body = %s", resp.Body)
			}
			var raw map[string]any
			resp.JSON(t, &raw)
			if len(raw) != 1 {
				t.Fatalf("error response carries more than the error: %s", resp.Body)
			}
			if tc.want == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Fatal("401 without WWW-Authenticate")
			}
		})
	}
	if resp := h.Do("GET", "/api/v1/me", "officer-gsc", nil); resp.Status != 200 || !strings.Contains(string(resp.Body), `"role":"officer"`) {
		t.Fatalf("officer /me: %d %s", resp.Status, resp.Body)
	}
}

// TestAPIKeyLifecycle: a key issued by a department admin works until it is
// revoked, and not after; its secret is shown once and never listed.
func TestAPIKeyLifecycle(t *testing.T) {
	h := hubtest.Start(t)
	resp := h.Do("POST", "/api/v1/admin/principals", "admin-psb", map[string]any{
		"name": "psb-batch", "kind": "system", "role": "department_system", "department_code": "lx-psb",
	})
	if resp.Status != http.StatusCreated {
		t.Fatalf("create principal: %d %s", resp.Status, resp.Body)
	}
	var p struct{ ID string }
	resp.JSON(t, &p)

	resp = h.Do("POST", "/api/v1/admin/principals/"+p.ID+"/api-keys", "admin-psb", map[string]any{"label": "nightly batch", "expires_in": "720h"})
	if resp.Status != http.StatusCreated {
		t.Fatalf("issue key: %d %s", resp.Status, resp.Body)
	}
	var key struct {
		ID        string `json:"id"`
		Secret    string `json:"secret"`
		ExpiresAt string `json:"expires_at"`
	}
	resp.JSON(t, &key)
	if !strings.HasPrefix(key.Secret, "yk_") || key.ExpiresAt == "" {
		t.Fatalf("issued key = %s", resp.Body)
	}
	if r := h.DoSecret("GET", "/api/v1/me", key.Secret, nil); r.Status != 200 || !strings.Contains(string(r.Body), "psb-batch") {
		t.Fatalf("new key: %d %s", r.Status, r.Body)
	}
	list := h.Do("GET", "/api/v1/admin/principals/"+p.ID+"/api-keys", "admin-psb", nil)
	if list.Status != 200 || strings.Contains(string(list.Body), key.Secret) || strings.Contains(string(list.Body), "secret") {
		t.Fatalf("key listing leaks or fails: %d %s", list.Status, list.Body)
	}
	// Another department's admin may not revoke it.
	if r := h.Do("DELETE", "/api/v1/admin/api-keys/"+key.ID, "admin-amr", nil); r.Status != http.StatusForbidden {
		t.Fatalf("foreign revoke: %d %s", r.Status, r.Body)
	}
	if r := h.Do("DELETE", "/api/v1/admin/api-keys/"+key.ID, "admin-psb", nil); r.Status != http.StatusNoContent {
		t.Fatalf("revoke: %d %s", r.Status, r.Body)
	}
	if r := h.DoSecret("GET", "/api/v1/me", key.Secret, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("revoked key still works: %d %s", r.Status, r.Body)
	}
}

// TestBadInputGetsStructuredErrors: malformed JSON, wrong content type,
// unknown fields and oversized bodies are 4xx with the error shape.
func TestBadInputGetsStructuredErrors(t *testing.T) {
	h := hubtest.Start(t)
	cases := []struct {
		name    string
		body    string
		headers []string
		want    int
		code    string
	}{
		{"malformed json", `{"code":`, nil, 400, "invalid_json"},
		{"unknown field", `{"code":"lx-new","name":"新","level":"district","colour":"red"}`, nil, 400, "invalid_json"},
		{"wrong content type", `code=x`, []string{"Content-Type", "text/plain"}, 400, "unsupported_media_type"},
		{"rule broken", `{"code":"lx-new","name":"","level":"district"}`, nil, 400, "invalid_department"},
		{"orphan township", `{"code":"lx-new","name":"新街道","level":"township"}`, nil, 400, "invalid_department"},
		{"too large", `{"name":"` + strings.Repeat("x", 17<<20) + `"}`, nil, 413, "body_too_large"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := h.Do("POST", "/api/v1/catalog/departments", "catalog-admin", tc.body, tc.headers...)
			if resp.Status != tc.want {
				t.Fatalf("status = %d, want %d: %.300s", resp.Status, tc.want, resp.Body)
			}
			var e httpapi.ErrorBody
			if err := json.Unmarshal(resp.Body, &e); err != nil || e.Error.Code != tc.code {
				t.Fatalf("error body = %.300s", resp.Body)
			}
		})
	}
	if r := h.Do("POST", "/api/v1/catalog/departments", "catalog-admin", map[string]any{"code": "lx-new", "name": "新区直单位", "level": "district", "division_code": "431302"}); r.Status != 201 {
		t.Fatalf("valid department: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/api/v1/catalog/departments", "catalog-admin", map[string]any{"code": "lx-new", "name": "重复", "level": "district"}); r.Status != 409 {
		t.Fatalf("duplicate department: %d %s", r.Status, r.Body)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	h := hubtest.Start(t)
	if r := h.Do("GET", "/healthz", "", nil); r.Status != 200 {
		t.Fatalf("healthz: %d", r.Status)
	}
	r := h.Do("GET", "/readyz", "", nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"database":"ok"`) || !strings.Contains(string(r.Body), `"kafka":"ok"`) {
		t.Fatalf("readyz: %d %s", r.Status, r.Body)
	}
	m := h.Do("GET", "/metrics", "", nil)
	if m.Status != 200 || !strings.Contains(string(m.Body), "yiku_http_requests_total") {
		t.Fatalf("metrics: %d", m.Status)
	}
	if r := h.Do("GET", "/nope", "", nil); r.Status != 404 || !strings.Contains(string(r.Body), "route_not_found") {
		t.Fatalf("unknown route: %d %s", r.Status, r.Body)
	}
}

// TestHTTPS: with a certificate and key configured the hub speaks TLS only.
func TestHTTPS(t *testing.T) {
	dir := t.TempDir()
	cert, key := selfSigned(t, dir)
	h := hubtest.StartWith(t, hubtest.Options{Configure: func(c *config.Config) {
		c.TLSCertFile, c.TLSKeyFile = cert, key
	}})
	url := strings.Replace(h.URL, "http://", "https://", 1)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed test cert
	resp, err := client.Get(url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.TLS == nil {
		t.Fatalf("https healthz: %d tls=%v", resp.StatusCode, resp.TLS != nil)
	}
	if resp, err := http.Get(h.URL + "/healthz"); err == nil && resp.StatusCode == 200 {
		resp.Body.Close()
		t.Fatal("plain HTTP answered on a TLS listener")
	}
}

func selfSigned(t *testing.T, dir string) (string, string) {
	t.Helper()
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestRoleChangesReachEveryInstance: a principal created on one hub
// instance can call the other within seconds, and once disabled on the
// first is refused by the other within seconds too.
func TestRoleChangesReachEveryInstance(t *testing.T) {
	a := hubtest.Start(t)
	b := hubtest.StartWith(t, hubtest.Options{Share: a})
	r := a.Do("POST", "/api/v1/admin/principals", "admin-psb", map[string]any{
		"name": "psb-sync", "kind": "system", "role": "department_system", "department_code": "lx-psb",
	})
	if r.Status != http.StatusCreated {
		t.Fatalf("create: %d %s", r.Status, r.Body)
	}
	var p struct{ ID string }
	r.JSON(t, &p)
	r = a.Do("POST", "/api/v1/admin/principals/"+p.ID+"/api-keys", "admin-psb", map[string]any{"label": "sync"})
	var key struct{ Secret string }
	r.JSON(t, &key)
	// The bounds are generous for a loaded CI machine; the watcher itself
	// reloads within 1 s and the credential cache holds for 2 s.
	var last string
	me := func(want int) func() bool {
		return func() bool {
			r := b.DoSecret("GET", "/api/v1/me", key.Secret, nil)
			last = fmt.Sprintf("%d %s", r.Status, r.Body)
			return r.Status == want
		}
	}
	eventually(t, 15*time.Second, me(http.StatusOK), &last)
	if r := a.Do("POST", "/api/v1/admin/principals/"+p.ID+"/disable", "admin-psb", nil); r.Status != http.StatusNoContent {
		t.Fatalf("disable: %d %s", r.Status, r.Body)
	}
	if r := a.DoSecret("GET", "/api/v1/me", key.Secret, nil); r.Status != http.StatusUnauthorized {
		t.Fatalf("disabled principal on the instance that disabled it: %d", r.Status)
	}
	eventually(t, 15*time.Second, me(http.StatusUnauthorized), &last)
}

// eventually polls cond until it holds or within passes; last, if not nil,
// is what the last poll saw, for the failure message.
func eventually(t *testing.T, within time.Duration, cond func() bool, last *string) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			if last != nil {
				t.Fatalf("condition not met within %s; last answer: %s", within, *last)
			}
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestCredentialRules: API keys are for systems only, tokens cannot outlive
// the configured lifetime, and a wrong method is a 405.
func TestCredentialRules(t *testing.T) {
	h := hubtest.Start(t)
	r := h.Do("GET", "/api/v1/admin/principals", "admin-psb", nil)
	var list struct {
		Principals []struct{ ID, Name string } `json:"principals"`
	}
	r.JSON(t, &list)
	var adminID string
	for _, p := range list.Principals {
		if p.Name == "admin-psb" {
			adminID = p.ID
		}
	}
	if adminID == "" {
		t.Fatalf("admin-psb not listed: %s", r.Body)
	}
	if r := h.Do("POST", "/api/v1/admin/principals/"+adminID+"/api-keys", "admin-psb", map[string]any{"label": "x"}); r.Status != 400 || !strings.Contains(string(r.Body), "api_key_for_person") {
		t.Fatalf("api key for a person: %d %s", r.Status, r.Body)
	}
	if r := h.Do("POST", "/api/v1/admin/principals/"+adminID+"/tokens", "admin-psb", map[string]any{"expires_in": "876000h"}); r.Status != 400 {
		t.Fatalf("century token: %d %s", r.Status, r.Body)
	}
	r = h.Do("POST", "/api/v1/admin/principals/"+adminID+"/tokens", "admin-psb", map[string]any{"expires_in": "30m"})
	if r.Status != 201 {
		t.Fatalf("token: %d %s", r.Status, r.Body)
	}
	var tok struct{ Token string }
	r.JSON(t, &tok)
	if r := h.DoSecret("GET", "/api/v1/me", tok.Token, nil); r.Status != 200 {
		t.Fatalf("issued token: %d %s", r.Status, r.Body)
	}
	if r := h.Do("PATCH", "/api/v1/me", "officer-gsc", nil); r.Status != http.StatusMethodNotAllowed {
		t.Fatalf("wrong method: %d %s", r.Status, r.Body)
	}
}
