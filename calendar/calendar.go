// Package calendar owns working days for every deadline in the hub: share
// requests, data objections and case time limits count on one Calendar.
//
// A working day is Monday to Friday, except the public holidays the State
// Council announces each year, plus the weekend days worked in their place
// (调休). The announced calendars come from github.com/6tail/lunar-go's
// holiday tables; a YAML file may replace a year or add one the tables do
// not carry yet. A year neither covers is counted Monday to Friday, and
// Uncovered names it so the hub can warn at start.
//
// It holds dates only; it does not store anything or know what a deadline
// is for.
package calendar

import (
	"fmt"
	"sort"
	"time"
)

// CST is China Standard Time, the zone every working day is counted in.
// China has no daylight saving time, so a fixed zone is exact.
var CST = time.FixedZone("CST", 8*60*60)

// Source says where a year's calendar comes from.
type Source string

const (
	// SourceTables is lunar-go's holiday tables.
	SourceTables Source = "lunar-go"
	// SourceFile is the override file.
	SourceFile Source = "file"
	// SourceWeekdays means the year is not covered: Monday to Friday.
	SourceWeekdays Source = "weekdays"
)

// Year is one year's announced exceptions to Monday–Friday.
type Year struct {
	// Holidays are days off, whatever the weekday.
	Holidays []Date
	// Workdays are weekend days worked in place of holidays (调休).
	Workdays []Date
}

// Date is a civil date, without time or zone.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the civil date of t in China Standard Time.
func DateOf(t time.Time) Date {
	y, m, d := t.In(CST).Date()
	return Date{y, m, d}
}

// Start is the first instant of d in China Standard Time.
func (d Date) Start() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, CST) }

// AddDays returns the date n days after d.
func (d Date) AddDays(n int) Date { return DateOf(d.Start().AddDate(0, 0, n)) }

// Weekday is d's day of the week.
func (d Date) Weekday() time.Weekday { return d.Start().Weekday() }

// Before reports whether d comes before e.
func (d Date) Before(e Date) bool { return d.key() < e.key() }

func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

func (d Date) key() int { return d.Year*10000 + int(d.Month)*100 + d.Day }

// ParseDate reads YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	t, err := time.ParseInLocation(time.DateOnly, s, CST)
	if err != nil {
		return Date{}, fmt.Errorf("calendar: %q is not a date (YYYY-MM-DD)", s)
	}
	return DateOf(t), nil
}

// Calendar answers which days are working days. It is immutable once
// built and safe for concurrent use.
type Calendar struct {
	working map[int]bool // day key → working? for days that differ from Monday–Friday
	sources map[int]Source
}

// Weekdays is a calendar with no announced year: Monday to Friday only.
func Weekdays() *Calendar {
	return &Calendar{working: map[int]bool{}, sources: map[int]Source{}}
}

// New builds a calendar from the holiday tables, then lets each year in
// overrides replace the tables' year or add one.
func New(overrides map[int]Year) (*Calendar, error) {
	c := Weekdays()
	tables, err := fromTables()
	if err != nil {
		return nil, err
	}
	for y, yr := range tables {
		c.add(y, yr, SourceTables)
	}
	for y, yr := range overrides {
		if err := check(y, yr); err != nil {
			return nil, err
		}
		// The file's year replaces every day of that year the tables
		// named, whichever holiday they served.
		for k := range c.working {
			if k/10000 == y {
				delete(c.working, k)
			}
		}
		c.add(y, yr, SourceFile)
	}
	return c, nil
}

func check(y int, yr Year) error {
	off := map[Date]bool{}
	for _, d := range yr.Holidays {
		if d.Year != y {
			return fmt.Errorf("calendar: year %d: holiday %s is in another year", y, d)
		}
		off[d] = true
	}
	for _, d := range yr.Workdays {
		if d.Year != y {
			return fmt.Errorf("calendar: year %d: working day %s is in another year", y, d)
		}
		if off[d] {
			return fmt.Errorf("calendar: year %d: %s is both a holiday and a working day", y, d)
		}
		if wd := d.Weekday(); wd != time.Saturday && wd != time.Sunday {
			return fmt.Errorf("calendar: year %d: working day %s is a %s, which is a working day anyway", y, d, wd)
		}
	}
	return nil
}

func (c *Calendar) add(y int, yr Year, src Source) {
	for _, d := range yr.Holidays {
		c.working[d.key()] = false
	}
	for _, d := range yr.Workdays {
		c.working[d.key()] = true
	}
	c.sources[y] = src
}

// Source says where year y's calendar comes from.
func (c *Calendar) Source(y int) Source {
	if s, ok := c.sources[y]; ok {
		return s
	}
	return SourceWeekdays
}

// Years lists the covered years, oldest first.
func (c *Calendar) Years() []int {
	ys := make([]int, 0, len(c.sources))
	for y := range c.sources {
		ys = append(ys, y)
	}
	sort.Ints(ys)
	return ys
}

// Uncovered returns which of the years neither the tables nor the file
// cover; those count Monday to Friday.
func (c *Calendar) Uncovered(years ...int) []int {
	var out []int
	for _, y := range years {
		if _, ok := c.sources[y]; !ok {
			out = append(out, y)
		}
	}
	return out
}

// IsWorkday reports whether d is a working day.
func (c *Calendar) IsWorkday(d Date) bool {
	if w, ok := c.working[d.key()]; ok {
		return w
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// Deadline returns when something begun at t is due after days working
// days: the end of the days-th working day after the day of t, in China
// Standard Time, as UTC. The day of t itself never counts, so a request
// made on a holiday or late on a Friday gets its full days.
func (c *Calendar) Deadline(t time.Time, days int) time.Time {
	day := DateOf(t)
	for n := 0; n < days; {
		day = day.AddDays(1)
		if c.IsWorkday(day) {
			n++
		}
	}
	return day.AddDays(1).Start().UTC()
}

// WorkdaysBetween counts the working days after the day of from up to and
// including the day of to: how many working days something begun at from
// and finished at to took. It is 0 when to is on from's day or earlier.
func (c *Calendar) WorkdaysBetween(from, to time.Time) int {
	a, b := DateOf(from), DateOf(to)
	n := 0
	for d := a.AddDays(1); !b.Before(d); d = d.AddDays(1) {
		if c.IsWorkday(d) {
			n++
		}
	}
	return n
}
