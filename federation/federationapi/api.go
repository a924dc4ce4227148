// Package federationapi is the HTTP face of vertical federation for this
// hub's own users: the e-government office's peerings (request, approve,
// suspend, resume, end), departments' marks for upward sharing, the
// federated entries shown in the directory, and cross-level share
// requests. Handlers bind, call package federation and annotate the audit
// event; hub-to-hub calls are the peer API (federation.Server), not here.
package federationapi

import (
	"context"
	_ "embed"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/fault"
	"yiku/federation"
	"yiku/httpapi"
	"yiku/identity"
)

//go:embed openapi.json
var openapi []byte

// API is the federation module.
type API struct {
	svc *federation.Service
	// Fingerprint is this hub's own certificate fingerprint, for the
	// offices to exchange out of band.
	fingerprint string
	upstream    string
}

// New returns the module.
func New(svc *federation.Service, fingerprint string) *API {
	a := &API{svc: svc, fingerprint: fingerprint}
	if svc.Link != nil {
		a.upstream = svc.Link.URL
	}
	return a
}

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the module's routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/federation", a.self)
	api.GET("/federation/peerings", a.peerings)
	api.POST("/federation/peerings", a.request)
	api.GET("/federation/peerings/:id", a.peering)
	api.POST("/federation/peerings/:id/approve", a.approve)
	api.POST("/federation/peerings/:id/suspend", a.step("suspend", a.svc.Suspend))
	api.POST("/federation/peerings/:id/resume", a.step("resume", a.svc.Resume))
	api.POST("/federation/peerings/:id/end", a.step("end", a.svc.End))
	api.GET("/federation/upward", a.marks)
	api.PUT("/federation/upward/:resource", a.mark(true))
	api.DELETE("/federation/upward/:resource", a.mark(false))
	api.GET("/federation/directory", a.directory)
	api.GET("/federation/share-requests", a.shares)
	api.POST("/federation/share-requests", a.fileShare)
}

func (a *API) self(c *gin.Context) {
	httpapi.Note(c).Action = "federation.read"
	topics, re, err := a.svc.MirrorTopics(c.Request.Context())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"hub": a.svc.Self, "fingerprint": a.fingerprint, "upstream_url": a.upstream,
		"upward_topics": topics, "mirror_topics": re})
}

func (a *API) peerings(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "federation.peering.list"
	ps, err := a.svc.Peerings(c.Request.Context())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(ps)
	c.JSON(http.StatusOK, gin.H{"peerings": ps})
}

func (a *API) peering(c *gin.Context) {
	httpapi.Note(c).Action = "federation.peering.read"
	p, err := a.svc.Peering(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, p)
}

func (a *API) request(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "federation.peering.request"
	p, err := a.svc.RequestPeering(c.Request.Context(), httpapi.MustPrincipal(c))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason = "peering=" + p.ID + " peer=" + p.PeerHub + " fingerprint=" + p.Fingerprint
	c.Header("Location", "/api/v1/federation/peerings/"+p.ID)
	c.JSON(http.StatusCreated, p)
}

type approveBody struct {
	Fingerprint string `json:"fingerprint"`
}

func (a *API) approve(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Reason = "federation.peering.approve", "peering="+c.Param("id")
	var body approveBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	p, err := a.svc.Approve(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), body.Fingerprint)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason += " peer=" + p.PeerHub + " fingerprint=" + p.Fingerprint
	c.JSON(http.StatusOK, p)
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (a *API) step(name string, fn func(ctx context.Context, p identity.Principal, id, reason string) (federation.Peering, error)) gin.HandlerFunc {
	return func(c *gin.Context) {
		n := httpapi.Note(c)
		n.Action, n.Reason = "federation.peering."+name, "peering="+c.Param("id")
		var body reasonBody
		if c.Request.ContentLength != 0 {
			if err := httpapi.BindJSON(c, &body); err != nil {
				httpapi.Fail(c, err)
				return
			}
		}
		p, err := fn(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), body.Reason)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, p)
	}
}

func (a *API) marks(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "federation.upward.list"
	ms, err := a.svc.Marks(c.Request.Context(), httpapi.MustPrincipal(c))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(ms)
	c.JSON(http.StatusOK, gin.H{"marks": ms})
}

func (a *API) mark(on bool) gin.HandlerFunc {
	return func(c *gin.Context) {
		n := httpapi.Note(c)
		n.Action, n.Resource = "federation.upward.mark", c.Param("resource")
		if !on {
			n.Action = "federation.upward.unmark"
		}
		m, err := a.svc.SetUpward(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("resource"), on)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, m)
	}
}

func (a *API) directory(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "federation.directory.list"
	dir := federation.Direction(c.DefaultQuery("direction", string(federation.Upstream)))
	if dir != federation.Upstream && dir != federation.Downstream {
		httpapi.Fail(c, fault.Invalidf("invalid_query", "direction: upstream (the upstream hub's entries) or downstream (downstream hubs' entries)").
			WithDetails(fault.Detail{Field: "direction", Reason: "upstream or downstream"}))
		return
	}
	retired := false
	switch c.Query("retired") {
	case "", "false":
	case "true":
		retired = true
	default:
		httpapi.Fail(c, fault.Invalidf("invalid_query", "retired: true or false").WithDetails(fault.Detail{Field: "retired", Reason: "true or false"}))
		return
	}
	es, err := a.svc.Entries(c.Request.Context(), dir, retired)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(es)
	c.JSON(http.StatusOK, gin.H{"direction": dir, "entries": es})
}

func (a *API) shares(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "federation.share_request.list"
	rs, err := a.svc.Shares(c.Request.Context(), httpapi.MustPrincipal(c))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(rs)
	c.JSON(http.StatusOK, gin.H{"share_requests": rs})
}

// ShareBody is a cross-level share request as clients write it.
type ShareBody struct {
	ResourceID   string    `json:"resource_id"`
	Fields       []string  `json:"fields"`
	PlainFields  []string  `json:"plain_fields"`
	Purposes     []string  `json:"purposes"`
	LegalBasis   string    `json:"legal_basis"`
	ServiceItems []string  `json:"service_items"`
	ValidUntil   time.Time `json:"valid_until"`
}

func (a *API) fileShare(c *gin.Context) {
	var b ShareBody
	if err := httpapi.BindJSON(c, &b); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n := httpapi.Note(c)
	n.Action, n.Resource, n.Fields = "federation.share_request.file", b.ResourceID, b.Fields
	r, err := a.svc.FileShare(c.Request.Context(), httpapi.MustPrincipal(c), federation.ShareApplication{ResourceID: b.ResourceID, Fields: b.Fields,
		PlainFields: b.PlainFields, Purposes: b.Purposes, LegalBasis: b.LegalBasis, ServiceItems: b.ServiceItems, ValidUntil: b.ValidUntil})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason = "request=" + r.ID
	c.JSON(http.StatusCreated, r)
}
