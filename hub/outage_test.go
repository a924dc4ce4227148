package hub_test

import (
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"yiku/config"
	"yiku/exchange/loadgen"
	"yiku/httpapi"
	"yiku/hub/hubtest"
	"yiku/storage/storagetest"
)

// TestDatabaseOutageAnswers503: while PostgreSQL cannot be reached, a
// department system's publish with its API key is answered 503 with
// Retry-After — never 500, which clients do not retry — and once the
// database is back the same hub serves it again without a restart.
func TestDatabaseOutageAnswers503(t *testing.T) {
	dbURL := storagetest.NewURL(t)
	if !strings.HasPrefix(dbURL, "postgres") {
		t.Skip("needs PostgreSQL (YIKU_TEST_DATABASE_URL): an SQLite file cannot go down")
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	proxy := hubtest.NewCutProxy(t, u.Host)
	u.Host = proxy.Addr()
	h := hubtest.StartWith(t, hubtest.Options{Configure: func(c *config.Config) { c.DatabaseURL = u.String() }})

	r := rand.New(rand.NewPCG(13, 13))
	publish := func(seq int) hubtest.Response {
		body, _ := json.Marshal([]map[string]any{loadgen.Person(r, seq, 0)})
		return h.Do(http.MethodPost, "/api/v1/resources/population/records", "psb-system", body)
	}
	if resp := publish(1); resp.Status != http.StatusOK && resp.Status != http.StatusAccepted {
		t.Fatalf("publish before the outage: %d %s", resp.Status, resp.Body)
	}

	proxy.Cut()
	// The authentication cache holds a key for up to 2 s; past it every
	// request must reach the database and find it gone.
	time.Sleep(2500 * time.Millisecond)
	for i := range 5 {
		resp := publish(100 + i)
		if resp.Status != http.StatusServiceUnavailable {
			t.Fatalf("publish %d during the outage: %d %s, want 503", i, resp.Status, resp.Body)
		}
		if resp.Header.Get("Retry-After") == "" {
			t.Fatalf("publish %d during the outage: 503 without Retry-After", i)
		}
		var e httpapi.ErrorBody
		resp.JSON(t, &e)
		if e.Error.Code == "internal" || e.Error.Code == "" {
			t.Fatalf("publish %d during the outage: code %q", i, e.Error.Code)
		}
	}
	if r := h.Do(http.MethodGet, "/readyz", "", nil); r.Status != http.StatusServiceUnavailable || !strings.Contains(string(r.Body), `"database":"unavailable"`) {
		t.Fatalf("readyz during the outage: %d %s", r.Status, r.Body)
	}

	proxy.Restore()
	deadline := time.Now().Add(30 * time.Second)
	for seq := 200; ; seq++ {
		resp := publish(seq)
		if resp.Status == http.StatusOK || resp.Status == http.StatusAccepted {
			break
		}
		if resp.Status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			t.Fatalf("publish after the outage: %d %s", resp.Status, resp.Body)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if r := h.Do(http.MethodGet, "/readyz", "", nil); r.Status != http.StatusOK {
		t.Fatalf("readyz after the outage: %d %s", r.Status, r.Body)
	}
}
