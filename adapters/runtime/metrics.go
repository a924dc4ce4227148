package runtime

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the adapter's Prometheus counters, labelled by pipeline.
type Metrics struct {
	Registry  *prometheus.Registry
	Read      *prometheus.CounterVec
	Written   *prometheus.CounterVec
	Rejected  *prometheus.CounterVec
	Batches   *prometheus.CounterVec
	Errors    *prometheus.CounterVec
	LastWrite *prometheus.GaugeVec
}

// NewMetrics registers the adapter's metrics on a fresh registry.
func NewMetrics() *Metrics {
	m := &Metrics{
		Registry:  prometheus.NewRegistry(),
		Read:      prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_adapter_records_read_total", Help: "Records read from the source."}, []string{"pipeline"}),
		Written:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_adapter_records_written_total", Help: "Records the sink accepted."}, []string{"pipeline"}),
		Rejected:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_adapter_records_rejected_total", Help: "Records sent to the reject file, by stage."}, []string{"pipeline", "stage"}),
		Batches:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_adapter_batches_total", Help: "Batches written and checkpointed."}, []string{"pipeline"}),
		Errors:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "yiku_adapter_errors_total", Help: "Failed source reads or sink writes (each retried with back-off)."}, []string{"pipeline", "stage"}),
		LastWrite: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "yiku_adapter_last_checkpoint_timestamp_seconds", Help: "Unix time of the last checkpoint."}, []string{"pipeline"}),
	}
	m.Registry.MustRegister(m.Read, m.Written, m.Rejected, m.Batches, m.Errors, m.LastWrite,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}
