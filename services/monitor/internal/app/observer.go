package app

import (
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/protobuf/proto"

	monitorv1 "github.com/penguinmails/floe/proto/gen/floe/monitor/v1"
)

// Observer holds the monitor's own metrics.
type Observer struct {
	tickSeconds prometheus.Histogram
	failures    *prometheus.CounterVec
	events      *prometheus.CounterVec
}

// NewObserver registers the metrics with reg (nil: unregistered).
func NewObserver(reg prometheus.Registerer) *Observer {
	o := &Observer{
		tickSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "floe_monitor_evaluation_seconds", Help: "Time one evaluation round (scrape, alert rules, every active deployment's triggers) took.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_monitor_evaluation_failures_total", Help: "Evaluations that failed (the metric source erred), by kind (alert, trigger).",
		}, []string{"kind"}),
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "floe_monitor_events_total", Help: "Events the monitor recorded from evaluations, by type and (for TriggerEvaluated) decision kind.",
		}, []string{"event", "kind"}),
	}
	if reg != nil {
		reg.MustRegister(o.tickSeconds, o.failures, o.events)
	}
	return o
}

func (o *Observer) count(m proto.Message) {
	name := string(m.ProtoReflect().Descriptor().Name())
	kind := ""
	if te, ok := m.(*monitorv1.TriggerEvaluated); ok {
		kind = te.GetKind()
	}
	o.events.WithLabelValues(strings.Clone(name), kind).Inc()
}
