package supervision

import (
	"sort"
	"time"

	"yiku/catalog"
)

// cycleDue returns when a resource that last published at last is due
// again under its update cycle, and false for cycles without a due date
// (irregular, or one the catalog does not know).
func cycleDue(cycle string, last time.Time) (time.Time, bool) {
	switch cycle {
	case "realtime", "daily":
		// A real-time resource that has said nothing for a day is stale
		// as surely as a daily one.
		return last.AddDate(0, 0, 1), true
	case "weekly":
		return last.AddDate(0, 0, 7), true
	case "monthly":
		return last.AddDate(0, 1, 0), true
	case "quarterly":
		return last.AddDate(0, 3, 0), true
	case "half_yearly":
		return last.AddDate(0, 6, 0), true
	case "yearly":
		return last.AddDate(1, 0, 0), true
	}
	return time.Time{}, false
}

// Freshness is one resource's last accepted publish against its cycle.
type Freshness struct {
	Resource     string `json:"resource"`
	Name         string `json:"name"`
	ProviderCode string `json:"provider"`
	Cycle        string `json:"update_cycle"`
	// LastPublish is when the newest accepted version was published; nil
	// when the library holds none.
	LastPublish *time.Time `json:"last_publish,omitempty"`
	// Due is when the next publish is due: a cycle after LastPublish, or a
	// cycle after the resource's registration when it never published.
	Due *time.Time `json:"due,omitempty"`
	// Assessed is false for irregular resources, which have no due date.
	Assessed bool `json:"assessed"`
	Stale    bool `json:"stale"`
	// OverdueSeconds is how long past Due the resource is at the time of
	// the answer (0 when fresh).
	OverdueSeconds int64  `json:"overdue_seconds"`
	Overdue        string `json:"overdue,omitempty"`
}

// FreshnessOf judges each published resource at asOf from the time of
// its last accepted publish at or before asOf (absent: never published).
func FreshnessOf(resources []catalog.Resource, last map[string]time.Time, asOf time.Time) []Freshness {
	out := make([]Freshness, 0, len(resources))
	for _, r := range resources {
		if r.Status != catalog.StatusPublished || !r.CreatedAt.Before(asOf) {
			continue
		}
		f := Freshness{Resource: r.ID, Name: r.Name, ProviderCode: r.ProviderCode, Cycle: r.UpdateCycle}
		base := r.CreatedAt
		if t, ok := last[r.ID]; ok {
			t = t.UTC()
			f.LastPublish, base = &t, t
		}
		if due, ok := cycleDue(r.UpdateCycle, base); ok {
			due = due.UTC()
			f.Due, f.Assessed = &due, true
			if asOf.After(due) {
				f.Stale = true
				f.OverdueSeconds = int64(asOf.Sub(due) / time.Second)
				f.Overdue = humanDuration(asOf.Sub(due))
			}
		}
		out = append(out, f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProviderCode != out[j].ProviderCode {
			return out[i].ProviderCode < out[j].ProviderCode
		}
		if out[i].OverdueSeconds != out[j].OverdueSeconds {
			return out[i].OverdueSeconds > out[j].OverdueSeconds
		}
		return out[i].Resource < out[j].Resource
	})
	return out
}

// humanDuration says an overdue time as days and hours.
func humanDuration(d time.Duration) string {
	days := int(d / (24 * time.Hour))
	hours := int((d % (24 * time.Hour)) / time.Hour)
	switch {
	case days > 0:
		return itoa(days) + "d" + itoa(hours) + "h"
	case hours > 0:
		return itoa(hours) + "h"
	}
	return itoa(int(d/time.Minute)) + "m"
}
