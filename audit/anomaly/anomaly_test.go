package anomaly_test

import (
	"fmt"
	"testing"
	"time"

	"yiku/audit"
	"yiku/audit/anomaly"
)

var cst = time.FixedZone("CST", 8*3600)

func read(p, dept, subject, caseNo string, at time.Time) audit.Event {
	return audit.Event{PrincipalName: p, Department: dept, Action: "lookup", Subjects: []string{subject}, CaseNumber: caseNo, Outcome: audit.Allowed, Time: at}
}

func TestRules(t *testing.T) {
	r := anomaly.Defaults()
	r.Location = cst
	mon10 := time.Date(2025, 3, 3, 10, 0, 0, 0, cst) // a Monday
	cases := []struct {
		name   string
		events func() []audit.Event
		want   map[string]int // rule -> findings
	}{
		{"normal work", func() []audit.Event {
			var es []audit.Event
			for i := 0; i < 12; i++ {
				es = append(es, read("officer-a", "lx-gsc", fmt.Sprint("s", i), fmt.Sprint("case", i), mon10.Add(time.Duration(i)*time.Minute)))
			}
			return es
		}, map[string]int{}},
		{"many subjects under one case", func() []audit.Event {
			var es []audit.Event
			for i := 0; i < 12; i++ {
				es = append(es, read("officer-a", "lx-gsc", fmt.Sprint("s", i), "case1", mon10.Add(time.Duration(i)*time.Minute)))
			}
			return es
		}, map[string]int{anomaly.ManySubjectsFewCases: 1}},
		{"night and weekend reads", func() []audit.Event {
			return []audit.Event{read("officer-b", "lx-gsc", "s1", "c1", time.Date(2025, 3, 3, 23, 30, 0, 0, cst)),
				read("officer-b", "lx-gsc", "s2", "c2", time.Date(2025, 3, 8, 11, 0, 0, 0, cst)),
				read("officer-c", "lx-gsc", "s3", "c3", mon10)}
		}, map[string]int{anomaly.OffHours: 1}},
		{"denials in a burst", func() []audit.Event {
			var es []audit.Event
			for i := 0; i < 5; i++ {
				es = append(es, audit.Event{PrincipalName: "officer-d", Outcome: audit.Denied, Time: mon10.Add(time.Duration(i) * 5 * time.Minute)})
			}
			return es
		}, map[string]int{anomaly.RepeatedDenials: 1}},
		{"denials spread out", func() []audit.Event {
			var es []audit.Event
			for i := 0; i < 5; i++ {
				es = append(es, audit.Event{PrincipalName: "officer-d", Outcome: audit.Denied, Time: mon10.Add(time.Duration(i) * 2 * time.Hour)})
			}
			return es
		}, map[string]int{}},
		{"department spike", func() []audit.Event {
			var es []audit.Event
			for d := 0; d < 4; d++ {
				for i := 0; i < 3; i++ {
					es = append(es, read(fmt.Sprint("o", i), "lx-civil", fmt.Sprint("s", d, i), fmt.Sprint("c", d, i), mon10.AddDate(0, 0, d).Add(time.Duration(i)*time.Minute)))
				}
			}
			for i := 0; i < 30; i++ {
				es = append(es, read(fmt.Sprint("o", i), "lx-civil", fmt.Sprint("x", i), fmt.Sprint("cx", i), mon10.AddDate(0, 0, 4).Add(time.Duration(i)*time.Minute)))
			}
			return es
		}, map[string]int{anomaly.DepartmentVolume: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := map[string]int{}
			for _, f := range anomaly.Find(tc.events(), r) {
				got[f.Rule]++
				if f.Explanation == "" || len(f.Events) == 0 {
					t.Errorf("finding without explanation or events: %+v", f)
				}
			}
			if fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("findings = %v, want %v", got, tc.want)
			}
		})
	}
}
