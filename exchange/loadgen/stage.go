package loadgen

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"time"
)

// Stage is one timed measurement: how many records in how long, and how
// much CPU the whole machine spent meanwhile (every process: the hub,
// PostgreSQL, Kafka, this tool). On a machine whose stages share the same
// cores, CPU per record is what decides how fast they can run together.
type Stage struct {
	Records int
	Elapsed time.Duration
	// CPU is the machine's busy CPU time during the stage; 0 where it
	// cannot be read (no /proc/stat).
	CPU time.Duration
}

// Rate is records per second.
func (s Stage) Rate() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return float64(s.Records) / s.Elapsed.Seconds()
}

// CPUPerRecord is the machine's CPU time per record, 0 if unknown.
func (s Stage) CPUPerRecord() time.Duration {
	if s.Records == 0 || s.CPU == 0 {
		return 0
	}
	return s.CPU / time.Duration(s.Records)
}

// Cores is the average number of busy cores during the stage.
func (s Stage) Cores() float64 {
	if s.Elapsed <= 0 {
		return 0
	}
	return s.CPU.Seconds() / s.Elapsed.Seconds()
}

// clock measures a Stage from its start.
type clock struct {
	start time.Time
	cpu   time.Duration
}

func startClock() clock { return clock{start: time.Now(), cpu: MachineCPU()} }

func (c clock) stop(records int) Stage {
	st := Stage{Records: records, Elapsed: time.Since(c.start)}
	if c.cpu > 0 {
		st.CPU = MachineCPU() - c.cpu
	}
	return st
}

// userHZ is the unit of /proc/stat's times (USER_HZ, 100 on Linux).
const userHZ = 100

// MachineCPU returns the CPU time every process on this machine has used
// since boot (user, nice, system, irq, softirq and steal; not idle or
// iowait) from the first line of /proc/stat, or 0 where there is none.
func MachineCPU() time.Duration {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0
	}
	defer f.Close()
	line, err := bufio.NewReader(f).ReadString('\n')
	if err != nil {
		return 0
	}
	return parseProcStatCPU(line)
}

// MachineCPUs counts the per-CPU lines ("cpu0", "cpu1", …) of /proc/stat,
// 0 where there is none: the cores MachineCPU adds up.
func MachineCPUs() int {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) > 3 && strings.HasPrefix(line, "cpu") && line[3] >= '0' && line[3] <= '9' {
			n++
		}
	}
	return n
}

func parseProcStatCPU(line string) time.Duration {
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:] {
		if i == 3 || i == 4 || i >= 8 { // idle, iowait; guest times are already in user
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0
		}
		busy += n
	}
	return time.Duration(busy) * (time.Second / userHZ)
}
