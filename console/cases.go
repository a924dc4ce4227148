package console

import (
	"net/http"
	"net/url"
	"strconv"

	"yiku/casefile"
)

// Case records (办件): the list of the cases the visitor may see — a
// department's officers and administrators their department's, a citizen
// their own, the e-government office and reviewers every department's —
// and one case with its state, times and materials. Both are
// /api/v1/cases calls: which cases a visitor sees is the API's decision.

type casesPage struct {
	Cases  []casefile.Case
	Total  int
	State  string
	States []casefile.State
}

const caseListLimit = 100

func (c *Console) cases(v *visit) {
	page := casesPage{State: v.r.URL.Query().Get("state"),
		States: []casefile.State{casefile.Opened, casefile.Accepted, casefile.Approved, casefile.Rejected, casefile.Finished}}
	var body struct {
		Cases []casefile.Case `json:"cases"`
		Total int             `json:"total"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/cases"+q("limit", strconv.Itoa(caseListLimit), "state", page.State), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	page.Cases, page.Total = body.Cases, body.Total
	c.render(v, http.StatusOK, "cases", "cases.title", page, nil)
}

func (c *Console) caseDetail(v *visit) {
	var k casefile.Case
	if err := c.call(v, http.MethodGet, "/api/v1/cases/"+url.PathEscape(v.r.PathValue("number")), nil, &k); err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "case", "case.title", k, nil)
}
