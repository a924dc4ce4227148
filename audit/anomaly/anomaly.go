// Package anomaly finds patterns in the audit trail that a security reviewer
// should look at, with simple rules whose every finding names the rule, says
// in words why it fired and lists the events behind it. It judges nothing:
// an officer reading many subjects may have a good reason; the report makes
// the question visible. It works on events already loaded (no storage).
package anomaly

import (
	"fmt"
	"sort"
	"time"

	"yiku/audit"
)

// Rule names.
const (
	ManySubjectsFewCases = "many_subjects_few_cases"
	OffHours             = "off_hours"
	RepeatedDenials      = "repeated_denials"
	DepartmentVolume     = "department_volume"
)

// Rules are the thresholds; Defaults are a starting point for a district.
type Rules struct {
	// A principal reading at least MinSubjects distinct subjects with fewer
	// than one distinct case number per SubjectsPerCase subjects.
	MinSubjects     int
	SubjectsPerCase int
	// Working hours in Location: reads outside [WorkStart, WorkEnd) or on
	// Saturdays and Sundays are reported.
	Location           *time.Location
	WorkStart, WorkEnd int
	// At least MaxDenials denials by one principal within DenialWindow.
	MaxDenials   int
	DenialWindow time.Duration
	// A department reading on one day more than VolumeFactor times its
	// average daily reads over the other days of the window, and at least
	// MinVolume reads.
	VolumeFactor float64
	MinVolume    int
}

// Defaults returns the rules used when a reviewer does not tune them.
func Defaults() Rules {
	loc, err := time.LoadLocation("Asia/Shanghai")
	if err != nil {
		loc = time.FixedZone("CST", 8*3600)
	}
	return Rules{MinSubjects: 10, SubjectsPerCase: 3, Location: loc, WorkStart: 8, WorkEnd: 18,
		MaxDenials: 5, DenialWindow: time.Hour, VolumeFactor: 3, MinVolume: 20}
}

// Finding is one anomaly with the events behind it.
type Finding struct {
	Rule        string        `json:"rule"`
	Principal   string        `json:"principal,omitempty"`
	Department  string        `json:"department,omitempty"`
	Explanation string        `json:"explanation"`
	Events      []audit.Event `json:"events"`
}

// reads are allowed events that returned data about subjects.
func isRead(e audit.Event) bool {
	return e.Outcome == audit.Allowed && len(e.Subjects) > 0 && e.Action != audit.ActionReuse
}

// Find applies every rule to events (any order) and returns the findings,
// ordered by rule and then principal or department.
func Find(events []audit.Event, r Rules) []Finding {
	sorted := append([]audit.Event(nil), events...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Time.Before(sorted[j].Time) })
	var out []Finding
	out = append(out, manySubjects(sorted, r)...)
	out = append(out, offHours(sorted, r)...)
	out = append(out, denials(sorted, r)...)
	out = append(out, volume(sorted, r)...)
	return out
}

func byPrincipal(events []audit.Event, keep func(audit.Event) bool) ([]string, map[string][]audit.Event) {
	m := map[string][]audit.Event{}
	var keys []string
	for _, e := range events {
		if !keep(e) {
			continue
		}
		if _, ok := m[e.PrincipalName]; !ok {
			keys = append(keys, e.PrincipalName)
		}
		m[e.PrincipalName] = append(m[e.PrincipalName], e)
	}
	sort.Strings(keys)
	return keys, m
}

func manySubjects(events []audit.Event, r Rules) []Finding {
	var out []Finding
	keys, m := byPrincipal(events, isRead)
	for _, p := range keys {
		evs := m[p]
		subjects, cases := map[string]bool{}, map[string]bool{}
		for _, e := range evs {
			for _, s := range e.Subjects {
				subjects[s] = true
			}
			if e.CaseNumber != "" {
				cases[e.CaseNumber] = true
			}
		}
		if len(subjects) >= r.MinSubjects && len(cases)*r.SubjectsPerCase < len(subjects) {
			out = append(out, Finding{Rule: ManySubjectsFewCases, Principal: p, Department: evs[0].Department, Events: evs,
				Explanation: fmt.Sprintf("%s read %d different subjects under only %d distinct case number(s); more than %d subjects per case is unusual",
					p, len(subjects), len(cases), r.SubjectsPerCase)})
		}
	}
	return out
}

func offHours(events []audit.Event, r Rules) []Finding {
	var out []Finding
	keys, m := byPrincipal(events, func(e audit.Event) bool {
		if !isRead(e) {
			return false
		}
		t := e.Time.In(r.Location)
		wd := t.Weekday()
		return wd == time.Saturday || wd == time.Sunday || t.Hour() < r.WorkStart || t.Hour() >= r.WorkEnd
	})
	for _, p := range keys {
		evs := m[p]
		out = append(out, Finding{Rule: OffHours, Principal: p, Department: evs[0].Department, Events: evs,
			Explanation: fmt.Sprintf("%s read personal data %d time(s) outside working hours (%02d:00-%02d:00, Monday to Friday, %s)",
				p, len(evs), r.WorkStart, r.WorkEnd, r.Location)})
	}
	return out
}

func denials(events []audit.Event, r Rules) []Finding {
	var out []Finding
	keys, m := byPrincipal(events, func(e audit.Event) bool { return e.Outcome == audit.Denied })
	for _, p := range keys {
		evs := m[p]
		// Sliding window over the principal's denials, in time order; report
		// the largest burst.
		best, bi, bj := 0, 0, 0
		i := 0
		for j := range evs {
			for evs[j].Time.Sub(evs[i].Time) > r.DenialWindow {
				i++
			}
			if j-i+1 > best {
				best, bi, bj = j-i+1, i, j
			}
		}
		if best >= r.MaxDenials {
			burst := evs[bi : bj+1]
			out = append(out, Finding{Rule: RepeatedDenials, Principal: p, Department: burst[0].Department, Events: burst,
				Explanation: fmt.Sprintf("%s was denied %d times within %s (from %s)", p, best, r.DenialWindow, burst[0].Time.In(r.Location).Format(time.DateTime))})
		}
	}
	return out
}

func volume(events []audit.Event, r Rules) []Finding {
	type day struct {
		dept, date string
	}
	perDay := map[day][]audit.Event{}
	days := map[string]bool{}
	depts := map[string]bool{}
	for _, e := range events {
		if !isRead(e) {
			continue
		}
		d := day{e.Department, e.Time.In(r.Location).Format(time.DateOnly)}
		perDay[d] = append(perDay[d], e)
		days[d.date] = true
		depts[e.Department] = true
	}
	if len(days) < 2 {
		return nil
	}
	var dates, deptList []string
	for d := range days {
		dates = append(dates, d)
	}
	for d := range depts {
		deptList = append(deptList, d)
	}
	sort.Strings(dates)
	sort.Strings(deptList)
	var out []Finding
	for _, dept := range deptList {
		total := 0
		for _, date := range dates {
			total += len(perDay[day{dept, date}])
		}
		for _, date := range dates {
			n := len(perDay[day{dept, date}])
			others := float64(total-n) / float64(len(dates)-1)
			if n >= r.MinVolume && float64(n) > r.VolumeFactor*others {
				out = append(out, Finding{Rule: DepartmentVolume, Department: dept, Events: perDay[day{dept, date}],
					Explanation: fmt.Sprintf("department %s made %d reads on %s against an average of %.1f a day on the other %d day(s) of the window",
						dept, n, date, others, len(dates)-1)})
			}
		}
	}
	return out
}
