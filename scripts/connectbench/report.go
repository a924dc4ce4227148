package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// measure is one sink draining one run's topic: the records it applied
// after the clock started, how long that took, the CPU every process on
// the machine used meanwhile and the CPU of the sink's own process (this
// one for the library sink, the Connect worker for the JDBC sink).
type measure struct {
	records int64
	elapsed time.Duration
	machine time.Duration
	process time.Duration
}

func (m measure) rate() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.records) / m.elapsed.Seconds()
}

func (m measure) machinePerRecord() time.Duration {
	return m.machine / time.Duration(max(m.records, 1))
}
func (m measure) processPerRecord() time.Duration {
	return m.process / time.Duration(max(m.records, 1))
}

func (m measure) String() string {
	return fmt.Sprintf("%7.0f records/s (%d in %s); machine CPU %5.1f µs/record (%.2f cores); process CPU %5.1f µs/record",
		m.rate(), m.records, m.elapsed.Round(time.Millisecond), us(m.machinePerRecord()), m.machine.Seconds()/m.elapsed.Seconds(), us(m.processPerRecord()))
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

func median(xs []float64) float64 {
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	n := len(s)
	if n == 0 {
		return 0
	}
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// summary holds the medians of one sink's runs.
type summary struct{ rate, machine, process float64 }

func summarise(ms []measure) summary {
	var r, m, p []float64
	for _, x := range ms {
		r = append(r, x.rate())
		m = append(m, us(x.machinePerRecord()))
		p = append(p, us(x.processPerRecord()))
	}
	return summary{rate: median(r), machine: median(m), process: median(p)}
}

func report(out io.Writer, yiku, conn []measure) {
	y, c := summarise(yiku), summarise(conn)
	fmt.Fprintf(out, "\nmedians of %d runs                 records/s   machine CPU µs/record   process CPU µs/record\n", len(yiku))
	fmt.Fprintf(out, "  library sink (yiku)            %9.0f   %21.1f   %21.1f\n", y.rate, y.machine, y.process)
	fmt.Fprintf(out, "  Debezium JDBC sink (Connect)   %9.0f   %21.1f   %21.1f\n", c.rate, c.machine, c.process)
	fmt.Fprintf(out, "  library / JDBC sink            %9.2f   %21.2f   %21.2f\n", ratio(y.rate, c.rate), ratio(y.machine, c.machine), ratio(y.process, c.process))
	fmt.Fprintln(out, "  (the library sink also writes library_history, compares and sets each subject's version,")
	fmt.Fprintln(out, "  and stores its Kafka offsets in the same transaction; the JDBC sink upserts connect_records only)")
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
