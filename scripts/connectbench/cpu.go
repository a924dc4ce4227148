package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// userHZ is the unit of /proc/<pid>/stat's times (USER_HZ, 100 on Linux).
const userHZ = 100

// processCPU is the user and system CPU time process pid ("self" for this
// one) has used so far, from fields 14 and 15 of /proc/<pid>/stat.
func processCPU(pid string) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, fmt.Errorf("connectbench: process cpu: %w", err)
	}
	return parseProcessStat(string(b))
}

func parseProcessStat(s string) (time.Duration, error) {
	// The command name (field 2) is in parentheses and may hold spaces:
	// count the fields after its closing parenthesis, which is field 3.
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("connectbench: process cpu: no command name in %q", s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("connectbench: process cpu: %d fields after the command name, want at least 13", len(f))
	}
	var ticks int64
	for _, v := range f[11:13] { // utime, stime
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("connectbench: process cpu: %w", err)
		}
		ticks += n
	}
	return time.Duration(ticks) * (time.Second / userHZ), nil
}

// loadAverage is the first field of /proc/loadavg ("?" where unreadable).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	if f := strings.Fields(string(b)); len(f) > 0 {
		return f[0]
	}
	return "?"
}

// treeCPU is the CPU time of process root and of its children so far: for
// the postmaster, every PostgreSQL backend and background process. A child
// that exits in between takes its time with it, so measure over spans in
// which the children stay (the sinks keep their connections).
func treeCPU(root int) (time.Duration, error) {
	total, err := processCPU(strconv.Itoa(root))
	if err != nil {
		return 0, err
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return 0, fmt.Errorf("connectbench: process cpu: %w", err)
	}
	want := strconv.Itoa(root)
	for _, e := range entries {
		if e.Name()[0] < '0' || e.Name()[0] > '9' {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		s := string(b)
		i := strings.LastIndexByte(s, ')')
		if i < 0 {
			continue
		}
		if f := strings.Fields(s[i+1:]); len(f) < 2 || f[1] != want {
			continue
		}
		d, err := parseProcessStat(s)
		if err != nil {
			continue
		}
		total += d
	}
	return total, nil
}
