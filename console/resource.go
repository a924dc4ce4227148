package console

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"

	"yiku/catalog"
)

// A resource's detail: metadata and fields, its schema versions, the
// compatibility result of a proposed schema (the API's dry run), and the
// lifecycle actions. Reads and actions are /api/v1/catalog calls; the
// catalog decides who may change what.

type resourcePage struct {
	Resource catalog.Resource
	Versions []catalog.SchemaVersion
	Latest   string // the latest schema, indented, as the proposal's start
	Proposal string
	Report   *catalog.Report
	Next     []string // lifecycle states offered
	Done     string
}

func (c *Console) resourceDetail(v *visit) {
	c.showResource(v, http.StatusOK, resourcePage{Done: c.doneOf(v)}, nil)
}

func (c *Console) showResource(v *visit, status int, page resourcePage, errs map[string]string) {
	id := url.PathEscape(v.r.PathValue("id"))
	if err := c.call(v, http.MethodGet, "/api/v1/catalog/resources/"+id, nil, &page.Resource); err != nil {
		c.fail(v, err)
		return
	}
	var vs struct {
		Versions []catalog.SchemaVersion `json:"versions"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/catalog/resources/"+id+"/versions", nil, &vs); err != nil {
		c.fail(v, err)
		return
	}
	page.Versions = vs.Versions
	if n := len(vs.Versions); n > 0 && page.Proposal == "" {
		page.Latest = string(prettyJSON(vs.Versions[n-1].Schema))
		page.Proposal = page.Latest
	}
	for _, s := range []catalog.Status{catalog.StatusDraft, catalog.StatusPublished, catalog.StatusDeprecated, catalog.StatusRetired} {
		if s != page.Resource.Status {
			page.Next = append(page.Next, string(s))
		}
	}
	c.render(v, status, "resource", "resource.title", page, errs)
}

func prettyJSON(raw json.RawMessage) []byte {
	var out strings.Builder
	var x any
	if json.Unmarshal(raw, &x) != nil {
		return raw
	}
	enc := json.NewEncoder(&out)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	_ = enc.Encode(x)
	return []byte(out.String())
}

// resourceCompat runs the API's compatibility dry run of a proposed schema.
func (c *Console) resourceCompat(v *visit) {
	proposal := strings.TrimSpace(v.r.PostFormValue("schema"))
	page := resourcePage{Proposal: proposal}
	errs := map[string]string{}
	if proposal == "" {
		errs["schema"] = v.T("form.required")
	} else if !json.Valid([]byte(proposal)) {
		errs["schema"] = v.T("resource.error.json")
	}
	if len(errs) > 0 {
		c.showResource(v, http.StatusUnprocessableEntity, page, errs)
		return
	}
	var rep catalog.Report
	err := c.call(v, http.MethodPost, "/api/v1/catalog/resources/"+url.PathEscape(v.r.PathValue("id"))+"/compatibility",
		map[string]any{"schema": json.RawMessage(proposal)}, &rep)
	if c.formFailed(v, err, errs) {
		c.showResource(v, http.StatusUnprocessableEntity, page, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	page.Report = &rep
	c.showResource(v, http.StatusOK, page, nil)
}

// resourceLifecycle moves the resource to another lifecycle state.
func (c *Console) resourceLifecycle(v *visit) {
	status := v.r.PostFormValue("status")
	reason := strings.TrimSpace(v.r.PostFormValue("reason"))
	errs := map[string]string{}
	if status == "" {
		errs["status"] = v.T("form.required")
	}
	if reason == "" {
		errs["reason"] = v.T("form.required")
	}
	if len(errs) > 0 {
		c.showResource(v, http.StatusUnprocessableEntity, resourcePage{}, errs)
		return
	}
	err := c.call(v, http.MethodPost, "/api/v1/catalog/resources/"+url.PathEscape(v.r.PathValue("id"))+"/lifecycle",
		map[string]string{"status": status, "reason": reason}, nil)
	if c.formFailed(v, err, errs) {
		c.showResource(v, http.StatusUnprocessableEntity, resourcePage{}, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/resources/"+url.PathEscape(v.r.PathValue("id")), "resource.done.lifecycle")
}
