package connectors

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"yiku/adapters"
)

const httpPullDoc = `http — pull records from a paged JSON API (a vendor system).

  type: http
  url: https://vendor.example/api/licences   # GET; query parameters kept
  items: data.items          # dotted path to the array of records in a response ("" = the body is the array)
  paging: page               # page (page number + size), offset (offset + limit) or cursor
  page_size: 100
  page_param: page           # page paging: the page number parameter (default page)
  first_page: 1              # page paging: number of the first page (default 1)
  size_param: size           # page/offset paging: the page size parameter (default size, limit for offset)
  offset_param: offset       # offset paging (default offset)
  cursor_param: cursor       # cursor paging: parameter sent with the next cursor (default cursor)
  next_cursor: data.next     # cursor paging: dotted path to the next cursor in a response
  headers:                   # optional request headers; a value "env:NAME" is read from the environment
    X-Api-Key: env:VENDOR_KEY
  timeout: 30s

Pages are read in order; a page with fewer than page_size records (or no
next cursor) ends the pass, and the position stays on it, so records added
to that page later are read on the next poll without reading the earlier
ones again. 5xx and 429 answers and network failures are retried with
back-off; other 4xx answers stop the pipeline.`

func init() {
	adapters.RegisterSource(adapters.SourceSpec{Name: "http", Doc: httpPullDoc, New: newHTTPPull})
}

// HTTPPullConfig is the http source's settings.
type HTTPPullConfig struct {
	URL         string            `yaml:"url"`
	Items       string            `yaml:"items"`
	Paging      string            `yaml:"paging"`
	PageSize    int               `yaml:"page_size"`
	PageParam   string            `yaml:"page_param"`
	FirstPage   *int              `yaml:"first_page"`
	SizeParam   string            `yaml:"size_param"`
	OffsetParam string            `yaml:"offset_param"`
	CursorParam string            `yaml:"cursor_param"`
	NextCursor  string            `yaml:"next_cursor"`
	Headers     map[string]string `yaml:"headers"`
	Timeout     adapters.Duration `yaml:"timeout"`
}

func (c *HTTPPullConfig) check() error {
	u, err := url.Parse(c.URL)
	if c.URL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return adapters.Fieldf("url", "an http(s) URL is required")
	}
	if c.PageSize == 0 {
		c.PageSize = 100
	}
	if c.PageSize < 1 || c.PageSize > 100000 {
		return adapters.Fieldf("page_size", "must be 1 to 100000")
	}
	switch c.Paging {
	case "", "page":
		c.Paging = "page"
		if c.PageParam == "" {
			c.PageParam = "page"
		}
		if c.SizeParam == "" {
			c.SizeParam = "size"
		}
		if c.FirstPage == nil {
			one := 1
			c.FirstPage = &one
		}
	case "offset":
		if c.OffsetParam == "" {
			c.OffsetParam = "offset"
		}
		if c.SizeParam == "" {
			c.SizeParam = "limit"
		}
	case "cursor":
		if c.NextCursor == "" {
			return adapters.Fieldf("next_cursor", "cursor paging needs the path of the next cursor in a response")
		}
		if c.CursorParam == "" {
			c.CursorParam = "cursor"
		}
	default:
		return adapters.Fieldf("paging", "unknown paging %q: use page, offset or cursor", c.Paging)
	}
	for k, v := range c.Headers {
		if name, ok := strings.CutPrefix(v, "env:"); ok && name == "" {
			return adapters.Fieldf("headers."+k, "env: needs a variable name")
		}
	}
	if c.Timeout == 0 {
		c.Timeout = adapters.Duration(30 * time.Second)
	}
	return nil
}

type httpPull struct {
	cfg  HTTPPullConfig
	http *http.Client
	pos  httpPos
	open bool
}

// httpPos is the page to read next and how many of its records are read.
type httpPos struct {
	Page   int    `json:"page,omitempty"`
	Offset int    `json:"offset,omitempty"`
	Cursor string `json:"cursor,omitempty"`
	Seen   int    `json:"seen,omitempty"`
}

func newHTTPPull(decode adapters.Decoder, env adapters.Env) (adapters.Source, error) {
	var cfg HTTPPullConfig
	if err := decode(&cfg); err != nil {
		return nil, err
	}
	return NewHTTPPull(cfg)
}

// NewHTTPPull builds an http source from settings.
func NewHTTPPull(cfg HTTPPullConfig) (adapters.Source, error) {
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return &httpPull{cfg: cfg, http: &http.Client{Timeout: cfg.Timeout.D()}}, nil
}

func (h *httpPull) Connect(_ context.Context, from string) error {
	h.pos = httpPos{}
	if h.cfg.Paging == "page" {
		h.pos.Page = *h.cfg.FirstPage
	}
	if from != "" {
		if err := json.Unmarshal([]byte(from), &h.pos); err != nil {
			return adapters.Permanent(fmt.Errorf("http source: checkpoint %q: %w", from, err))
		}
	}
	for k, v := range h.cfg.Headers {
		if name, ok := strings.CutPrefix(v, "env:"); ok && os.Getenv(name) == "" {
			return adapters.Permanent(fmt.Errorf("http source: header %s: environment variable %s is empty", k, name))
		}
	}
	h.open = true
	return nil
}

func (h *httpPull) Read(ctx context.Context, max int) (adapters.Batch, error) {
	if !h.open {
		return adapters.Batch{}, adapters.ErrNotConnected
	}
	from, _ := json.Marshal(h.pos)
	body, err := h.get(ctx)
	if err != nil {
		return adapters.Batch{}, err
	}
	items, err := dig(body, h.cfg.Items)
	if err != nil {
		return adapters.Batch{}, adapters.Permanent(fmt.Errorf("http source: items: %w", err))
	}
	list, ok := items.([]any)
	if !ok {
		return adapters.Batch{}, adapters.Permanent(fmt.Errorf("http source: %q is not an array in the response", h.cfg.Items))
	}
	next := h.pos
	full := false
	switch h.cfg.Paging {
	case "page", "offset":
		full = len(list) >= h.cfg.PageSize
	case "cursor":
		c, _ := dig(body, h.cfg.NextCursor)
		if s, ok := c.(string); ok && s != "" {
			full = true
			next.Cursor = s
		}
	}
	b := adapters.Batch{From: string(from)}
	end := min(h.pos.Seen+max, len(list))
	for i := h.pos.Seen; i < end; i++ {
		rec, ok := list[i].(map[string]any)
		if !ok {
			b.Messages = append(b.Messages, adapters.Message{Origin: fmt.Sprintf("%s#%d", h.describe(), i), Err: errors.New("item is not a JSON object")})
			continue
		}
		b.Messages = append(b.Messages, adapters.Message{Record: rec, Origin: fmt.Sprintf("%s#%d", h.describe(), i)})
	}
	if full && end == len(list) {
		next.Seen = 0
		switch h.cfg.Paging {
		case "page":
			next.Page++
		case "offset":
			next.Offset += len(list)
		}
	} else {
		next.Seen = end
		next.Cursor = h.pos.Cursor
	}
	if len(b.Messages) == 0 && !(full && end == len(list)) {
		return adapters.Batch{}, adapters.ErrNoData
	}
	h.pos = next
	to, _ := json.Marshal(next)
	b.To = string(to)
	return b, nil
}

func (h *httpPull) describe() string {
	switch h.cfg.Paging {
	case "page":
		return "page " + strconv.Itoa(h.pos.Page)
	case "offset":
		return "offset " + strconv.Itoa(h.pos.Offset)
	}
	return "cursor " + h.pos.Cursor
}

func (h *httpPull) get(ctx context.Context) (any, error) {
	u, _ := url.Parse(h.cfg.URL)
	q := u.Query()
	switch h.cfg.Paging {
	case "page":
		q.Set(h.cfg.PageParam, strconv.Itoa(h.pos.Page))
		q.Set(h.cfg.SizeParam, strconv.Itoa(h.cfg.PageSize))
	case "offset":
		q.Set(h.cfg.OffsetParam, strconv.Itoa(h.pos.Offset))
		q.Set(h.cfg.SizeParam, strconv.Itoa(h.cfg.PageSize))
	case "cursor":
		if h.pos.Cursor != "" {
			q.Set(h.cfg.CursorParam, h.pos.Cursor)
		}
	}
	u.RawQuery = q.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, adapters.Permanent(fmt.Errorf("http source: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range h.cfg.Headers {
		if name, ok := strings.CutPrefix(v, "env:"); ok {
			v = os.Getenv(name)
		}
		req.Header.Set(k, v)
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("http source: GET %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 256<<20))
	if err != nil {
		return nil, fmt.Errorf("http source: GET %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		err := fmt.Errorf("http source: GET %s: status %d: %.200s", u.Redacted(), resp.StatusCode, bytes.TrimSpace(data))
		if resp.StatusCode >= 500 || resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusRequestTimeout {
			return nil, err
		}
		return nil, adapters.Permanent(err)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var body any
	if err := dec.Decode(&body); err != nil {
		return nil, fmt.Errorf("http source: GET %s: invalid JSON: %w", u.Redacted(), err)
	}
	return body, nil
}

// dig follows a dotted path of object keys.
func dig(v any, path string) (any, error) {
	if path == "" {
		return v, nil
	}
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("no object at %q", k)
		}
		if v, ok = m[k]; !ok {
			return nil, fmt.Errorf("no key %q", k)
		}
	}
	return v, nil
}

func (h *httpPull) Close() error {
	h.open = false
	h.http.CloseIdleConnections()
	return nil
}
