package sharing

import "time"

// China Standard Time: the district's working days are counted on its
// calendar. China has no daylight saving time, so a fixed zone is exact.
var cst = time.FixedZone("CST", 8*60*60)

// Deadline returns when an answer to a request made at t is due: the end
// of the days-th working day after the day of t, in China Standard Time.
// Working days are Monday to Friday; public holidays and the weekend days
// worked in their place (调休) are not modelled, so a deadline spanning a
// holiday falls earlier than the legal one, never later.
func Deadline(t time.Time, days int) time.Time {
	d := t.In(cst)
	day := time.Date(d.Year(), d.Month(), d.Day(), 0, 0, 0, 0, cst)
	for n := 0; n < days; {
		day = day.AddDate(0, 0, 1)
		if wd := day.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return day.AddDate(0, 0, 1).UTC()
}
