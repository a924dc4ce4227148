// Package identityapi is the HTTP face of package identity: departments in
// the directory, principals, API keys and tokens. Handlers only bind, call
// the identity package and write; the rules live there.
package identityapi

import (
	"context"
	_ "embed"
	"errors"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
)

//go:embed openapi.json
var openapi []byte

// RoleAssigner records a principal's role with the access-control engine.
type RoleAssigner interface {
	AssignRole(p identity.Principal) error
	RemoveRoles(p identity.Principal) error
}

// API serves the identity routes.
type API struct {
	auth  *identity.Authenticator
	roles RoleAssigner
}

// New returns the identity API module.
func New(auth *identity.Authenticator, roles RoleAssigner) *API {
	return &API{auth: auth, roles: roles}
}

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the module's routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/catalog/departments", a.listDepartments)
	api.POST("/catalog/departments", a.createDepartment)
	api.GET("/catalog/departments/:code", a.getDepartment)
	api.PUT("/catalog/departments/:code", a.updateDepartment)

	api.GET("/admin/principals", a.listPrincipals)
	api.POST("/admin/principals", a.createPrincipal)
	api.POST("/admin/principals/:id/disable", a.disablePrincipal)
	api.GET("/admin/principals/:id/api-keys", a.listKeys)
	api.POST("/admin/principals/:id/api-keys", a.issueKey)
	api.DELETE("/admin/api-keys/:id", a.revokeKey)
	api.POST("/admin/api-keys/:id/expire", a.expireKey)
	api.POST("/admin/principals/:id/tokens", a.issueToken)
}

type departmentRequest struct {
	Code         string  `json:"code"`
	Name         string  `json:"name"`
	Level        string  `json:"level"`
	ParentCode   *string `json:"parent_code"`
	DivisionCode string  `json:"division_code"`
}

func (r departmentRequest) domain() identity.Department {
	return identity.Department{Code: r.Code, Name: r.Name, Level: identity.Level(r.Level), ParentCode: r.ParentCode, DivisionCode: r.DivisionCode}
}

func (a *API) listDepartments(c *gin.Context) {
	ds, err := a.auth.Store().Departments(c.Request.Context())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"departments": ds})
}

func (a *API) getDepartment(c *gin.Context) {
	d, err := a.auth.Store().Department(c.Request.Context(), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (a *API) createDepartment(c *gin.Context) {
	var req departmentRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	d, err := a.auth.Store().CreateDepartment(c.Request.Context(), req.domain())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, d)
}

func (a *API) updateDepartment(c *gin.Context) {
	var req departmentRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if req.Code != "" && req.Code != c.Param("code") {
		httpapi.Fail(c, fault.Invalidf("invalid_department", "code in body (%s) differs from the path (%s)", req.Code, c.Param("code")))
		return
	}
	req.Code = c.Param("code")
	d, err := a.auth.Store().UpdateDepartment(c.Request.Context(), req.domain())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, d)
}

func (a *API) listPrincipals(c *gin.Context) {
	actor := httpapi.MustPrincipal(c)
	dept := c.Query("department")
	if actor.Role != identity.RoleCatalogAdmin {
		dept = actor.DepartmentCode
	}
	ps, err := a.auth.Store().Principals(c.Request.Context(), dept)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"principals": ps})
}

type principalRequest struct {
	Name           string `json:"name"`
	DisplayName    string `json:"display_name"`
	Kind           string `json:"kind"`
	Role           string `json:"role"`
	DepartmentCode string `json:"department_code"`
}

func (a *API) createPrincipal(c *gin.Context) {
	var req principalRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	actor := httpapi.MustPrincipal(c)
	role, err := identity.ParseRole(req.Role)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if err := identity.CanManage(actor, req.DepartmentCode, role); err != nil {
		httpapi.Fail(c, err)
		return
	}
	p, err := a.CreatePrincipal(c.Request.Context(), identity.Principal{Name: req.Name, DisplayName: req.DisplayName, Kind: identity.Kind(req.Kind), Role: role, DepartmentCode: req.DepartmentCode})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, p)
}

// CreatePrincipal stores p and assigns its role; used by the API and by seeding.
func (a *API) CreatePrincipal(ctx context.Context, p identity.Principal) (identity.Principal, error) {
	p, err := a.auth.Store().CreatePrincipal(ctx, p)
	if err != nil {
		return identity.Principal{}, err
	}
	if err := a.roles.AssignRole(p); err != nil {
		// A principal without its role would exist but be refused
		// everything; take it back so the request can simply be retried.
		if derr := a.auth.Store().DeleteUnusedPrincipal(ctx, p.ID); derr != nil {
			return identity.Principal{}, errors.Join(err, derr)
		}
		return identity.Principal{}, err
	}
	return p, nil
}

// target loads the principal named in the path and checks the actor manages it.
func (a *API) target(c *gin.Context, id string) (identity.Principal, bool) {
	p, err := a.auth.Store().Principal(c.Request.Context(), id)
	if err != nil {
		httpapi.Fail(c, err)
		return p, false
	}
	if err := identity.CanManage(httpapi.MustPrincipal(c), p.DepartmentCode, p.Role); err != nil {
		httpapi.Fail(c, err)
		return p, false
	}
	return p, true
}

func (a *API) disablePrincipal(c *gin.Context) {
	p, ok := a.target(c, c.Param("id"))
	if !ok {
		return
	}
	// A principal that disables itself loses access at once and cannot
	// undo it, so it must say that it means to.
	if p.ID == httpapi.MustPrincipal(c).ID && c.Query("confirm") != "self" {
		httpapi.Fail(c, fault.Invalidf("confirmation_required", "principal %s is the caller; disabling yourself ends your own access: repeat with ?confirm=self", p.ID).
			WithDetails(fault.Detail{Field: "confirm", Reason: "must be self when a principal disables itself"}))
		return
	}
	if err := a.auth.Store().DisablePrincipal(c.Request.Context(), p.ID); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if err := a.roles.RemoveRoles(p); err != nil {
		httpapi.Fail(c, err)
		return
	}
	a.auth.Forget()
	c.Status(http.StatusNoContent)
}

func (a *API) listKeys(c *gin.Context) {
	p, ok := a.target(c, c.Param("id"))
	if !ok {
		return
	}
	keys, err := a.auth.Store().APIKeys(c.Request.Context(), p.ID)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"api_keys": keys})
}

type keyRequest struct {
	Label     string `json:"label"`
	ExpiresIn string `json:"expires_in"` // Go duration, e.g. 8760h; empty = no expiry
}

func (a *API) issueKey(c *gin.Context) {
	p, ok := a.target(c, c.Param("id"))
	if !ok {
		return
	}
	var req keyRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	ttl, err := parseTTL(req.ExpiresIn)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	k, err := a.auth.IssueAPIKey(c.Request.Context(), p.ID, req.Label, ttl)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, k)
}

func (a *API) revokeKey(c *gin.Context) {
	k, err := a.auth.APIKey(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if _, ok := a.target(c, k.PrincipalID); !ok {
		return
	}
	if err := a.auth.RevokeAPIKey(c.Request.Context(), k.ID); err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

type expireRequest struct {
	At string `json:"at"` // RFC 3339; empty = now
}

func (a *API) expireKey(c *gin.Context) {
	httpapi.Note(c).Action = "apikey.expire"
	k, err := a.auth.APIKey(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	p, ok := a.target(c, k.PrincipalID)
	if !ok {
		return
	}
	httpapi.Note(c).Reason = "api key " + k.ID + " of " + p.Name
	var req expireRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	var at time.Time
	if req.At != "" {
		if at, err = time.Parse(time.RFC3339, req.At); err != nil {
			httpapi.Fail(c, fault.Invalidf("invalid_expiry", "at %q: use an RFC 3339 time such as 2026-12-31T18:00:00+08:00, or none for now", req.At).
				WithDetails(fault.Detail{Field: "at", Reason: "RFC 3339 date-time"}))
			return
		}
	}
	k, err = a.auth.ExpireAPIKey(c.Request.Context(), k.ID, at)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, k)
}

type tokenRequest struct {
	ExpiresIn string `json:"expires_in"`
}

func (a *API) issueToken(c *gin.Context) {
	p, ok := a.target(c, c.Param("id"))
	if !ok {
		return
	}
	var req tokenRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	ttl, err := parseTTL(req.ExpiresIn)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if max := a.auth.TokenTTL(); ttl > max {
		// Tokens cannot be revoked one by one (only by disabling the
		// principal), so none lives longer than the configured lifetime.
		httpapi.Fail(c, fault.Invalidf("invalid_duration", "expires_in %s exceeds the token lifetime of %s", ttl, max).
			WithDetails(fault.Detail{Field: "expires_in", Reason: "at most the configured token-ttl"}))
		return
	}
	actor := httpapi.MustPrincipal(c)
	httpapi.Note(c).Reason = "token for " + p.Name
	tok, exp, err := a.auth.IssueTokenBy(p, ttl, actor.ID)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusCreated, gin.H{"token": tok, "expires_at": exp})
}

func parseTTL(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < time.Minute {
		return 0, fault.Invalidf("invalid_duration", "expires_in %q: use a duration of at least 1m, like 720h", s).
			WithDetails(fault.Detail{Field: "expires_in", Reason: "Go duration >= 1m"})
	}
	return d, nil
}
