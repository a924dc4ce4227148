package calendar

import (
	"fmt"

	"github.com/6tail/lunar-go/HolidayUtil"
)

// The tables start in 2001 and carry what the State Council has announced
// so far; scanning a generous range finds every year they hold without
// depending on the library's internal layout.
const (
	firstTableYear = 2000
	lastTableYear  = 2100
)

// fromTables reads lunar-go's holiday tables into one Year per holiday
// year. An entry belongs to the year of the holiday it serves (its
// target), not of its own day: the working Sunday 2025-12-28 that pays
// for a 2026 New Year's Day would otherwise make 2025 look covered by a
// single day. A year counts as covered when some entry targets it.
func fromTables() (map[int]Year, error) {
	out := map[int]Year{}
	for y := firstTableYear; y <= lastTableYear; y++ {
		l := HolidayUtil.GetHolidaysByYear(y)
		for e := l.Front(); e != nil; e = e.Next() {
			h, ok := e.Value.(*HolidayUtil.Holiday)
			if !ok {
				return nil, fmt.Errorf("calendar: holiday table entry of %d is a %T", y, e.Value)
			}
			day, err := ParseDate(h.GetDay())
			if err != nil {
				return nil, fmt.Errorf("calendar: holiday table: %w", err)
			}
			target, err := ParseDate(h.GetTarget())
			if err != nil {
				return nil, fmt.Errorf("calendar: holiday table: %w", err)
			}
			yr := out[target.Year]
			if h.IsWork() {
				yr.Workdays = append(yr.Workdays, day)
			} else {
				yr.Holidays = append(yr.Holidays, day)
			}
			out[target.Year] = yr
		}
	}
	return out, nil
}
