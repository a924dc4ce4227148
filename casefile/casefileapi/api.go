// Package casefileapi is the HTTP face of case records (办件): listing and
// reading cases under /api/v1/cases (a department's principals their
// department's, a citizen their own, the e-government office and reviewers
// all) and moving a case's state (PATCH /api/v1/cases/{case_number}, the
// handling department's systems, officers and administrators). Cases are
// opened by lookups (package lookup/lookupapi). Handlers bind strictly, call
// package casefile and annotate the call's audit event.
package casefileapi

import (
	_ "embed"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/casefile"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/inputtext"
)

//go:embed openapi.json
var openapi []byte

// API serves the case routes.
type API struct{ cases *casefile.Service }

// New returns the module.
func New(cases *casefile.Service) *API { return &API{cases: cases} }

// OpenAPI returns the routes' OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/cases", a.list)
	api.GET("/cases/:number", a.get)
	api.PATCH("/cases/:number", a.move)
}

func timeQuery(c *gin.Context, name string) (time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fault.Invalidf("invalid_query", "%s must be an RFC 3339 time", name).WithDetails(fault.Detail{Field: name, Reason: "not an RFC 3339 time"})
	}
	return t, nil
}

func (a *API) list(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "case.list"
	page, err := httpapi.PageOf(c, 50, 500)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	f := casefile.Filter{Department: strings.TrimSpace(c.Query("department")), ServiceItem: strings.TrimSpace(c.Query("service_item")),
		State: casefile.State(c.Query("state")), Limit: page.Limit, Offset: page.Offset}
	if f.State != "" && !f.State.Valid() {
		httpapi.Fail(c, fault.Invalidf("invalid_query", "state must be opened, accepted, approved, rejected or finished").WithDetails(fault.Detail{Field: "state", Reason: "unknown state"}))
		return
	}
	if f.From, err = timeQuery(c, "from"); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if f.To, err = timeQuery(c, "to"); err != nil {
		httpapi.Fail(c, err)
		return
	}
	cs, total, err := a.cases.List(c.Request.Context(), httpapi.MustPrincipal(c), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(cs)
	subjects := make([]string, 0, len(cs))
	for _, k := range cs {
		subjects = append(subjects, k.Applicant)
	}
	n.Subjects = subjects
	c.JSON(http.StatusOK, gin.H{"cases": cs, "total": total, "limit": page.Limit, "offset": page.Offset})
}

func number(c *gin.Context) (string, error) {
	s := c.Param("number")
	if len(s) > 64 || inputtext.Problem(s) != "" {
		return "", fault.Invalidf("invalid_case_number", "case_number is at most 64 bytes of text without control characters").
			WithDetails(fault.Detail{Field: "case_number", Reason: "not a case number"})
	}
	return s, nil
}

func (a *API) get(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "case.read"
	num, err := number(c)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.CaseNumber = num
	k, err := a.cases.Get(c.Request.Context(), httpapi.MustPrincipal(c), num)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Subjects = []string{k.Applicant}
	c.JSON(http.StatusOK, k)
}

func (a *API) move(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "case.transition"
	num, err := number(c)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.CaseNumber = num
	var t casefile.Transition
	if err := httpapi.BindJSON(c, &t); err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Reason = "state=" + string(t.State)
	k, err := a.cases.Move(c.Request.Context(), httpapi.MustPrincipal(c), num, t)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Subjects = []string{k.Applicant}
	c.JSON(http.StatusOK, k)
}
