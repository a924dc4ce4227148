// Package objectionapi is the HTTP face of data objections (疑义校核):
// raising, the lists (mine, to-me, overdue), one objection and its
// history, rejecting and withdrawing. Handlers bind, call package
// objection and annotate the call's audit event; the rules are the
// objection package's.
package objectionapi

import (
	"context"
	_ "embed"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"

	"yiku/httpapi"
	"yiku/identity"
	"yiku/objection"
)

//go:embed openapi.json
var openapi []byte

// API is the objections module.
type API struct {
	svc *objection.Service
}

// New returns the module.
func New(svc *objection.Service) *API { return &API{svc: svc} }

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the module's routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.POST("/objections", a.raise)
	api.GET("/objections/mine", a.list(objection.BoxMine))
	api.GET("/objections/to-me", a.list(objection.BoxToMe))
	api.GET("/objections/overdue", a.list(objection.BoxOverdue))
	api.GET("/objections/:id", a.get)
	api.GET("/objections/:id/history", a.history)
	api.POST("/objections/:id/reject", a.reject)
	api.POST("/objections/:id/withdraw", a.withdraw)
}

func (a *API) raise(c *gin.Context) {
	var req objection.Raise
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n := httpapi.Note(c)
	n.Action, n.Resource, n.Purpose, n.CaseNumber = "objection.raise", req.Resource, req.Purpose, req.CaseNumber
	if req.Subject != "" {
		n.Subjects = []string{req.Subject}
	}
	o, err := a.svc.Raise(c.Request.Context(), httpapi.MustPrincipal(c), req)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Fields, n.Count = o.Resource, o.Fields, 1
	n.Reason = fmt.Sprintf("objection=%s version=%d", o.ID, o.RecordVersion)
	c.JSON(http.StatusCreated, o)
}

func (a *API) list(box objection.Box) gin.HandlerFunc {
	return func(c *gin.Context) {
		pg, err := httpapi.PageOf(c, 100, 1000)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		httpapi.Note(c).Action = "objection.list"
		os, err := a.svc.List(c.Request.Context(), httpapi.MustPrincipal(c), box, objection.Status(c.Query("status")), pg.Limit, pg.Offset)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.JSON(http.StatusOK, gin.H{"objections": os})
	}
}

func (a *API) get(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Reason = "objection.read", "objection="+c.Param("id")
	o, err := a.svc.Get(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource = o.Resource
	c.JSON(http.StatusOK, o)
}

func (a *API) history(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Reason = "objection.history", "objection="+c.Param("id")
	h, err := a.svc.History(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"history": h})
}

type reasonBody struct {
	Reason string `json:"reason"`
}

func (a *API) reject(c *gin.Context) { a.decide(c, "objection.reject", a.svc.Reject) }

func (a *API) withdraw(c *gin.Context) { a.decide(c, "objection.withdraw", a.svc.Withdraw) }

func (a *API) decide(c *gin.Context, action string, step func(context.Context, identity.Principal, string, string) (objection.Objection, error)) {
	var body reasonBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n := httpapi.Note(c)
	n.Action, n.Reason = action, "objection="+c.Param("id")
	o, err := step(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), body.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Subjects, n.Count = o.Resource, []string{o.Subject}, 1
	n.Reason = fmt.Sprintf("objection=%s status=%s reason=%s", o.ID, o.Status, o.ResolutionReason)
	c.JSON(http.StatusOK, o)
}
