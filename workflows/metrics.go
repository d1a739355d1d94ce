package workflows

import (
	"context"
	"time"

	"github.com/debrief/debrief/store"
	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the counters and histograms /metrics exposes about the
// workflows. What the outbox holds is not among them: it is read from the
// store at scrape time (OutboxCollector), so it is true when it is read.
type Metrics struct {
	Commands        *prometheus.CounterVec
	CommandSeconds  *prometheus.HistogramVec
	EventsAppended  prometheus.Counter
	EventsDuplicate prometheus.Counter
	CommitSeconds   prometheus.Histogram
	OutboxDelivered *prometheus.CounterVec
	OutboxRetries   *prometheus.CounterVec
	OutboxDropped   *prometheus.CounterVec
	ReminderFires   *prometheus.CounterVec
}

// NewMetrics creates the metrics and registers them with reg, if not nil.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Commands: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "debrief_commands_total", Help: "Commands handled, by the verb typed (or unknown) and outcome code.",
		}, []string{"verb", "code"}),
		CommandSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "debrief_command_duration_seconds", Help: "Time to handle a command, from its text to the reply, by verb.",
			Buckets: prometheus.DefBuckets,
		}, []string{"verb"}),
		EventsAppended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "debrief_timeline_events_appended_total", Help: "Platform events committed to a timeline.",
		}),
		EventsDuplicate: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "debrief_timeline_events_duplicate_total", Help: "Redelivered platform events recognised and stored once.",
		}),
		CommitSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "debrief_timeline_commit_duration_seconds", Help: "Time to commit a platform event to its timeline (durable, before the platform is acknowledged).",
			Buckets: prometheus.DefBuckets,
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
		reg.MustRegister(m.Commands, m.CommandSeconds, m.EventsAppended, m.EventsDuplicate, m.CommitSeconds,
			m.OutboxDelivered, m.OutboxRetries, m.OutboxDropped, m.ReminderFires)
	}
	return m
}

var (
	outboxDepthDesc = prometheus.NewDesc("debrief_outbox_depth",
		"Effects waiting in the outbox, read when scraped.", nil, nil)
	outboxOldestDesc = prometheus.NewDesc("debrief_outbox_oldest_age_seconds",
		"Age of the oldest undelivered effect, read when scraped; 0 when the outbox is empty.", nil, nil)
)

// scrapeTimeout bounds the store read of a scrape: Prometheus's own
// default scrape timeout is 10 s.
const scrapeTimeout = 5 * time.Second

// OutboxCollector reports the outbox's depth and the age of its oldest
// effect, read from the store at each scrape. A gauge set by the outbox's
// passes would read stale between them (an emptied outbox still showing
// its last depth for up to a minute). Register it once Store is set.
func (s *Service) OutboxCollector() prometheus.Collector { return outboxCollector{s} }

type outboxCollector struct{ s *Service }

func (c outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- outboxDepthDesc
	ch <- outboxOldestDesc
}

func (c outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	var depth int
	var oldest time.Time
	err := c.s.Store.View(ctx, func(tx store.ReadTx) error {
		effects, err := tx.Effects()
		if err != nil {
			return err
		}
		depth = len(effects)
		for _, e := range effects {
			if oldest.IsZero() || e.CreatedAt.Before(oldest) {
				oldest = e.CreatedAt
			}
		}
		return nil
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(outboxDepthDesc, err)
		return
	}
	age := 0.0
	if !oldest.IsZero() {
		age = max(c.s.now().Sub(oldest).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(outboxDepthDesc, prometheus.GaugeValue, float64(depth))
	ch <- prometheus.MustNewConstMetric(outboxOldestDesc, prometheus.GaugeValue, age)
}
