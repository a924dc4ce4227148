// Package catalogapi is the HTTP face of the resource directory under
// /api/v1/catalog: resources (register, change, list with filters, detail,
// history), schema versions (register, list, get, compatibility dry run),
// lifecycle transitions and the export of the whole directory as JSON or
// CSV. Handlers bind, call package catalog and write; the rules, ownership
// checks and history live there. Departments are served by identityapi.
package catalogapi

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/catalog"
	"yiku/fault"
	"yiku/httpapi"
)

//go:embed openapi.json
var openapi []byte

// API serves the catalog routes.
type API struct {
	svc *catalog.Service
}

// New returns the catalog API module.
func New(svc *catalog.Service) *API { return &API{svc: svc} }

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the module's routes.
func (a *API) Routes(api *gin.RouterGroup) {
	g := api.Group("/catalog")
	g.GET("/resources", a.list)
	g.POST("/resources", a.register)
	g.GET("/resources/:id", a.get)
	g.PUT("/resources/:id", a.update)
	g.GET("/resources/:id/changes", a.changes)
	g.POST("/resources/:id/lifecycle", a.transition)
	g.GET("/resources/:id/versions", a.versions)
	g.POST("/resources/:id/versions", a.registerVersion)
	g.GET("/resources/:id/versions/:version", a.version)
	g.POST("/resources/:id/compatibility", a.compatibility)
	g.GET("/export", a.export)
}

// resourceBody is the editable metadata of a resource.
type resourceBody struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	ClassCode       string          `json:"class_code"`
	Summary         string          `json:"summary"`
	ProviderCode    string          `json:"provider_code"`
	Format          string          `json:"format"`
	Fields          []catalog.Field `json:"fields"`
	ShareType       string          `json:"share_type"`
	ShareConditions string          `json:"share_conditions"`
	ShareMode       string          `json:"share_mode"`
	LegalBasis      string          `json:"legal_basis"`
	OpenToPublic    bool            `json:"open_to_public"`
	OpenConditions  string          `json:"open_conditions"`
	UpdateCycle     string          `json:"update_cycle"`
	PublishDate     string          `json:"publish_date"`
	RelatedCodes    []string        `json:"related_codes"`
	BaseLibrary     string          `json:"base_library"`
	SubjectType     string          `json:"subject_type"`
	SubjectKey      string          `json:"subject_key"`
	Compatibility   string          `json:"compatibility"`
}

func (b resourceBody) domain() catalog.Resource {
	return catalog.Resource{
		ID: b.ID, Name: b.Name, ClassCode: b.ClassCode, Summary: b.Summary, ProviderCode: b.ProviderCode, Format: b.Format,
		Fields: b.Fields, ShareType: catalog.ShareType(b.ShareType), ShareConditions: b.ShareConditions, ShareMode: b.ShareMode,
		LegalBasis: b.LegalBasis, OpenToPublic: b.OpenToPublic, OpenConditions: b.OpenConditions, UpdateCycle: b.UpdateCycle,
		PublishDate: b.PublishDate, RelatedCodes: b.RelatedCodes, BaseLibrary: catalog.BaseLibrary(b.BaseLibrary),
		SubjectType: catalog.SubjectType(b.SubjectType), SubjectKey: b.SubjectKey, Compatibility: b.Compatibility,
	}
}

// createBody registers a resource, optionally with its schema version 1.
type createBody struct {
	resourceBody
	Schema json.RawMessage `json:"schema"`
}

type schemaBody struct {
	Schema json.RawMessage  `json:"schema"`
	Fields *[]catalog.Field `json:"fields"`
}

type compatibilityBody struct {
	Schema json.RawMessage  `json:"schema"`
	Fields *[]catalog.Field `json:"fields"`
	Mode   string           `json:"mode"`
}

type transitionBody struct {
	Status string `json:"status"`
	Reason string `json:"reason"`
}

func (a *API) list(c *gin.Context) {
	page, err := httpapi.PageOf(c, 50, 500)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	f := catalog.Filter{
		Provider: c.Query("provider"), BaseLibrary: c.Query("base_library"), ShareType: c.Query("share_type"),
		Status: c.Query("status"), Keyword: c.Query("q"), Limit: page.Limit, Offset: page.Offset,
	}
	rs, total, err := a.svc.List(c.Request.Context(), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	httpapi.Note(c).Count = len(rs)
	c.JSON(http.StatusOK, gin.H{"resources": rs, "total": total, "limit": page.Limit, "offset": page.Offset})
}

func (a *API) register(c *gin.Context) {
	var body createBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action, note.Resource = "catalog.resource.create", body.ID
	r, err := a.svc.Register(c.Request.Context(), httpapi.MustPrincipal(c), body.domain(), body.Schema)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Header("Location", "/api/v1/catalog/resources/"+r.ID)
	c.JSON(http.StatusCreated, r)
}

func (a *API) get(c *gin.Context) {
	r, err := a.svc.Resource(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (a *API) update(c *gin.Context) {
	var body resourceBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action, note.Resource = "catalog.resource.update", c.Param("id")
	r, err := a.svc.Update(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), body.domain())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (a *API) changes(c *gin.Context) {
	cs, err := a.svc.Changes(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"changes": cs})
}

func (a *API) transition(c *gin.Context) {
	var body transitionBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action, note.Resource, note.Reason = "catalog.resource.status."+body.Status, c.Param("id"), body.Reason
	r, err := a.svc.Transition(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), catalog.Status(body.Status), body.Reason)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, r)
}

func (a *API) versions(c *gin.Context) {
	vs, err := a.svc.Versions(c.Request.Context(), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"versions": vs})
}

func (a *API) version(c *gin.Context) {
	ctx := c.Request.Context()
	n, err := strconv.Atoi(c.Param("version"))
	if c.Param("version") == "latest" {
		r, rerr := a.svc.Resource(ctx, c.Param("id"))
		if rerr != nil {
			httpapi.Fail(c, rerr)
			return
		}
		n, err = r.LatestVersion, nil
	}
	if err != nil || n < 1 {
		httpapi.Fail(c, fault.NotFoundf("schema_version_not_found", "schema version %q: use a number from 1 or \"latest\"", c.Param("version")))
		return
	}
	v, err := a.svc.Version(ctx, c.Param("id"), n)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, v)
}

func requireSchema(raw json.RawMessage) error {
	if len(bytes.TrimSpace(raw)) == 0 || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return fault.Invalidf("invalid_request", "schema is required").WithDetails(fault.Detail{Field: "schema", Reason: "required"})
	}
	return nil
}

func fieldsOf(p *[]catalog.Field) []catalog.Field {
	if p == nil {
		return nil
	}
	if *p == nil {
		return []catalog.Field{}
	}
	return *p
}

func (a *API) registerVersion(c *gin.Context) {
	var body schemaBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if err := requireSchema(body.Schema); err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action, note.Resource = "catalog.schema.register", c.Param("id")
	v, created, err := a.svc.RegisterSchema(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), body.Schema, fieldsOf(body.Fields))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	status := http.StatusOK
	if created {
		status = http.StatusCreated
		c.Header("Location", "/api/v1/catalog/resources/"+v.ResourceID+"/versions/"+strconv.Itoa(v.Version))
	}
	c.JSON(status, v)
}

func (a *API) compatibility(c *gin.Context) {
	var body compatibilityBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if err := requireSchema(body.Schema); err != nil {
		httpapi.Fail(c, err)
		return
	}
	rep, err := a.svc.CheckSchema(c.Request.Context(), c.Param("id"), body.Schema, fieldsOf(body.Fields), body.Mode)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, rep)
}

func (a *API) export(c *gin.Context) {
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" {
		httpapi.Fail(c, fault.Invalidf("invalid_query", "format %q is not json or csv", format).WithDetails(fault.Detail{Field: "format", Reason: "json or csv"}))
		return
	}
	rs, err := a.svc.All(c.Request.Context())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action, note.Count = "catalog.export", len(rs)
	stamp := time.Now().UTC()
	name := "yiku-catalog-" + stamp.Format("20060102") + "." + format
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	if format == "json" {
		c.JSON(http.StatusOK, gin.H{"exported_at": stamp, "resources": rs})
		return
	}
	var buf bytes.Buffer
	// A byte-order mark lets spreadsheet software read the Chinese headers as UTF-8.
	buf.WriteString("\ufeff")
	if err := catalog.WriteCSV(&buf, rs); err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.Data(http.StatusOK, "text/csv; charset=utf-8", buf.Bytes())
}
