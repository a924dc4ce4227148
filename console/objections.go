package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"yiku/identity"
	"yiku/objection"
)

// Data objections (疑义校核): a department's queue of objections against
// its records and the objections it raised; the e-government office's
// list of every department's overdue ones; one objection with its history;
// rejecting and withdrawing; raising one from a record the lookup
// supplied. All are /api/v1/objections calls: who may see, raise, reject
// or withdraw is the API's decision.

// objectionsPage is the list page: the boxes shown depend only on the
// visitor's role (the e-government office and reviewers supervise every
// department's overdue objections; a department's principals see their
// queue and what they raised).
type objectionsPage struct {
	ToMe, Mine, Overdue []objection.Objection
	Office              bool
	Status              string
	Statuses            []objection.Status
	Done                string
}

// officeRole: the roles that supervise every department's objections.
func officeRole(r identity.Role) bool {
	return r == identity.RoleCatalogAdmin || r == identity.RoleReviewer
}

// objectionListLimit bounds each list the page shows.
const objectionListLimit = 200

func (c *Console) objections(v *visit) {
	page := objectionsPage{Office: officeRole(v.Principal.Role), Status: v.r.URL.Query().Get("status"), Done: c.doneOf(v),
		Statuses: []objection.Status{objection.StatusOpen, objection.StatusCorrected, objection.StatusRejected, objection.StatusWithdrawn}}
	list := func(box string, out *[]objection.Objection) error {
		var body struct {
			Objections []objection.Objection `json:"objections"`
		}
		path := "/api/v1/objections/" + box + q("limit", strconv.Itoa(objectionListLimit), "status", page.Status)
		if err := c.call(v, http.MethodGet, path, nil, &body); err != nil {
			return err
		}
		*out = body.Objections
		return nil
	}
	var err error
	if page.Office {
		err = list("overdue", &page.Overdue)
	} else if err = list("to-me", &page.ToMe); err == nil {
		err = list("mine", &page.Mine)
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "objections", "objections.title", page, nil)
}

type objectionPage struct {
	Objection objection.Objection
	History   []objection.HistoryEntry
	// Provider: the visitor is the providing department's admin (the
	// reject form and the correction's instructions are shown); Raiser:
	// the visitor raised it or administers the raising department (the
	// withdraw form is shown). The API decides either way.
	Provider, Raiser bool
	Reason           string
	Done             string
}

func (c *Console) objection(v *visit) {
	c.showObjection(v, http.StatusOK, nil, "", c.doneOf(v))
}

func (c *Console) showObjection(v *visit, status int, errs map[string]string, reason, done string) {
	id := url.PathEscape(v.r.PathValue("id"))
	var page objectionPage
	if err := c.call(v, http.MethodGet, "/api/v1/objections/"+id, nil, &page.Objection); err != nil {
		c.fail(v, err)
		return
	}
	var h struct {
		History []objection.HistoryEntry `json:"history"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/objections/"+id+"/history", nil, &h); err != nil {
		c.fail(v, err)
		return
	}
	o, p := page.Objection, v.Principal
	page.History, page.Reason, page.Done = h.History, reason, done
	page.Provider = p.Role == identity.RoleDeptAdmin && p.DepartmentCode == o.ProviderCode
	page.Raiser = p.ID == o.RaisedBy || (p.Role == identity.RoleDeptAdmin && p.DepartmentCode == o.RaiserCode)
	c.render(v, status, "objection", "objection.title", page, errs)
}

// objectionReject and objectionWithdraw send the form's reason to the API;
// its 400 (a rejection needs a reason) comes back beside the field.
func (c *Console) objectionReject(v *visit) { c.objectionStep(v, "reject", "objection.done.rejected") }

func (c *Console) objectionWithdraw(v *visit) {
	c.objectionStep(v, "withdraw", "objection.done.withdrawn")
}

func (c *Console) objectionStep(v *visit, step, done string) {
	id := v.r.PathValue("id")
	reason := strings.TrimSpace(v.r.PostFormValue("reason"))
	err := c.call(v, http.MethodPost, "/api/v1/objections/"+url.PathEscape(id)+"/"+step, map[string]string{"reason": reason}, nil)
	errs := map[string]string{}
	if c.formFailed(v, err, errs) {
		// The field errors belong to the form that was sent; the general
		// alert only repeats what the field shows.
		if msg, ok := errs["reason"]; ok {
			delete(errs, "reason")
			delete(errs, "form")
			errs[step+"_reason"] = msg
		}
		c.showObjection(v, http.StatusUnprocessableEntity, errs, reason, "")
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/objections/"+url.PathEscape(id), done)
}

// raiseForm is the form to raise an objection against a record the
// visitor was shown: the record's key and version and the purpose it was
// read under come from the page that showed it; Offered are the fields
// that page showed, to choose from.
type raiseForm struct {
	Material   string
	Resource   string
	Subject    string
	Version    int
	Purpose    string
	CaseNumber string
	Offered    []string
	Fields     []string
	Problem    string
	Evidence   string
}

func (c *Console) objectionRaise(v *visit) {
	f := v.r.PostForm
	form := raiseForm{Material: strings.TrimSpace(f.Get("material")), Resource: strings.TrimSpace(f.Get("resource")),
		Subject: strings.TrimSpace(f.Get("subject")), Purpose: strings.TrimSpace(f.Get("purpose")),
		CaseNumber: strings.TrimSpace(f.Get("case_number")), Offered: f["offered"], Fields: f["fields"],
		Problem: strings.TrimSpace(f.Get("problem")), Evidence: strings.TrimSpace(f.Get("evidence"))}
	form.Version, _ = strconv.Atoi(f.Get("version"))
	body := objection.Raise{Resource: form.Resource, Subject: form.Subject, Version: form.Version, Fields: form.Fields,
		Problem: form.Problem, Evidence: form.Evidence, Purpose: form.Purpose, CaseNumber: form.CaseNumber}
	var o objection.Objection
	err := c.call(v, http.MethodPost, "/api/v1/objections", body, &o)
	var ae *APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusBadRequest || ae.Status == http.StatusNotFound || ae.Status == http.StatusConflict || ae.Status == http.StatusUnprocessableEntity) {
		// The record's own errors (not readable, not the current version,
		// our own record) are the form's; a field's go beside it.
		errs := map[string]string{}
		shown := false
		for k, reason := range ae.FieldErrors() {
			errs[k] = c.fieldMessage(v, "objection."+k, reason)
			shown = shown || k == "fields" || k == "problem" || k == "evidence"
		}
		if !shown {
			errs["form"] = ae.Message
		}
		c.render(v, http.StatusUnprocessableEntity, "objectionraise", "objectionraise.title", &form, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/objections/"+url.PathEscape(o.ID), "objection.done.raised")
}
