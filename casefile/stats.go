package casefile

import (
	"context"
	"slices"
	"time"
)

// ItemTimes is one service item's processing against its time limit over
// the cases opened in a window: how many were opened, decided (approved or
// rejected) and finished, how many decided within the time limit and how
// many passed it (decided late, or still open past it), and the median and
// 90th-percentile working days from acceptance to decision.
type ItemTimes struct {
	ServiceItem   string `json:"service_item"`
	ItemName      string `json:"service_item_name"`
	TimeLimitDays int    `json:"time_limit_days"`
	Opened        int    `json:"opened"`
	Decided       int    `json:"decided"`
	Finished      int    `json:"finished"`
	WithinLimit   int    `json:"within_limit"`
	Overdue       int    `json:"overdue"`
	MedianDays    *int   `json:"median_working_days,omitempty"`
	P90Days       *int   `json:"p90_working_days,omitempty"`
}

const statsPage = 1000

// Processing computes ItemTimes, by item code, for the cases opened in
// [from, to), of one department if dept is set.
func (s *Service) Processing(ctx context.Context, from, to time.Time, dept string) ([]ItemTimes, error) {
	by := map[string]*ItemTimes{}
	days := map[string][]int{}
	for off := 0; ; off += statsPage {
		cs, _, err := s.Store.List(ctx, Filter{Department: dept, From: from, To: to, Limit: statsPage, Offset: off})
		if err != nil {
			return nil, err
		}
		for _, c := range cs {
			c = s.timed(c)
			it := by[c.ServiceItem]
			if it == nil {
				it = &ItemTimes{ServiceItem: c.ServiceItem, ItemName: c.ItemName, TimeLimitDays: c.TimeLimitDays}
				by[c.ServiceItem] = it
			}
			it.Opened++
			if c.FinishedAt != nil {
				it.Finished++
			}
			if c.Overdue {
				it.Overdue++
			}
			if _, ok := c.Ended(); ok {
				it.Decided++
				days[c.ServiceItem] = append(days[c.ServiceItem], c.WorkingDays)
				if c.TimeLimitDays > 0 && !c.Overdue {
					it.WithinLimit++
				}
			}
		}
		if len(cs) < statsPage {
			break
		}
	}
	out := make([]ItemTimes, 0, len(by))
	for code, it := range by {
		if d := days[code]; len(d) > 0 {
			slices.Sort(d)
			m, p := Percentile(d, 50), Percentile(d, 90)
			it.MedianDays, it.P90Days = &m, &p
		}
		out = append(out, *it)
	}
	slices.SortFunc(out, func(a, b ItemTimes) int {
		if a.ServiceItem < b.ServiceItem {
			return -1
		}
		if a.ServiceItem > b.ServiceItem {
			return 1
		}
		return 0
	})
	return out, nil
}

// Percentile is the nearest-rank q-th percentile of sorted (not empty).
func Percentile(sorted []int, q int) int {
	rank := (q*len(sorted) + 99) / 100 // ceil(q/100 × n)
	if rank < 1 {
		rank = 1
	}
	return sorted[rank-1]
}
