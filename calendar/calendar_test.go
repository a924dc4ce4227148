package calendar

import (
	"strings"
	"testing"
	"time"
)

func day(t *testing.T, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func tables(t *testing.T) *Calendar {
	t.Helper()
	c, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// The 2026 National Day as lunar-go's tables carry the State Council's
// notice (国办发明电〔2025〕7号): Mid-Autumn 25–27 September, National Day
// 1–7 October, worked on Sunday 20 September and Saturday 10 October.
func TestNationalDay2026(t *testing.T) {
	c := tables(t)
	cases := []struct {
		day     string
		working bool
	}{
		{"2026-09-19", false}, // Saturday
		{"2026-09-20", true},  // Sunday worked for National Day (调休)
		{"2026-09-24", true},  // Thursday
		{"2026-09-25", false}, // Mid-Autumn, a Friday
		{"2026-09-26", false},
		{"2026-09-27", false},
		{"2026-09-28", true},
		{"2026-09-30", true},
		{"2026-10-01", false}, // National Day, a Thursday
		{"2026-10-05", false}, // Monday in the holiday
		{"2026-10-07", false},
		{"2026-10-08", true},
		{"2026-10-10", true},  // Saturday worked (调休)
		{"2026-10-11", false}, // Sunday
		{"2026-10-12", true},
	}
	for _, k := range cases {
		if got := c.IsWorkday(day(t, k.day)); got != k.working {
			t.Errorf("IsWorkday(%s) = %v, want %v", k.day, got, k.working)
		}
	}
}

func TestDeadline(t *testing.T) {
	c := tables(t)
	cases := []struct {
		name string
		at   string // RFC 3339
		days int
		want string // end of the last working day, CST, as UTC
	}{
		{"monday morning, 10 days", "2026-03-02T09:00:00+08:00", 10, "2026-03-16T16:00:00Z"},
		{"friday evening skips the weekend", "2026-03-06T23:30:00+08:00", 1, "2026-03-09T16:00:00Z"},
		{"saturday counts from monday", "2026-03-07T10:00:00+08:00", 1, "2026-03-09T16:00:00Z"},
		{"sunday, 5 days", "2026-03-08T10:00:00+08:00", 5, "2026-03-13T16:00:00Z"},
		{"UTC evening is the next day in CST", "2026-03-06T17:00:00Z", 1, "2026-03-09T16:00:00Z"},
		// Thursday 24 September 2026, the last working day before the
		// Mid-Autumn and National Day holidays: 28, 29, 30 September,
		// 8, 9, 10 (the worked Saturday), 12, 13, 14, 15 October.
		{"thursday before national day, 10 days", "2026-09-24T10:00:00+08:00", 10, "2026-10-15T16:00:00Z"},
		// 5 working days: 28, 29, 30 September, 8, 9 October.
		{"thursday before national day, 5 days", "2026-09-24T10:00:00+08:00", 5, "2026-10-09T16:00:00Z"},
		// 6 days reach the worked Saturday itself.
		{"worked saturday is a deadline day", "2026-09-24T10:00:00+08:00", 6, "2026-10-10T16:00:00Z"},
		// Filed on the worked Sunday 20 September: the next day counts first.
		{"filed on a worked sunday", "2026-09-20T10:00:00+08:00", 4, "2026-09-24T16:00:00Z"},
		// Spring Festival 2026: 15–23 February off, 14 and 28 February worked.
		{"across spring festival", "2026-02-13T10:00:00+08:00", 3, "2026-02-25T16:00:00Z"},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			at, err := time.Parse(time.RFC3339, k.at)
			if err != nil {
				t.Fatal(err)
			}
			if got := c.Deadline(at, k.days).Format(time.RFC3339); got != k.want {
				t.Fatalf("Deadline(%s, %d) = %s, want %s", k.at, k.days, got, k.want)
			}
		})
	}
}

func TestWorkdaysBetween(t *testing.T) {
	c := tables(t)
	at := func(s string) time.Time {
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		from, to string
		want     int
	}{
		{"2026-09-24T10:00:00+08:00", "2026-09-24T18:00:00+08:00", 0},
		{"2026-09-24T10:00:00+08:00", "2026-09-28T09:00:00+08:00", 1},
		{"2026-09-24T10:00:00+08:00", "2026-10-10T09:00:00+08:00", 6},
		{"2026-09-24T10:00:00+08:00", "2026-10-15T23:59:00+08:00", 10},
		{"2026-10-15T10:00:00+08:00", "2026-09-24T10:00:00+08:00", 0},
	}
	for _, k := range cases {
		if got := c.WorkdaysBetween(at(k.from), at(k.to)); got != k.want {
			t.Errorf("WorkdaysBetween(%s, %s) = %d, want %d", k.from, k.to, got, k.want)
		}
	}
}

func TestCoverage(t *testing.T) {
	c := tables(t)
	for _, y := range []int{2020, 2025, 2026, 2027} {
		if c.Source(y) != SourceTables {
			t.Errorf("year %d: source %s, want the tables", y, c.Source(y))
		}
	}
	// 2001 has only the working days paid for 2002's New Year.
	if got := c.Uncovered(2001, 2026, 2030); len(got) != 2 || got[0] != 2001 || got[1] != 2030 {
		t.Fatalf("Uncovered = %v, want [2001 2030]", got)
	}
	// An uncovered year counts Monday to Friday: 2030-10-01 is a Tuesday.
	if !c.IsWorkday(day(t, "2030-10-01")) || c.IsWorkday(day(t, "2030-10-05")) {
		t.Fatal("an uncovered year must fall back to Monday–Friday")
	}
}

func TestOverrideFile(t *testing.T) {
	years, err := ParseFile([]byte(`
years:
  2026:
    holidays: [2026-10-01, 2026-10-02]
    workdays: ["2026-10-03"]
  2030:
    holidays: [2030-10-01]
    workdays: []
`))
	if err != nil {
		t.Fatal(err)
	}
	c, err := New(years)
	if err != nil {
		t.Fatal(err)
	}
	if c.Source(2026) != SourceFile || c.Source(2030) != SourceFile || c.Source(2027) != SourceTables {
		t.Fatalf("sources: %s %s %s", c.Source(2026), c.Source(2030), c.Source(2027))
	}
	for _, k := range []struct {
		day     string
		working bool
	}{
		{"2026-10-01", false},
		{"2026-10-03", true},  // the file's working Saturday
		{"2026-10-05", true},  // the tables' holiday, replaced by the file
		{"2026-10-10", false}, // the tables' worked Saturday, replaced too
		{"2030-10-01", false},
		{"2030-10-02", true},
		{"2025-12-31", true}, // another year is untouched
	} {
		if got := c.IsWorkday(day(t, k.day)); got != k.working {
			t.Errorf("IsWorkday(%s) = %v, want %v", k.day, got, k.working)
		}
	}
	if len(c.Uncovered(2030)) != 0 {
		t.Fatal("the file's year must count as covered")
	}
}

func TestOverrideFileErrors(t *testing.T) {
	cases := []struct{ name, yaml, want string }{
		{"bad date", "years:\n  2028:\n    holidays: [2028-02-30]\n", "not a date"},
		{"other year", "years:\n  2028:\n    holidays: [2029-01-01]\n", "another year"},
		{"both", "years:\n  2028:\n    holidays: [2028-01-29]\n    workdays: [2028-01-29]\n", "both"},
		{"weekday worked", "years:\n  2028:\n    workdays: [2028-01-31]\n", "working day anyway"},
		{"unknown key", "years:\n  2028:\n    holiday: [2028-01-01]\n", "not found"},
		{"not yaml", "years: [", "yaml"},
		{"silly year", "years:\n  20:\n    holidays: []\n", "not a year"},
	}
	for _, k := range cases {
		t.Run(k.name, func(t *testing.T) {
			_, err := ParseFile([]byte(k.yaml))
			if err == nil || !strings.Contains(err.Error(), k.want) {
				t.Fatalf("err = %v, want one containing %q", err, k.want)
			}
		})
	}
}

func TestLoad(t *testing.T) {
	if _, err := Load(t.TempDir() + "/missing.yaml"); err == nil {
		t.Fatal("a missing override file must be an error")
	}
	c, err := Load("")
	if err != nil || c.Source(2026) != SourceTables {
		t.Fatalf("Load(\"\") = %v, %v", c, err)
	}
}

func FuzzParseFile(f *testing.F) {
	f.Add([]byte("years:\n  2028:\n    holidays: [2028-01-01]\n    workdays: [2028-01-29]\n"))
	f.Add([]byte("years: {}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		years, err := ParseFile(data)
		if err != nil {
			return
		}
		if _, err := New(years); err != nil {
			t.Fatalf("a parsed file must build: %v", err)
		}
	})
}
