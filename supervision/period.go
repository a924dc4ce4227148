// Package supervision judges information sharing department by department
// (信息共享监督检查、考核通报): the freshness of each resource against the
// update cycle it declares in the catalog, and the periodic assessment —
// directory, supply, responsiveness, contribution, usage — computed from
// what the hub records (the directory, the library, share requests,
// objections and the audit trail), weighted into a score and a ranking,
// written as JSON, CSV or an Excel workbook.
//
// It reads other parts' tables and writes none; it holds no HTTP
// (supervisionapi) and no rules of the parts it judges.
package supervision

import (
	"fmt"
	"regexp"
	"strconv"
	"time"

	"yiku/calendar"
	"yiku/fault"
)

// Kind is the length of a period.
type Kind string

const (
	Month   Kind = "month"
	Quarter Kind = "quarter"
	Year    Kind = "year"
)

// Period is one month, quarter or year in China Standard Time.
type Period struct {
	Kind  Kind
	Year  int
	Index int // month 1–12, quarter 1–4, 0 for a year
}

var periodRe = regexp.MustCompile(`^(\d{4})(?:-(?:(\d{2})|[Qq]([1-4])))?$`)

// ParsePeriod reads 2026-11 (a month), 2026-Q4 (a quarter) or 2026 (a year).
func ParsePeriod(s string) (Period, error) {
	m := periodRe.FindStringSubmatch(s)
	bad := fault.Invalidf("invalid_period", "period %q is not a month (2026-11), a quarter (2026-Q4) or a year (2026)", s).
		WithDetails(fault.Detail{Field: "period", Reason: "not a period"})
	if m == nil {
		return Period{}, bad
	}
	y, _ := strconv.Atoi(m[1])
	if y < 2000 || y > 2200 {
		return Period{}, bad
	}
	switch {
	case m[2] != "":
		mo, _ := strconv.Atoi(m[2])
		if mo < 1 || mo > 12 {
			return Period{}, bad
		}
		return Period{Month, y, mo}, nil
	case m[3] != "":
		q, _ := strconv.Atoi(m[3])
		return Period{Quarter, y, q}, nil
	}
	return Period{Year, y, 0}, nil
}

func (p Period) String() string {
	switch p.Kind {
	case Month:
		return fmt.Sprintf("%04d-%02d", p.Year, p.Index)
	case Quarter:
		return fmt.Sprintf("%04d-Q%d", p.Year, p.Index)
	}
	return fmt.Sprintf("%04d", p.Year)
}

// Bounds returns the period's first instant and the first instant after it.
func (p Period) Bounds() (from, to time.Time) {
	switch p.Kind {
	case Month:
		from = time.Date(p.Year, time.Month(p.Index), 1, 0, 0, 0, 0, calendar.CST)
		return from, from.AddDate(0, 1, 0)
	case Quarter:
		from = time.Date(p.Year, time.Month(3*(p.Index-1)+1), 1, 0, 0, 0, 0, calendar.CST)
		return from, from.AddDate(0, 3, 0)
	}
	from = time.Date(p.Year, 1, 1, 0, 0, 0, 0, calendar.CST)
	return from, from.AddDate(1, 0, 0)
}

// Previous is the period of the same kind before p.
func (p Period) Previous() Period {
	switch p.Kind {
	case Month:
		if p.Index == 1 {
			return Period{Month, p.Year - 1, 12}
		}
		return Period{Month, p.Year, p.Index - 1}
	case Quarter:
		if p.Index == 1 {
			return Period{Quarter, p.Year - 1, 4}
		}
		return Period{Quarter, p.Year, p.Index - 1}
	}
	return Period{Year, p.Year - 1, 0}
}
