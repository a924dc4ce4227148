package console

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"yiku/federation"
	"yiku/identity"
	"yiku/material"
	"yiku/objection"
	"yiku/policies/sharing"
)

// visit is one request to the console: who asks (when signed in), in which
// language, and the CSRF token its forms carry.
type visit struct {
	w         http.ResponseWriter
	r         *http.Request
	Lang      string
	RequestID string
	// Signed-in visits only.
	session   *sessionRow
	sessionID string
	Principal identity.Principal
	// CSRF is the token forms must echo: the session's, or before sign-in
	// the pre-session cookie's.
	CSRF string
	msgs *Catalog
}

// T translates a catalog key into the visit's language.
func (v *visit) T(key string, args ...any) string { return v.msgs.T(v.Lang, key, args...) }

// SignedIn reports whether the visitor has a session.
func (v *visit) SignedIn() bool { return v.session != nil }

// navItem is one link of the navigation bar.
type navItem struct {
	Path, Title string
	Active      bool
}

// view is what a page template gets: the page's data in Data, the form's
// per-field errors in Errors, and the helpers T (catalog) and Time (CST).
type view struct {
	*visit
	c      *Console
	Title  string
	Nav    []navItem
	Data   any
	Errors map[string]string
	Status int
}

// Footer is the page footer: the hub's area by name when it has one.
func (v view) Footer() string {
	if v.c.deps.HubName != "" {
		return v.T("layout.footer.named", v.c.deps.HubName)
	}
	return v.T("layout.footer")
}

// Time shows an instant in China Standard Time; it takes a time.Time, a
// *time.Time or an RFC 3339 string and shows "—" for none.
func (v view) Time(x any) string {
	var t time.Time
	switch x := x.(type) {
	case time.Time:
		t = x
	case *time.Time:
		if x != nil {
			t = *x
		}
	case string:
		if p, err := time.Parse(time.RFC3339Nano, x); err == nil {
			t = p
		} else {
			return x
		}
	}
	if t.IsZero() {
		return "—"
	}
	return t.In(china).Format("2006-01-02 15:04:05")
}

// Date shows the calendar date in China Standard Time.
func (v view) Date(x any) string {
	s := v.Time(x)
	if len(s) >= 10 {
		return s[:10]
	}
	return s
}

// UploadMB is the material file size limit in megabytes.
func (v view) UploadMB() string {
	if v.c.deps.MaterialMaxBytes > 0 {
		return mb(v.c.deps.MaterialMaxBytes)
	}
	return mb(material.DefaultMaxBytes)
}

// Role names a role in the visit's language.
func (v view) Role(r any) string { return v.T("role." + fmt.Sprint(r)) }

var funcs = template.FuncMap{
	// pretty indents a JSON value for display.
	"pretty": func(raw json.RawMessage) string {
		var b bytes.Buffer
		if err := json.Indent(&b, raw, "", "  "); err != nil {
			return string(raw)
		}
		return b.String()
	},
	"join": strings.Join,
	"has": func(list []string, s string) bool {
		for _, x := range list {
			if x == s {
				return true
			}
		}
		return false
	},
	"add":  func(a, b int) int { return a + b },
	"list": func(s ...string) []string { return s },
	"nodes": func(v view, n []*deptNode) any {
		return struct {
			V     view
			Nodes []*deptNode
		}{v, n}
	},
	// entryrows is the data of a table of federated entries; request adds
	// the link to request one.
	"entryrows": func(v view, r []federation.Entry, request bool) any {
		return struct {
			V       view
			Rows    []federation.Entry
			Request bool
		}{v, r, request}
	},
	"objrows": func(v view, r []objection.Objection) any {
		return struct {
			V    view
			Rows []objection.Objection
		}{v, r}
	},
	// raise is the data of the form raising an objection: id prefixes its
	// controls' ids (a page may hold several).
	"raise": func(v view, f *raiseForm, id string, errs map[string]string) any {
		return struct {
			V      view
			Form   *raiseForm
			ID     string
			Errors map[string]string
		}{v, f, id, errs}
	},
	// upload is the data of a material's upload form: id prefixes its
	// controls' ids (the lookup page holds one per material).
	"upload": func(v view, f *uploadForm, id string, errs map[string]string) any {
		return struct {
			V      view
			Form   *uploadForm
			ID     string
			Errors map[string]string
		}{v, f, id, errs}
	},
	"rows": func(v view, r []sharing.Request) any {
		return struct {
			V    view
			Rows []sharing.Request
		}{v, r}
	},
}

// parseTemplates parses each page template with the layout.
func parseTemplates() (map[string]*template.Template, error) {
	names, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, n := range names {
		base := strings.TrimSuffix(path.Base(n), ".html")
		if base == "layout" {
			continue
		}
		t, err := template.New(base).Funcs(funcs).ParseFS(templateFS, "templates/layout.html", n)
		if err != nil {
			return nil, fmt.Errorf("console: template %s: %w", base, err)
		}
		out[base] = t
	}
	return out, nil
}

// render writes page with data, in the layout, with status.
func (c *Console) render(v *visit, status int, page, title string, data any, errs map[string]string) {
	t, ok := c.pages[page]
	if !ok {
		c.deps.Log.Error("console: no template", "page", page)
		http.Error(v.w, "internal error", http.StatusInternalServerError)
		return
	}
	vw := view{visit: v, c: c, Title: title, Nav: c.nav(v), Data: data, Errors: errs, Status: status}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", vw); err != nil {
		c.deps.Log.Error("console: render", "page", page, "err", err)
		http.Error(v.w, "internal error", http.StatusInternalServerError)
		return
	}
	v.w.Header().Set("Content-Type", "text/html; charset=utf-8")
	v.w.WriteHeader(status)
	_, _ = v.w.Write(buf.Bytes())
}

// fail answers an error from an API call or the console itself: the API's
// 403 becomes the 403 page, 404 the 404 page, 401 (the principal was
// disabled or its role changed) ends the session.
func (c *Console) fail(v *visit, err error) {
	var ae *APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case http.StatusUnauthorized:
			c.endSession(v)
			http.Redirect(v.w, v.r, "/console/sign-in", http.StatusSeeOther)
			return
		case http.StatusForbidden:
			c.render(v, http.StatusForbidden, "error", "error.forbidden.title", errorPage{Heading: "error.forbidden.title", Message: "error.forbidden.body", Detail: ae.Message}, nil)
			return
		case http.StatusNotFound:
			c.notFound(v)
			return
		case http.StatusTooManyRequests, http.StatusServiceUnavailable:
			c.render(v, ae.Status, "error", "error.unavailable.title", errorPage{Heading: "error.unavailable.title", Message: "error.unavailable.body", Detail: ae.Message}, nil)
			return
		}
		if ae.Status < 500 {
			c.render(v, ae.Status, "error", "error.invalid.title", errorPage{Heading: "error.invalid.title", Message: "error.invalid.body", Detail: ae.Message}, nil)
			return
		}
	}
	c.deps.Log.Error("console: page failed", "path", v.r.URL.Path, "request_id", v.RequestID, "err", err)
	c.render(v, http.StatusInternalServerError, "error", "error.internal.title", errorPage{Heading: "error.internal.title", Message: "error.internal.body"}, nil)
}

type errorPage struct {
	Heading, Message, Detail string
}

func (c *Console) notFound(v *visit) {
	c.render(v, http.StatusNotFound, "error", "error.notfound.title", errorPage{Heading: "error.notfound.title", Message: "error.notfound.body"}, nil)
}

func (c *Console) forbidden(v *visit) {
	c.render(v, http.StatusForbidden, "error", "error.forbidden.title", errorPage{Heading: "error.forbidden.title", Message: "error.forbidden.body"}, nil)
}

// nav lists the pages of the visitor's role. It only decides which links
// are shown: whether a page opens is the API's decision.
func (c *Console) nav(v *visit) []navItem {
	var out []navItem
	if v.SignedIn() {
		// The page holding the path, the most specific one when pages nest
		// (/console/audit and /console/audit/verify).
		active := -1
		for i, p := range rolePages[v.Principal.Role] {
			if (v.r.URL.Path == p.Path || strings.HasPrefix(v.r.URL.Path, p.Path+"/")) && (active < 0 || len(p.Path) > len(out[active].Path)) {
				active = i
			}
			out = append(out, navItem{Path: p.Path, Title: p.Title})
		}
		if active >= 0 {
			out[active].Active = true
		}
	}
	out = append(out, navItem{Path: "/docs", Title: "nav.docs", Active: v.r.URL.Path == "/docs"})
	return out
}

// rolePages are each role's pages, the first being its home.
var rolePages = map[identity.Role][]navItem{
	identity.RoleOfficer:      {{Path: "/console/lookup", Title: "nav.lookup"}, {Path: "/console/cases", Title: "nav.cases"}, {Path: "/console/objections", Title: "nav.objections"}},
	identity.RoleCitizen:      {{Path: "/console/my-data", Title: "nav.mydata"}, {Path: "/console/cases", Title: "nav.mycases"}},
	identity.RoleReviewer:     {{Path: "/console/audit", Title: "nav.audit"}, {Path: "/console/anomalies", Title: "nav.anomalies"}, {Path: "/console/audit/verify", Title: "nav.verify"}, {Path: "/console/federation", Title: "nav.federation"}},
	identity.RoleDeptAdmin:    {{Path: "/console/share-requests", Title: "nav.sharerequests"}, {Path: "/console/access", Title: "nav.access"}, {Path: "/console/resources", Title: "nav.resources"}, {Path: "/console/exchange", Title: "nav.exchange"}, {Path: "/console/cases", Title: "nav.cases"}, {Path: "/console/objections", Title: "nav.objections"}, {Path: "/console/supervision/freshness", Title: "nav.freshness"}, {Path: "/console/supervision/reports", Title: "nav.assessment"}, {Path: "/console/federation", Title: "nav.federation"}, {Path: "/console/principals", Title: "nav.principals"}},
	identity.RoleCatalogAdmin: {{Path: "/console/resources", Title: "nav.resources"}, {Path: "/console/departments", Title: "nav.departments"}, {Path: "/console/federation", Title: "nav.federation"}, {Path: "/console/share-requests", Title: "nav.sharerequests"}, {Path: "/console/reuse", Title: "nav.reuse"}, {Path: "/console/cases", Title: "nav.cases"}, {Path: "/console/objections", Title: "nav.overdueobjections"}, {Path: "/console/supervision/freshness", Title: "nav.freshness"}, {Path: "/console/supervision/reports", Title: "nav.assessment"}, {Path: "/console/principals", Title: "nav.principals"}},
	identity.RoleSystem:       {{Path: "/console/access", Title: "nav.access"}},
}

// Here is the current path (and query), for forms that come back to it.
func (v *visit) Here() string {
	if v.r.URL.RawQuery != "" && v.r.Method == http.MethodGet {
		return v.r.URL.Path + "?" + v.r.URL.RawQuery
	}
	return v.r.URL.Path
}

// MaskApplicant shows an ID number or credit code with its middle hidden,
// as receipts print it.
func (v view) MaskApplicant(s string) string {
	r := []rune(s)
	if len(r) <= 8 {
		return s
	}
	return string(r[:4]) + strings.Repeat("*", len(r)-8) + string(r[len(r)-4:])
}

// Reason shows an API reason ("code: sentence") in the visit's language
// when the catalog knows the code, and as the API gave it otherwise.
func (v view) Reason(s string) string {
	code, _, _ := strings.Cut(s, ":")
	if k := "reason." + strings.TrimSpace(code); v.c.msgs.Has(v.Lang, k) {
		return v.T(k)
	}
	return s
}

// seeOther answers a successful form with a redirect to the page that shows
// its result (post/redirect/get: reloading that page repeats nothing),
// carrying the catalog key of the confirmation to show.
func (c *Console) seeOther(v *visit, path, done string) {
	http.Redirect(v.w, v.r, path+"?done="+url.QueryEscape(done), http.StatusSeeOther)
}

// doneOf is the confirmation a redirect asked for: only a catalog key of a
// confirmation ("….done.…") is shown.
func (c *Console) doneOf(v *visit) string {
	d := v.r.URL.Query().Get("done")
	if strings.Contains(d, ".done.") && c.msgs.Has(Languages[0], d) {
		return d
	}
	return ""
}
