package httpapi

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"yiku/fault"
	"yiku/identity"
	"yiku/inputtext"
)

const (
	ctxPrincipal = "yiku.principal"
	ctxRequestID = "yiku.request_id"
	// HeaderRequestID carries the request id in and out.
	HeaderRequestID = "X-Request-ID"
)

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg *prometheus.Registry) *httpMetrics {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_http_requests_total", Help: "HTTP requests by route, method and status."}, []string{"route", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "yiku_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}}, []string{"route", "method"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// requestID takes the caller's X-Request-ID when it is sane, or makes one.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader(HeaderRequestID)
		if id == "" || len(id) > 64 || strings.ContainsAny(id, " \t\r\n\"") {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(ctxRequestID, id)
		c.Header(HeaderRequestID, id)
		c.Next()
	}
}

// RequestID returns the request's id.
func RequestID(c *gin.Context) string { return c.GetString(ctxRequestID) }

// observe logs one JSON line per request and records metrics.
func (s *Server) observe() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		status := c.Writer.Status()
		d := time.Since(start)
		s.metrics.requests.WithLabelValues(route, c.Request.Method, strconv.Itoa(status)).Inc()
		s.metrics.duration.WithLabelValues(route, c.Request.Method).Observe(d.Seconds())
		// Only the route pattern is logged: a matched path can carry a
		// citizen's ID number (/records/:subject), which belongs in the
		// audit trail as a keyed hash, not in the logs.
		attrs := []any{"method", c.Request.Method, "route", route, "status", status,
			"duration_ms", float64(d.Microseconds()) / 1000, "request_id", RequestID(c), "client", c.ClientIP(), "bytes", c.Writer.Size()}
		if p, ok := PrincipalOf(c); ok {
			attrs = append(attrs, "principal", p.Name, "department", p.DepartmentCode)
		}
		level := slog.LevelInfo
		if status >= 500 {
			level = slog.LevelError
		}
		if route == "/healthz" || route == "/readyz" || route == "/metrics" {
			level = slog.LevelDebug
		}
		s.deps.Log.Log(c.Request.Context(), level, "http request", attrs...)
	}
}

// recovery turns a panic into a logged 500 with the JSON error shape.
func (s *Server) recovery() gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if err, ok := r.(error); ok && errors.Is(err, http.ErrAbortHandler) {
					panic(r)
				}
				s.deps.Log.Error("panic in handler", "panic", fmt.Sprint(r), "request_id", RequestID(c), "stack", string(debug.Stack()))
				if !c.Writer.Written() {
					writeError(c, &fault.Error{Kind: fault.Internal, Code: "internal", Message: "internal error"})
				}
				c.Abort()
			}
		}()
		c.Next()
	}
}

// bodyLimit caps every request body; reading past it fails with TooLarge.
// A route in routes has its own cap.
func bodyLimit(def int64, routes map[string]int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		n := def
		if own, ok := routes[c.Request.Method+" "+c.Request.URL.Path]; ok {
			n = own
		}
		if c.Request.ContentLength > n {
			Fail(c, fault.New(fault.TooLarge, "body_too_large", "request body is %d bytes; the limit is %d", c.Request.ContentLength, n))
			return
		}
		if c.Request.Body != nil {
			c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		}
		c.Next()
	}
}

// cleanURL refuses a request whose path or query parameters (names or
// values) are not valid UTF-8 or hold control characters: they become
// database filters, audit columns (purpose, case number) and log lines,
// where a replaced byte, a line break or a NUL would be stored or acted on.
func cleanURL() gin.HandlerFunc {
	return func(c *gin.Context) {
		if why := inputtext.Problem(c.Request.URL.Path); why != "" {
			Fail(c, fault.Invalidf("invalid_path", "the request path is %s", why).WithDetails(fault.Detail{Reason: why}))
			return
		}
		q, err := url.ParseQuery(c.Request.URL.RawQuery)
		if err != nil {
			Fail(c, fault.Invalidf("invalid_query", "the query string is malformed: %v", err).WithDetails(fault.Detail{Reason: "malformed query string"}))
			return
		}
		names := make([]string, 0, len(q))
		for name := range q {
			names = append(names, name)
		}
		sort.Strings(names) // the same parameter is named whatever the map's order
		for _, name := range names {
			if why := inputtext.Problem(name); why != "" {
				Fail(c, fault.Invalidf("invalid_query", "a query parameter name is %s", why).WithDetails(fault.Detail{Reason: why}))
				return
			}
			for _, v := range q[name] {
				if why := inputtext.Problem(v); why != "" {
					Fail(c, fault.Invalidf("invalid_query", "query parameter %s: %s", name, why).WithDetails(fault.Detail{Field: name, Reason: why}))
					return
				}
			}
		}
		c.Next()
	}
}

// errorResponder writes the one JSON error shape for the first error a
// handler recorded with c.Error (or Fail), if it wrote nothing itself.
func errorResponder(log *slog.Logger, classify func(error) *fault.Error) gin.HandlerFunc {
	return func(c *gin.Context) {
		c.Next()
		if len(c.Errors) == 0 || c.Writer.Written() {
			return
		}
		err := c.Errors[0].Err
		fe, ok := fault.As(err)
		if !ok {
			var mbe *http.MaxBytesError
			if errors.As(err, &mbe) {
				fe = fault.New(fault.TooLarge, "body_too_large", "request body exceeds the limit of %d bytes", mbe.Limit)
			} else if classified := classifyErr(classify, err); classified != nil {
				log.Warn("request failed: dependency unavailable", "request_id", RequestID(c), "route", c.FullPath(), "code", classified.Code, "err", err)
				fe = classified
			} else {
				fe = &fault.Error{Kind: fault.Internal, Code: "internal", Message: "internal error", Err: err}
			}
		}
		if fe.Kind == fault.Internal {
			log.Error("request failed", "request_id", RequestID(c), "route", c.FullPath(), "err", err)
			// Never leak internal error text to the client.
			fe = &fault.Error{Kind: fault.Internal, Code: fe.Code, Message: "internal error"}
			if fe.Code == "" {
				fe.Code = "internal"
			}
		}
		writeError(c, fe)
	}
}

func classifyErr(classify func(error) *fault.Error, err error) *fault.Error {
	if classify == nil {
		return nil
	}
	return classify(err)
}

// ErrorBody is the JSON error shape of every failed request.
type ErrorBody struct {
	Error ErrorPayload `json:"error"`
}

// ErrorPayload is the inside of ErrorBody.
type ErrorPayload struct {
	Code      string         `json:"code"`
	Message   string         `json:"message"`
	Details   []fault.Detail `json:"details,omitempty"`
	RequestID string         `json:"request_id,omitempty"`
}

// StatusOf maps an error kind to its HTTP status.
func StatusOf(k fault.Kind) int {
	switch k {
	case fault.Invalid:
		return http.StatusBadRequest
	case fault.Unauthenticated:
		return http.StatusUnauthorized
	case fault.Forbidden:
		return http.StatusForbidden
	case fault.NotFound:
		return http.StatusNotFound
	case fault.Conflict:
		return http.StatusConflict
	case fault.Unavailable:
		return http.StatusServiceUnavailable
	case fault.TooLarge:
		return http.StatusRequestEntityTooLarge
	case fault.RateLimited:
		return http.StatusTooManyRequests
	case fault.MethodNotAllowed:
		return http.StatusMethodNotAllowed
	default:
		return http.StatusInternalServerError
	}
}

func writeError(c *gin.Context, fe *fault.Error) {
	status := StatusOf(fe.Kind)
	if fe.Kind == fault.Unauthenticated {
		c.Header("WWW-Authenticate", `Bearer realm="yiku"`)
	}
	if fe.RetryAfter > 0 {
		c.Header("Retry-After", strconv.Itoa(fe.RetryAfter))
	}
	c.JSON(status, ErrorBody{Error: ErrorPayload{Code: fe.Code, Message: fe.Message, Details: fe.Details, RequestID: RequestID(c)}})
}

// Fail records err for the error responder and stops the handler chain.
func Fail(c *gin.Context, err error) {
	_ = c.Error(err)
	c.Abort()
}

func errNotFound(path string) error {
	return fault.NotFoundf("route_not_found", "no route %s", path)
}

func errMethod(m string) error {
	return fault.New(fault.MethodNotAllowed, "method_not_allowed", "method %s is not allowed here", m)
}

// authenticate requires a bearer credential on every /api/v1 route.
func (s *Server) authenticate() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, secret, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
			Fail(c, &fault.Error{Kind: fault.Unauthenticated, Code: "unauthenticated", Message: "a valid bearer credential is required"})
			return
		}
		p, err := s.deps.Auth.Authenticate(c.Request.Context(), strings.TrimSpace(secret))
		if err != nil {
			Fail(c, err)
			return
		}
		c.Set(ctxPrincipal, p)
		c.Next()
	}
}

// authorize asks the Casbin enforcer about every /api/v1 call.
func (s *Server) authorize() gin.HandlerFunc {
	return func(c *gin.Context) {
		p := MustPrincipal(c)
		route := c.FullPath()
		if route == "" {
			c.Next()
			return
		}
		ok, err := s.deps.Authz.Allowed(p, route, c.Request.Method)
		if err != nil {
			Fail(c, err)
			return
		}
		if !ok {
			Fail(c, fault.Forbiddenf("forbidden", "role %s may not %s %s", p.Role, c.Request.Method, route))
			return
		}
		c.Next()
	}
}

// PrincipalOf returns the authenticated principal, if any.
func PrincipalOf(c *gin.Context) (identity.Principal, bool) {
	v, ok := c.Get(ctxPrincipal)
	if !ok {
		return identity.Principal{}, false
	}
	p, ok := v.(identity.Principal)
	return p, ok
}

// MustPrincipal returns the authenticated principal; only call it on /api/v1 routes.
func MustPrincipal(c *gin.Context) identity.Principal {
	p, _ := PrincipalOf(c)
	return p
}

// TraceID is the W3C trace id of the request's traceparent header when it
// has one, otherwise the request id: what records and events carry to tie
// them to the call that produced them.
func TraceID(c *gin.Context) string {
	if tp := c.GetHeader("traceparent"); len(tp) == 55 {
		return tp[3:35]
	}
	return RequestID(c)
}
