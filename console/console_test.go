package console_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"yiku/hub/hubtest"
)

// client is a browser-like HTTP client: a cookie jar, no redirects followed
// automatically unless asked.
type client struct {
	t    testing.TB
	base string
	hc   *http.Client
}

func newClient(t testing.TB, base string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, base: base, hc: &http.Client{Jar: jar}}
}

func (c *client) get(path string) (int, string) {
	c.t.Helper()
	res, err := c.hc.Get(c.base + path)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func (c *client) post(path string, form url.Values) (int, string) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	res, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf reads the CSRF token from a page.
func csrf(t testing.TB, page string) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf token in page: %.300s", page)
	}
	return m[1]
}

// signIn signs c in as a demo principal.
func (c *client) signIn(h *hubtest.Hub, principal string) string {
	c.t.Helper()
	_, page := c.get("/console/sign-in")
	code, body := c.post("/console/sign-in", url.Values{"csrf": {csrf(c.t, page)}, "credential": {h.Secret(principal)}})
	if code != http.StatusOK {
		c.t.Fatalf("sign in as %s: %d %.500s", principal, code, body)
	}
	return body
}

func TestSmoke(t *testing.T) {
	h := hubtest.Start(t)
	c := newClient(t, h.URL)
	body := c.signIn(h, "officer-gsc")
	t.Log(body[:2000])
}
