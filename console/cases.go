package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

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

// casePage is one case; Moves are the states the visitor may move it to
// (the handling department's officers and administrators; none once
// finished), offered by the state form.
type casePage struct {
	casefile.Case
	Moves []casefile.State
	// The state form's values when it comes back with errors.
	MoveState, MoveNote string
	Done                string
}

func (c *Console) caseDetail(v *visit) {
	k, ok := c.readCase(v)
	if !ok {
		return
	}
	c.render(v, http.StatusOK, "case", "case.title", c.casePage(v, k), nil)
}

func (c *Console) readCase(v *visit) (casefile.Case, bool) {
	var k casefile.Case
	if err := c.call(v, http.MethodGet, "/api/v1/cases/"+url.PathEscape(v.r.PathValue("number")), nil, &k); err != nil {
		c.fail(v, err)
		return k, false
	}
	return k, true
}

// casePage offers the moves the domain allows from the case's state, to
// those the domain lets move it. The API decides again when one is sent.
func (c *Console) casePage(v *visit, k casefile.Case) casePage {
	page := casePage{Case: k, Done: c.doneOf(v)}
	if casefile.MayHandle(v.Principal, k.Department) == nil {
		page.Moves = casefile.Next(k.State)
	}
	return page
}

// caseMove sends the state form as PATCH /api/v1/cases/{number}: the
// API's refusal of the principal is the 403 page, a field error or a move
// the case no longer allows comes back beside the form.
func (c *Console) caseMove(v *visit) {
	number := v.r.PathValue("number")
	state, note := strings.TrimSpace(v.r.PostFormValue("state")), strings.TrimSpace(v.r.PostFormValue("note"))
	errs := map[string]string{}
	if state == "" {
		errs["state"] = v.T("form.required")
	}
	// The revision the page showed: the API refuses the move if the case
	// changed since (409 case_changed).
	rev, rerr := strconv.Atoi(v.r.PostFormValue("revision"))
	if rerr != nil || rev < 1 {
		errs["form"] = v.T("case.error.case_changed")
	}
	var err error
	if len(errs) == 0 {
		err = c.call(v, http.MethodPatch, "/api/v1/cases/"+url.PathEscape(number), casefile.Transition{State: casefile.State(state), Note: note, Revision: rev}, nil)
		if err == nil {
			c.seeOther(v, "/console/cases/"+url.PathEscape(number), "case.done.moved")
			return
		}
	}
	var ae *APIError
	if err != nil {
		if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusConflict && ae.Status != http.StatusUnprocessableEntity) {
			c.fail(v, err)
			return
		}
		for f, reason := range ae.FieldErrors() {
			errs[f] = c.fieldMessage(v, "case."+f, reason)
		}
		if len(errs) == 0 {
			msg := ae.Message
			if k := "case.error." + ae.Code; c.msgs.Has(v.Lang, k) {
				msg = v.T(k)
			}
			errs["form"] = msg
		}
	}
	k, ok := c.readCase(v)
	if !ok {
		return
	}
	page := c.casePage(v, k)
	page.MoveState, page.MoveNote = state, note
	status := http.StatusUnprocessableEntity
	if ae != nil && ae.Status == http.StatusConflict {
		status = http.StatusConflict
	}
	c.render(v, status, "case", "case.title", page, errs)
}
