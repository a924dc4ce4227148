package console

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"yiku/identity"
	"yiku/policies/sharing"
)

// Department administrators' share requests: incoming requests to approve
// (possibly with fewer fields or purposes than asked), reject with a
// reason, or revoke once granted; outgoing requests and their state; and
// "what may we read?". The e-government office (and reviewers) page through
// every department's requests, the overdue ones highlighted. All are
// /api/v1/share-requests, /grants and /access calls.

type shareListPage struct {
	ToMe, Mine, All    []sharing.Request
	ShowToMe, ShowMine bool
	ShowAll            bool
	// Every department's requests: the status filter and paging links.
	Status               string
	Statuses             []sharing.RequestStatus
	PrevQuery, NextQuery string
}

// allPageSize is the console's page of /api/v1/share-requests/all.
const allPageSize = 50

// pageQuery is the query of the all-requests page at offset.
func pageQuery(status string, offset int) string {
	q := url.Values{}
	if status != "" {
		q.Set("status", status)
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	return q.Encode()
}

func (c *Console) shareRequests(v *visit) {
	var page shareListPage
	if v.Principal.Role != identity.RoleDeptAdmin {
		c.allShareRequests(v, &page)
		return
	}
	for _, b := range []struct {
		box  string
		into *[]sharing.Request
		show *bool
	}{{"to-me", &page.ToMe, &page.ShowToMe}, {"mine", &page.Mine, &page.ShowMine}} {
		var body struct {
			Requests []sharing.Request `json:"requests"`
		}
		if err := c.call(v, http.MethodGet, "/api/v1/share-requests/"+b.box+"?limit=200", nil, &body); err != nil {
			c.fail(v, err)
			return
		}
		*b.into, *b.show = body.Requests, true
	}
	c.render(v, http.StatusOK, "sharerequests", "sharerequests.title", page, nil)
}

// allShareRequests pages through every department's requests (the
// e-government office's view). The API checks the status and offset (a
// bad one is its 400) and says which requests are overdue.
func (c *Console) allShareRequests(v *visit, page *shareListPage) {
	status, off := v.r.URL.Query().Get("status"), v.r.URL.Query().Get("offset")
	q := url.Values{"limit": {strconv.Itoa(allPageSize + 1)}}
	if status != "" {
		q.Set("status", status)
	}
	if off != "" {
		q.Set("offset", off)
	}
	var body struct {
		Requests []sharing.Request `json:"requests"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/share-requests/all?"+q.Encode(), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	offset, _ := strconv.Atoi(off) // the API accepted it
	page.All, page.ShowAll, page.Status = body.Requests, true, status
	page.Statuses = []sharing.RequestStatus{sharing.RequestPending, sharing.RequestApproved, sharing.RequestRejected, sharing.RequestWithdrawn}
	if len(page.All) > allPageSize {
		page.All = page.All[:allPageSize]
		page.NextQuery = pageQuery(status, offset+allPageSize)
	}
	if offset > 0 {
		page.PrevQuery = pageQuery(status, max(offset-allPageSize, 0))
		if page.PrevQuery == "" {
			page.PrevQuery = "offset=0"
		}
	}
	c.render(v, http.StatusOK, "sharerequests", "sharerequests.title", *page, nil)
}

type shareDetailPage struct {
	Request  sharing.Request
	Incoming bool
	Reason   string
	Fields   []string // checked on a re-shown form
	Purposes []string
	Done     string
}

func (c *Console) shareRequest(v *visit) {
	c.showShareRequest(v, http.StatusOK, nil, nil, c.doneOf(v))
}

func (c *Console) showShareRequest(v *visit, status int, form *shareDetailPage, errs map[string]string, done string) {
	var r sharing.Request
	if err := c.call(v, http.MethodGet, "/api/v1/share-requests/"+url.PathEscape(v.r.PathValue("id")), nil, &r); err != nil {
		c.fail(v, err)
		return
	}
	page := shareDetailPage{Request: r, Fields: r.Fields, Purposes: r.Purposes}
	if form != nil {
		page.Fields, page.Purposes, page.Reason = form.Fields, form.Purposes, form.Reason
	}
	page.Incoming = v.Principal.Role == identity.RoleDeptAdmin && r.ProviderCode == v.Principal.DepartmentCode
	page.Done = done
	c.render(v, status, "sharerequest", "sharerequest.title", page, errs)
}

func (c *Console) shareApprove(v *visit) {
	id := v.r.PathValue("id")
	form := &shareDetailPage{Fields: v.r.PostForm["fields"], Purposes: v.r.PostForm["purposes"], Reason: strings.TrimSpace(v.r.PostFormValue("reason"))}
	errs := map[string]string{}
	if len(form.Fields) == 0 {
		errs["fields"] = v.T("share.error.fields")
	}
	if len(errs) > 0 {
		c.showShareRequest(v, http.StatusUnprocessableEntity, form, errs, "")
		return
	}
	body := map[string]any{"fields": form.Fields, "reason": form.Reason}
	if len(form.Purposes) > 0 {
		body["purposes"] = form.Purposes
	}
	err := c.call(v, http.MethodPost, "/api/v1/share-requests/"+url.PathEscape(id)+"/approve", body, nil)
	if c.formFailed(v, err, errs) {
		c.showShareRequest(v, http.StatusUnprocessableEntity, form, errs, "")
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/share-requests/"+url.PathEscape(id), "share.done.approved")
}

func (c *Console) shareReject(v *visit) {
	id := v.r.PathValue("id")
	reason := strings.TrimSpace(v.r.PostFormValue("reason"))
	errs := map[string]string{}
	if reason == "" {
		errs["reject_reason"] = v.T("form.required")
		c.showShareRequest(v, http.StatusUnprocessableEntity, nil, errs, "")
		return
	}
	err := c.call(v, http.MethodPost, "/api/v1/share-requests/"+url.PathEscape(id)+"/reject", map[string]string{"reason": reason}, nil)
	if c.formFailed(v, err, errs) {
		c.showShareRequest(v, http.StatusUnprocessableEntity, nil, errs, "")
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/share-requests/"+url.PathEscape(id), "share.done.rejected")
}

func (c *Console) grantRevoke(v *visit) {
	reason := strings.TrimSpace(v.r.PostFormValue("reason"))
	back := localNext(v.r.PostFormValue("next"))
	if reason == "" {
		c.render(v, http.StatusUnprocessableEntity, "error", "error.invalid.title", errorPage{Heading: "error.invalid.title", Message: "share.error.revokereason"}, nil)
		return
	}
	if err := c.call(v, http.MethodPost, "/api/v1/grants/"+url.PathEscape(v.r.PathValue("id"))+"/revoke", map[string]string{"reason": reason}, nil); err != nil {
		c.fail(v, err)
		return
	}
	if back == "" {
		back = "/console/share-requests"
	}
	http.Redirect(v.w, v.r, back, http.StatusSeeOther)
}

// formFailed maps a client error of a form's API call to field errors
// (or the form's general error) and reports whether it did.
func (c *Console) formFailed(v *visit, err error, errs map[string]string) bool {
	var ae *APIError
	if !errors.As(err, &ae) || (ae.Status != http.StatusBadRequest && ae.Status != http.StatusUnprocessableEntity && ae.Status != http.StatusConflict) {
		return false
	}
	for k, reason := range ae.FieldErrors() {
		errs[k] = c.fieldMessage(v, k, reason)
	}
	errs["form"] = ae.Message
	return true
}

type accessPage struct {
	Department string
	Access     []sharing.Access
}

func (c *Console) access(v *visit) {
	var body struct {
		Department string           `json:"department_code"`
		Access     []sharing.Access `json:"access"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/access", nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "access", "access.title", accessPage{Department: body.Department, Access: body.Access}, nil)
}
