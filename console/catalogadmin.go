package console

import (
	"net/http"
	"sort"
	"strings"
	"time"

	"yiku/audit"
	"yiku/casefile"
	"yiku/catalog"
	"yiku/identity"
)

// The e-government office's pages (department administrators see the
// directory too): the resource directory with search and filters, the
// departments as a tree, and the reuse dashboard with server-rendered SVG
// charts. All read /api/v1.

var resourceFilters = []string{"q", "provider", "share_type", "status", "base_library"}

type resourcesPage struct {
	Filter               map[string]string
	Resources            []catalog.Resource
	Total                int
	ShareTypes, Statuses []string
}

func (c *Console) resources(v *visit) {
	in := v.r.URL.Query()
	pairs := []string{"limit", "200"}
	form := map[string]string{}
	for _, k := range resourceFilters {
		if s := strings.TrimSpace(in.Get(k)); s != "" {
			pairs = append(pairs, k, s)
			form[k] = s
		}
	}
	var body struct {
		Resources []catalog.Resource `json:"resources"`
		Total     int                `json:"total"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/catalog/resources"+q(pairs...), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "resources", "resources.title", resourcesPage{Filter: form, Resources: body.Resources, Total: body.Total,
		ShareTypes: []string{"unconditional", "conditional", "not_shared"}, Statuses: []string{"draft", "published", "deprecated", "retired"}}, nil)
}

// deptNode is a department with its subordinate units.
type deptNode struct {
	identity.Department
	Children []*deptNode
}

func (c *Console) departments(v *visit) {
	var body struct {
		Departments []identity.Department `json:"departments"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/catalog/departments", nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	c.render(v, http.StatusOK, "departments", "departments.title", deptTree(body.Departments), nil)
}

// deptTree arranges departments under their parents (district → township
// or street → village or community), each level in order of code.
func deptTree(ds []identity.Department) []*deptNode {
	nodes := map[string]*deptNode{}
	for _, d := range ds {
		nodes[d.Code] = &deptNode{Department: d}
	}
	var roots []*deptNode
	for _, d := range ds {
		n := nodes[d.Code]
		if d.ParentCode != nil {
			if p, ok := nodes[*d.ParentCode]; ok {
				p.Children = append(p.Children, n)
				continue
			}
		}
		roots = append(roots, n)
	}
	var sortAll func([]*deptNode)
	sortAll = func(ns []*deptNode) {
		sort.Slice(ns, func(i, j int) bool { return ns[i].Code < ns[j].Code })
		for _, n := range ns {
			sortAll(n.Children)
		}
	}
	sortAll(roots)
	return roots
}

type reusePage struct {
	From, To   time.Time
	Stats      audit.ReuseStats
	Charts     []barChart
	Processing []casefile.ItemTimes
}

func (c *Console) reuse(v *visit) {
	var body struct {
		From       time.Time            `json:"from"`
		To         time.Time            `json:"to"`
		Stats      audit.ReuseStats     `json:"stats"`
		Processing []casefile.ItemTimes `json:"processing"`
	}
	if err := c.call(v, http.MethodGet, "/api/v1/stats/reuse"+q("from", v.r.URL.Query().Get("from"), "to", v.r.URL.Query().Get("to")), nil, &body); err != nil {
		c.fail(v, err)
		return
	}
	// Departments by name, for the chart's labels.
	depts, err := c.departmentNames(v)
	if err != nil {
		c.fail(v, err)
		return
	}
	st := body.Stats
	page := reusePage{From: body.From, To: body.To, Stats: st, Processing: body.Processing, Charts: []barChart{
		newBarChart("reuse.bymonth", st.ByMonth),
		newBarChart("reuse.bydepartment", named(st.ByDepartment, depts)),
		newBarChart("reuse.byitem", st.ByServiceItem),
		newBarChart("reuse.byresource", st.ByResource),
	}}
	c.render(v, http.StatusOK, "reuse", "reuse.title", page, nil)
}

// barChart is a horizontal bar chart drawn as SVG on the server: no
// script, nothing loaded from anywhere.
type barChart struct {
	Title  string
	Bars   []bar
	Height int
}

type bar struct {
	Label         string
	Count         int
	Y, Width      int
	TextY, CountX int
}

const chartWidth = 360

// named replaces codes by names where names has them.
func named(counts []audit.Count, names map[string]string) []audit.Count {
	out := make([]audit.Count, len(counts))
	for i, c := range counts {
		if n, ok := names[c.Key]; ok {
			c.Key = n
		}
		out[i] = c
	}
	return out
}

func newBarChart(title string, counts []audit.Count) barChart {
	max := 0
	for _, c := range counts {
		if c.Count > max {
			max = c.Count
		}
	}
	ch := barChart{Title: title, Height: len(counts)*28 + 4}
	for i, c := range counts {
		w := 0
		if max > 0 {
			w = c.Count * chartWidth / max
		}
		if w < 2 && c.Count > 0 {
			w = 2
		}
		ch.Bars = append(ch.Bars, bar{Label: c.Key, Count: c.Count, Y: i*28 + 2, Width: w, TextY: i*28 + 19, CountX: 230 + w + 6})
	}
	return ch
}
