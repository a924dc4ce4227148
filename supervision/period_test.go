package supervision

import (
	"strings"
	"testing"
	"time"

	"yiku/catalog"
)

func TestParsePeriod(t *testing.T) {
	cases := []struct {
		in, str, from, to, prev string
	}{
		{"2026-11", "2026-11", "2026-11-01", "2026-12-01", "2026-10"},
		{"2026-01", "2026-01", "2026-01-01", "2026-02-01", "2025-12"},
		{"2026-Q4", "2026-Q4", "2026-10-01", "2027-01-01", "2026-Q3"},
		{"2026-q1", "2026-Q1", "2026-01-01", "2026-04-01", "2025-Q4"},
		{"2026", "2026", "2026-01-01", "2027-01-01", "2025"},
	}
	for _, c := range cases {
		p, err := ParsePeriod(c.in)
		if err != nil {
			t.Fatalf("%s: %v", c.in, err)
		}
		from, to := p.Bounds()
		if p.String() != c.str || from.Format(time.DateOnly) != c.from || to.Format(time.DateOnly) != c.to || p.Previous().String() != c.prev {
			t.Errorf("%s: %s [%s, %s) prev %s", c.in, p, from, to, p.Previous())
		}
		if _, off := from.Zone(); off != 8*3600 {
			t.Errorf("%s: bounds not in China Standard Time", c.in)
		}
	}
	for _, bad := range []string{"", "2026-13", "2026-00", "2026-Q5", "26-11", "2026-11-01", "1999", "november"} {
		if _, err := ParsePeriod(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func FuzzParsePeriod(f *testing.F) {
	for _, s := range []string{"2026-11", "2026-Q4", "2026", "x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePeriod(s)
		if err != nil {
			return
		}
		q, err := ParsePeriod(p.String())
		if err != nil || q != p {
			t.Fatalf("%q → %v → %v %v", s, p, q, err)
		}
		if from, to := p.Bounds(); !from.Before(to) {
			t.Fatalf("%v: empty bounds", p)
		}
	})
}

func TestFreshnessRules(t *testing.T) {
	now := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	res := func(id, cycle string) catalog.Resource {
		return catalog.Resource{ID: id, ProviderCode: "p", UpdateCycle: cycle, Status: catalog.StatusPublished, CreatedAt: now.AddDate(-1, 0, 0)}
	}
	last := map[string]time.Time{
		"daily-fresh": now.Add(-23 * time.Hour), "daily-stale": now.Add(-50 * time.Hour),
		"weekly-fresh": now.AddDate(0, 0, -6), "monthly-stale": now.AddDate(0, -1, -3), "yearly-fresh": now.AddDate(0, -11, 0),
		"irregular": now.AddDate(-1, 0, 0),
	}
	rs := []catalog.Resource{res("daily-fresh", "daily"), res("daily-stale", "daily"), res("weekly-fresh", "weekly"), res("monthly-stale", "monthly"),
		res("yearly-fresh", "yearly"), res("irregular", "irregular"), res("never", "quarterly")}
	draft := res("draft", "daily")
	draft.Status = catalog.StatusDraft
	rs = append(rs, draft)
	got := map[string]Freshness{}
	for _, f := range FreshnessOf(rs, last, now) {
		got[f.Resource] = f
	}
	if _, ok := got["draft"]; ok {
		t.Error("a draft resource is judged")
	}
	for id, stale := range map[string]bool{"daily-fresh": false, "daily-stale": true, "weekly-fresh": false, "monthly-stale": true, "yearly-fresh": false, "never": true} {
		if f := got[id]; f.Stale != stale || !f.Assessed {
			t.Errorf("%s: %+v, want stale=%v", id, f, stale)
		}
	}
	if f := got["daily-stale"]; f.OverdueSeconds != 26*3600 || f.Overdue != "1d2h" {
		t.Errorf("daily-stale overdue: %+v", f)
	}
	if f := got["never"]; f.LastPublish != nil || f.Due == nil || !f.Due.Equal(now.AddDate(-1, 3, 0)) {
		t.Errorf("never published: %+v", f)
	}
	if f := got["irregular"]; f.Assessed || f.Stale {
		t.Errorf("irregular: %+v", f)
	}
}

func TestScoringFile(t *testing.T) {
	if s := DefaultScoring(); len(s.Weights) != 8 || s.Weights["requests_on_time_share"] != 20 {
		t.Fatalf("shipped scoring: %+v", s)
	}
	for yaml, want := range map[string]string{
		"weights: {lookups: 1}":        "not a scored metric",
		"weights: {fresh_share: -1}":   "negative",
		"weights: {fresh_share: 0}":    "no positive weight",
		"weight: {fresh_share: 1}":     "not found",
		"weights: {fresh_share: many}": "cannot unmarshal",
	} {
		if _, err := ParseScoring([]byte(yaml)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", yaml, err, want)
		}
	}
	s, err := ParseScoring([]byte("weights: {fresh_share: 1}"))
	if err != nil || s.Weights["fresh_share"] != 1 {
		t.Fatalf("%+v %v", s, err)
	}
}

func TestReasonInt(t *testing.T) {
	for _, c := range []struct {
		reason, key string
		n           int64
		ok          bool
	}{
		{"accepted=90 rejected=10", "rejected", 10, true},
		{"accepted=90 rejected=10", "accepted", 90, true},
		{"item=x supplied=2 not_available=1", "supplied", 2, true},
		{"item=x not_supplied=2", "supplied", 0, false},
		{"rejected=x", "rejected", 0, false},
		{"", "rejected", 0, false},
	} {
		if n, ok := reasonInt(c.reason, c.key); n != c.n || ok != c.ok {
			t.Errorf("reasonInt(%q, %q) = %d %v", c.reason, c.key, n, ok)
		}
	}
}
