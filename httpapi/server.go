// Package httpapi is Yiku's HTTP front: the gin engine, the middleware every
// request passes (request ids, JSON logs, metrics, body limits, panic
// recovery, authentication, Casbin authorization, the one error shape), the
// health, metrics and OpenAPI endpoints, and the Module interface through
// which each part of the hub adds its routes. Domain logic lives in the
// parts' own packages; handlers here and there stay thin.
package httpapi

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"yiku/fault"
	"yiku/identity"
)

// Authenticator resolves a bearer secret to a principal.
type Authenticator interface {
	Authenticate(ctx context.Context, bearer string) (identity.Principal, error)
}

// Authorizer decides whether a principal may call a route.
type Authorizer interface {
	Allowed(p identity.Principal, route, method string) (bool, error)
}

// Check is a named readiness check (database, Kafka).
type Check struct {
	Name string
	Fn   func(ctx context.Context) error
}

// Module is one part of the hub's API. Routes registers its handlers on the
// authenticated /api/v1 group; OpenAPI returns its fragment of the OpenAPI
// document: a JSON object with "paths" and optionally "components".
type Module interface {
	Routes(api *gin.RouterGroup)
	OpenAPI() []byte
}

// Frontend serves pages outside /api/v1 (the web console): Mount adds its
// routes to the engine, where the bearer authentication of /api/v1 does not
// apply; the frontend authenticates its own visitors.
type Frontend interface {
	Mount(e *gin.Engine)
}

// Deps are what the server needs from the rest of the hub.
type Deps struct {
	Log          *slog.Logger
	Auth         Authenticator
	Authz        Authorizer
	Checks       []Check
	MaxBodyBytes int64
	// BodyLimits replace MaxBodyBytes for single routes ("POST /api/v1/x"
	// by request path) that stream larger bodies (material uploads).
	BodyLimits map[string]int64
	Registry   *prometheus.Registry
	Version    string
	// Audit, when set, runs on every /api/v1 call after authentication and
	// before authorization, so denials are audited too. It records the call
	// (see AuditNote) durably before the response is released.
	Audit gin.HandlerFunc
	// Classify, when set, recognises errors that are not fault errors but
	// still mean something other than a bug — the database being unreachable
	// — and returns the fault to answer with; nil leaves the error internal.
	Classify func(error) *fault.Error
	// Frontends are mounted beside the API (the web console under /console/).
	Frontends []Frontend
}

// Server is the hub's HTTP server.
type Server struct {
	deps    Deps
	engine  *gin.Engine
	openapi []byte
	metrics *httpMetrics
	pages   map[string]bool // routes the frontends mounted
}

// New builds the engine with every module's routes.
func New(deps Deps, modules ...Module) (*Server, error) {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.Registry == nil {
		deps.Registry = prometheus.NewRegistry()
		deps.Registry.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	}
	if deps.MaxBodyBytes == 0 {
		deps.MaxBodyBytes = 16 << 20
	}
	gin.SetMode(gin.ReleaseMode)
	s := &Server{deps: deps, engine: gin.New(), metrics: newHTTPMetrics(deps.Registry)}
	e := s.engine
	e.HandleMethodNotAllowed = true
	e.ContextWithFallback = true
	e.Use(s.recovery(), requestID(), s.observe(), errorResponder(deps.Log, deps.Classify), bodyLimit(deps.MaxBodyBytes, deps.BodyLimits), cleanURL())
	e.NoRoute(func(c *gin.Context) {
		Fail(c, errNotFound(c.Request.URL.Path))
	})
	e.NoMethod(func(c *gin.Context) {
		Fail(c, errMethod(c.Request.Method))
	})

	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.ready)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(deps.Registry, promhttp.HandlerOpts{Registry: deps.Registry})))
	e.GET("/openapi.json", func(c *gin.Context) { c.Data(http.StatusOK, "application/json", s.openapi) })

	chain := []gin.HandlerFunc{s.authenticate()}
	if deps.Audit != nil {
		chain = append(chain, deps.Audit)
	}
	api := e.Group("/api/v1", append(chain, s.authorize())...)
	api.GET("/me", s.me)
	frags := [][]byte{coreOpenAPI}
	for _, m := range modules {
		m.Routes(api)
		frags = append(frags, m.OpenAPI())
	}
	// Frontends' routes are pages, not API operations: they are kept out
	// of Routes (and so out of the OpenAPI completeness check).
	api0 := map[string]bool{}
	for _, r := range e.Routes() {
		api0[r.Method+" "+r.Path] = true
	}
	for _, f := range deps.Frontends {
		f.Mount(e)
	}
	s.pages = map[string]bool{}
	for _, r := range e.Routes() {
		if !api0[r.Method+" "+r.Path] {
			s.pages[r.Method+" "+r.Path] = true
		}
	}
	doc, err := mergeOpenAPI(deps.Version, frags...)
	if err != nil {
		return nil, err
	}
	s.openapi = doc
	return s, nil
}

// OpenAPIDocument returns the merged OpenAPI document served at /openapi.json.
func (s *Server) OpenAPIDocument() []byte { return s.openapi }

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.engine }

// Routes lists method and path of every registered API route (the
// frontends' pages left out).
func (s *Server) Routes() gin.RoutesInfo {
	var out gin.RoutesInfo
	for _, r := range s.engine.Routes() {
		if !s.pages[r.Method+" "+r.Path] {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) ready(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 3*time.Second)
	defer cancel()
	status := http.StatusOK
	out := gin.H{}
	for _, ch := range s.deps.Checks {
		if err := ch.Fn(ctx); err != nil {
			status = http.StatusServiceUnavailable
			out[ch.Name] = "unavailable"
			s.deps.Log.Warn("readiness check failed", "check", ch.Name, "err", err)
			continue
		}
		out[ch.Name] = "ok"
	}
	if status != http.StatusOK {
		c.JSON(status, gin.H{"status": "unavailable", "checks": out})
		return
	}
	c.JSON(status, gin.H{"status": "ok", "checks": out})
}

func (s *Server) me(c *gin.Context) {
	c.JSON(http.StatusOK, MustPrincipal(c))
}

// Serve listens on addr until ctx is done, then shuts down gracefully: it
// stops accepting, lets in-flight requests finish within grace, and returns.
// ready, if not nil, receives the bound address once listening.
func (s *Server) Serve(ctx context.Context, addr, certFile, keyFile string, grace time.Duration, ready chan<- string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("http: listen %s: %w", addr, err)
	}
	srv := &http.Server{
		Handler:           s.engine,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       2 * time.Minute,
		WriteTimeout:      5 * time.Minute,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.deps.Log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if certFile != "" {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	if ready != nil {
		ready <- ln.Addr().String()
	}
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return fmt.Errorf("http: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("http: shutdown: %w", err)
	}
	return nil
}
