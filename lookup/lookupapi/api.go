// Package lookupapi is the HTTP face of service items and reuse lookups:
// listing, reading and (for catalog administrators) managing service items
// under /api/v1/service-items, and POST /api/v1/lookups. Handlers bind
// strictly, call packages serviceitem and lookup, and annotate the call's
// audit event; a lookup's per-material reuse and denial events are handed
// to the audit middleware, which makes them durable with the call's own
// event before the answer leaves the hub.
package lookupapi

import (
	"context"
	_ "embed"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"yiku/audit"
	"yiku/casefile"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
	"yiku/lookup"
	"yiku/serviceitem"
)

//go:embed openapi.json
var openapi []byte

// API serves the service-item and lookup routes.
type API struct {
	items  *serviceitem.Service
	lookup *lookup.Service
	// Cases, if set, records the case each lookup names (办件库).
	Cases Cases
}

// Cases opens or updates the case a lookup names.
type Cases interface {
	Open(ctx context.Context, p identity.Principal, o casefile.Opening) (casefile.Case, error)
}

// New returns the module.
func New(items *serviceitem.Service, lk *lookup.Service) *API {
	return &API{items: items, lookup: lk}
}

// OpenAPI returns the routes' OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/service-items", a.list)
	api.GET("/service-items/:code", a.get)
	api.POST("/service-items", a.create)
	api.PUT("/service-items/:code", a.update)
	api.DELETE("/service-items/:code", a.remove)
	api.GET("/material-types", a.listTypes)
	api.GET("/material-types/:code", a.getType)
	api.PUT("/material-types/:code", a.putType)
	api.POST("/lookups", a.lookupCall)
}

// ItemBody is a service item as clients write it.
type ItemBody struct {
	Code           string                    `json:"code"`
	Name           string                    `json:"name"`
	ItemCode       string                    `json:"item_code"`
	DepartmentCode string                    `json:"department_code"`
	ApplicantType  serviceitem.ApplicantType `json:"applicant_type"`
	Description    string                    `json:"description"`
	Category       serviceitem.Category      `json:"category"`
	Level          serviceitem.Level         `json:"level"`
	LegalBasis     string                    `json:"legal_basis"`
	Conditions     string                    `json:"conditions"`
	TimeLimitDays  int                       `json:"time_limit_days"`
	Flow           string                    `json:"flow"`
	Materials      []serviceitem.Material    `json:"materials"`
	// Revision, on update, is the revision the change is based on (0: the
	// current one).
	Revision int `json:"revision"`
}

func (b ItemBody) item() serviceitem.Item {
	return serviceitem.Item{Code: b.Code, Name: b.Name, ItemCode: b.ItemCode, DepartmentCode: b.DepartmentCode,
		ApplicantType: b.ApplicantType, Description: b.Description, Category: b.Category, Level: b.Level, LegalBasis: b.LegalBasis,
		Conditions: b.Conditions, TimeLimitDays: b.TimeLimitDays, Flow: b.Flow, Materials: b.Materials}
}

func (a *API) list(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "service_item.list"
	page, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	items, err := a.items.List(c.Request.Context(), serviceitem.Filter{Department: c.Query("department"), Resource: c.Query("resource"), Type: c.Query("type"), Limit: page.Limit, Offset: page.Offset})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(items)
	c.JSON(http.StatusOK, gin.H{"service_items": items, "limit": page.Limit, "offset": page.Offset})
}

func (a *API) get(c *gin.Context) {
	httpapi.Note(c).Action = "service_item.read"
	it, err := a.items.Get(c.Request.Context(), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, it)
}

func (a *API) create(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "service_item.create"
	var body ItemBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason = "item=" + strings.TrimSpace(body.Code)
	it, err := a.items.Create(c.Request.Context(), httpapi.MustPrincipal(c), body.item())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/service-items/"+it.Code)
	c.JSON(http.StatusCreated, it)
}

func (a *API) update(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Reason = "service_item.update", "item="+c.Param("code")
	var body ItemBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if body.Revision < 0 {
		httpapi.Fail(c, fault.Invalidf("invalid_service_item", "revision must not be negative").WithDetails(fault.Detail{Field: "revision", Pointer: "/revision", Reason: "negative"}))
		return
	}
	it, err := a.items.Update(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("code"), body.item(), body.Revision)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason += " revision=" + strconv.Itoa(it.Revision)
	c.JSON(http.StatusOK, it)
}

func (a *API) remove(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Reason = "service_item.delete", "item="+c.Param("code")
	if err := a.items.Delete(c.Request.Context(), c.Param("code")); err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

// TypeBody is a material type as clients write it.
type TypeBody struct {
	Code        string `json:"code"`
	Name        string `json:"name"`
	Resource    string `json:"resource"`
	Description string `json:"description"`
}

func (a *API) listTypes(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "material_type.list"
	page, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	types, err := a.items.ListTypes(c.Request.Context(), page.Limit, page.Offset)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(types)
	c.JSON(http.StatusOK, gin.H{"material_types": types, "limit": page.Limit, "offset": page.Offset})
}

func (a *API) getType(c *gin.Context) {
	httpapi.Note(c).Action = "material_type.read"
	t, err := a.items.GetType(c.Request.Context(), c.Param("code"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (a *API) putType(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action, n.Reason = "material_type.put", "type="+c.Param("code")
	var body TypeBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	t, created, err := a.items.PutType(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("code"),
		serviceitem.MaterialType{Code: body.Code, Name: body.Name, Resource: body.Resource, Description: body.Description})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason += " revision=" + strconv.Itoa(t.Revision)
	if created {
		c.Header("Location", "/api/v1/material-types/"+t.Code)
		c.JSON(http.StatusCreated, t)
		return
	}
	c.JSON(http.StatusOK, t)
}

func (a *API) lookupCall(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = audit.ActionLookup
	var req lookup.Request
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Purpose, n.CaseNumber = strings.TrimSpace(req.Purpose), strings.TrimSpace(req.CaseNumber)
	if subject, _, err := lookup.Applicant(req.Applicant); err == nil {
		n.Subjects = []string{subject}
	}
	n.Reason = "item=" + strings.TrimSpace(req.ServiceItem)
	res, events, err := a.lookup.Lookup(audit.WithTrace(c.Request.Context(), httpapi.RequestID(c)), httpapi.MustPrincipal(c), req)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if a.Cases != nil {
		state, err := a.record(c.Request.Context(), httpapi.MustPrincipal(c), res)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		n.Reason += " case=" + state
	}
	n.Extra = events
	n.Count = res.Summary[lookup.Supplied]
	n.Fields = returnedFields(res)
	n.Reason += " supplied=" + strconv.Itoa(res.Summary[lookup.Supplied]) + " not_available=" + strconv.Itoa(res.Summary[lookup.NotAvailable]) +
		" not_permitted=" + strconv.Itoa(res.Summary[lookup.NotPermitted])
	if k := res.Summary[lookup.TemporarilyUnavailable]; k > 0 {
		n.Reason += " temporarily_unavailable=" + strconv.Itoa(k)
	}
	if res.Summary[lookup.Supplied] == 0 && res.Summary[lookup.NotPermitted] > 0 {
		// Nothing left the hub and the department was refused: the lookup
		// as a whole was denied, though the answer (which materials the
		// applicant must bring) is still given.
		n.Outcome = audit.Denied
	}
	c.JSON(http.StatusOK, res)
}

// record opens or updates the lookup's case, each material with its
// source: the library (or the material library) when supplied (and, for a
// certificate, valid), the applicant otherwise. It returns the case's state.
func (a *API) record(ctx context.Context, p identity.Principal, res lookup.Result) (string, error) {
	var it serviceitem.Item
	var err error
	if a.items.Cache != nil {
		it, err = a.items.Cache.Get(ctx, res.ServiceItem)
	} else {
		it, err = a.items.Get(ctx, res.ServiceItem)
	}
	if err != nil {
		return "", err
	}
	types := make(map[string]string, len(it.Materials))
	for _, m := range it.Materials {
		types[m.Code] = m.Type
	}
	o := casefile.Opening{Number: res.CaseNumber, Applicant: res.Applicant, ApplicantType: string(res.ApplicantType), ServiceItem: it.Code,
		ItemName: it.Name, Department: it.DepartmentCode, TimeLimitDays: it.TimeLimitDays, Materials: make([]casefile.Material, len(res.Materials))}
	for i, m := range res.Materials {
		src := casefile.SourceBrought
		if m.Status == lookup.Supplied && (m.Certificate == nil || m.Certificate.Validity == lookup.CertValid) {
			src = casefile.SourceLibrary
			if m.Source == lookup.SourceMaterialLibrary {
				src = casefile.SourceMaterialLibrary
			}
		} else if m.Status == lookup.TemporarilyUnavailable {
			src = casefile.SourceAwaiting
		}
		o.Materials[i] = casefile.Material{Code: m.Code, Name: m.Name, Type: types[m.Code], Source: src, Status: string(m.Status), Resource: m.Resource}
	}
	k, err := a.Cases.Open(ctx, p, o)
	if err != nil {
		return "", err
	}
	return string(k.State), nil
}

// returnedFields lists the fields a lookup returned as resource.field.
func returnedFields(res lookup.Result) []string {
	var out []string
	for _, m := range res.Materials {
		for _, f := range m.Fields {
			out = append(out, m.Resource+"."+f)
		}
	}
	sort.Strings(out)
	return out
}
