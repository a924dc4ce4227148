// Package auditapi is the audit trail's HTTP API: reviewers' event queries
// and exports (JSON, CSV, NDJSON), anomaly reports, reuse statistics and the
// citizen's view of who accessed their data. Handlers parse, call the store
// and the pure aggregations in packages audit and anomaly, and answer; every
// call is itself recorded by the audit middleware, with the subject a
// reviewer searched for noted (as its keyed hash).
package auditapi

import (
	"context"
	_ "embed"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"yiku/audit"
	"yiku/audit/anomaly"
	"yiku/audit/store"
	"yiku/casefile"
	"yiku/fault"
	"yiku/httpapi"
	"yiku/identity"
	"yiku/schemas"
)

//go:embed openapi.json
var openapi []byte

// Trail is what the API reads (package audit/store).
type Trail interface {
	Query(ctx context.Context, f store.Filter) ([]audit.Entry, error)
	Scan(ctx context.Context, f store.Filter, fn func(audit.Entry) error) error
	Count(ctx context.Context, f store.Filter) (int64, error)
	Event(ctx context.Context, id string) (audit.Entry, *audit.Checkpoint, bool, error)
}

// API serves the audit routes.
type API struct {
	trail Trail
	key   audit.SubjectKey
	// Certificate reports whether a resource holds certificates, for the
	// most-reused-certificates statistic (nil: none counted).
	Certificate func(resource string) bool
	// Provided lists the resources a department provides, so that its
	// reuse statistics count its records supplied to other departments
	// as well as the materials it was supplied (nil: the latter only).
	Provided func(ctx context.Context, department string) ([]string, error)
	// CaseTimes, if set, adds the case records' processing times against
	// each service item's time limit to the reuse statistics.
	CaseTimes func(ctx context.Context, from, to time.Time, department string) ([]casefile.ItemTimes, error)
	// Verifier runs the chain verifications reviewers start (nil: none).
	Verifier *Verifier
	// MaxExport caps one export.
	MaxExport int
	now       func() time.Time
}

// New returns the API.
func New(trail Trail, key audit.SubjectKey) *API {
	return &API{trail: trail, key: key, MaxExport: 100_000, now: time.Now}
}

// Routes registers the audit routes.
func (a *API) Routes(api *gin.RouterGroup) {
	api.GET("/audit/events", a.events)
	api.GET("/audit/events/:id", a.event)
	api.GET("/audit/anomalies", a.anomalies)
	api.POST("/audit/verifications", a.startVerification)
	api.GET("/audit/verifications/:id", a.verification)
	api.GET("/stats/reuse", a.reuse)
	api.GET("/my-data-access", a.myDataAccess)
}

// OpenAPI returns the routes' OpenAPI fragment.
func (a *API) OpenAPI() []byte { return openapi }

// SubjectOf validates an ID number or a credit code typed by a person and
// returns its normal form.
func SubjectOf(s string) (string, error) {
	if key, _, ok := schemas.ParseSubject(s); ok {
		return key, nil
	}
	return "", fault.Invalidf("invalid_subject", "subject must be an 18-digit resident ID number or an 18-character unified social credit code").
		WithDetails(fault.Detail{Field: "subject", Reason: "not a valid ID number or credit code"})
}

func timeParam(c *gin.Context, name string) (time.Time, error) {
	s := c.Query(name)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, time.FixedZone("CST", 8*3600)); err == nil {
		return t, nil
	}
	return time.Time{}, fault.Invalidf("invalid_query", "%s must be an RFC 3339 time or a date (YYYY-MM-DD)", name).
		WithDetails(fault.Detail{Field: name, Reason: "RFC 3339 time or date"})
}

// filterOf reads the reviewer's filters; a subject is hashed before it is
// used or recorded.
func (a *API) filterOf(c *gin.Context) (store.Filter, string, error) {
	var f store.Filter
	var err error
	if f.From, err = timeParam(c, "from"); err != nil {
		return f, "", err
	}
	if f.To, err = timeParam(c, "to"); err != nil {
		return f, "", err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.From.Before(f.To) {
		return f, "", fault.Invalidf("invalid_query", "from must be before to")
	}
	f.Principal, f.Department, f.Resource = c.Query("principal"), c.Query("department"), c.Query("resource")
	f.Action, f.Purpose, f.CaseNumber = c.Query("action"), c.Query("purpose"), c.Query("case_number")
	if o := c.Query("outcome"); o != "" {
		switch audit.Outcome(o) {
		case audit.Allowed, audit.Denied, audit.Failed:
			f.Outcome = o
		default:
			return f, "", fault.Invalidf("invalid_query", "outcome must be allowed, denied or error").WithDetails(fault.Detail{Field: "outcome", Reason: "unknown outcome"})
		}
	}
	subject := ""
	if s := c.Query("subject"); s != "" {
		if subject, err = SubjectOf(s); err != nil {
			return f, "", err
		}
		f.SubjectHash = a.key.Hash(subject)
	}
	return f, subject, nil
}

func (a *API) events(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "audit.query"
	f, subject, err := a.filterOf(c)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if subject != "" {
		n.Subjects = []string{subject}
	}
	n.Purpose = c.Query("reason")
	format := c.DefaultQuery("format", "json")
	switch format {
	case "csv", "ndjson":
		n.Action = "audit.export"
		a.export(c, f, format)
		return
	case "json":
	default:
		httpapi.Fail(c, fault.Invalidf("invalid_query", "format must be json, csv or ndjson").WithDetails(fault.Detail{Field: "format", Reason: "unknown format"}))
		return
	}
	page, err := httpapi.PageOf(c, 100, 1000)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if cur := c.Query("cursor"); cur != "" {
		if c.Query("offset") != "" {
			httpapi.Fail(c, fault.Invalidf("invalid_query", "page with cursor or with offset, not both").
				WithDetails(fault.Detail{Field: "offset", Reason: "not allowed with cursor"}))
			return
		}
		k, err := parseCursor(cur)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		f.After = &k
	}
	total, err := a.trail.Count(c.Request.Context(), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	// One event more than the page tells whether another page follows.
	f.Limit, f.Offset = page.Limit+1, page.Offset
	entries, err := a.trail.Query(c.Request.Context(), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	body := gin.H{"total": total, "limit": page.Limit, "offset": page.Offset}
	if len(entries) > page.Limit {
		entries = entries[:page.Limit]
		body["next_cursor"] = encodeCursor(store.KeyOf(entries[len(entries)-1]))
	}
	out := make([]audit.Event, len(entries))
	for i, e := range entries {
		out[i] = e.Event()
	}
	body["events"] = out
	n.Count = len(out)
	c.JSON(http.StatusOK, body)
}

// Position is an event's place in its hash chain and whether a signed
// checkpoint covers it.
type Position struct {
	Chain    string `json:"chain"`
	Seq      int64  `json:"seq"`
	PrevHash string `json:"prev_hash"`
	Hash     string `json:"hash"`
	// Covered: the chain's latest checkpoint is at or after the event, so
	// the signature vouches for it.
	Covered    bool            `json:"covered"`
	Checkpoint *CheckpointInfo `json:"checkpoint,omitempty"`
}

// CheckpointInfo is the chain's latest signed checkpoint.
type CheckpointInfo struct {
	Seq  int64     `json:"seq"`
	Hash string    `json:"hash"`
	Time time.Time `json:"time"`
}

func (a *API) event(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "audit.event"
	id := c.Param("id")
	n.Purpose = c.Query("reason")
	e, cp, ok, err := a.trail.Event(c.Request.Context(), id)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if !ok {
		httpapi.Fail(c, fault.NotFoundf("event_not_found", "audit event %q not found", id))
		return
	}
	pos := Position{Chain: e.Chain, Seq: e.Seq, PrevHash: hex.EncodeToString(e.PrevHash), Hash: hex.EncodeToString(e.Hash)}
	if cp != nil {
		pos.Covered = cp.Seq >= e.Seq
		pos.Checkpoint = &CheckpointInfo{Seq: cp.Seq, Hash: hex.EncodeToString(cp.Hash), Time: time.UnixMicro(cp.AtMicros).UTC()}
	}
	n.Count = 1
	c.JSON(http.StatusOK, gin.H{"event": e.Event(), "position": pos})
}

var csvHeader = []string{"id", "time", "request_id", "principal_id", "principal_name", "department", "role", "action", "resource",
	"subjects", "fields", "purpose", "case_number", "outcome", "reason", "client_addr", "count"}

func (a *API) export(c *gin.Context, f store.Filter, format string) {
	// The export covers its window up to the moment it starts: events
	// arriving while it streams are left to the next export, so the window
	// cannot grow under it. Scan walks the window by key, so none of the
	// events stored when the export started is repeated or skipped.
	start := a.now()
	if end := start.Truncate(time.Microsecond).Add(time.Microsecond); f.To.IsZero() || f.To.After(end) {
		f.To = end
	}
	total, err := a.trail.Count(c.Request.Context(), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	if total > int64(a.MaxExport) {
		httpapi.Fail(c, fault.New(fault.TooLarge, "export_too_large", "%d events match; narrow the filters to at most %d per export", total, a.MaxExport))
		return
	}
	f.Ascending = true
	f.Limit = a.MaxExport
	name := "audit-events-" + start.UTC().Format("20060102T150405Z") + "." + format
	c.Header("Content-Disposition", `attachment; filename="`+name+`"`)
	rows := 0
	var werr error
	if format == "csv" {
		c.Header("Content-Type", "text/csv; charset=utf-8")
		c.Status(http.StatusOK)
		w := csv.NewWriter(c.Writer)
		_ = w.Write(csvHeader)
		werr = a.trail.Scan(c.Request.Context(), f, func(e audit.Entry) error {
			rows++
			return w.Write([]string{e.ID, time.UnixMicro(e.AtMicros).UTC().Format(time.RFC3339Nano), e.RequestID, e.PrincipalID,
				cell(e.PrincipalName), e.Department, e.Role, cell(e.Action), e.Resource, e.Subjects, cell(e.Fields), cell(e.Purpose),
				cell(e.CaseNumber), e.Outcome, cell(e.Reason), e.ClientAddr, strconv.FormatInt(e.Count, 10)})
		})
		w.Flush()
		if werr == nil {
			werr = w.Error()
		}
	} else {
		c.Header("Content-Type", "application/x-ndjson")
		c.Status(http.StatusOK)
		enc := json.NewEncoder(c.Writer)
		werr = a.trail.Scan(c.Request.Context(), f, func(e audit.Entry) error {
			rows++
			return enc.Encode(e.Event())
		})
	}
	if werr != nil {
		// The response is still held by the audit middleware: failing here
		// replaces the partial export with an error.
		httpapi.Fail(c, werr)
		return
	}
	httpapi.Note(c).Count = rows
}

// cell defuses spreadsheet formulas in free-text cells.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// window reads from/to, defaulting to the last days days.
func (a *API) window(c *gin.Context, days int) (time.Time, time.Time, error) {
	from, err := timeParam(c, "from")
	if err != nil {
		return from, from, err
	}
	to, err := timeParam(c, "to")
	if err != nil {
		return from, to, err
	}
	if to.IsZero() {
		to = a.now()
	}
	if from.IsZero() {
		from = to.AddDate(0, 0, -days)
	}
	if !from.Before(to) {
		return from, to, fault.Invalidf("invalid_query", "from must be before to")
	}
	if to.Sub(from) > 366*24*time.Hour {
		return from, to, fault.Invalidf("invalid_query", "the window may span at most 366 days")
	}
	return from, to, nil
}

func (a *API) load(ctx context.Context, f store.Filter) ([]audit.Event, error) {
	var out []audit.Event
	f.Ascending = true
	err := a.trail.Scan(ctx, f, func(e audit.Entry) error {
		out = append(out, e.Event())
		if len(out) > 2_000_000 {
			return fault.New(fault.TooLarge, "window_too_large", "more than 2,000,000 events in the window; narrow it")
		}
		return nil
	})
	return out, err
}

func (a *API) anomalies(c *gin.Context) {
	httpapi.Note(c).Action = "audit.anomalies"
	from, to, err := a.window(c, 7)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	events, err := a.load(c.Request.Context(), store.Filter{From: from, To: to})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	r := anomaly.Defaults()
	findings := anomaly.Find(events, r)
	if findings == nil {
		findings = []anomaly.Finding{}
	}
	httpapi.Note(c).Count = len(findings)
	c.JSON(http.StatusOK, gin.H{"from": from.UTC(), "to": to.UTC(), "events_examined": len(events), "anomalies": findings,
		"rules": gin.H{
			anomaly.ManySubjectsFewCases: "at least " + strconv.Itoa(r.MinSubjects) + " distinct subjects read with more than " + strconv.Itoa(r.SubjectsPerCase) + " subjects per distinct case number",
			anomaly.OffHours:             "reads of personal data outside 08:00-18:00 Monday to Friday (Asia/Shanghai)",
			anomaly.RepeatedDenials:      strconv.Itoa(r.MaxDenials) + " or more denials of one principal within " + r.DenialWindow.String(),
			anomaly.DepartmentVolume:     "a department's reads on one day above " + strconv.FormatFloat(r.VolumeFactor, 'f', -1, 64) + "x its daily average over the rest of the window (at least " + strconv.Itoa(r.MinVolume) + ")",
		}})
}

func (a *API) reuse(c *gin.Context) {
	n := httpapi.Note(c)
	n.Action = "stats.reuse"
	from, to, err := a.window(c, 365)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	f := store.Filter{From: from, To: to, Actions: []string{audit.ActionReuse, audit.ActionLookup}}
	if f.Department, err = reuseDepartment(httpapi.MustPrincipal(c), c.Query("department")); err != nil {
		httpapi.Fail(c, err)
		return
	}
	if f.Department != "" && a.Provided != nil {
		// Reuse events name the department that looked up, not the one
		// whose record was supplied: the provider's share comes from its
		// resources.
		if f.DepartmentResources, err = a.Provided(c.Request.Context(), f.Department); err != nil {
			httpapi.Fail(c, err)
			return
		}
	}
	events, err := a.load(c.Request.Context(), f)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	st := audit.ComputeReuse(events, a.Certificate)
	out := gin.H{"from": from.UTC(), "to": to.UTC(), "stats": st}
	if a.CaseTimes != nil {
		times, err := a.CaseTimes(c.Request.Context(), from, to, f.Department)
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		out["processing"] = times
	}
	c.JSON(http.StatusOK, out)
}

// reuseDepartment is the department whose reuse statistics p may read for
// the requested one: reviewers and catalog admins any (or all, when none is
// named); a department admin only its own, which is also the default.
func reuseDepartment(p identity.Principal, requested string) (string, error) {
	requested = strings.TrimSpace(requested)
	if p.Role != identity.RoleDeptAdmin {
		return requested, nil
	}
	if requested != "" && requested != p.DepartmentCode {
		return "", fault.Forbiddenf("department_mismatch", "the credential belongs to department %s; a department admin reads only its own department's statistics", p.DepartmentCode).
			WithDetails(fault.Detail{Field: "department", Reason: "not the credential's department"})
	}
	return p.DepartmentCode, nil
}

// Access is one line of a citizen's data-access report.
type Access struct {
	Time       time.Time     `json:"time"`
	Department string        `json:"department"`
	Role       string        `json:"role"`
	Action     string        `json:"action"`
	Resource   string        `json:"resource,omitempty"`
	Fields     []string      `json:"fields,omitempty"`
	Purpose    string        `json:"purpose,omitempty"`
	CaseNumber string        `json:"case_number,omitempty"`
	Outcome    audit.Outcome `json:"outcome"`
}

func (a *API) myDataAccess(c *gin.Context) {
	p := httpapi.MustPrincipal(c)
	n := httpapi.Note(c)
	n.Action = "audit.data_access_report"
	var hash string
	switch p.Role {
	case identity.RoleCitizen:
		if p.IDNumberHash == "" {
			httpapi.Fail(c, fault.Forbiddenf("citizen_not_linked", "this citizen account is not linked to an ID number"))
			return
		}
		hash = p.IDNumberHash
	case identity.RoleReviewer:
		// A reviewer answers a citizen's request: the citizen's ID number and
		// the request's reference are required, and both are recorded.
		subject, err := SubjectOf(c.Query("subject"))
		if err != nil {
			httpapi.Fail(c, err)
			return
		}
		ref := strings.TrimSpace(c.Query("case_number"))
		if ref == "" {
			httpapi.Fail(c, fault.Invalidf("case_number_required", "a reviewer acting on a citizen's request gives the request's case_number").
				WithDetails(fault.Detail{Field: "case_number", Reason: "required"}))
			return
		}
		n.Subjects, n.CaseNumber, n.Purpose = []string{subject}, ref, "citizen data-access request"
		hash = a.key.Hash(subject)
	default:
		httpapi.Fail(c, fault.Forbiddenf("forbidden", "only the citizen or a security reviewer may see this report"))
		return
	}
	from, to, err := a.window(c, 365)
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	out := []Access{}
	err = a.trail.Scan(c.Request.Context(), store.Filter{SubjectHash: hash, From: from, To: to, Limit: 10_000}, func(e audit.Entry) error {
		// Reviewers' searches of the trail are not accesses to the data.
		if strings.HasPrefix(e.Action, "audit.") {
			return nil
		}
		ev := e.Event()
		out = append(out, Access{Time: ev.Time, Department: ev.Department, Role: ev.Role, Action: ev.Action, Resource: ev.Resource,
			Fields: ev.Fields, Purpose: ev.Purpose, CaseNumber: ev.CaseNumber, Outcome: ev.Outcome})
		return nil
	})
	if err != nil {
		httpapi.Fail(c, err)
		return
	}
	n.Count = len(out)
	c.JSON(http.StatusOK, gin.H{"from": from.UTC(), "to": to.UTC(), "accesses": out})
}
