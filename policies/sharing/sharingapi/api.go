// Package sharingapi is the HTTP face of package sharing: share requests
// (/api/v1/share-requests), grants (/api/v1/grants) and "what may I read?"
// (/api/v1/access). Handlers bind strictly, call the sharing service or
// gate, annotate the audit event and write JSON; the rules live in package
// sharing.
package sharingapi

import (
	_ "embed"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/catalog"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/policies/sharing"
)

//go:embed openapi.json
var openapi []byte

// API serves the sharing routes.
type API struct {
	svc  *sharing.Service
	gate sharing.Gate
	dir  catalog.Directory
}

// New returns the sharing API module.
func New(svc *sharing.Service, gate sharing.Gate, dir catalog.Directory) *API {
	return &API{svc: svc, gate: gate, dir: dir}
}

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the module's routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.POST("/share-requests", a.create)
	api.GET("/share-requests/mine", a.list(sharing.BoxMine))
	api.GET("/share-requests/to-me", a.list(sharing.BoxToMe))
	api.GET("/share-requests/overdue", a.list(sharing.BoxOverdue))
	api.GET("/share-requests/all", a.list(sharing.BoxAll))
	api.GET("/share-requests/:id", a.get)
	api.GET("/share-requests/:id/history", a.history)
	api.POST("/share-requests/:id/approve", a.approve)
	api.POST("/share-requests/:id/reject", a.reject)
	api.POST("/share-requests/:id/withdraw", a.withdraw)

	api.GET("/grants", a.grants)
	api.GET("/grants/:id", a.grant)
	api.POST("/grants/:id/revoke", a.revoke)

	api.GET("/access", a.readable)
	api.GET("/access/:resource", a.check)
}

type createRequest struct {
	ResourceID           string     `json:"resource_id"`
	Fields               []string   `json:"fields"`
	PlainFields          []string   `json:"plain_fields"`
	Purposes             []string   `json:"purposes"`
	LegalBasis           string     `json:"legal_basis"`
	ServiceItems         []string   `json:"service_items"`
	ExtendToSubordinates bool       `json:"extend_to_subordinates"`
	ValidFrom            *time.Time `json:"valid_from"`
	ValidUntil           time.Time  `json:"valid_until"`
}

func (a *API) create(c *gin.Context) {
	var req createRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	p := httpapi.MustPrincipal(c)
	n := httpapi.Note(c)
	n.Action, n.Resource, n.Fields, n.Purpose = "share.request", req.ResourceID, req.Fields, strings.Join(req.Purposes, "; ")
	r, err := a.svc.Apply(c.Request.Context(), p, sharing.Application{
		ResourceID: req.ResourceID, Fields: req.Fields, PlainFields: req.PlainFields, Purposes: req.Purposes,
		LegalBasis: req.LegalBasis, ServiceItems: req.ServiceItems, ExtendToSubordinates: req.ExtendToSubordinates,
		ValidFrom: req.ValidFrom, ValidUntil: req.ValidUntil,
	})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason = "share request " + r.ID
	c.JSON(http.StatusCreated, r)
}

func (a *API) list(box sharing.Box) gin.HandlerFunc {
	return func(c *gin.Context) {
		pg, err := httpapi.PageOf(c, 100, 1000)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		rs, err := a.svc.List(c.Request.Context(), httpapi.MustPrincipal(c), box, sharing.RequestStatus(c.Query("status")), pg.Limit, pg.Offset)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"requests": rs})
	}
}

func (a *API) get(c *gin.Context) {
	r, err := a.svc.Request(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (a *API) history(c *gin.Context) {
	h, err := a.svc.History(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"history": h})
}

type approveRequest struct {
	Fields               []string   `json:"fields"`
	PlainFields          []string   `json:"plain_fields"`
	Purposes             []string   `json:"purposes"`
	ValidUntil           *time.Time `json:"valid_until"`
	ExtendToSubordinates *bool      `json:"extend_to_subordinates"`
	Reason               string     `json:"reason"`
}

func (a *API) approve(c *gin.Context) {
	var req approveRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n := httpapi.Note(c)
	n.Action, n.Reason = "share.approve", req.Reason
	r, g, ws, err := a.svc.Approve(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), sharing.Approval{
		Fields: req.Fields, PlainFields: req.PlainFields, Purposes: req.Purposes, ValidUntil: req.ValidUntil,
		ExtendToSubordinates: req.ExtendToSubordinates, Reason: req.Reason,
	})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Fields, n.Purpose = g.ResourceID, g.Fields, strings.Join(g.Purposes, "; ")
	n.Reason = "request " + r.ID + " → grant " + g.ID + reasonSuffix(req.Reason)
	c.JSON(http.StatusOK, gin.H{"request": r, "grant": g, "warnings": ws})
}

type reasonRequest struct {
	Reason string `json:"reason"`
}

func (a *API) reject(c *gin.Context) {
	var req reasonRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n := httpapi.Note(c)
	n.Action, n.Reason = "share.reject", req.Reason
	r, err := a.svc.Reject(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), req.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Reason = r.ResourceID, "request "+r.ID+reasonSuffix(r.DecisionReason)
	c.JSON(http.StatusOK, r)
}

func (a *API) withdraw(c *gin.Context) {
	var req reasonRequest
	if c.Request.ContentLength != 0 {
		if err := httpapi.BindJSON(c, &req); err != nil {
			httpapi.Fail(c, err)
			return
		}
	}
	n := httpapi.Note(c)
	n.Action, n.Reason = "share.withdraw", req.Reason
	r, err := a.svc.Withdraw(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), req.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Reason = r.ResourceID, "request "+r.ID+reasonSuffix(req.Reason)
	c.JSON(http.StatusOK, r)
}

func (a *API) grants(c *gin.Context) {
	pg, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	gs, err := a.svc.Grants(c.Request.Context(), httpapi.MustPrincipal(c), sharing.GrantStatus(c.Query("status")), pg.Limit, pg.Offset)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"grants": gs})
}

func (a *API) grant(c *gin.Context) {
	g, err := a.svc.Grant(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, g)
}

func (a *API) revoke(c *gin.Context) {
	var req reasonRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n := httpapi.Note(c)
	n.Action, n.Reason = "grant.revoke", req.Reason
	g, err := a.svc.Revoke(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), req.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Reason = g.ResourceID, "grant "+g.ID+reasonSuffix(req.Reason)
	c.JSON(http.StatusOK, g)
}

func (a *API) readable(c *gin.Context) {
	p := httpapi.MustPrincipal(c)
	if err := sameDepartment(c, p.DepartmentCode); err != nil {
		httpapi.Fail(c, err)
		return
	}
	as, err := a.svc.Readable(c.Request.Context(), p)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"department_code": p.DepartmentCode, "access": as})
}

// check asks the gate the question a read would ask, without reading data:
// may the caller read this resource for this purpose (and case number)?
func (a *API) check(c *gin.Context) {
	p := httpapi.MustPrincipal(c)
	n := httpapi.Note(c)
	n.Action, n.Resource = "access.check", c.Param("resource")
	n.Purpose, n.CaseNumber = c.Query("purpose"), c.Query("case_number")
	if err := sameDepartment(c, p.DepartmentCode); err != nil {
		httpapi.Fail(c, err)
		return
	}
	res, err := a.dir.Resource(c.Request.Context(), c.Param("resource"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	d, err := a.gate.Decide(c.Request.Context(), sharing.ReadRequest{
		Principal: p, Resource: res, Action: sharing.ActionRead, Purpose: c.Query("purpose"), CaseNumber: c.Query("case_number"),
	})
	if err != nil {
		n.Reason = d.Basis
		httpapi.Fail(c, err)
		return
	}
	views := d.Plan.Fields()
	for _, f := range views {
		n.Fields = append(n.Fields, f.Name)
	}
	n.Reason = d.Basis
	c.JSON(http.StatusOK, gin.H{"allowed": true, "resource_id": res.ID, "basis": d.Basis, "grant_id": d.GrantID, "fields": views, "expires_at": d.ExpiresAt})
}

// sameDepartment refuses a caller naming another department than its own:
// a department is taken from the credential, never from the request.
func sameDepartment(c *gin.Context, own string) error {
	claimed := c.Query("department")
	if h := c.GetHeader("X-Department"); h != "" {
		claimed = h
	}
	if claimed != "" && claimed != own {
		return fault.Forbiddenf("department_mismatch", "the credential belongs to department %s; it cannot act for %s", own, claimed)
	}
	return nil
}

func reasonSuffix(r string) string {
	if r == "" {
		return ""
	}
	return ": " + r
}
