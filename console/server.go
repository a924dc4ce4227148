package console

import (
	"context"
	"crypto/subtle"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strings"

	"yiku/audit"
	"yiku/identity"
)

// csrfCookie holds the pre-session CSRF token that the sign-in and language
// forms echo before there is a session.
const csrfCookie = "yiku_csrf"

// Audit actions of the console's own events. Everything else a page does is
// an /api/v1 call audited by the API itself.
const (
	ActionSignIn  = "console.sign_in"
	ActionSignOut = "console.sign_out"
)

// routes registers every console route. A page is a handler taking the
// visit: see docs/console.md, "Adding a page".
func (c *Console) routes() {
	m := c.mux
	m.Handle("GET /console/assets/", c.assets)
	m.HandleFunc("GET /console/{$}", c.anon(c.home))
	m.HandleFunc("GET /console/sign-in", c.anon(c.signInPage))
	m.HandleFunc("POST /console/sign-in", c.anon(c.signIn))
	m.HandleFunc("POST /console/sign-out", c.anon(c.signOut))
	m.HandleFunc("POST /console/lang", c.anon(c.setLang))
	m.HandleFunc("GET /docs", c.anon(c.docs))

	m.HandleFunc("GET /console/lookup", c.signedIn(c.lookupPage))
	m.HandleFunc("POST /console/lookup", c.signedIn(c.lookupSubmit))
	m.HandleFunc("GET /console/my-data", c.signedIn(c.myData))
	m.HandleFunc("GET /console/cases", c.signedIn(c.cases))
	m.HandleFunc("GET /console/cases/{number}", c.signedIn(c.caseDetail))
	m.HandleFunc("POST /console/cases/{number}/state", c.signedIn(c.caseMove))
	m.HandleFunc("POST /console/materials", c.signedInStream(c.materialUpload))
	m.HandleFunc("GET /console/audit", c.signedIn(c.auditSearch))
	m.HandleFunc("GET /console/audit/export", c.signedIn(c.auditExport))
	m.HandleFunc("GET /console/audit/events/{id}", c.signedIn(c.auditEvent))
	m.HandleFunc("GET /console/audit/verify", c.signedIn(c.auditVerifyForm))
	m.HandleFunc("POST /console/audit/verify", c.signedIn(c.auditVerifyStart))
	m.HandleFunc("GET /console/audit/verify/{id}", c.signedIn(c.auditVerifyRun))
	m.HandleFunc("GET /console/anomalies", c.signedIn(c.anomalies))
	m.HandleFunc("GET /console/share-requests", c.signedIn(c.shareRequests))
	m.HandleFunc("GET /console/share-requests/{id}", c.signedIn(c.shareRequest))
	m.HandleFunc("POST /console/share-requests/{id}/approve", c.signedIn(c.shareApprove))
	m.HandleFunc("POST /console/share-requests/{id}/reject", c.signedIn(c.shareReject))
	m.HandleFunc("POST /console/grants/{id}/revoke", c.signedIn(c.grantRevoke))
	m.HandleFunc("GET /console/access", c.signedIn(c.access))
	m.HandleFunc("GET /console/resources", c.signedIn(c.resources))
	m.HandleFunc("GET /console/resources/new", c.signedIn(c.resourceNew))
	m.HandleFunc("POST /console/resources", c.signedIn(c.resourceSave))
	m.HandleFunc("GET /console/resources/{id}/edit", c.signedIn(c.resourceEdit))
	m.HandleFunc("POST /console/resources/{id}/edit", c.signedIn(c.resourceSave))
	m.HandleFunc("GET /console/resources/{id}", c.signedIn(c.resourceDetail))
	m.HandleFunc("POST /console/resources/{id}/compatibility", c.signedIn(c.resourceCompat))
	m.HandleFunc("POST /console/resources/{id}/lifecycle", c.signedIn(c.resourceLifecycle))
	m.HandleFunc("GET /console/principals", c.signedIn(c.principals))
	m.HandleFunc("POST /console/principals", c.signedIn(c.principalCreate))
	m.HandleFunc("GET /console/principals/{id}", c.signedIn(c.principalDetail))
	m.HandleFunc("POST /console/principals/{id}/disable", c.signedIn(c.principalDisable))
	m.HandleFunc("POST /console/principals/{id}/api-keys", c.signedIn(c.keyIssue))
	m.HandleFunc("POST /console/principals/{id}/api-keys/{key}/revoke", c.signedIn(c.keyRevoke))
	m.HandleFunc("POST /console/principals/{id}/api-keys/{key}/expire", c.signedIn(c.keyExpire))
	m.HandleFunc("GET /console/exchange", c.signedIn(c.exchange))
	m.HandleFunc("POST /console/exchange/dead-letters/{id}/replay", c.signedIn(c.replay))
	m.HandleFunc("GET /console/departments", c.signedIn(c.departments))
	m.HandleFunc("GET /console/reuse", c.signedIn(c.reuse))
	m.HandleFunc("GET /console/objections", c.signedIn(c.objections))
	m.HandleFunc("POST /console/objections", c.signedIn(c.objectionRaise))
	m.HandleFunc("GET /console/objections/{id}", c.signedIn(c.objection))
	m.HandleFunc("POST /console/objections/{id}/reject", c.signedIn(c.objectionReject))
	m.HandleFunc("POST /console/objections/{id}/withdraw", c.signedIn(c.objectionWithdraw))
	m.HandleFunc("GET /console/federation", c.signedIn(c.federation))
	m.HandleFunc("POST /console/federation/peerings/{step}", c.signedIn(c.federationStep))
	m.HandleFunc("POST /console/federation/peerings/{id}/{step}", c.signedIn(c.federationStep))
	m.HandleFunc("POST /console/federation/upward/{resource}", c.signedIn(c.federationMark))
	m.HandleFunc("GET /console/federation/share-requests/new", c.signedIn(c.federationRequest))
	m.HandleFunc("POST /console/federation/share-requests", c.signedIn(c.federationRequestFile))
	m.HandleFunc("GET /console/supervision/freshness", c.signedIn(c.freshness))
	m.HandleFunc("GET /console/supervision/reports", c.signedIn(c.assessment))
	m.HandleFunc("GET /console/supervision/reports/export", c.signedIn(c.assessmentExport))

	m.HandleFunc("/console/", c.anon(func(v *visit) { c.notFound(v) }))
}

// newVisit reads the visitor's language, session and CSRF token.
func (c *Console) newVisit(w http.ResponseWriter, r *http.Request) (*visit, error) {
	v := &visit{w: w, r: r, Lang: langOf(r), RequestID: w.Header().Get("X-Request-ID"), msgs: c.msgs}
	if ck, err := r.Cookie(sessionCookie); err == nil {
		row, err := c.sessions.get(r.Context(), ck.Value, c.deps.Now(), c.deps.IdleTimeout)
		switch {
		case err == nil:
			p, perr := c.deps.Auth.Store().Principal(r.Context(), row.PrincipalID)
			if perr == nil && p.DisabledAt == nil {
				v.session, v.sessionID, v.Principal, v.CSRF = &row, ck.Value, p, row.CSRFToken
				return v, nil
			}
			// The principal is gone or disabled: the session ends with it.
			_ = c.sessions.delete(r.Context(), ck.Value)
			c.clearCookie(w, sessionCookie)
		case errors.Is(err, errNoSession):
			c.clearCookie(w, sessionCookie)
		default:
			return v, err
		}
	}
	if ck, err := r.Cookie(csrfCookie); err == nil && len(ck.Value) == 43 {
		v.CSRF = ck.Value
	} else {
		v.CSRF = randomToken()
		c.setCookie(w, csrfCookie, v.CSRF, 0)
	}
	return v, nil
}

// anon wraps a handler any visitor may reach; POSTs must carry the CSRF token.
func (c *Console) anon(h func(v *visit)) http.HandlerFunc {
	return c.visitor(h, true)
}

// visitor wraps a handler with the visit; with checkCSRF, a POST's form
// must carry the CSRF token (a streamed upload checks its own first part
// instead: parsing the form would read the whole body).
func (c *Console) visitor(h func(v *visit), checkCSRF bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, err := c.newVisit(w, r)
		if err != nil {
			c.fail(v, err)
			return
		}
		if checkCSRF && r.Method == http.MethodPost && !c.csrfOK(v) {
			c.csrfFailed(v)
			return
		}
		h(v)
	}
}

// signedIn wraps a page that needs a session: without one the visitor is
// sent to sign in (and back afterwards); POSTs must carry the CSRF token.
func (c *Console) signedIn(h func(v *visit)) http.HandlerFunc {
	return c.session(h, true)
}

// signedInStream is signedIn for a multipart POST whose handler checks
// the CSRF token in the body's first part (streamUpload).
func (c *Console) signedInStream(h func(v *visit)) http.HandlerFunc {
	return c.session(h, false)
}

func (c *Console) session(h func(v *visit), checkCSRF bool) http.HandlerFunc {
	return c.visitor(func(v *visit) {
		if !v.SignedIn() {
			next := v.r.URL.Path
			if v.r.Method == http.MethodGet && v.r.URL.RawQuery != "" {
				next += "?" + v.r.URL.RawQuery
			}
			http.Redirect(v.w, v.r, "/console/sign-in?next="+url.QueryEscape(next), http.StatusSeeOther)
			return
		}
		h(v)
	}, checkCSRF)
}

// csrfOK checks a state-changing request: the form's token must equal the
// visit's (constant time), and a browser-sent Origin must be the hub's.
func (c *Console) csrfOK(v *visit) bool {
	if !originOK(v) {
		return false
	}
	if err := v.r.ParseForm(); err != nil {
		return false
	}
	return tokenOK(v, v.r.PostFormValue("csrf"))
}

// originOK: a browser-sent Origin must be the hub's.
func originOK(v *visit) bool {
	if o := v.r.Header.Get("Origin"); o != "" {
		u, err := url.Parse(o)
		if err != nil || u.Host != v.r.Host {
			return false
		}
	}
	return true
}

// tokenOK compares a form's CSRF token with the visit's in constant time.
func tokenOK(v *visit, got string) bool {
	return got != "" && v.CSRF != "" && subtle.ConstantTimeCompare([]byte(got), []byte(v.CSRF)) == 1
}

func (c *Console) csrfFailed(v *visit) {
	c.render(v, http.StatusForbidden, "error", "error.csrf.title", errorPage{Heading: "error.csrf.title", Message: "error.csrf.body"}, nil)
}

func (c *Console) setCookie(w http.ResponseWriter, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: c.deps.Secure, SameSite: http.SameSiteStrictMode})
}

func (c *Console) clearCookie(w http.ResponseWriter, name string) { c.setCookie(w, name, "", -1) }

func (c *Console) endSession(v *visit) {
	if v.sessionID != "" {
		_ = c.sessions.delete(context.WithoutCancel(v.r.Context()), v.sessionID)
	}
	c.clearCookie(v.w, sessionCookie)
	v.session, v.sessionID = nil, ""
}

// home sends the visitor to their role's first page, or to sign in.
func (c *Console) home(v *visit) {
	if !v.SignedIn() {
		http.Redirect(v.w, v.r, "/console/sign-in", http.StatusSeeOther)
		return
	}
	http.Redirect(v.w, v.r, homeOf(v.Principal.Role), http.StatusSeeOther)
}

func homeOf(r identity.Role) string {
	if ps := rolePages[r]; len(ps) > 0 {
		return ps[0].Path
	}
	return "/docs"
}

// localNext accepts only a path on the console as a place to return to.
func localNext(s string) string {
	if (strings.HasPrefix(s, "/console/") || s == "/docs") && !strings.HasPrefix(s, "//") && !strings.ContainsAny(s, "\\\r\n") {
		return s
	}
	return ""
}

type signInData struct {
	Next    string
	Message string
}

func (c *Console) signInPage(v *visit) {
	if v.SignedIn() {
		c.home(v)
		return
	}
	c.render(v, http.StatusOK, "signin", "signin.title", signInData{Next: localNext(v.r.URL.Query().Get("next"))}, nil)
}

// maxCredential bounds what a sign-in form may carry (tokens are ~400 bytes).
const maxCredential = 4096

// signIn verifies the pasted API key or token with the hub's authenticator,
// starts a session and records the attempt in the audit trail. Failures
// are limited per client address.
func (c *Console) signIn(v *visit) {
	addr := clientAddr(v.r)
	next := localNext(v.r.PostFormValue("next"))
	ev := audit.Event{RequestID: v.RequestID, Action: ActionSignIn, ClientAddr: addr}
	if c.limiter.blocked(addr) {
		ev.Outcome, ev.Reason = audit.Denied, "rate_limited"
		if err := c.deps.Audit.Record(v.r.Context(), ev); err != nil {
			c.fail(v, err)
			return
		}
		v.w.Header().Set("Retry-After", "60")
		c.render(v, http.StatusTooManyRequests, "signin", "signin.title", signInData{Next: next, Message: "signin.ratelimited"}, nil)
		return
	}
	cred := strings.TrimSpace(v.r.PostFormValue("credential"))
	cred = strings.TrimPrefix(cred, "Bearer ")
	var (
		p   identity.Principal
		err error
	)
	switch {
	case cred == "":
		err = errors.New("empty credential")
	case len(cred) > maxCredential:
		err = errors.New("credential too long")
	default:
		p, err = c.deps.Auth.Authenticate(v.r.Context(), cred)
	}
	if err != nil {
		c.limiter.failed(addr)
		ev.Outcome, ev.Reason = audit.Denied, "invalid_credential"
		if rerr := c.deps.Audit.Record(v.r.Context(), ev); rerr != nil {
			c.fail(v, rerr)
			return
		}
		errs := map[string]string{"credential": v.T("signin.invalid")}
		if cred == "" {
			errs["credential"] = v.T("form.required")
		}
		c.render(v, http.StatusUnauthorized, "signin", "signin.title", signInData{Next: next}, errs)
		return
	}
	ev.PrincipalID, ev.PrincipalName, ev.Department, ev.Role = p.ID, p.Name, p.DepartmentCode, string(p.Role)
	ev.Outcome = audit.Allowed
	// The event is durable before the session exists.
	if err := c.deps.Audit.Record(v.r.Context(), ev); err != nil {
		c.fail(v, err)
		return
	}
	if v.sessionID != "" {
		_ = c.sessions.delete(v.r.Context(), v.sessionID)
	}
	id, _, err := c.sessions.create(v.r.Context(), p.ID, addr, c.deps.Now(), c.deps.MaxAge)
	if err != nil {
		c.fail(v, err)
		return
	}
	c.setCookie(v.w, sessionCookie, id, int(c.deps.MaxAge.Seconds()))
	if next == "" {
		next = homeOf(p.Role)
	}
	http.Redirect(v.w, v.r, next, http.StatusSeeOther)
}

func (c *Console) signOut(v *visit) {
	if v.SignedIn() {
		p := v.Principal
		ev := audit.Event{RequestID: v.RequestID, Action: ActionSignOut, ClientAddr: clientAddr(v.r), Outcome: audit.Allowed,
			PrincipalID: p.ID, PrincipalName: p.Name, Department: p.DepartmentCode, Role: string(p.Role)}
		if err := c.deps.Audit.Record(v.r.Context(), ev); err != nil {
			c.deps.Log.Error("console: audit sign-out", "err", err)
		}
		c.endSession(v)
	}
	http.Redirect(v.w, v.r, "/console/sign-in", http.StatusSeeOther)
}

func (c *Console) setLang(v *visit) {
	l := v.r.PostFormValue("lang")
	for _, x := range Languages {
		if x == l {
			c.setCookie(v.w, langCookie, l, 365*24*3600)
		}
	}
	back := localNext(v.r.PostFormValue("next"))
	if back == "" {
		back = "/console/"
	}
	http.Redirect(v.w, v.r, back, http.StatusSeeOther)
}

// clientAddr is the visitor's address as the API's audit records it.
func clientAddr(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
		first := strings.TrimSpace(strings.Split(xff, ",")[0])
		if first != "" && first != host {
			return first + " via " + host
		}
	}
	return host
}
