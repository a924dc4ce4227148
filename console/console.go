// Package console is the hub's web console (工作台): server-rendered pages
// under /console/ for the people who run the hub — approval officers,
// department and catalog administrators, security reviewers and citizens.
//
// The console is one more thin client of the same domain services: every
// page performs the equivalent /api/v1 call(s) in process, through the hub's
// own HTTP handler, with a short-lived token of the signed-in principal. So
// authentication (a disabled principal's session stops working), Casbin, the
// sharing gate, masking and the audit middleware apply unchanged, a console
// read leaves by construction the audit event the API call leaves, and an
// API refusal becomes the console's 403 page. This package holds sessions,
// CSRF protection, security headers, the message catalog (Chinese first)
// and the templates; it holds no domain rule.
package console

import (
	"embed"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"gorm.io/gorm"

	"yiku/audit"
	"yiku/identity"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Deps are what the console needs from the hub.
type Deps struct {
	// Auth verifies the credential a person signs in with and issues the
	// short-lived tokens the console's in-process API calls carry.
	Auth *identity.Authenticator
	// DB holds the sessions (table console_sessions).
	DB *gorm.DB
	// Audit records sign-in and sign-out attempts (the hub's journal).
	Audit audit.Recorder
	// API is the hub's root HTTP handler; pages call /api/v1 through it.
	// It may be set up after the console is built (see APIFunc).
	API http.Handler
	// MaterialMaxBytes is the largest material file the upload form
	// forwards (the hub's --material-max-bytes; material.DefaultMaxBytes
	// when 0): the upload route's body limit is set from it (UploadLimit).
	MaterialMaxBytes int64
	// OpenAPI returns the hub's OpenAPI document, for /docs.
	OpenAPI func() []byte
	// HubName names the hub's area in the page footer (its federation
	// name, e.g. 娄底市); empty: the demo district's.
	HubName string
	// Secure marks cookies Secure (TLS is on).
	Secure bool
	Log    *slog.Logger
	// IdleTimeout ends a session unused this long (30 minutes when 0);
	// MaxAge ends any session this old (12 hours when 0).
	IdleTimeout, MaxAge time.Duration
	// SignInFailures is how many failed sign-ins a client address may make
	// in a burst before it must wait (5 when 0); one more is allowed every
	// SignInWindow (1 minute when 0).
	SignInFailures int
	SignInWindow   time.Duration
	Now            func() time.Time
}

// Console serves the web console.
type Console struct {
	deps     Deps
	sessions *sessionStore
	pages    map[string]*template.Template
	msgs     *Catalog
	limiter  *failureLimiter
	tokens   tokenCache
	mux      *http.ServeMux
	assets   http.Handler
	once     sync.Once
}

// New builds the console.
func New(deps Deps) (*Console, error) {
	if deps.Log == nil {
		deps.Log = slog.Default()
	}
	if deps.IdleTimeout <= 0 {
		deps.IdleTimeout = 30 * time.Minute
	}
	if deps.MaxAge <= 0 {
		deps.MaxAge = 12 * time.Hour
	}
	if deps.SignInFailures <= 0 {
		deps.SignInFailures = 5
	}
	if deps.SignInWindow <= 0 {
		deps.SignInWindow = time.Minute
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	msgs, err := LoadCatalog()
	if err != nil {
		return nil, err
	}
	pages, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	sub, err := fs.Sub(assetFS, "assets")
	if err != nil {
		return nil, err
	}
	c := &Console{
		deps:     deps,
		sessions: &sessionStore{db: deps.DB},
		pages:    pages,
		msgs:     msgs,
		limiter:  newFailureLimiter(deps.SignInFailures, deps.SignInWindow, deps.Now),
		tokens:   tokenCache{auth: deps.Auth, now: deps.Now, m: map[string]cachedToken{}},
		assets:   http.StripPrefix("/console/assets/", http.FileServerFS(sub)),
	}
	c.mux = http.NewServeMux()
	c.routes()
	return c, nil
}

// Mount adds the console to the hub's engine: /console/ and everything
// under it, / (redirects to the console) and /docs (the API reference).
func (c *Console) Mount(e *gin.Engine) {
	h := gin.WrapH(c.Handler())
	e.GET("/", func(g *gin.Context) { g.Redirect(http.StatusFound, "/console/") })
	e.GET("/console", func(g *gin.Context) { g.Redirect(http.StatusMovedPermanently, "/console/") })
	e.GET("/console/*path", h)
	e.POST("/console/*path", h)
	e.GET("/docs", h)
}

// Handler is the console's handler with its security headers.
func (c *Console) Handler() http.Handler {
	return securityHeaders(c.mux)
}

// securityHeaders sets the headers every console answer carries: a CSP
// that admits scripts, styles and images from the hub only (no inline
// code, no outside origins), no framing, no MIME sniffing, no referrer
// leaving the hub, and no caching of pages holding personal data.
func securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if !strings.HasPrefix(r.URL.Path, "/console/assets/") {
			h.Set("Cache-Control", "no-store")
		}
		next.ServeHTTP(w, r)
	})
}

// CSP is the console's Content-Security-Policy.
const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; " +
	"frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
