// Package client is the Go client of the Yiku hub's HTTP API for department
// systems: publishing records (batched, with idempotency keys and retries
// that honour 503 + Retry-After), pulling and acknowledging subscriptions,
// reuse lookups and catalog reads. It authenticates with a department API
// key. It holds no adapter logic (package adapters) and imports nothing of
// the hub's server side, so department systems can vendor it alone.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/sethvargo/go-retry"
)

// Client calls one hub with one credential. It is safe for concurrent use.
type Client struct {
	base       *url.URL
	token      string
	http       *http.Client
	maxRetries uint64
	minBackoff time.Duration
	maxBackoff time.Duration
	batchSize  int
	userAgent  string
}

// Option adjusts a Client.
type Option func(*Client)

// WithHTTPClient replaces the HTTP client (timeouts, TLS, proxies).
func WithHTTPClient(h *http.Client) Option { return func(c *Client) { c.http = h } }

// WithRetries sets how often a retryable call is retried (default 8) and
// the exponential back-off bounds (default 200ms to 30s). Retry-After from
// the hub wins over a shorter back-off.
func WithRetries(n uint64, min, max time.Duration) Option {
	return func(c *Client) { c.maxRetries, c.minBackoff, c.maxBackoff = n, min, max }
}

// WithBatchSize sets how many records PublishAll sends per request (default 1000).
func WithBatchSize(n int) Option { return func(c *Client) { c.batchSize = n } }

// WithUserAgent names the calling system in the User-Agent header.
func WithUserAgent(ua string) Option { return func(c *Client) { c.userAgent = ua } }

// New returns a client of the hub at baseURL (e.g. http://127.0.0.1:8080)
// authenticating with token, a department API key.
func New(baseURL, token string, opts ...Option) (*Client, error) {
	u, err := url.Parse(strings.TrimRight(baseURL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("client: hub URL %q must be http(s)://host[:port]", baseURL)
	}
	if strings.TrimSpace(token) == "" {
		return nil, errors.New("client: an API key is required")
	}
	c := &Client{
		base: u, token: token,
		http:       &http.Client{Timeout: 60 * time.Second},
		maxRetries: 8, minBackoff: 200 * time.Millisecond, maxBackoff: 30 * time.Second,
		batchSize: 1000, userAgent: "yiku-adapter",
	}
	for _, o := range opts {
		o(c)
	}
	if c.batchSize < 1 {
		return nil, errors.New("client: batch size must be at least 1")
	}
	return c, nil
}

// BaseURL returns the hub's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Error is a refusal by the hub in its one error shape.
type Error struct {
	Status     int      `json:"-"`
	Code       string   `json:"code"`
	Message    string   `json:"message"`
	Details    []Detail `json:"details,omitempty"`
	RequestID  string   `json:"request_id,omitempty"`
	RetryAfter time.Duration
}

// Detail points at one offending place in a request.
type Detail struct {
	Record  *int   `json:"record,omitempty"`
	Pointer string `json:"pointer,omitempty"`
	Field   string `json:"field,omitempty"`
	Rule    string `json:"rule,omitempty"`
	Reason  string `json:"reason"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("hub: %d %s: %s", e.Status, e.Code, e.Message)
}

// Temporary reports whether retrying the same request later may succeed.
func (e *Error) Temporary() bool { return retryableStatus(e.Status) }

// IsStatus reports whether err is a hub Error with this HTTP status.
func IsStatus(err error, status int) bool {
	var he *Error
	return errors.As(err, &he) && he.Status == status
}

func retryableStatus(s int) bool {
	return s == http.StatusServiceUnavailable || s == http.StatusTooManyRequests ||
		s == http.StatusBadGateway || s == http.StatusGatewayTimeout
}

// request is one call; body is re-sent on every attempt.
type request struct {
	method, path string
	query        url.Values
	body         []byte
	contentType  string
	header       http.Header
	// retry says whether the call is safe to repeat (reads, idempotent writes).
	retry bool
}

// do sends r, retrying retryable failures with back-off, and decodes a 2xx
// JSON body into out (if not nil).
func (c *Client) do(ctx context.Context, r request, out any) error {
	b := retry.NewExponential(c.minBackoff)
	b = retry.WithCappedDuration(c.maxBackoff, b)
	b = retry.WithJitterPercent(20, b)
	b = retry.WithMaxRetries(c.maxRetries, b)
	for {
		err := c.once(ctx, r, out)
		if err == nil || !r.retry || !retryable(err) || ctx.Err() != nil {
			return err
		}
		wait, stop := b.Next()
		if stop {
			return err
		}
		var he *Error
		if errors.As(err, &he) && he.RetryAfter > wait {
			wait = he.RetryAfter
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up: %v)", err, ctx.Err())
		case <-t.C:
		}
	}
}

func retryable(err error) bool {
	var he *Error
	if errors.As(err, &he) {
		return he.Temporary()
	}
	var ne net.Error
	if errors.As(err, &ne) {
		return true
	}
	var oe *net.OpError
	return errors.As(err, &oe) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
}

func (c *Client) once(ctx context.Context, r request, out any) error {
	u := *c.base
	u.Path = c.base.Path + r.path
	u.RawQuery = r.query.Encode()
	var body io.Reader
	if r.body != nil {
		body = bytes.NewReader(r.body)
	}
	req, err := http.NewRequestWithContext(ctx, r.method, u.String(), body)
	if err != nil {
		return fmt.Errorf("client: build %s %s: %w", r.method, r.path, err)
	}
	for k, vs := range r.header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if r.body != nil {
		req.Header.Set("Content-Type", r.contentType)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("User-Agent", c.userAgent)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("client: %s %s: %w", r.method, r.path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return fmt.Errorf("client: %s %s: read response: %w", r.method, r.path, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return decodeError(resp, data)
	}
	if out == nil || len(data) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("client: %s %s: decode response: %w", r.method, r.path, err)
	}
	return nil
}

func decodeError(resp *http.Response, data []byte) error {
	var env struct {
		Error *Error `json:"error"`
	}
	e := &Error{}
	if json.Unmarshal(data, &env) == nil && env.Error != nil {
		e = env.Error
	} else {
		e.Code = "http_" + strconv.Itoa(resp.StatusCode)
		e.Message = strings.TrimSpace(string(data))
		if len(e.Message) > 200 {
			e.Message = e.Message[:200]
		}
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
	}
	e.Status = resp.StatusCode
	if ra := resp.Header.Get("Retry-After"); ra != "" {
		if s, err := strconv.Atoi(ra); err == nil && s >= 0 {
			e.RetryAfter = time.Duration(s) * time.Second
		} else if t, err := http.ParseTime(ra); err == nil {
			e.RetryAfter = time.Until(t)
		}
	}
	return e
}

func jsonBody(v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("client: encode request: %w", err)
	}
	return data, nil
}
