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
