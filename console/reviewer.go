package console

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"yiku/audit"
	"yiku/audit/anomaly"
)

// The security reviewer's pages: audit search with keyset paging (the
// API's cursor), each event's detail, CSV export, and anomalies with their
// events. Every one is a GET /api/v1/audit/... call, itself audited.

// auditFilters are the search form's fields, named as the API's query.
var auditFilters = []string{"subject", "principal", "department", "resource", "action", "outcome", "case_number", "from", "to"}

type auditPage struct {
	Filter     map[string]string
	Searched   bool
	Events     []audit.Event
	Total      int
	NextCursor string
	NextQuery  string
	ExportURL  string
	Outcomes   []string
}

// auditQuery copies the search form's non-empty fields into an API query.
func auditQuery(in url.Values) (url.Values, map[string]string) {
	out, form := url.Values{}, map[string]string{}
	for _, k := range auditFilters {
		if s := strings.TrimSpace(in.Get(k)); s != "" {
			out.Set(k, s)
			form[k] = s
		}
	}
	return out, form
}

func (c *Console) auditSearch(v *visit) {
	in := v.r.URL.Query()
	apiQ, form := auditQuery(in)
	page := auditPage{Filter: form, Searched: len(form) > 0, Outcomes: []string{string(audit.Allowed), string(audit.Denied), string(audit.Failed)}}
	apiQ.Set("limit", "50")
	if cur := in.Get("cursor"); cur != "" {
		apiQ.Set("cursor", cur)
	}
	var body struct {
		Events     []audit.Event `json:"events"`
		Total      int           `json:"total"`
		NextCursor string        `json:"next_cursor"`
	}
	err := c.call(v, http.MethodGet, "/api/v1/audit/events?"+apiQ.Encode(), nil, &body)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		errs := map[string]string{}
		for k, reason := range ae.FieldErrors() {
			errs[k] = c.fieldMessage(v, k, reason)
		}
		if len(errs) == 0 {
			errs["form"] = ae.Message
		}
		c.render(v, http.StatusBadRequest, "audit", "audit.title", page, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	page.Events, page.Total, page.NextCursor = body.Events, body.Total, body.NextCursor
	if body.NextCursor != "" {
		next, _ := auditQuery(in)
		next.Set("cursor", body.NextCursor)
		page.NextQuery = next.Encode()
	}
	exp, _ := auditQuery(in)
	page.ExportURL = "/console/audit/export?" + exp.Encode()
	c.render(v, http.StatusOK, "audit", "audit.title", page, nil)
}

// auditExport hands the API's CSV export of the search to the browser.
func (c *Console) auditExport(v *visit) {
	apiQ, _ := auditQuery(v.r.URL.Query())
	apiQ.Set("format", "csv")
	res, err := c.raw(v, http.MethodGet, "/api/v1/audit/events?"+apiQ.Encode(), nil)
	if err != nil {
		c.fail(v, err)
		return
	}
	v.w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	v.w.Header().Set("Content-Disposition", `attachment; filename="audit-`+time.Now().In(china).Format("20060102-150405")+`.csv"`)
	v.w.WriteHeader(http.StatusOK)
	_, _ = v.w.Write(res.body.Bytes())
}

type anomaliesPage struct {
	From, To       time.Time
	EventsExamined int
	Anomalies      []anomaly.Finding
	Rules          map[string]string
}

func (c *Console) anomalies(v *visit) {
	var body anomaliesPage
	var raw struct {
		From           time.Time         `json:"from"`
		To             time.Time         `json:"to"`
		EventsExamined int               `json:"events_examined"`
		Anomalies      []anomaly.Finding `json:"anomalies"`
		Rules          map[string]string `json:"rules"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/audit/anomalies"+q("from", v.r.URL.Query().Get("from"), "to", v.r.URL.Query().Get("to")), nil, &raw); err != nil {
		c.fail(v, err)
		return
	}
	body = anomaliesPage{From: raw.From, To: raw.To, EventsExamined: raw.EventsExamined, Anomalies: raw.Anomalies, Rules: raw.Rules}
	c.render(v, http.StatusOK, "anomalies", "anomalies.title", body, nil)
}

// eventPage is one audit event with its place in the hash chain.
type eventPage struct {
	Event    audit.Event `json:"event"`
	Position struct {
		Chain      string `json:"chain"`
		Seq        int64  `json:"seq"`
		PrevHash   string `json:"prev_hash"`
		Hash       string `json:"hash"`
		Covered    bool   `json:"covered"`
		Checkpoint *struct {
			Seq  int64     `json:"seq"`
			Hash string    `json:"hash"`
			Time time.Time `json:"time"`
		} `json:"checkpoint"`
	} `json:"position"`
}

func (c *Console) auditEvent(v *visit) {
	var body eventPage
	if err := c.call(v, http.MethodGet, "/api/v1/audit/events/"+url.PathEscape(v.r.PathValue("id")), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "auditevent", "auditevent.title", body, nil)
}

// verifyPage is a chain verification run, as GET
// /api/v1/audit/verifications/{id} answers it (or none yet, on the start
// page).
type verifyPage struct {
	Run *struct {
		ID           string     `json:"id"`
		State        string     `json:"state"`
		StartedBy    string     `json:"started_by"`
		StartedAt    time.Time  `json:"started_at"`
		FinishedAt   *time.Time `json:"finished_at"`
		Total        int64      `json:"total"`
		Verified     int64      `json:"verified"`
		OK           *bool      `json:"ok"`
		ProblemCount int64      `json:"problem_count"`
		Error        string     `json:"error"`
		Report       *struct {
			Chains        int             `json:"chains"`
			Events        int64           `json:"events"`
			Checkpoints   int             `json:"checkpoints"`
			IndexRows     int64           `json:"index_rows"`
			IndexProblems int64           `json:"index_problems"`
			Unanchored    int64           `json:"unanchored"`
			Suites        map[string]int  `json:"suites"`
			Problems      []verifyProblem `json:"problems"`
		} `json:"report"`
	}
	// Percent is the share of events verified so far.
	Percent int64
	// Intact: the run is done and found no problem (the API's ok);
	// ProblemCount is the API's problem_count.
	Intact       bool
	ProblemCount int64
	// Done confirms the start (or names the run already going).
	Done string
}

type verifyProblem struct {
	Kind        string `json:"kind"`
	Chain       string `json:"chain"`
	Seq         int64  `json:"seq"`
	EventID     string `json:"event_id"`
	PrevEventID string `json:"prev_event_id"`
	Detail      string `json:"detail"`
}

// verifyRefresh is how often a running verification's page reloads itself
// (the Refresh header; a link does the same without it).
const verifyRefresh = "2"

func (c *Console) auditVerifyForm(v *visit) {
	c.render(v, http.StatusOK, "auditverify", "verify.title", verifyPage{}, nil)
}

// auditVerifyStart starts a run and shows it; while one runs, it shows the
// running one.
func (c *Console) auditVerifyStart(v *visit) {
	var run struct {
		ID string `json:"id"`
	}
	err := c.call(v, http.MethodPost, "/api/v1/audit/verifications", nil, &run)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusConflict && ae.Code == "verification_running" && len(ae.Details) == 1 {
		c.seeOther(v, "/console/audit/verify/"+url.PathEscape(ae.Details[0].Reason), "verify.done.running")
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	c.seeOther(v, "/console/audit/verify/"+url.PathEscape(run.ID), "verify.done.started")
}

func (c *Console) auditVerifyRun(v *visit) {
	page := verifyPage{Done: c.doneOf(v)}
	if err := c.call(v, http.MethodGet, "/api/v1/audit/verifications/"+url.PathEscape(v.r.PathValue("id")), nil, &page.Run); err != nil {
		c.fail(v, err)
		return
	}
	if r := page.Run; r.Total > 0 {
		page.Percent = min(100, r.Verified*100/r.Total)
	}
	if r := page.Run; r.OK != nil && r.Report != nil {
		page.Intact = *r.OK
		page.ProblemCount = r.ProblemCount
	}
	if page.Run.State == "running" {
		v.w.Header().Set("Refresh", verifyRefresh)
	}
	c.render(v, http.StatusOK, "auditverify", "verify.title", page, nil)
}
