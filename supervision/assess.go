package supervision

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"

	"yiku/calendar"
	"yiku/catalog"
	"yiku/identity"
)

// Figures are one department's raw figures for a period. A nil share
// means the department had nothing to measure it on.
type Figures struct {
	// Directory.
	ResourcesRegistered  int      `json:"resources_registered"`
	MetadataCompleteness *float64 `json:"metadata_completeness"`
	CurrentSchema        int      `json:"current_schema"`
	CurrentSchemaShare   *float64 `json:"current_schema_share"`
	// Supply.
	LibraryRecords    int64    `json:"library_records"`
	RecordsAccepted   int64    `json:"records_accepted"`
	RecordsRejected   int64    `json:"records_rejected"`
	RejectionRate     *float64 `json:"publish_rejection_rate"`
	FreshResources    int      `json:"fresh_resources"`
	AssessedResources int      `json:"assessed_resources"`
	FreshShare        *float64 `json:"fresh_share"`
	// Responsiveness.
	RequestsDue           int      `json:"requests_due"`
	RequestsOnTime        int      `json:"requests_on_time"`
	RequestsOnTimeShare   *float64 `json:"requests_on_time_share"`
	MedianAnswerWorkdays  *float64 `json:"median_answer_workdays"`
	ObjectionsDue         int      `json:"objections_due"`
	ObjectionsOnTime      int      `json:"objections_on_time"`
	ObjectionsOnTimeShare *float64 `json:"objections_on_time_share"`
	// Contribution.
	MaterialsSupplied int64 `json:"materials_supplied"`
	ReadsServed       int64 `json:"reads_served"`
	RequestsGranted   int   `json:"requests_granted"`
	RequestsRejected  int   `json:"requests_rejected"`
	// Usage.
	Lookups           int64    `json:"lookups"`
	LookupMaterials   int64    `json:"lookup_materials"`
	LookupSupplied    int64    `json:"lookup_supplied"`
	LookupSupplyShare *float64 `json:"lookup_supply_share"`
}

// Metric is one column of the report: its key, group, name, definition,
// how to read it from Figures and, for scored metrics, its value in [0,1].
type Metric struct {
	Key        string `json:"key"`
	Group      string `json:"group"`
	Name       string `json:"name"`
	Definition string `json:"definition"`
	value      func(f *Figures) (float64, bool)
	// score gives the scored value in [0,1]; max is the highest
	// department's MaterialsSupplied for relative metrics.
	score func(f *Figures, max int64) (float64, bool)
}

func share(p *float64) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return *p, true
}

// Metrics are the report's metrics in order; docs/supervision.md repeats
// the definitions.
var Metrics = []Metric{
	{Key: "resources_registered", Group: "directory", Name: "资源目录数",
		Definition: "Resources the department provides that were registered before the end of the period.",
		value:      func(f *Figures) (float64, bool) { return float64(f.ResourcesRegistered), true }},
	{Key: "metadata_completeness", Group: "directory", Name: "核心元数据完整率",
		Definition: "Mean over those resources of the share of the 11 core metadata elements filled: name, catalog code, class code, summary, format, fields, share type, share conditions (conditional resources) or share mode, update cycle, publish date, legal basis.",
		value:      func(f *Figures) (float64, bool) { return share(f.MetadataCompleteness) },
		score:      func(f *Figures, _ int64) (float64, bool) { return share(f.MetadataCompleteness) }},
	{Key: "current_schema_share", Group: "directory", Name: "现行模式覆盖率",
		Definition: "Share of those resources with a published JSON Schema version (the contract records are accepted against).",
		value:      func(f *Figures) (float64, bool) { return share(f.CurrentSchemaShare) },
		score:      func(f *Figures, _ int64) (float64, bool) { return share(f.CurrentSchemaShare) }},
	{Key: "library_records", Group: "supply", Name: "入库记录数",
		Definition: "Current (not deleted) records of the department's resources in the library when the report is made.",
		value:      func(f *Figures) (float64, bool) { return float64(f.LibraryRecords), true }},
	{Key: "publish_rejection_rate", Group: "supply", Name: "发布拒收率",
		Definition: "Records refused ÷ records submitted in the period, over the department's HTTP publishes (audit record.publish, rejected=N) and Kafka ingress (record.publish accepted, record.deadletter refused).",
		value:      func(f *Figures) (float64, bool) { return share(f.RejectionRate) }},
	{Key: "publish_acceptance", Group: "supply", Name: "发布接收率",
		Definition: "1 − publish rejection rate.",
		value: func(f *Figures) (float64, bool) {
			if f.RejectionRate == nil {
				return 0, false
			}
			return 1 - *f.RejectionRate, true
		},
		score: func(f *Figures, _ int64) (float64, bool) {
			if f.RejectionRate == nil {
				return 0, false
			}
			return 1 - *f.RejectionRate, true
		}},
	{Key: "fresh_share", Group: "supply", Name: "按期更新率",
		Definition: "Share of the department's published resources with a regular update cycle whose last accepted publish, at the end of the period (or now, for the current period), is within one cycle (real-time and daily: 1 day, weekly: 7 days, monthly, quarterly, half-yearly, yearly: calendar months).",
		value:      func(f *Figures) (float64, bool) { return share(f.FreshShare) },
		score:      func(f *Figures, _ int64) (float64, bool) { return share(f.FreshShare) }},
	{Key: "requests_due", Group: "responsiveness", Name: "到期共享申请数",
		Definition: "Share requests addressed to the department (not withdrawn) whose deadline falls in the period and has passed, or that were answered already.",
		value:      func(f *Figures) (float64, bool) { return float64(f.RequestsDue), true }},
	{Key: "requests_on_time_share", Group: "responsiveness", Name: "共享申请按时答复率",
		Definition: "Of those, the share answered (approved or rejected) by the deadline.",
		value:      func(f *Figures) (float64, bool) { return share(f.RequestsOnTimeShare) },
		score:      func(f *Figures, _ int64) (float64, bool) { return share(f.RequestsOnTimeShare) }},
	{Key: "median_answer_workdays", Group: "responsiveness", Name: "答复用时中位数（工作日）",
		Definition: "Median working days (hub calendar) from the day after filing to the day of the answer, over those answered.",
		value:      func(f *Figures) (float64, bool) { return share(f.MedianAnswerWorkdays) }},
	{Key: "objections_on_time_share", Group: "responsiveness", Name: "疑义按时处理率",
		Definition: "Objections against the department's records (not withdrawn) due in the period: share corrected or rejected by the deadline.",
		value:      func(f *Figures) (float64, bool) { return share(f.ObjectionsOnTimeShare) },
		score:      func(f *Figures, _ int64) (float64, bool) { return share(f.ObjectionsOnTimeShare) }},
	{Key: "materials_supplied", Group: "contribution", Name: "为他部门提供材料数",
		Definition: "Lookup materials the library supplied from the department's resources to other departments' principals in the period (audit reuse.supply events, allowed).",
		value:      func(f *Figures) (float64, bool) { return float64(f.MaterialsSupplied), true }},
	{Key: "materials_supplied_relative", Group: "contribution", Name: "材料贡献（相对）",
		Definition: "Materials supplied ÷ the highest department's materials supplied in the period.",
		value:      func(f *Figures) (float64, bool) { return 0, false },
		score: func(f *Figures, max int64) (float64, bool) {
			if max <= 0 {
				return 0, false
			}
			return float64(f.MaterialsSupplied) / float64(max), true
		}},
	{Key: "reads_served", Group: "contribution", Name: "为他部门提供查询数",
		Definition: "Record reads of the department's resources by other departments' principals allowed in the period (audit record.read).",
		value:      func(f *Figures) (float64, bool) { return float64(f.ReadsServed), true }},
	{Key: "requests_granted", Group: "contribution", Name: "批准共享申请数",
		Definition: "Share requests addressed to the department approved in the period.",
		value:      func(f *Figures) (float64, bool) { return float64(f.RequestsGranted), true }},
	{Key: "requests_rejected", Group: "contribution", Name: "驳回共享申请数",
		Definition: "Share requests addressed to the department rejected in the period.",
		value:      func(f *Figures) (float64, bool) { return float64(f.RequestsRejected), true }},
	{Key: "lookups", Group: "usage", Name: "复用查询次数",
		Definition: "Reuse lookups made by the department's principals in the period (audit lookup events).",
		value:      func(f *Figures) (float64, bool) { return float64(f.Lookups), true }},
	{Key: "lookup_supply_share", Group: "usage", Name: "材料免提交率",
		Definition: "Of the materials those lookups asked for, the share the library supplied instead of the applicant (supplied ÷ supplied + not available + not permitted).",
		value:      func(f *Figures) (float64, bool) { return share(f.LookupSupplyShare) },
		score:      func(f *Figures, _ int64) (float64, bool) { return share(f.LookupSupplyShare) }},
}

// Value returns metric key's figure for f and whether it has one.
func (m Metric) Value(f *Figures) (float64, bool) { return m.value(f) }

// DepartmentReport is one department's line of the report.
type DepartmentReport struct {
	Code    string  `json:"department"`
	Name    string  `json:"name"`
	Figures Figures `json:"figures"`
	// Score is 0–100, nil when the department had no scored figure.
	Score *float64 `json:"score"`
	// Rank is 1 for the highest score; 0 when unscored.
	Rank int `json:"rank"`
	// The previous period's score and rank, and the changes (a rise in
	// rank is positive).
	PreviousScore *float64 `json:"previous_score"`
	PreviousRank  int      `json:"previous_rank"`
	ScoreChange   *float64 `json:"score_change"`
	RankChange    *int     `json:"rank_change"`
}

// Report is the assessment of one period (考核通报).
type Report struct {
	Period      string             `json:"period"`
	From        time.Time          `json:"from"`
	To          time.Time          `json:"to"`
	AsOf        time.Time          `json:"as_of"`
	Previous    string             `json:"previous_period"`
	Ranked      int                `json:"ranked"`
	Weights     map[string]float64 `json:"weights"`
	Departments []DepartmentReport `json:"departments"`
	Definitions []Metric           `json:"definitions,omitempty"`
	// AuditEvents is how many audit events the period's tally read.
	AuditEvents int64 `json:"audit_events"`
}

// Inputs are what one period's assessment is computed from.
type Inputs struct {
	Period      Period
	AsOf        time.Time
	Departments []identity.Department
	Resources   []catalog.Resource
	LastPublish map[string]time.Time
	Library     map[string]int64
	Requests    []Deadlined
	Objections  []Deadlined
	Audit       map[string]*Tally
	AuditEvents int64
}

// coreElements counts the filled core metadata elements of r, out of 11.
func coreElements(r catalog.Resource) float64 {
	n := 0
	for _, ok := range []bool{r.Name != "", r.Code != "", r.ClassCode != "", r.Summary != "", r.Format != "", len(r.Fields) > 0,
		r.ShareType != "", r.ShareConditions != "" || (r.ShareType != catalog.ShareConditional && r.ShareMode != ""),
		r.UpdateCycle != "", r.PublishDate != "", r.LegalBasis != ""} {
		if ok {
			n++
		}
	}
	return float64(n) / 11
}

func ratio(num, den float64) *float64 {
	if den <= 0 {
		return nil
	}
	v := num / den
	return &v
}

func median(xs []int) *float64 {
	if len(xs) == 0 {
		return nil
	}
	sort.Ints(xs)
	var m float64
	if n := len(xs); n%2 == 1 {
		m = float64(xs[n/2])
	} else {
		m = float64(xs[n/2-1]+xs[n/2]) / 2
	}
	return &m
}

// Compute builds a period's report lines from its inputs, scores and
// ranks them (without the previous period's comparison).
func Compute(in Inputs, cal *calendar.Calendar, sc Scoring) Report {
	from, to := in.Period.Bounds()
	figs := map[string]*Figures{}
	fig := func(code string) *Figures {
		f := figs[code]
		if f == nil {
			f = &Figures{}
			figs[code] = f
		}
		return f
	}
	for _, d := range in.Departments {
		fig(d.Code)
	}
	// Directory and supply from the catalog and the library.
	complete := map[string]float64{}
	for _, r := range in.Resources {
		if !r.CreatedAt.Before(to) {
			continue
		}
		f := fig(r.ProviderCode)
		f.ResourcesRegistered++
		complete[r.ProviderCode] += coreElements(r)
		if r.LatestVersion > 0 {
			f.CurrentSchema++
		}
		f.LibraryRecords += in.Library[r.ID]
	}
	for _, fr := range FreshnessOf(in.Resources, in.LastPublish, in.AsOf) {
		if fr.Assessed {
			f := fig(fr.ProviderCode)
			f.AssessedResources++
			if !fr.Stale {
				f.FreshResources++
			}
		}
	}
	// Responsiveness and grants from share requests and objections.
	answerDays := map[string][]int{}
	for _, r := range in.Requests {
		if r.Status == "withdrawn" {
			continue
		}
		f := fig(r.Provider)
		decidedIn := r.DecidedAt != nil && !r.DecidedAt.Before(from) && r.DecidedAt.Before(to)
		if decidedIn && r.Status == "approved" {
			f.RequestsGranted++
		}
		if decidedIn && r.Status == "rejected" {
			f.RequestsRejected++
		}
		if r.Deadline.Before(from) || !r.Deadline.Before(to) || (r.DecidedAt == nil && !r.Deadline.Before(in.AsOf)) {
			continue
		}
		f.RequestsDue++
		if r.DecidedAt != nil {
			if !r.DecidedAt.After(r.Deadline) {
				f.RequestsOnTime++
			}
			answerDays[r.Provider] = append(answerDays[r.Provider], cal.WorkdaysBetween(r.CreatedAt, *r.DecidedAt))
		}
	}
	for _, o := range in.Objections {
		if o.Status == "withdrawn" || (o.DecidedAt == nil && !o.Deadline.Before(in.AsOf)) {
			continue
		}
		f := fig(o.Provider)
		f.ObjectionsDue++
		if o.DecidedAt != nil && !o.DecidedAt.After(o.Deadline) {
			f.ObjectionsOnTime++
		}
	}
	// Contribution and usage from the audit trail.
	for code, t := range in.Audit {
		if code == "" {
			// Events of principals outside any department (none of the
			// counted actions today) belong to no line.
			continue
		}
		f := fig(code)
		f.RecordsAccepted, f.RecordsRejected = t.Accepted, t.Rejected
		f.MaterialsSupplied, f.ReadsServed = t.MaterialsSupplied, t.ReadsServed
		f.Lookups, f.LookupMaterials, f.LookupSupplied = t.Lookups, t.LookupMaterials, t.LookupSupplied
	}
	names := map[string]string{}
	for _, d := range in.Departments {
		names[d.Code] = d.Name
	}
	var maxSupplied int64
	for code, f := range figs {
		f.MetadataCompleteness = ratio(complete[code], float64(f.ResourcesRegistered))
		f.CurrentSchemaShare = ratio(float64(f.CurrentSchema), float64(f.ResourcesRegistered))
		f.RejectionRate = ratio(float64(f.RecordsRejected), float64(f.RecordsAccepted+f.RecordsRejected))
		f.FreshShare = ratio(float64(f.FreshResources), float64(f.AssessedResources))
		f.RequestsOnTimeShare = ratio(float64(f.RequestsOnTime), float64(f.RequestsDue))
		f.MedianAnswerWorkdays = median(answerDays[code])
		f.ObjectionsOnTimeShare = ratio(float64(f.ObjectionsOnTime), float64(f.ObjectionsDue))
		f.LookupSupplyShare = ratio(float64(f.LookupSupplied), float64(f.LookupMaterials))
		maxSupplied = max(maxSupplied, f.MaterialsSupplied)
	}
	rep := Report{Period: in.Period.String(), From: from.UTC(), To: to.UTC(), AsOf: in.AsOf.UTC(), Previous: in.Period.Previous().String(),
		Weights: sc.Weights, AuditEvents: in.AuditEvents}
	for code, f := range figs {
		d := DepartmentReport{Code: code, Name: names[code], Figures: *f}
		var sum, weights float64
		for _, m := range Metrics {
			w := sc.Weights[m.Key]
			if m.score == nil || w == 0 {
				continue
			}
			if v, ok := m.score(f, maxSupplied); ok {
				sum += w * v
				weights += w
			}
		}
		if weights > 0 {
			s := round2(100 * sum / weights)
			d.Score = &s
		}
		rep.Departments = append(rep.Departments, d)
	}
	rank(rep.Departments)
	for _, d := range rep.Departments {
		if d.Rank > 0 {
			rep.Ranked++
		}
	}
	return rep
}

func round2(v float64) float64 { return math.Round(v*100) / 100 }

// rank orders the lines by score (unscored last), then by code, and
// numbers the scored ones; equal scores share a rank.
func rank(ds []DepartmentReport) {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i].Score, ds[j].Score
		switch {
		case a != nil && b != nil && *a != *b:
			return *a > *b
		case (a == nil) != (b == nil):
			return a != nil
		}
		return ds[i].Code < ds[j].Code
	})
	for i := range ds {
		switch {
		case ds[i].Score == nil:
			ds[i].Rank = 0
		case i > 0 && ds[i-1].Score != nil && *ds[i-1].Score == *ds[i].Score:
			ds[i].Rank = ds[i-1].Rank
		default:
			ds[i].Rank = i + 1
		}
	}
}

// Compare fills each line's previous score and rank and the changes.
func Compare(cur *Report, prev Report) {
	byCode := map[string]DepartmentReport{}
	for _, d := range prev.Departments {
		byCode[d.Code] = d
	}
	for i := range cur.Departments {
		d := &cur.Departments[i]
		p, ok := byCode[d.Code]
		if !ok {
			continue
		}
		d.PreviousScore, d.PreviousRank = p.Score, p.Rank
		if d.Score != nil && p.Score != nil {
			c := round2(*d.Score - *p.Score)
			d.ScoreChange = &c
		}
		if d.Rank > 0 && p.Rank > 0 {
			c := p.Rank - d.Rank
			d.RankChange = &c
		}
	}
}

// Sources are where the assessment reads the directory and departments.
type Sources struct {
	Store       *Store
	Resources   func(ctx context.Context) ([]catalog.Resource, error)
	Departments func(ctx context.Context) ([]identity.Department, error)
	Calendar    *calendar.Calendar
	Scoring     Scoring
	Now         func() time.Time
}

func (s *Sources) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

// Assess computes period p's report with the comparison to the period
// before it.
func (s *Sources) Assess(ctx context.Context, p Period) (Report, error) {
	cur, err := s.compute(ctx, p)
	if err != nil {
		return Report{}, err
	}
	prev, err := s.compute(ctx, p.Previous())
	if err != nil {
		return Report{}, err
	}
	Compare(&cur, prev)
	cur.Definitions = Metrics
	return cur, nil
}

func (s *Sources) compute(ctx context.Context, p Period) (Report, error) {
	from, to := p.Bounds()
	asOf := to
	if now := s.now(); now.Before(asOf) {
		asOf = now
	}
	in := Inputs{Period: p, AsOf: asOf}
	var err error
	if in.Departments, err = s.Departments(ctx); err != nil {
		return Report{}, fmt.Errorf("supervision: departments: %w", err)
	}
	if in.Resources, err = s.Resources(ctx); err != nil {
		return Report{}, fmt.Errorf("supervision: resources: %w", err)
	}
	provider := make(map[string]string, len(in.Resources))
	for _, r := range in.Resources {
		provider[r.ID] = r.ProviderCode
	}
	if in.LastPublish, err = s.Store.LastPublish(ctx, asOf); err != nil {
		return Report{}, err
	}
	if in.Library, err = s.Store.LibraryRecords(ctx); err != nil {
		return Report{}, err
	}
	if in.Requests, err = s.Store.Requests(ctx, from, to); err != nil {
		return Report{}, err
	}
	if in.Objections, err = s.Store.Objections(ctx, from, to); err != nil {
		return Report{}, err
	}
	if in.Audit, in.AuditEvents, err = s.Store.AuditTally(ctx, from, to, provider); err != nil {
		return Report{}, err
	}
	return Compute(in, s.Calendar, s.Scoring), nil
}

// Freshness judges every published resource now.
func (s *Sources) Freshness(ctx context.Context) ([]Freshness, error) {
	rs, err := s.Resources(ctx)
	if err != nil {
		return nil, fmt.Errorf("supervision: resources: %w", err)
	}
	now := s.now()
	last, err := s.Store.LastPublish(ctx, now)
	if err != nil {
		return nil, err
	}
	return FreshnessOf(rs, last, now), nil
}

func itoa(n int) string { return strconv.Itoa(n) }
