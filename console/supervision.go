package console

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"

	"yiku/supervision"
)

// Supervision (信息共享监督检查): the freshness of resources against their
// update cycles, and the per-department assessment report (考核通报) with
// its CSV and Excel downloads. Both are /api/v1/supervision calls: who sees
// which departments, and every figure and score, are the API's.

type freshnessPage struct {
	Provider  string
	StaleOnly bool
	Resources []supervision.Freshness
	// Stale counts the stale resources per provider, in the order the
	// resources are listed.
	Stale []providerCount
}

type providerCount struct {
	Provider string
	Count    int
}

func (c *Console) freshness(v *visit) {
	qs := v.r.URL.Query()
	page := freshnessPage{Provider: qs.Get("provider"), StaleOnly: qs.Get("stale") == "true"}
	stale := ""
	if page.StaleOnly {
		stale = "true"
	}
	var body struct {
		Resources []supervision.Freshness `json:"resources"`
		Stale     map[string]int          `json:"stale_by_provider"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/supervision/freshness"+q("provider", page.Provider, "stale", stale), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	page.Resources = body.Resources
	seen := map[string]bool{}
	for _, r := range body.Resources {
		if n := body.Stale[r.ProviderCode]; n > 0 && !seen[r.ProviderCode] {
			seen[r.ProviderCode] = true
			page.Stale = append(page.Stale, providerCount{Provider: r.ProviderCode, Count: n})
		}
	}
	c.render(v, http.StatusOK, "freshness", "freshness.title", page, nil)
}

// reportLine is a department's line of the report, its figures by metric
// key for the table's columns.
type reportLine struct {
	supervision.DepartmentReport
	Values map[string]any
}

type reportPage struct {
	Period   string
	Report   *supervision.Report
	Lines    []reportLine
	Scored   []supervision.Metric
	Download string
}

// reportPeriod is the period asked for, the current month in China
// Standard Time when none is.
func (c *Console) reportPeriod(v *visit) string {
	if p := v.r.URL.Query().Get("period"); p != "" {
		return p
	}
	return c.deps.Now().In(china).Format("2006-01")
}

func (c *Console) assessment(v *visit) {
	page := reportPage{Period: c.reportPeriod(v)}
	var rep supervision.Report
	err := c.call(v, http.MethodGet, "/api/v1/supervision/reports"+q("period", page.Period), nil, &rep)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusBadRequest {
		errs := map[string]string{"period": ae.Message}
		if k := "field.period"; c.msgs.Has(v.Lang, k) {
			errs["period"] = v.T(k)
		}
		c.render(v, http.StatusUnprocessableEntity, "assessment", "assessment.title", page, errs)
		return
	}
	if err != nil {
		c.fail(v, err)
		return
	}
	page.Report = &rep
	for _, m := range rep.Definitions {
		if rep.Weights[m.Key] > 0 {
			page.Scored = append(page.Scored, m)
		}
	}
	for _, d := range rep.Departments {
		line := reportLine{DepartmentReport: d, Values: map[string]any{}}
		raw, err := json.Marshal(d.Figures)
		if err == nil {
			err = json.Unmarshal(raw, &line.Values)
		}
		if err != nil {
			c.fail(v, err)
			return
		}
		page.Lines = append(page.Lines, line)
	}
	page.Download = url.Values{"period": {rep.Period}}.Encode()
	c.render(v, http.StatusOK, "assessment", "assessment.title", page, nil)
}

// assessmentExport passes the report's CSV or workbook through, so the
// session authenticates the download and the API audits it.
func (c *Console) assessmentExport(v *visit) {
	format := v.r.URL.Query().Get("format")
	res, err := c.raw(v, http.MethodGet, "/api/v1/supervision/reports"+q("period", c.reportPeriod(v), "format", format), nil)
	if err != nil {
		c.fail(v, err)
		return
	}
	for _, h := range []string{"Content-Type", "Content-Disposition"} {
		if s := res.header.Get(h); s != "" {
			v.w.Header().Set(h, s)
		}
	}
	v.w.Header().Set("Content-Length", strconv.Itoa(res.body.Len()))
	v.w.WriteHeader(http.StatusOK)
	_, _ = v.w.Write(res.body.Bytes())
}

// Share shows a share between 0 and 1 as a percentage, and a missing
// figure as "—".
func (v view) Share(x any) string {
	switch x := x.(type) {
	case float64:
		return strconv.FormatFloat(x*100, 'f', 1, 64) + "%"
	case *float64:
		if x != nil {
			return v.Share(*x)
		}
	}
	return "—"
}

// Score shows a score (or its change) as the API rounded it, "—" for none.
func (v view) Score(x *float64) string {
	if x == nil {
		return "—"
	}
	return strconv.FormatFloat(*x, 'f', 2, 64)
}

// Signed shows a change with its sign, "—" for none.
func (v view) Signed(x *int) string {
	if x == nil {
		return "—"
	}
	if *x > 0 {
		return "+" + strconv.Itoa(*x)
	}
	return strconv.Itoa(*x)
}
