// Package metrics exposes Prometheus metrics for HTTP requests, executions, node runs, the dispatch
// queue, live subscriptions, the retention pruner and the scheduler, on a registry of its own (never the global
// default).
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/concertmaster/concertmaster/internal/workflow"
)

// Metrics holds the collectors.
type Metrics struct {
	reg          *prometheus.Registry
	httpRequests *prometheus.CounterVec
	httpDuration *prometheus.HistogramVec
	executions   *prometheus.CounterVec
	execDuration *prometheus.HistogramVec
	nodeRuns     *prometheus.CounterVec
	nodeDuration *prometheus.HistogramVec
	retention    retentionMetrics
	live         liveMetrics
	schedule     scheduleMetrics
	// listenerMessages counts messages of listening triggers by type and result; listenerRestarts
	// counts listeners that failed and start again.
	listenerMessages *prometheus.CounterVec
	listenerRestarts *prometheus.CounterVec
	// claim observes the wait between an execution's creation or due time and its claim.
	claim claimMetrics
}

// scheduleMetrics observe the scheduler (internal/schedule).
type scheduleMetrics struct {
	fires, skips prometheus.Counter
	lateness     prometheus.Histogram
}

// liveMetrics observe the WebSocket and SSE clients (internal/live).
type liveMetrics struct {
	clients  *prometheus.GaugeVec
	sent     *prometheus.CounterVec
	resyncs  *prometheus.CounterVec
	delivery *prometheus.HistogramVec
	// byTransport holds the children of sent and delivery for each transport, looked up once: a
	// message is counted for every client it reaches.
	byTransport map[string]liveChildren
}

type liveChildren struct {
	sent     prometheus.Counter
	delivery prometheus.Observer
}

// transport returns the children for a transport, looking unknown ones up by label.
func (l *liveMetrics) transport(name string) liveChildren {
	if c, ok := l.byTransport[name]; ok {
		return c
	}
	return liveChildren{sent: l.sent.WithLabelValues(name), delivery: l.delivery.WithLabelValues(name)}
}

// retentionMetrics count what the retention pruner deletes.
type retentionMetrics struct {
	executions, nodeRuns, events, errors prometheus.Counter
	passDuration, passTime               prometheus.Gauge
}

// New returns Metrics with the Go and process collectors registered.
func New() *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concertmaster_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "concertmaster_http_request_duration_seconds", Help: "HTTP request latency by route pattern and method.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"route", "method"}),
		executions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concertmaster_executions_finished_total", Help: "Executions finished, by final status.",
		}, []string{"status"}),
		execDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "concertmaster_execution_duration_seconds", Help: "Execution duration from start to finish, by final status.",
			Buckets: prometheus.ExponentialBuckets(0.001, 4, 12),
		}, []string{"status"}),
		nodeRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concertmaster_node_runs_total", Help: "Node attempts finished, by node type and status.",
		}, []string{"type", "status"}),
		nodeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "concertmaster_node_run_duration_seconds", Help: "Node attempt duration by node type.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 12),
		}, []string{"type"}),
	}
	m.retention = retentionMetrics{
		executions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concertmaster_retention_deleted_executions_total", Help: "Finished executions the retention pruner deleted.",
		}),
		nodeRuns: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concertmaster_retention_deleted_node_runs_total", Help: "Node runs the retention pruner deleted with their executions.",
		}),
		events: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concertmaster_retention_deleted_events_total", Help: "Events the retention pruner deleted with their executions.",
		}),
		errors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concertmaster_retention_errors_total", Help: "Retention passes that failed (the next pass starts over).",
		}),
		passDuration: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "concertmaster_retention_last_pass_duration_seconds", Help: "How long the last retention pass took.",
		}),
		passTime: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "concertmaster_retention_last_pass_timestamp_seconds", Help: "When the last retention pass ended, in Unix seconds.",
		}),
	}
	m.live = liveMetrics{
		clients: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "concertmaster_live_clients", Help: "Connected live clients, by transport (ws, sse).",
		}, []string{"transport"}),
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concertmaster_live_messages_sent_total", Help: "Event messages written to live clients, by transport.",
		}, []string{"transport"}),
		resyncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "concertmaster_live_resyncs_total", Help: "Live subscriptions closed with resync because the client fell behind, by transport.",
		}, []string{"transport"}),
		delivery: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "concertmaster_live_delivery_seconds", Help: "From an event's time to its write to a live client, for live (not replayed) events.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"transport"}),
	}
	m.schedule = scheduleMetrics{
		fires: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concertmaster_schedule_fires_total", Help: "Runs the scheduler started for fire times.",
		}),
		skips: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "concertmaster_schedule_skips_total", Help: "Schedules moved past fire times without a run (missed under the skip policy, or the version could not start).",
		}),
		lateness: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "concertmaster_schedule_lateness_seconds", Help: "From a fire time to the start of its run.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
	}
	reg.MustRegister(m.schedule.fires, m.schedule.skips, m.schedule.lateness)
	m.listenerMessages = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "concertmaster_listener_messages_total", Help: "Messages listening triggers received, by trigger type and result (fired: an execution is queued; refused: the message was not acknowledged).",
	}, []string{"type", "result"})
	m.listenerRestarts = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "concertmaster_listener_restarts_total", Help: "Listening triggers that failed (lost connection, refused login) and start again after a backoff, by trigger type.",
	}, []string{"type"})
	reg.MustRegister(m.listenerMessages, m.listenerRestarts)
	m.claim = newClaimMetrics()
	reg.MustRegister(m.claim.latency)
	m.live.byTransport = make(map[string]liveChildren)
	for _, t := range []string{"ws", "sse"} {
		m.live.byTransport[t] = liveChildren{sent: m.live.sent.WithLabelValues(t), delivery: m.live.delivery.WithLabelValues(t)}
		// The gauges and resync counters exist at zero from the start, for dashboards.
		m.live.clients.WithLabelValues(t)
		m.live.resyncs.WithLabelValues(t)
	}
	reg.MustRegister(m.live.clients, m.live.sent, m.live.resyncs, m.live.delivery)
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.httpRequests, m.httpDuration, m.executions, m.execDuration, m.nodeRuns, m.nodeDuration,
		m.retention.executions, m.retention.nodeRuns, m.retention.events, m.retention.errors, m.retention.passDuration, m.retention.passTime)
	return m
}

// Gauge registers a gauge read from f at scrape time.
func (m *Metrics) Gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// CounterFunc registers a counter read from f at scrape time; f must never decrease.
func (m *Metrics) CounterFunc(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help}, f))
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// ObserveRequest records one HTTP request.
func (m *Metrics) ObserveRequest(route, method string, status int, d time.Duration) {
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route, method).Observe(d.Seconds())
}

// NodeRunFinished records one node attempt.
func (m *Metrics) NodeRunFinished(nodeType string, status workflow.NodeRunStatus, d time.Duration) {
	m.nodeRuns.WithLabelValues(nodeType, string(status)).Inc()
	m.nodeDuration.WithLabelValues(nodeType).Observe(d.Seconds())
}

// ExecutionFinished records one finished execution.
func (m *Metrics) ExecutionFinished(status workflow.ExecutionStatus, d time.Duration) {
	m.executions.WithLabelValues(string(status)).Inc()
	m.execDuration.WithLabelValues(string(status)).Observe(d.Seconds())
}

// RetentionDeleted counts what one retention batch deleted.
func (m *Metrics) RetentionDeleted(executions, nodeRuns, events int64) {
	m.retention.executions.Add(float64(executions))
	m.retention.nodeRuns.Add(float64(nodeRuns))
	m.retention.events.Add(float64(events))
}

// RetentionPassFinished records one retention pass.
func (m *Metrics) RetentionPassFinished(d time.Duration, failed bool) {
	m.retention.passDuration.Set(d.Seconds())
	m.retention.passTime.SetToCurrentTime()
	if failed {
		m.retention.errors.Inc()
	}
}

// ScheduleFired implements schedule.Observer.
func (m *Metrics) ScheduleFired(lateness time.Duration) {
	m.schedule.fires.Inc()
	m.schedule.lateness.Observe(max(lateness, 0).Seconds())
}

// ListenerMessage implements listen.Observer.
func (m *Metrics) ListenerMessage(nodeType string, ok bool) {
	result := "fired"
	if !ok {
		result = "refused"
	}
	m.listenerMessages.WithLabelValues(nodeType, result).Inc()
}

// ListenerRestart implements listen.Observer.
func (m *Metrics) ListenerRestart(nodeType string) {
	m.listenerRestarts.WithLabelValues(nodeType).Inc()
}

// ScheduleSkipped implements schedule.Observer.
func (m *Metrics) ScheduleSkipped() { m.schedule.skips.Inc() }

// LiveClients implements live.Observer.
func (m *Metrics) LiveClients(transport string, delta int) {
	m.live.clients.WithLabelValues(transport).Add(float64(delta))
}

// LiveMessageSent implements live.Observer.
func (m *Metrics) LiveMessageSent(transport string, latency time.Duration) {
	c := m.live.transport(transport)
	c.sent.Inc()
	if latency > 0 {
		c.delivery.Observe(latency.Seconds())
	}
}

// LiveResync implements live.Observer.
func (m *Metrics) LiveResync(transport string) { m.live.resyncs.WithLabelValues(transport).Inc() }
