package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// claimMetrics observe how long executions wait for a worker.
type claimMetrics struct {
	latency *prometheus.HistogramVec
}

func newClaimMetrics() claimMetrics {
	c := claimMetrics{latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "concertmaster_claim_latency_seconds",
		Help:    "From an execution's creation (from=created) or due time (from=due) to its claim by a worker.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
	}, []string{"from"})}
	// Both series exist from the start, so that dashboards and alerts find them.
	c.latency.WithLabelValues("created")
	c.latency.WithLabelValues("due")
	return c
}

// ExecutionClaimed implements engine.ClaimObserver: from is "created" or "due".
func (m *Metrics) ExecutionClaimed(from string, latency time.Duration) {
	if from != "created" && from != "due" {
		from = "other"
	}
	m.claim.latency.WithLabelValues(from).Observe(max(latency, 0).Seconds())
}

// QueueDepthFunc counts the executions waiting for a worker: queued, and waiting ones that are due.
type QueueDepthFunc func(ctx context.Context, now time.Time) (queued, due int64, err error)

// queueDepthTimeout bounds one count at scrape time.
const queueDepthTimeout = 2 * time.Second

// QueueDepth registers concertmaster_queue_depth{state="queued"|"due"}, counted by f when metrics are
// scraped (bounded by 2s; a failed count leaves the series out of that scrape), and
// concertmaster_queue_depth_errors_total. The count is the store's, the same in every process.
func (m *Metrics) QueueDepth(f QueueDepthFunc) {
	m.reg.MustRegister(&queueDepthCollector{
		f:    f,
		desc: prometheus.NewDesc("concertmaster_queue_depth", "Executions waiting for a worker, across processes: queued, and waiting ones whose wake-up time has come (due).", []string{"state"}, nil),
		errs: prometheus.NewCounter(prometheus.CounterOpts{Name: "concertmaster_queue_depth_errors_total", Help: "Scrapes whose queue depth count failed."}),
	})
}

type queueDepthCollector struct {
	f    QueueDepthFunc
	desc *prometheus.Desc
	errs prometheus.Counter
}

// Describe implements prometheus.Collector.
func (c *queueDepthCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.desc
	c.errs.Describe(ch)
}

// Collect implements prometheus.Collector.
func (c *queueDepthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), queueDepthTimeout)
	defer cancel()
	queued, due, err := c.f(ctx, time.Now())
	if err != nil {
		c.errs.Inc()
	} else {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(queued), "queued")
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(due), "due")
	}
	c.errs.Collect(ch)
}
