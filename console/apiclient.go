package console

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"yiku/identity"
)

// tokenTTL is the lifetime of the tokens the console's in-process API calls
// carry; they never leave the hub.
const tokenTTL = 10 * time.Minute

type cachedToken struct {
	token string
	exp   time.Time
}

// tokenCache keeps one short-lived token per principal (and role and
// department: a change of either needs a new token).
type tokenCache struct {
	auth *identity.Authenticator
	now  func() time.Time
	mu   sync.Mutex
	m    map[string]cachedToken
}

func (t *tokenCache) token(p identity.Principal) (string, error) {
	key := p.ID + "|" + string(p.Role) + "|" + p.DepartmentCode
	now := t.now()
	t.mu.Lock()
	c, ok := t.m[key]
	t.mu.Unlock()
	if ok && now.Add(2*time.Minute).Before(c.exp) {
		return c.token, nil
	}
	tok, exp, err := t.auth.IssueTokenBy(p, tokenTTL, "console")
	if err != nil {
		return "", fmt.Errorf("console: token for %s: %w", p.Name, err)
	}
	t.mu.Lock()
	if len(t.m) > 10_000 {
		t.m = map[string]cachedToken{}
	}
	t.m[key] = cachedToken{token: tok, exp: exp}
	t.mu.Unlock()
	return tok, nil
}

// APIError is an /api/v1 answer other than 2xx, in the API's one error shape.
type APIError struct {
	Status  int
	Code    string
	Message string
	Details []APIDetail
}

// APIDetail is one detail of an API error.
type APIDetail struct {
	Field   string `json:"field"`
	Pointer string `json:"pointer"`
	Rule    string `json:"rule"`
	Reason  string `json:"reason"`
}

func (e *APIError) Error() string { return fmt.Sprintf("api %d %s: %s", e.Status, e.Code, e.Message) }

// FieldErrors maps the error's details to form fields (by field name, or
// the pointer's last segment).
func (e *APIError) FieldErrors() map[string]string {
	out := map[string]string{}
	for _, d := range e.Details {
		f := d.Field
		if f == "" && d.Pointer != "" {
			f = d.Pointer[strings.LastIndex(d.Pointer, "/")+1:]
		}
		if f != "" && out[f] == "" {
			out[f] = d.Reason
		}
	}
	return out
}

// response is a finished in-process API call.
type response struct {
	status int
	header http.Header
	body   bytes.Buffer
}

func (r *response) Header() http.Header { return r.header }
func (r *response) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *response) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
}
func (r *response) Flush() {}

// call performs one /api/v1 call in process as the visit's principal:
// through the hub's whole handler (authentication, Casbin, the audit
// middleware, the part's handler), with the visitor's address and the
// page's request id, so its audit event is the API's. A 2xx JSON answer is
// decoded into out (when not nil); any other answer is an *APIError.
func (c *Console) call(v *visit, method, path string, body any, out any) error {
	r, err := c.raw(v, method, path, body)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(r.body.Bytes(), out); err != nil {
			return fmt.Errorf("console: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// raw is call returning the answer undecoded (CSV exports).
func (c *Console) raw(v *visit, method, path string, body any) (*response, error) {
	if body == nil {
		return c.send(v, method, path, nil, "")
	}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("console: encode %s %s: %w", method, path, err)
	}
	return c.send(v, method, path, bytes.NewReader(data), "application/json")
}

// stream is call with a body read from r as the API reads it, never held
// whole (material uploads): the same token, request id and visitor's
// address as every other call.
func (c *Console) stream(v *visit, method, path string, r io.Reader, contentType string, out any) error {
	res, err := c.send(v, method, path, r, contentType)
	if err != nil {
		return err
	}
	if out != nil {
		if err := json.Unmarshal(res.body.Bytes(), out); err != nil {
			return fmt.Errorf("console: decode %s %s: %w", method, path, err)
		}
	}
	return nil
}

// send performs the in-process call with body rd (nil for none) of
// contentType.
func (c *Console) send(v *visit, method, path string, rd io.Reader, contentType string) (*response, error) {
	tok, err := c.tokens.token(v.Principal)
	if err != nil {
		return nil, err
	}
	ctx := context.WithoutCancel(v.r.Context())
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return nil, fmt.Errorf("console: request %s %s: %w", method, path, err)
	}
	if rd != nil && req.ContentLength == 0 {
		req.ContentLength = -1 // a stream of unknown length
	}
	req.RemoteAddr = v.r.RemoteAddr
	for _, h := range []string{"X-Forwarded-For", "X-Real-Ip", "User-Agent"} {
		if s := v.r.Header.Get(h); s != "" {
			req.Header.Set(h, s)
		}
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Accept", "application/json")
	if v.RequestID != "" {
		req.Header.Set("X-Request-ID", v.RequestID)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	res := &response{header: http.Header{}}
	c.deps.API.ServeHTTP(res, req)
	if res.status == 0 {
		res.status = http.StatusOK
	}
	if res.status >= 200 && res.status < 300 {
		return res, nil
	}
	var shape struct {
		Error struct {
			Code    string      `json:"code"`
			Message string      `json:"message"`
			Details []APIDetail `json:"details"`
		} `json:"error"`
	}
	_ = json.Unmarshal(res.body.Bytes(), &shape)
	return nil, &APIError{Status: res.status, Code: shape.Error.Code, Message: shape.Error.Message, Details: shape.Error.Details}
}
