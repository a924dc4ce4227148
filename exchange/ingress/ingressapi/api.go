// Package ingressapi is the HTTP face of the Kafka ingress's dead letters:
// a department lists the records its adapters produced that the hub
// refused, reads one with its reasons, and replays it, corrected or as it
// was, through the publish path. Handlers bind, call exchange/ingress and
// annotate the call's audit event.
package ingressapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"

	"yiku/exchange/ingress"
	"yiku/httpapi"
)

//go:embed openapi.json
var openapi []byte

// API is the dead-letter module.
type API struct{ svc *ingress.Service }

// New builds the module.
func New(svc *ingress.Service) *API { return &API{svc: svc} }

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the dead-letter routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/dead-letters", a.list)
	api.GET("/dead-letters/:id", a.get)
	api.POST("/dead-letters/:id/replay", a.replay)
}

func (a *API) list(c *gin.Context) {
	page, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	limit := page.Limit
	note := httpapi.Note(c)
	note.Action = "deadletter.list"
	dls, err := a.svc.List(c.Request.Context(), httpapi.MustPrincipal(c), ingress.Filter{
		Status: c.Query("status"), Resource: c.Query("resource"), After: c.Query("after"), Limit: limit})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Resource, note.Count = c.Query("resource"), len(dls)
	next := ""
	if len(dls) == limit {
		next = dls[len(dls)-1].ID
	}
	c.JSON(http.StatusOK, gin.H{"dead_letters": dls, "next_after": next})
}

func (a *API) get(c *gin.Context) {
	note := httpapi.Note(c)
	note.Action = "deadletter.read"
	l, err := a.svc.Get(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Resource, note.Count = l.Resource, 1
	if l.SubjectKey != "" {
		note.Subjects = []string{l.SubjectKey}
	}
	c.JSON(http.StatusOK, l)
}

func (a *API) replay(c *gin.Context) {
	var req ingress.ReplayRequest
	if c.Request.ContentLength != 0 {
		if err := httpapi.BindJSON(c, &req); err != nil {
			httpapi.Fail(c, err)
			return
		}
	}
	note := httpapi.Note(c)
	note.Action = "deadletter.replay"
	note.Reason = "replay of dead letter " + c.Param("id")
	res, err := a.svc.Replay(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), httpapi.TraceID(c), req)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Resource, note.Count = res.DeadLetter.Resource, res.Publish.Accepted
	if res.DeadLetter.SubjectKey != "" {
		note.Subjects = []string{res.DeadLetter.SubjectKey}
	}
	c.JSON(http.StatusOK, res)
}
