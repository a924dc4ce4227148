package schemas

import (
	"fmt"
	"time"
)

// civilDate is a calendar date without a time zone, so "born after today"
// compares dates, not instants.
type civilDate struct{ year, month, day int }

func todayIn(t time.Time) civilDate {
	y, m, d := t.In(chinaTime).Date()
	return civilDate{y, int(m), d}
}

func (d civilDate) before(o civilDate) bool {
	if d.year != o.year {
		return d.year < o.year
	}
	if d.month != o.month {
		return d.month < o.month
	}
	return d.day < o.day
}

func (d civilDate) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.year, d.month, d.day)
}

// parseDate reads 8 digits YYYYMMDD (GB/T 7408 basic format) and checks that
// the date exists in the Gregorian calendar.
func parseDate(s string) (civilDate, error) {
	if len(s) != 8 || !allDigits(s) {
		return civilDate{}, fmt.Errorf("%w: want 8 digits YYYYMMDD", ErrDate)
	}
	n := func(i, j int) int {
		v := 0
		for k := i; k < j; k++ {
			v = v*10 + int(s[k]-'0')
		}
		return v
	}
	d := civilDate{n(0, 4), n(4, 6), n(6, 8)}
	if d.month < 1 || d.month > 12 {
		return civilDate{}, fmt.Errorf("%w: month %02d does not exist", ErrDate, d.month)
	}
	if last := daysIn(d.year, d.month); d.day < 1 || d.day > last {
		return civilDate{}, fmt.Errorf("%w: day %02d does not exist in %04d-%02d (1-%d)",
			ErrDate, d.day, d.year, d.month, last)
	}
	return d, nil
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
