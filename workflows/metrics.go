package workflows

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the counters /metrics exposes about the workflows.
type Metrics struct {
	Commands        *prometheus.CounterVec
	EventsAppended  prometheus.Counter
	EventsDuplicate prometheus.Counter
	OutboxDepth     prometheus.Gauge
	OutboxDelivered *prometheus.CounterVec
	OutboxRetries   *prometheus.CounterVec
	OutboxDropped   *prometheus.CounterVec
	ReminderFires   *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg, if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "debrief_commands_total", Help: "Commands handled, by verb and outcome code.",
		}, []string{"verb", "code"}),
		EventsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "debrief_timeline_events_appended_total", Help: "Platform events committed to a timeline.",
		}),
		EventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "debrief_timeline_events_duplicate_total", Help: "Redelivered platform events recognised and stored once.",
		}),
		OutboxDepth: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "debrief_outbox_depth", Help: "Effects waiting in the outbox at the last pass.",
		}),
		OutboxDelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "debrief_outbox_delivered_total", Help: "Effects delivered, by kind.",
		}, []string{"kind"}),
		OutboxRetries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "debrief_outbox_retries_total", Help: "Failed effect attempts that will be retried, by kind.",
		}, []string{"kind"}),
		OutboxDropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "debrief_outbox_dropped_total", Help: "Effects dropped after a permanent failure, by kind.",
		}, []string{"kind"}),
		ReminderFires: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "debrief_reminder_fires_total", Help: "Reminders fired, by kind.",
		}, []string{"kind"}),
	}
	if reg != nil {
		reg.MustRegister(m.Commands, m.EventsAppended, m.EventsDuplicate, m.OutboxDepth,
			m.OutboxDelivered, m.OutboxRetries, m.OutboxDropped, m.ReminderFires)
	}
	return m
}
