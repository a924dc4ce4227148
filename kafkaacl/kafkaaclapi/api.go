// Package kafkaaclapi is the HTTP face of the hub's Kafka principals:
// enabling, rotating and revoking a department's Kafka ingress
// credentials and rotating a Kafka-egress subscription's. Handlers bind,
// call kafkaacl.Service and name the action in the call's audit note; the
// rules (who may, what the principal may touch) are kafkaacl's.
package kafkaaclapi

import (
	_ "embed"
	"net/http"

	"github.com/gin-gonic/gin"

	"yiku/exchange/subscription"
	"yiku/httpapi"
	"yiku/kafkaacl"
)

//go:embed openapi.json
var openapi []byte

// API is the module.
type API struct {
	svc  *kafkaacl.Service
	subs *subscription.Service
}

// New builds the module; subs finds the caller's subscriptions.
func New(svc *kafkaacl.Service, subs *subscription.Service) *API { return &API{svc: svc, subs: subs} }

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/departments/:code/kafka-ingress", a.ingressStatus)
	api.POST("/departments/:code/kafka-ingress", a.enableIngress)
	api.POST("/departments/:code/kafka-ingress/rotate", a.rotateIngress)
	api.DELETE("/departments/:code/kafka-ingress", a.revokeIngress)
	api.POST("/subscriptions/:id/kafka-credentials/rotate", a.rotateEgress)
}

func note(c *gin.Context, action string) {
	n := httpapi.Note(c)
	n.Action = action
}

func (a *API) ingressStatus(c *gin.Context) {
	note(c, "kafka.ingress.read")
	cred, err := a.svc.IngressStatus(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cred)
}

func (a *API) enableIngress(c *gin.Context) {
	note(c, "kafka.ingress.enable")
	login, err := a.svc.EnableIngress(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusCreated, login)
}

func (a *API) rotateIngress(c *gin.Context) {
	note(c, "kafka.ingress.rotate")
	login, err := a.svc.RotateIngress(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, login)
}

func (a *API) revokeIngress(c *gin.Context) {
	note(c, "kafka.ingress.revoke")
	cred, err := a.svc.RevokeIngress(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, cred)
}

func (a *API) rotateEgress(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "subscription.kafka.rotate"
	sub, err := a.subs.Get(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Resource, n.Purpose, n.CaseNumber = sub.ResourceID, sub.Purpose, sub.CaseNumber
	login, err := a.svc.RotateEgress(c.Request.Context(), sub.ID)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, login)
}
