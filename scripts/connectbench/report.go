package main

import (
	"fmt"
	"io"
	"sort"
	"time"
)

// measure is one sink draining one run's topic: the records it applied
// after the clock started, how long that took, the CPU every process on
// the machine used meanwhile (on a shared machine, other work's too), the
// CPU of the sink's own process (this one for the library sink, the
// Connect worker for the JDBC sink), of PostgreSQL and of the broker.
type measure struct {
	records  int64
	elapsed  time.Duration
	machine  time.Duration
	process  time.Duration
	postgres time.Duration
	kafka    time.Duration
}

func (m measure) rate() float64 {
	if m.elapsed <= 0 {
		return 0
	}
	return float64(m.records) / m.elapsed.Seconds()
}

// per is d per record in µs.
func (m measure) per(d time.Duration) float64 { return us(d) / float64(max(m.records, 1)) }

// path is the CPU of the sink's process, PostgreSQL and the broker.
func (m measure) path() time.Duration { return m.process + m.postgres + m.kafka }

func (m measure) String() string {
	return fmt.Sprintf("%6.0f records/s (%d in %s); CPU µs/record: machine %5.1f (%.2f cores busy), sink process %5.1f, PostgreSQL %5.1f, Kafka %4.1f, these three %5.1f",
		m.rate(), m.records, m.elapsed.Round(time.Millisecond), m.per(m.machine), m.machine.Seconds()/m.elapsed.Seconds(),
		m.per(m.process), m.per(m.postgres), m.per(m.kafka), m.per(m.path()))
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

// summary holds the medians of one sink's runs: records/s, then CPU
// µs/record of the machine, the sink's process, PostgreSQL, the broker and
// those three together.
type summary [6]float64

func summarise(ms []measure) summary {
	var cols [6][]float64
	for _, x := range ms {
		for i, v := range [6]float64{x.rate(), x.per(x.machine), x.per(x.process), x.per(x.postgres), x.per(x.kafka), x.per(x.path())} {
			cols[i] = append(cols[i], v)
		}
	}
	var s summary
	for i := range cols {
		s[i] = median(cols[i])
	}
	return s
}

func report(out io.Writer, yiku, conn []measure) {
	y, c := summarise(yiku), summarise(conn)
	fmt.Fprintf(out, "\nmedians of %d runs              records/s   CPU µs/record: machine   sink process   PostgreSQL   Kafka   these three\n", len(yiku))
	// Per-record CPU to one decimal; the ratios to two.
	var r summary
	for i := range r {
		r[i] = ratio(y[i], c[i])
	}
	fmt.Fprintf(out, "  %-29s %9.0f   %22.1f   %12.1f   %10.1f   %5.1f   %11.1f\n", "library sink (yiku)", y[0], y[1], y[2], y[3], y[4], y[5])
	fmt.Fprintf(out, "  %-29s %9.0f   %22.1f   %12.1f   %10.1f   %5.1f   %11.1f\n", "Debezium JDBC sink (Connect)", c[0], c[1], c[2], c[3], c[4], c[5])
	fmt.Fprintf(out, "  %-29s %9.2f   %22.2f   %12.2f   %10.2f   %5.2f   %11.2f\n", "library / JDBC sink", r[0], r[1], r[2], r[3], r[4], r[5])
	fmt.Fprintln(out, "  (the library sink also writes library_history, compares and sets each subject's version,")
	fmt.Fprintln(out, "  and stores its Kafka offsets in the same transaction; the JDBC sink upserts connect_records only)")
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
