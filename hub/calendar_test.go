package hub

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"yiku/calendar"
)

func TestWarnUncoveredYears(t *testing.T) {
	cal, err := calendar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		now  time.Time
		want []string // years warned about
	}{
		{time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), nil},
		{time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), nil},                   // 2027 is in the tables
		{time.Date(2027, 12, 2, 0, 0, 0, 0, time.UTC), []string{"year=2028"}}, // December looks ahead
		{time.Date(2030, 3, 1, 0, 0, 0, 0, time.UTC), []string{"year=2030"}},
	}
	for _, c := range cases {
		var buf bytes.Buffer
		h := &Hub{Calendar: cal, Log: slog.New(slog.NewTextHandler(&buf, nil))}
		h.warnUncoveredYears(c.now)
		got := buf.String()
		if n := strings.Count(got, "level=WARN"); n != len(c.want) {
			t.Errorf("%s: %d warnings, want %d: %s", c.now, n, len(c.want), got)
		}
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no warning naming %s: %s", c.now, w, got)
			}
		}
	}
}
