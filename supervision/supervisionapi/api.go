// Package supervisionapi is the HTTP face of supervision: the freshness
// list of resources against their update cycles and the assessment report
// (考核通报) as JSON, CSV or an Excel workbook. Handlers decide who sees
// which lines and call package supervision; they compute nothing.
package supervisionapi

import (
	"bytes"
	"context"
	_ "embed"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
	"yiku/supervision"
)

//go:embed openapi.json
var openapi []byte

// Assessor computes reports and freshness (*supervision.Sources).
type Assessor interface {
	Assess(ctx context.Context, p supervision.Period) (supervision.Report, error)
	Freshness(ctx context.Context) ([]supervision.Freshness, error)
}

// API is the supervision module.
type API struct {
	src Assessor
}

// New returns the module.
func New(src Assessor) *API { return &API{src: src} }

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the module's routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/supervision/freshness", a.freshness)
	api.GET("/supervision/reports", a.report)
}

// office: the e-government office and reviewers see every department.
func office(p identity.Principal) bool {
	return p.Role == identity.RoleCatalogAdmin || p.Role == identity.RoleReviewer
}

func (a *API) freshness(c *gin.Context) {
	p := httpapi.MustPrincipal(c)
	n := httpapi.Note(c)
	n.Action = "supervision.freshness"
	provider := c.Query("provider")
	if !office(p) {
		if provider != "" && provider != p.DepartmentCode {
			httpapi.Fail(c, fault.Forbiddenf("not_your_department", "a department sees its own resources' freshness only"))
			return
		}
		provider = p.DepartmentCode
	}
	staleOnly := false
	if s := c.Query("stale"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			httpapi.Fail(c, fault.Invalidf("invalid_query", "stale must be true or false").WithDetails(fault.Detail{Field: "stale", Reason: "not a boolean"}))
			return
		}
		staleOnly = b
	}
	all, err := a.src.Freshness(c.Request.Context())
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	out := []supervision.Freshness{}
	stale := map[string]int{}
	for _, f := range all {
		if provider != "" && f.ProviderCode != provider {
			continue
		}
		if f.Stale {
			stale[f.ProviderCode]++
		}
		if staleOnly && !f.Stale {
			continue
		}
		out = append(out, f)
	}
	c.JSON(http.StatusOK, gin.H{"resources": out, "stale_by_provider": stale})
}

func (a *API) report(c *gin.Context) {
	p := httpapi.MustPrincipal(c)
	n := httpapi.Note(c)
	n.Action = "supervision.report"
	n.Reason = "period=" + c.Query("period")
	period, err := supervision.ParsePeriod(c.Query("period"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	format := c.DefaultQuery("format", "json")
	if format != "json" && format != "csv" && format != "xlsx" {
		httpapi.Fail(c, fault.Invalidf("invalid_format", "format must be json, csv or xlsx").WithDetails(fault.Detail{Field: "format", Reason: "unknown format"}))
		return
	}
	rep, err := a.src.Assess(c.Request.Context(), period)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if !office(p) {
		// A department admin sees its own line, with its rank among the
		// Ranked departments, and nobody else's figures.
		own := []supervision.DepartmentReport{}
		for _, d := range rep.Departments {
			if d.Code == p.DepartmentCode {
				own = append(own, d)
			}
		}
		rep.Departments = own
	}
	n.Count = len(rep.Departments)
	name := "assessment-" + rep.Period
	switch format {
	case "csv":
		var b bytes.Buffer
		if err := supervision.WriteCSV(&b, rep); err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`.csv"`)
		c.Data(http.StatusOK, "text/csv; charset=utf-8", b.Bytes())
	case "xlsx":
		var b bytes.Buffer
		if err := supervision.WriteXLSX(&b, rep); err != nil {
			httpapi.Fail(c, err)
			return
		}
		c.Header("Content-Disposition", `attachment; filename="`+name+`.xlsx"`)
		c.Data(http.StatusOK, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b.Bytes())
	default:
		c.JSON(http.StatusOK, rep)
	}
}
