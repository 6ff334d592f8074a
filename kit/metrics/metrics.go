// Package metrics is the Prometheus side of the runtime kit: one process-wide registry (with the
// Go runtime and process collectors), helpers that define a collector once, the /metrics
// handler, and a Connect interceptor that counts RPCs.
//
// Producers define their collectors as package-level variables, so building a service several
// times in one process (as tests do) never registers a metric twice. Every metric is named
// datasurface_<name>; labels stay low-cardinality (platform, stream, state, verdict, service,
// code, …), never user data values. docs/metrics.md lists them all.
package metrics

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes every metric name.
const Namespace = "datasurface"

var registry = newRegistry()

func newRegistry() *prometheus.Registry {
	r := prometheus.NewRegistry()
	r.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	return r
}

// Registry returns the process-wide registry every helper registers on.
func Registry() *prometheus.Registry { return registry }

// Handler serves the registry in the Prometheus text (or OpenMetrics, when asked) format.
func Handler() http.Handler {
	return promhttp.HandlerFor(registry, promhttp.HandlerOpts{
		Registry:          registry,
		EnableOpenMetrics: true,
		ErrorHandling:     promhttp.ContinueOnError,
	})
}

// DurationBuckets are the histogram buckets (seconds) of work that takes from milliseconds to
// an hour: RPCs, activities, batches.
var DurationBuckets = prometheus.ExponentialBuckets(0.005, 4, 10) // 5 ms … ~22 min

// Counter defines the counter datasurface_<name> with labels and registers it once.
func Counter(name, help string, labels ...string) *prometheus.CounterVec {
	return register(prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: Namespace, Name: name, Help: help}, labels))
}

// Gauge defines the gauge datasurface_<name> with labels and registers it once.
func Gauge(name, help string, labels ...string) *prometheus.GaugeVec {
	return register(prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: Namespace, Name: name, Help: help}, labels))
}

// Histogram defines the histogram datasurface_<name> with labels and registers it once;
// nil buckets means DurationBuckets.
func Histogram(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	if buckets == nil {
		buckets = DurationBuckets
	}
	return register(prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: Namespace, Name: name, Help: help, Buckets: buckets}, labels))
}

// register registers c, or returns the collector already registered under the same name and
// labels (two producers that define one metric share it). A conflicting definition is a
// programming error and panics at init.
func register[C prometheus.Collector](c C) C {
	err := registry.Register(c)
	if err == nil {
		return c
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing
		}
	}
	panic(fmt.Sprintf("metrics: %v", err))
}

// Register registers a custom collector once (see Counter); it returns the collector already
// registered when an equal one was.
func Register[C prometheus.Collector](c C) C { return register(c) }
