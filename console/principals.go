package console

import (
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"yiku/identity"
)

// Principals and their credentials, for the e-government office (every
// department) and department administrators (their own): list, create,
// disable; a system's API keys — issue (the secret is shown once), expire,
// revoke.
// All are /api/v1/admin calls; identity decides who may manage whom.

type principalsPage struct {
	Principals []identity.Principal
	Depts      map[string]string
	Roles      []identity.Role
	Form       map[string]string
	Created    *identity.Principal
}

func (c *Console) principals(v *visit) {
	c.showPrincipals(v, http.StatusOK, principalsPage{}, nil)
}

func (c *Console) showPrincipals(v *visit, status int, page principalsPage, errs map[string]string) {
	var body struct {
		Principals []identity.Principal `json:"principals"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/admin/principals", nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	sort.Slice(body.Principals, func(i, j int) bool {
		a, b := body.Principals[i], body.Principals[j]
		if a.DepartmentCode != b.DepartmentCode {
			return a.DepartmentCode < b.DepartmentCode
		}
		return a.Name < b.Name
	})
	depts, err := c.departmentNames(v)
	if err != nil {
		c.fail(v, err)
		return
	}
	page.Principals, page.Depts, page.Roles = body.Principals, depts, identity.Roles()
	if page.Form == nil {
		page.Form = map[string]string{"department_code": v.Principal.DepartmentCode}
	}
	c.render(v, status, "principals", "principals.title", page, errs)
}

func (c *Console) principalCreate(v *visit) {
	form := map[string]string{}
	for _, k := range []string{"name", "display_name", "role", "department_code"} {
		form[k] = strings.TrimSpace(v.r.PostFormValue(k))
	}
	errs := map[string]string{}
	for _, k := range []string{"name", "role", "department_code"} {
		if form[k] == "" {
			errs[k] = v.T("form.required")
		}
	}
	if len(errs) > 0 {
		c.showPrincipals(v, http.StatusUnprocessableEntity, principalsPage{Form: form}, errs)
		return
	}
	kind := string(identity.KindPerson)
	if form["role"] == string(identity.RoleSystem) {
		kind = string(identity.KindSystem)
	}
	var p identity.Principal
	err := c.call(v, http.MethodPost, "/api/v1/admin/principals", map[string]string{"name": form["name"], "display_name": form["display_name"],
		"kind": kind, "role": form["role"], "department_code": form["department_code"]}, &p)
	if c.formFailed(v, err, errs) {
		if strings.Contains(errs["form"], "principal name") {
			errs["name"] = v.T("principals.error.name")
		}
		c.showPrincipals(v, http.StatusUnprocessableEntity, principalsPage{Form: form}, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.showPrincipals(v, http.StatusOK, principalsPage{Created: &p}, nil)
}

type principalPage struct {
	Principal identity.Principal
	Keys      []keyRow
	Issued    *identity.IssuedKey
	Form      map[string]string
	Done      string
}

// principalDetail shows one principal (found in the list the API gives
// the caller) and, for systems, its API keys.
func (c *Console) principalDetail(v *visit) {
	c.showPrincipal(v, http.StatusOK, principalPage{Done: c.doneOf(v)}, nil)
}

func (c *Console) showPrincipal(v *visit, status int, page principalPage, errs map[string]string) {
	id := v.r.PathValue("id")
	var body struct {
		Principals []identity.Principal `json:"principals"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/admin/principals", nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	found := false
	for _, p := range body.Principals {
		if p.ID == id {
			page.Principal, found = p, true
		}
	}
	if !found {
		c.notFound(v)
		return
	}
	if page.Principal.Kind == identity.KindSystem {
		var keys struct {
			Keys []identity.APIKey `json:"api_keys"`
		}
		if err := c.call(v, http.MethodGet, "/api/v1/admin/principals/"+url.PathEscape(id)+"/api-keys", nil, &keys); err != nil {
			c.fail(v, err)
			return
		}
		now := time.Now()
		for _, k := range keys.Keys {
			page.Keys = append(page.Keys, keyRow{APIKey: k, State: k.State(now)})
		}
	}
	if page.Form == nil {
		page.Form = map[string]string{}
	}
	c.render(v, status, "principal", "principal.title", page, errs)
}

func (c *Console) keyIssue(v *visit) {
	form := map[string]string{"label": strings.TrimSpace(v.r.PostFormValue("label")), "expires_in": strings.TrimSpace(v.r.PostFormValue("expires_in"))}
	errs := map[string]string{}
	var k identity.IssuedKey
	err := c.call(v, http.MethodPost, "/api/v1/admin/principals/"+url.PathEscape(v.r.PathValue("id"))+"/api-keys", form, &k)
	if c.formFailed(v, err, errs) {
		c.showPrincipal(v, http.StatusUnprocessableEntity, principalPage{Form: form}, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.showPrincipal(v, http.StatusOK, principalPage{Issued: &k}, nil)
}

func (c *Console) keyRevoke(v *visit) {
	if err := c.call(v, http.MethodDelete, "/api/v1/admin/api-keys/"+url.PathEscape(v.r.PathValue("key")), nil, nil); err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/principals/"+url.PathEscape(v.r.PathValue("id")), "principal.done.revoked")
}

// keyRow is an API key as the page lists it, with its state now.
type keyRow struct {
	identity.APIKey
	State identity.KeyState
}

// expiryLayouts are what a datetime-local input sends (with seconds when
// its step asks for them); the console reads them in China Standard Time.
var expiryLayouts = []string{"2006-01-02T15:04", "2006-01-02T15:04:05"}

// keyExpire sets a key's expiry from the row's form: a China Standard
// Time, or nothing for now. The API decides whether the expiry is allowed;
// its refusals are shown beside that key's field.
func (c *Console) keyExpire(v *visit) {
	key := v.r.PathValue("key")
	form := map[string]string{"expire_key": key, "at": strings.TrimSpace(v.r.PostFormValue("at"))}
	errs := map[string]string{}
	body := map[string]string{}
	if form["at"] != "" {
		at, ok := parseLocalTime(form["at"])
		if !ok {
			errs["at"] = v.T("principal.k.at.invalid_expiry")
			c.showPrincipal(v, http.StatusUnprocessableEntity, principalPage{Form: form}, errs)
			return
		}
		body["at"] = at.Format(time.RFC3339)
	}
	err := c.call(v, http.MethodPost, "/api/v1/admin/api-keys/"+url.PathEscape(key)+"/expire", body, nil)
	if c.formFailed(v, err, errs) {
		var ae *APIError
		if errors.As(err, &ae) && c.msgs.Has(Languages[0], "principal.k.at."+ae.Code) {
			// The translated reason beside the field says it all.
			errs["at"] = v.T("principal.k.at." + ae.Code)
			delete(errs, "form")
		}
		c.showPrincipal(v, http.StatusUnprocessableEntity, principalPage{Form: form}, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/principals/"+url.PathEscape(v.r.PathValue("id")), "principal.done.expired")
}

// parseLocalTime reads a datetime-local value as China Standard Time.
func parseLocalTime(s string) (time.Time, bool) {
	for _, layout := range expiryLayouts {
		if t, err := time.ParseInLocation(layout, s, china); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

func (c *Console) principalDisable(v *visit) {
	if err := c.call(v, http.MethodPost, "/api/v1/admin/principals/"+url.PathEscape(v.r.PathValue("id"))+"/disable", nil, nil); err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/principals/"+url.PathEscape(v.r.PathValue("id")), "principal.done.disabled")
}
