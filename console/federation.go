package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"yiku/catalog"
	"yiku/federation"
	"yiku/federation/federationapi"
	"yiku/identity"
)

// Vertical federation (纵向共享): this hub among the hubs of other levels.
// The e-government office requests the peering with the upstream hub,
// approves a downstream hub's (checking the certificate fingerprint the
// other office gave it), suspends, resumes or ends it; a department's
// administrator marks its resources for upward sharing, finds the upstream
// hub's shareable entries and files a cross-level share request for one;
// reviewers and officers see what concerns them. Every read and step is an
// /api/v1/federation call: who may do what is the API's decision.

// federationPage is the one page; its boxes depend on the visitor's role.
type federationPage struct {
	// Off: this hub has no federation id (--federation-hub).
	Off  bool
	Self *federationSelf
	// Office manages peerings; Reviewer reads them; DeptAdmin marks and
	// requests.
	Office, Reviewer, DeptAdmin bool
	Peerings                    []federation.Peering
	// CanRequest: an upstream hub is configured and no peering with it is
	// requested or open.
	CanRequest bool
	Marks      []federation.Mark
	// Markable are the department's own resources with their mark.
	Markable   []markable
	Upstream   []federation.Entry
	Downstream []federation.Entry
	Shares     []federation.ShareRequest
	Done       string
}

type federationSelf struct {
	Hub         federation.Self `json:"hub"`
	Fingerprint string          `json:"fingerprint"`
	UpstreamURL string          `json:"upstream_url"`
}

type markable struct {
	Resource catalog.Resource
	Mark     *federation.Mark
}

func (c *Console) federation(v *visit) {
	c.showFederation(v, http.StatusOK, nil)
}

func (c *Console) showFederation(v *visit, status int, errs map[string]string) {
	role := v.Principal.Role
	page := federationPage{Office: role == identity.RoleCatalogAdmin, Reviewer: role == identity.RoleReviewer,
		DeptAdmin: role == identity.RoleDeptAdmin, Done: c.doneOf(v)}
	// Everyone the page is for reads the federated entries; the API
	// refuses the others (the 403 page), and says when federation is off.
	var dir struct {
		Entries []federation.Entry `json:"entries"`
	}
	err := c.call(v, http.MethodGet, "/api/v1/federation/directory?direction=upstream", nil, &dir)
	if isCode(err, "federation_off") {
		page.Off = true
		c.render(v, status, "federation", "federation.title", page, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	page.Upstream = dir.Entries
	if page.Office || page.Reviewer {
		page.Self = &federationSelf{}
		var ps struct {
			Peerings []federation.Peering `json:"peerings"`
		}
		var down struct {
			Entries []federation.Entry `json:"entries"`
		}
		if err := firstErr(
			func() error { return c.call(v, http.MethodGet, "/api/v1/federation", nil, page.Self) },
			func() error { return c.call(v, http.MethodGet, "/api/v1/federation/peerings", nil, &ps) },
			func() error {
				return c.call(v, http.MethodGet, "/api/v1/federation/directory?direction=downstream", nil, &down)
			}); err != nil {
			c.fail(v, err)
			return
		}
		if page.Self.Hub.Hub == "" {
			page.Off = true
			c.render(v, status, "federation", "federation.title", page, errs)
			return
		}
		page.Peerings, page.Downstream = ps.Peerings, down.Entries
		page.CanRequest = page.Office && page.Self.UpstreamURL != ""
		for _, p := range ps.Peerings {
			if p.Direction == federation.Upstream && p.Status != federation.StatusEnded {
				page.CanRequest = false
			}
		}
	}
	if page.Office || page.Reviewer || page.DeptAdmin {
		var ms struct {
			Marks []federation.Mark `json:"marks"`
		}
		var sr struct {
			Shares []federation.ShareRequest `json:"share_requests"`
		}
		if err := firstErr(
			func() error { return c.call(v, http.MethodGet, "/api/v1/federation/upward", nil, &ms) },
			func() error { return c.call(v, http.MethodGet, "/api/v1/federation/share-requests", nil, &sr) }); err != nil {
			c.fail(v, err)
			return
		}
		page.Marks, page.Shares = ms.Marks, sr.Shares
	}
	if page.DeptAdmin {
		var own struct {
			Resources []catalog.Resource `json:"resources"`
		}
		if err := c.call(v, http.MethodGet, "/api/v1/catalog/resources"+q("provider", v.Principal.DepartmentCode, "limit", "200"), nil, &own); err != nil {
			c.fail(v, err)
			return
		}
		for _, r := range own.Resources {
			if r.ShareType == catalog.ShareNone || r.Status == catalog.StatusDraft || r.Status == catalog.StatusRetired {
				continue
			}
			m := markable{Resource: r}
			for i := range page.Marks {
				if page.Marks[i].ResourceID == r.ID {
					m.Mark = &page.Marks[i]
				}
			}
			page.Markable = append(page.Markable, m)
		}
	}
	c.render(v, status, "federation", "federation.title", page, errs)
}

func firstErr(fns ...func() error) error {
	for _, fn := range fns {
		if err := fn(); err != nil {
			return err
		}
	}
	return nil
}

// isCode reports whether err is the API's error with code.
func isCode(err error, code string) bool {
	var ae *APIError
	return errors.As(err, &ae) && ae.Code == code
}

// federationStep runs one office step on a peering: request, approve
// (with the fingerprint the other office gave), suspend, resume, end
// (with a reason). The API's refusal comes back on the page.
func (c *Console) federationStep(v *visit) {
	id, step := v.r.PathValue("id"), v.r.PathValue("step")
	path, done := "/api/v1/federation/peerings", "federation.done.requested"
	var body any
	switch step {
	case "request":
	case "approve":
		path, done = path+"/"+url.PathEscape(id)+"/approve", "federation.done.approved"
		body = map[string]string{"fingerprint": strings.TrimSpace(v.r.PostFormValue("fingerprint"))}
	case "suspend", "resume", "end":
		path, done = path+"/"+url.PathEscape(id)+"/"+step, "federation.done."+step
		body = map[string]string{"reason": strings.TrimSpace(v.r.PostFormValue("reason"))}
	default:
		c.notFound(v)
		return
	}
	c.federationAnswer(v, c.call(v, http.MethodPost, path, body, nil), done)
}

// federationMark marks or unmarks one of the department's resources for
// upward sharing.
func (c *Console) federationMark(v *visit) {
	res := url.PathEscape(v.r.PathValue("resource"))
	method, done := http.MethodPut, "federation.done.marked"
	if v.r.PostFormValue("on") != "true" {
		method, done = http.MethodDelete, "federation.done.unmarked"
	}
	c.federationAnswer(v, c.call(v, method, "/api/v1/federation/upward/"+res, nil, nil), done)
}

// federationAnswer answers a step of the page: the API's refusal of the
// form on the page, any other error as its error page, success as a
// redirect to the page with the confirmation done.
func (c *Console) federationAnswer(v *visit, err error, done string) {
	errs := map[string]string{}
	if c.formFailed(v, err, errs) {
		c.showFederation(v, http.StatusUnprocessableEntity, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/federation", done)
}

// federationRequestForm is the cross-level share request form for one of
// the upstream hub's entries.
type federationRequestForm struct {
	Entry      federation.Entry
	Fields     []string
	Purposes   string
	LegalBasis string
	Items      string
	ValidUntil string
}

func (c *Console) federationRequest(v *visit) {
	e, ok := c.upstreamEntry(v, v.r.URL.Query().Get("resource"))
	if !ok {
		return
	}
	form := federationRequestForm{Entry: e, ValidUntil: c.deps.Now().In(china).AddDate(1, 0, 0).Format(time.DateOnly)}
	c.render(v, http.StatusOK, "federationrequest", "federationrequest.title", &form, nil)
}

// upstreamEntry finds one of the upstream hub's entries the visitor may
// see; it answers the 404 page when there is none.
func (c *Console) upstreamEntry(v *visit, id string) (federation.Entry, bool) {
	var dir struct {
		Entries []federation.Entry `json:"entries"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/federation/directory?direction=upstream", nil, &dir); err != nil {
		c.fail(v, err)
		return federation.Entry{}, false
	}
	for _, e := range dir.Entries {
		if e.ResourceID == id {
			return e, true
		}
	}
	c.notFound(v)
	return federation.Entry{}, false
}

func (c *Console) federationRequestFile(v *visit) {
	f := v.r.PostForm
	e, ok := c.upstreamEntry(v, strings.TrimSpace(f.Get("resource")))
	if !ok {
		return
	}
	form := federationRequestForm{Entry: e, Fields: f["fields"], Purposes: strings.TrimSpace(f.Get("purposes")),
		LegalBasis: strings.TrimSpace(f.Get("legal_basis")), Items: strings.TrimSpace(f.Get("service_items")), ValidUntil: strings.TrimSpace(f.Get("valid_until"))}
	body := federationapi.ShareBody{ResourceID: e.ResourceID, Fields: form.Fields, Purposes: splitList(form.Purposes),
		LegalBasis: form.LegalBasis, ServiceItems: splitList(form.Items)}
	errs := map[string]string{}
	if form.ValidUntil != "" {
		d, err := time.ParseInLocation(time.DateOnly, form.ValidUntil, china)
		if err != nil {
			errs["valid_until"] = v.T("federation.err.date")
		} else {
			body.ValidUntil = d.Add(24*time.Hour - time.Second)
		}
	}
	var err error
	if len(errs) == 0 {
		err = c.call(v, http.MethodPost, "/api/v1/federation/share-requests", body, nil)
		if c.formFailed(v, err, errs) {
			err = nil
		}
	}
	if len(errs) > 0 {
		c.render(v, http.StatusUnprocessableEntity, "federationrequest", "federationrequest.title", &form, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/federation", "federation.done.shared")
}

// splitList reads a list typed one per line or separated by commas
// (ASCII or Chinese).
func splitList(s string) []string {
	var out []string
	for _, p := range strings.FieldsFunc(s, func(r rune) bool { return r == '\n' || r == ',' || r == '，' || r == '、' || r == ';' || r == '；' }) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
