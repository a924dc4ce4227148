// Package exchangeapi is the HTTP face of the exchange: publishing record
// batches and deletions, reading a subject's current record and history
// through the sharing Gate, the exchange status with the library's and the
// Kafka ingress's lag, and subscriptions with cursor pull. Handlers bind,
// call the domain packages (exchange, exchange/library, exchange/ingress,
// exchange/subscription) and annotate the call's audit event; they hold no
// rules of their own.
package exchangeapi

import (
	"context"
	_ "embed"
	"encoding/json"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/catalog"
	"yiku/exchange"
	"yiku/exchange/ingress"
	"yiku/exchange/library"
	"yiku/exchange/subscription"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
	"yiku/objection"
	"yiku/policies/sharing"
)

//go:embed openapi.json
var openapi []byte

// Lagger reports the library's lag per resource (library.Sink).
type Lagger interface {
	Lag(ctx context.Context) ([]library.ResourceLag, error)
}

// IngressLagger reports the Kafka ingress's lag per department
// (ingress.LagMeter).
type IngressLagger interface {
	Lag(ctx context.Context, departments []string) ([]ingress.DepartmentLag, error)
	LagAll(ctx context.Context) ([]ingress.DepartmentLag, error)
}

// API is the exchange module.
type API struct {
	pub   *exchange.Publisher
	lib   *library.Store
	lag   Lagger
	inlag IngressLagger
	dir   catalog.Directory
	gate  sharing.Gate
	subs  *subscription.Service
	// Objections flags records under open objection (nil: no flags).
	Objections objection.Flags
}

// New builds the module.
func New(pub *exchange.Publisher, lib *library.Store, lag Lagger, inlag IngressLagger, dir catalog.Directory, gate sharing.Gate, subs *subscription.Service) *API {
	return &API{pub: pub, lib: lib, lag: lag, inlag: inlag, dir: dir, gate: gate, subs: subs}
}

// OpenAPI returns the module's OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// Routes registers the exchange routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.POST("/resources/:resource/records", a.publish)
	api.GET("/resources/:resource/records/:subject", a.read)
	api.DELETE("/resources/:resource/records/:subject", a.remove)
	api.GET("/exchange/status", a.status)
	api.POST("/subscriptions", a.subscribe)
	api.GET("/subscriptions", a.listSubscriptions)
	api.GET("/subscriptions/:id", a.getSubscription)
	api.DELETE("/subscriptions/:id", a.cancelSubscription)
	api.GET("/subscriptions/:id/records", a.pull)
	api.POST("/subscriptions/:id/ack", a.ack)
	api.POST("/subscriptions/:id/webhook/resume", a.resumeWebhook)
}

func (a *API) publish(c *gin.Context) {
	p := httpapi.MustPrincipal(c)
	if err := httpapi.RequireJSON(c); err != nil {
		httpapi.Fail(c, err)
		return
	}
	mt, _, _ := mime.ParseMediaType(c.GetHeader("Content-Type"))
	version, err := intQuery(c, "version", 0)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	atomic, err := boolQuery(c, "atomic")
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	body, err := httpapi.ReadBody(c)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action = "record.publish"
	note.Resource = c.Param("resource")
	res, err := a.pub.Publish(c.Request.Context(), exchange.PublishRequest{
		Principal: p, Resource: c.Param("resource"), Version: version, Atomic: atomic,
		IdempotencyKey: c.GetHeader("Idempotency-Key"), Format: mt, Body: body, TraceID: httpapi.TraceID(c),
	})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Resource = res.Resource
	if !res.Replayed {
		note.Count = res.Accepted
		// The assessment's publish rejection rate reads the refused count here.
		note.Reason = "accepted=" + strconv.Itoa(res.Accepted) + " rejected=" + strconv.Itoa(res.Rejected)
	}
	c.JSON(http.StatusOK, res)
}

func (a *API) remove(c *gin.Context) {
	note := httpapi.Note(c)
	note.Action = "record.delete"
	note.Resource = c.Param("resource")
	note.Subjects = []string{c.Param("subject")}
	note.Reason = c.Query("reason")
	res, err := a.pub.Delete(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("resource"), c.Param("subject"), c.Query("reason"), httpapi.TraceID(c))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Resource, note.Count = res.Resource, 1
	c.JSON(http.StatusOK, res)
}

// RecordView is one record version as a reader receives it.
type RecordView struct {
	Resource      string          `json:"resource"`
	RecordID      string          `json:"record_id"`
	Version       int             `json:"version"`
	SchemaVersion int             `json:"schema_version"`
	Publisher     string          `json:"publisher"`
	Deleted       bool            `json:"deleted,omitempty"`
	DeleteReason  string          `json:"delete_reason,omitempty"`
	Record        json.RawMessage `json:"record"`
	PublishedAt   time.Time       `json:"published_at"`
	AppliedAt     time.Time       `json:"applied_at"`
	// UnderObjection names the open objections disputing this version.
	UnderObjection *objection.Flag `json:"under_objection,omitempty"`
}

// ReadResult answers a record read.
type ReadResult struct {
	Current  *RecordView  `json:"current,omitempty"`
	Versions []RecordView `json:"versions,omitempty"`
	Fields   []string     `json:"fields"`
	Basis    string       `json:"basis"`
}

func (a *API) read(c *gin.Context) {
	ctx := c.Request.Context()
	p := httpapi.MustPrincipal(c)
	note := httpapi.Note(c)
	note.Action = "record.read"
	note.Resource = c.Param("resource")
	note.Subjects = []string{c.Param("subject")}
	note.Purpose, note.CaseNumber = c.Query("purpose"), c.Query("case_number")
	history, err := boolQuery(c, "history")
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	res, err := a.dir.Resource(ctx, c.Param("resource"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	id := exchange.ResourceID(res, c.Param("resource"))
	note.Resource = id
	dec, err := a.gate.Decide(ctx, sharing.ReadRequest{Principal: p, Resource: res, Action: sharing.ActionRead, Purpose: note.Purpose, CaseNumber: note.CaseNumber})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if !dec.Allowed || dec.Plan == nil {
		httpapi.Fail(c, fault.Forbiddenf("not_shared", "no right to read %s: %s", id, dec.Basis))
		return
	}
	var rows []library.Row
	if history {
		rows, err = a.lib.History(ctx, id, c.Param("subject"))
	} else {
		var r library.Row
		r, err = a.lib.Current(ctx, id, c.Param("subject"))
		rows = []library.Row{r}
	}
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	var open map[objection.Key][]objection.Open
	if a.Objections != nil {
		if open, err = a.Objections.OpenFor(ctx, []objection.Key{{Resource: id, Subject: c.Param("subject")}}); err != nil {
			httpapi.Fail(c, err)
			return
		}
	}
	out := ReadResult{Basis: dec.Basis, Fields: []string{}}
	for _, f := range dec.Plan.Fields() {
		out.Fields = append(out.Fields, f.Name)
	}
	for _, r := range rows {
		src, err := a.lib.Plain(ctx, r)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		if r.Deleted {
			src, _ = json.Marshal(map[string]string{res.SubjectKey: r.SubjectKey})
		}
		masked, err := dec.Plan.ApplyJSON(src)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		v := RecordView{Resource: id, RecordID: dec.RecordID(r.RecordID), Version: r.Version, SchemaVersion: r.SchemaVersion, Publisher: r.Publisher,
			Deleted: r.Deleted, DeleteReason: r.DeleteReason, Record: masked, PublishedAt: r.PublishedAt, AppliedAt: r.AppliedAt,
			UnderObjection: objection.FlagOf(open[objection.Key{Resource: r.ResourceID, Subject: r.SubjectKey}], r.Version)}
		if history {
			out.Versions = append(out.Versions, v)
		} else {
			out.Current = &v
		}
	}
	note.Fields, note.Count = out.Fields, len(rows)
	c.JSON(http.StatusOK, out)
}

// Status is the exchange's state: the library's lag per resource and the
// Kafka ingress's lag per department.
type Status struct {
	Resources []ResourceStatus `json:"resources"`
	// TotalLag is the library's lag alone, the sum of the resources' lags.
	// Records still in the ingress are not in it: they join it once the
	// ingress routes them to their resource topics.
	TotalLag int64 `json:"total_lag"`
	// Ingress is the ingress lag of the departments the caller sees.
	Ingress []ingress.DepartmentLag `json:"ingress"`
	// IngressLag is the sum of the ingress's lags.
	IngressLag int64 `json:"ingress_lag"`
}

// ResourceStatus is one resource's library state.
type ResourceStatus struct {
	library.ResourceLag
	Subjects int64 `json:"subjects"`
	Versions int64 `json:"versions"`
}

func (a *API) status(c *gin.Context) {
	ctx := c.Request.Context()
	p := httpapi.MustPrincipal(c)
	// A poller waiting on the library alone (the load tool) asks for it
	// alone: the ingress costs a department query and four Kafka requests.
	libraryOnly, err := boolQuery(c, "library_only")
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	// The ingress first: records it had routed when measured are on their
	// resource topics before the library's lag is measured, so an answer
	// with both lags 0 means everything sent before it is applied or a
	// dead letter.
	var in []ingress.DepartmentLag
	if !libraryOnly {
		if in, err = a.ingressLag(ctx, p); err != nil {
			httpapi.Fail(c, fault.Wrap(err, fault.Unavailable, "status_unavailable", "the exchange status could not be read"))
			return
		}
	}
	lags, err := a.lag.Lag(ctx)
	if err != nil {
		httpapi.Fail(c, fault.Wrap(err, fault.Unavailable, "status_unavailable", "the exchange status could not be read"))
		return
	}
	out := Status{Resources: []ResourceStatus{}, Ingress: in}
	if out.Ingress == nil {
		out.Ingress = []ingress.DepartmentLag{}
	}
	for _, l := range out.Ingress {
		out.IngressLag += l.Lag
	}
	for _, l := range lags {
		visible, err := a.statusVisible(ctx, p, l.Resource)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		if !visible {
			continue
		}
		cur, vers, err := a.lib.Counts(ctx, l.Resource)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		out.Resources = append(out.Resources, ResourceStatus{ResourceLag: l, Subjects: cur, Versions: vers})
		out.TotalLag += l.Lag
	}
	c.JSON(http.StatusOK, out)
}

// ingressLag measures the ingress lag p may see. What a department sends
// to the hub, and when, is its own business: a department sees its own
// ingress alone; the e-government office and reviewers, who see every
// resource, see every department's.
func (a *API) ingressLag(ctx context.Context, p identity.Principal) ([]ingress.DepartmentLag, error) {
	switch {
	case a.inlag == nil:
		return []ingress.DepartmentLag{}, nil
	case p.Role == identity.RoleCatalogAdmin || p.Role == identity.RoleReviewer:
		return a.inlag.LagAll(ctx)
	case (p.Role == identity.RoleSystem || p.Role == identity.RoleDeptAdmin) && p.DepartmentCode != "":
		return a.inlag.Lag(ctx, []string{p.DepartmentCode})
	}
	return []ingress.DepartmentLag{}, nil
}

// readableLister is what the sharing gate answers to "what may this
// department read?" (sharing.Gatekeeper.Readable).
type readableLister interface {
	Readable(ctx context.Context, dept string, resources []catalog.Resource) ([]sharing.Access, error)
}

// statusVisible says whether p sees a resource's row in the exchange
// status. Even counts say something about a resource (how many people a
// register holds), so a department sees exactly what the sharing gate lets
// it read — its own resources, unconditional ones and those it holds a
// grant for; the e-government office and reviewers see all of them.
func (a *API) statusVisible(ctx context.Context, p identity.Principal, resource string) (bool, error) {
	if p.Role == identity.RoleCatalogAdmin || p.Role == identity.RoleReviewer {
		return true, nil
	}
	res, err := a.dir.Resource(ctx, resource)
	if fault.KindOf(err) == fault.NotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if res.ProviderCode == p.DepartmentCode || res.ShareType == catalog.ShareUnconditional {
		return true, nil
	}
	lister, ok := a.gate.(readableLister)
	if !ok {
		return false, nil
	}
	access, err := lister.Readable(ctx, p.DepartmentCode, []catalog.Resource{res})
	if err != nil {
		return false, err
	}
	return len(access) > 0, nil
}

func (a *API) subscribe(c *gin.Context) {
	var req subscription.CreateRequest
	if err := httpapi.BindJSON(c, &req); err != nil {
		httpapi.Fail(c, err)
		return
	}
	note := httpapi.Note(c)
	note.Action, note.Resource, note.Purpose, note.CaseNumber = "subscription.create", req.Resource, req.Purpose, req.CaseNumber
	sub, err := a.subs.Create(c.Request.Context(), httpapi.MustPrincipal(c), req)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Resource = sub.ResourceID
	c.JSON(http.StatusCreated, sub)
}

func (a *API) listSubscriptions(c *gin.Context) {
	subs, err := a.subs.List(c.Request.Context(), httpapi.MustPrincipal(c))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"subscriptions": subs})
}

// noteSubscription loads the caller's subscription and names its
// resource, purpose and case number in the call's audit note before
// anything is decided, so that a refusal is audited with them too. It
// answers the call itself when the subscription is not the caller's.
func (a *API) noteSubscription(c *gin.Context, action string) (subscription.Subscription, bool) {
	note := httpapi.Note(c)
	note.Action = action
	sub, err := a.subs.Get(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return subscription.Subscription{}, false
	}
	note.Resource, note.Purpose, note.CaseNumber = sub.ResourceID, sub.Purpose, sub.CaseNumber
	return sub, true
}

func (a *API) getSubscription(c *gin.Context) {
	if sub, ok := a.noteSubscription(c, "subscription.read"); ok {
		c.JSON(http.StatusOK, sub)
	}
}

func (a *API) cancelSubscription(c *gin.Context) {
	if _, ok := a.noteSubscription(c, "subscription.cancel"); !ok {
		return
	}
	sub, err := a.subs.Cancel(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sub)
}

func (a *API) pull(c *gin.Context) {
	limit, err := intQuery(c, "limit", 100)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if limit < 1 || limit > 1000 {
		httpapi.Fail(c, fault.Invalidf("invalid_query", "limit must be from 1 to 1000").WithDetails(fault.Detail{Field: "limit", Reason: "out of range"}))
		return
	}
	if _, ok := a.noteSubscription(c, "record.deliver.pull"); !ok {
		return
	}
	note := httpapi.Note(c)
	page, err := a.subs.Pull(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), c.Query("cursor"), limit)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	note.Subjects, note.Fields, note.Count = page.Subjects, page.Fields, len(page.Records)
	c.JSON(http.StatusOK, page)
}

type ackBody struct {
	Cursor string `json:"cursor"`
}

func (a *API) ack(c *gin.Context) {
	if _, ok := a.noteSubscription(c, "subscription.ack"); !ok {
		return
	}
	var body ackBody
	if err := httpapi.BindJSON(c, &body); err != nil {
		httpapi.Fail(c, err)
		return
	}
	sub, err := a.subs.Ack(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"), body.Cursor)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sub)
}

func (a *API) resumeWebhook(c *gin.Context) {
	if _, ok := a.noteSubscription(c, "subscription.webhook.resume"); !ok {
		return
	}
	sub, err := a.subs.ResumePush(c.Request.Context(), httpapi.MustPrincipal(c), c.Param("id"))
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, sub)
}

func intQuery(c *gin.Context, name string, def int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 0 {
		return 0, fault.Invalidf("invalid_query", "%s must be a whole number", name).WithDetails(fault.Detail{Field: name, Reason: "not a whole number"})
	}
	return n, nil
}

func boolQuery(c *gin.Context, name string) (bool, error) {
	s := c.Query(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, fault.Invalidf("invalid_query", "%s must be true or false", name).WithDetails(fault.Detail{Field: name, Reason: "not a boolean"})
	}
	return b, nil
}
