package loadgen

import (
	"testing"
	"time"
)

func TestParseProcStatCPU(t *testing.T) {
	cases := []struct {
		line string
		want time.Duration
	}{
		// user nice system idle iowait irq softirq steal guest guest_nice
		{"cpu  100 5 50 9000 40 3 2 1 7 0\n", (100 + 5 + 50 + 3 + 2 + 1) * 10 * time.Millisecond},
		{"cpu 1 2 3 4 5 6 7", (1 + 2 + 3 + 6 + 7) * 10 * time.Millisecond},
		{"cpu0 100 5 50 9000 40 3 2 1 0 0", 0},
		{"cpu  x 5 50 9000 40 3 2 1 0 0", 0},
		{"", 0},
	}
	for _, c := range cases {
		if got := parseProcStatCPU(c.line); got != c.want {
			t.Errorf("parseProcStatCPU(%q) = %v, want %v", c.line, got, c.want)
		}
	}
}

func TestStageFigures(t *testing.T) {
	st := Stage{Records: 1000, Elapsed: 2 * time.Second, CPU: 3 * time.Second}
	if st.Rate() != 500 || st.CPUPerRecord() != 3*time.Millisecond || st.Cores() != 1.5 {
		t.Fatalf("rate %v, cpu/record %v, cores %v", st.Rate(), st.CPUPerRecord(), st.Cores())
	}
	if (Stage{}).Rate() != 0 || (Stage{Records: 5, Elapsed: time.Second}).CPUPerRecord() != 0 {
		t.Fatal("empty stages must report 0")
	}
}

func TestNearestRank(t *testing.T) {
	seq := func(n int) []time.Duration {
		out := make([]time.Duration, n)
		for i := range out {
			out[i] = time.Duration(i + 1)
		}
		return out
	}
	cases := []struct {
		n, p int
		want time.Duration
	}{
		{100, 99, 99}, {100, 50, 50}, {100, 100, 100}, {1000, 99, 990}, {10, 99, 10}, {1, 99, 1}, {3, 50, 2},
	}
	for _, c := range cases {
		if got := nearestRank(seq(c.n), c.p); got != c.want {
			t.Errorf("nearestRank(1..%d, %d) = %d, want %d", c.n, c.p, got, c.want)
		}
	}
	if nearestRank(nil, 99) != 0 {
		t.Error("empty input must give 0")
	}
}

func TestMachineCPUsOnLinux(t *testing.T) {
	if MachineCPU() == 0 {
		t.Skip("no /proc/stat")
	}
	if n := MachineCPUs(); n < 1 {
		t.Fatalf("MachineCPUs() = %d with /proc/stat present", n)
	}
}
