// Package cluster links the processes of one deployment through Redis (CM_REDIS_URL, ADR 0018): it
// carries committed execution events from the process that wrote them to every API process, whose
// live views, ?wait= requests and webhook answers then wake at once, and cancel signals from the API
// process that took the request to the process running the execution, and invalidations of the
// processes' cached hot reads (webhook routes, roles, API keys: internal/cache, ADR 0024).
//
// Redis is an accelerator, never a source of truth. The store holds every event and every cancel
// request; without Redis, or while it is down, waiters re-read the store on their slow poll and the
// dispatcher's heartbeat delivers cancels, so an outage makes wake-ups slower and loses nothing.
package cluster

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/concertmaster/concertmaster/internal/cache"
	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
)

// Defaults for Config.
const (
	PrefixDefault = "concertmaster:"
	// QueueDefault bounds the messages waiting to be published; beyond it they are dropped (and
	// counted): the receivers' slow poll covers them.
	QueueDefault = 8192
	// BackoffMinDefault and BackoffMaxDefault bound the wait between two connection attempts, which
	// doubles from the first to the second while Redis stays unreachable.
	BackoffMinDefault = 100 * time.Millisecond
	BackoffMaxDefault = 5 * time.Second
	// PingIntervalDefault is how long the subscription may stay silent before it is checked with a
	// PING; a PING unanswered for as long again counts as an outage.
	PingIntervalDefault = 5 * time.Second
	// TimeoutDefault bounds dialling Redis and each command.
	TimeoutDefault = 3 * time.Second
)

// maxBatch bounds the messages published in one pipeline.
const maxBatch = 256

// refetchTimeout bounds the store read of an event that travelled without its data.
const refetchTimeout = 5 * time.Second

// EventReader reads an execution's events from the store, for messages that travel without their
// data. store.Store is one.
type EventReader interface {
	ListEvents(ctx context.Context, tenantID, executionID string, afterSeq int64, limit int) ([]store.Event, error)
}

// Config configures a Cluster. URL, ProcessID and Hub are required.
type Config struct {
	// URL is the Redis server, redis://[user:password@]host:port[/db] or rediss://… (TLS).
	URL string
	// Prefix starts every channel and key name, so that deployments (or tests) may share a server
	// (default PrefixDefault).
	Prefix string
	// ProcessID identifies this process; a process skips the messages it published itself.
	ProcessID string
	// Hub is this process's event hub: Publish hands it every local event, and the events of other
	// processes are handed to it as they arrive.
	Hub *event.Hub
	// CancelFunc, when set, receives the cancel signals of other processes (dispatch.Embedded.Cancel).
	CancelFunc func(ref store.ExecutionRef) bool
	// InvalidateFunc, when set, receives the invalidations of cached reads that other processes
	// signal (cache.Group.Receive), and the zero cache.Invalidation (everything) whenever the link
	// goes down and before it reports Up again after connecting. Without it the process does not
	// subscribe to invalidations.
	InvalidateFunc func(inv cache.Invalidation)
	// Store reads events that were too large to travel through Redis (required).
	Store EventReader
	// Queue bounds the messages waiting to be published (default QueueDefault).
	Queue int
	// BackoffMin and BackoffMax bound the wait between connection attempts (defaults above).
	BackoffMin, BackoffMax time.Duration
	// PingInterval is how long a silent subscription waits before a PING (default 5s).
	PingInterval time.Duration
	// Timeout bounds dialling and each command (default 3s).
	Timeout time.Duration
	Logger  *slog.Logger
}

// Stats are the cluster's counters since it started.
type Stats struct {
	// Published counts the messages published to Redis.
	Published int64
	// Received counts the messages of other processes received and handled.
	Received int64
	// Dropped counts the messages not published (Redis down, queue full) or not handled (malformed,
	// too large, unreadable from the store).
	Dropped int64
}

// Cluster is the Redis link of one process. It implements event.Bus: Publish hands a message to the
// local hub and queues it for the other processes; Subscribe subscribes to the local hub, which also
// receives the other processes' messages.
type Cluster struct {
	cfg       Config
	logger    *slog.Logger
	client    *redis.Client
	eventsCh  string // channel names
	cancelsCh string
	invalCh   string

	out chan outMsg
	// events is set by Start: whether this process receives the other processes' events.
	events bool

	up        atomic.Bool
	published atomic.Int64
	received  atomic.Int64
	dropped   atomic.Int64

	// warned rate-limits the warnings about bad messages and failed publishes.
	warnMu sync.Mutex
	warned map[string]time.Time

	stop      chan struct{}
	wg        sync.WaitGroup
	startOnce sync.Once
	stopOnce  sync.Once
}

// outMsg is a message waiting to be published: an event, a cancel signal or an invalidation.
type outMsg struct {
	m      *event.Message
	cancel store.ExecutionRef
	inval  *cache.Invalidation
}

var (
	_ event.Bus  = (*Cluster)(nil)
	_ cache.Link = (*Cluster)(nil)
)

// Options returns the client options of a Redis URL: redis:// or rediss:// (TLS, at least 1.2), one
// dial attempt within timeout, commands bounded by it and never retried by the client.
func Options(rawURL string, timeout time.Duration) (*redis.Options, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") || u.Host == "" {
		return nil, errors.New("want redis://[user:password@]host:port[/db] or rediss://…")
	}
	opts, err := redis.ParseURL(rawURL)
	if err != nil {
		// go-redis quotes the URL in some errors: keep it (and its password) out of the message.
		return nil, errors.New("want redis://[user:password@]host:port[/db] or rediss://…: the URL does not parse")
	}
	if opts.TLSConfig != nil {
		opts.TLSConfig.MinVersion = max(opts.TLSConfig.MinVersion, tls.VersionTLS12)
	}
	timeout = cmp.Or(timeout, TimeoutDefault)
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = timeout, timeout, timeout
	opts.DialerRetries = 1
	opts.MaxRetries = -1
	opts.ContextTimeoutEnabled = true
	opts.PoolSize = cmp.Or(opts.PoolSize, 8)
	opts.DisableIdentity = true
	return opts, nil
}

// New returns a Cluster for cfg; Start connects it.
func New(cfg Config) (*Cluster, error) {
	if cfg.ProcessID == "" || cfg.Hub == nil || cfg.Store == nil {
		return nil, errors.New("cluster: ProcessID, Hub and Store are required")
	}
	cfg.Timeout = cmp.Or(cfg.Timeout, TimeoutDefault)
	opts, err := Options(cfg.URL, cfg.Timeout)
	if err != nil {
		return nil, fmt.Errorf("redis url: %w", err)
	}
	cfg.Prefix = cmp.Or(cfg.Prefix, PrefixDefault)
	cfg.Queue = cmp.Or(cfg.Queue, QueueDefault)
	cfg.BackoffMin = cmp.Or(cfg.BackoffMin, BackoffMinDefault)
	cfg.BackoffMax = max(cmp.Or(cfg.BackoffMax, BackoffMaxDefault), cfg.BackoffMin)
	cfg.PingInterval = cmp.Or(cfg.PingInterval, PingIntervalDefault)
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Cluster{
		cfg:       cfg,
		logger:    logger.With("component", "cluster"),
		client:    redis.NewClient(opts),
		eventsCh:  cfg.Prefix + "events",
		cancelsCh: cfg.Prefix + "cancel",
		invalCh:   cfg.Prefix + "invalidate",
		out:       make(chan outMsg, cfg.Queue),
		warned:    map[string]time.Time{},
		stop:      make(chan struct{}),
	}, nil
}

// Client returns the Redis client, for the shared rate limiter.
func (c *Cluster) Client() *redis.Client { return c.client }

// Start connects in the background: it returns at once, and the process works (with slower
// wake-ups) until Redis answers. With events, the other processes' events reach the hub (API
// processes need them); without, only their cancel signals do (worker processes, which publish
// events but serve no waiter).
func (c *Cluster) Start(events bool) {
	c.startOnce.Do(func() {
		c.events = events
		c.wg.Add(2)
		go c.subscribeLoop()
		go c.publishLoop()
	})
}

// Close stops the link and closes the client. Messages still queued are dropped. It is safe to call
// more than once.
func (c *Cluster) Close() error {
	var err error
	c.stopOnce.Do(func() {
		close(c.stop)
		c.wg.Wait()
		err = c.client.Close()
	})
	return err
}

// Up reports whether the subscription to Redis is established.
func (c *Cluster) Up() bool { return c.up.Load() }

// Stats returns the counters.
func (c *Cluster) Stats() Stats {
	return Stats{Published: c.published.Load(), Received: c.received.Load(), Dropped: c.dropped.Load()}
}

// Publish implements event.Bus: the local hub gets m at once, the other processes through Redis. It
// never blocks.
func (c *Cluster) Publish(m *event.Message) {
	c.cfg.Hub.Publish(m)
	c.enqueue(outMsg{m: m})
}

// Subscribe implements event.Bus.
func (c *Cluster) Subscribe(f event.Filter, buffer int) *event.Subscription {
	return c.cfg.Hub.Subscribe(f, buffer)
}

// SignalCancel asks the other processes to stop their run of ref, if one runs it. It never blocks;
// without Redis the signal is lost and the dispatcher's heartbeat delivers the store's cancel request.
func (c *Cluster) SignalCancel(ref store.ExecutionRef) { c.enqueue(outMsg{cancel: ref}) }

// SignalInvalidate implements cache.Link: it tells the other processes that cached reads of inv
// changed. It never blocks; while Redis is down the signal is lost, and the other processes' entries
// expire within their cache's TTL.
func (c *Cluster) SignalInvalidate(inv cache.Invalidation) {
	if inv.All() {
		return // only the link itself says "everything", to its own process
	}
	c.enqueue(outMsg{inval: &inv})
}

func (c *Cluster) enqueue(o outMsg) {
	if !c.up.Load() {
		c.dropped.Add(1)
		return
	}
	select {
	case c.out <- o:
	default:
		c.dropped.Add(1)
		c.warn("queue", "Redis publish queue full; messages are dropped (waiters fall back to polling)", "queue", cap(c.out))
	}
}

// publishLoop publishes queued messages, in pipelines of up to maxBatch.
func (c *Cluster) publishLoop() {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type pending struct {
		channel string
		payload []byte
	}
	batch := make([]pending, 0, maxBatch)
	for {
		var first outMsg
		select {
		case <-c.stop:
			return
		case first = <-c.out:
		}
		batch = batch[:0]
		add := func(o outMsg) {
			var (
				b   []byte
				err error
				ch  = c.eventsCh
			)
			switch {
			case o.m != nil:
				b, err = encodeEvent(c.cfg.ProcessID, o.m)
			case o.inval != nil:
				b, err = encodeInvalidate(c.cfg.ProcessID, *o.inval)
				ch = c.invalCh
			default:
				b, err = encodeCancel(c.cfg.ProcessID, o.cancel)
				ch = c.cancelsCh
			}
			if err != nil {
				c.dropped.Add(1)
				c.warn("encode", "Message not published", "error", err.Error())
				return
			}
			batch = append(batch, pending{channel: ch, payload: b})
		}
		add(first)
	drain:
		for len(batch) < maxBatch {
			select {
			case o := <-c.out:
				add(o)
			default:
				break drain
			}
		}
		if len(batch) == 0 {
			continue
		}
		if !c.up.Load() {
			c.dropped.Add(int64(len(batch)))
			continue
		}
		pctx, pcancel := context.WithTimeout(ctx, c.cfg.Timeout)
		pipe := c.client.Pipeline()
		for _, p := range batch {
			pipe.Publish(pctx, p.channel, p.payload)
		}
		_, err := pipe.Exec(pctx)
		pcancel()
		if err != nil {
			// Some may have gone through; count the batch as dropped, which is what receivers must
			// assume. The subscription notices an outage and says so once.
			c.dropped.Add(int64(len(batch)))
			c.warn("publish", "Publishing to Redis failed; receivers fall back to polling", "error", err.Error())
			continue
		}
		c.published.Add(int64(len(batch)))
	}
}

// subscribeLoop keeps the subscription up: it connects, receives until the connection fails, and
// reconnects with a growing backoff.
func (c *Cluster) subscribeLoop() {
	defer c.wg.Done()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-c.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	channels := []string{c.cancelsCh}
	if c.events {
		channels = append(channels, c.eventsCh)
	}
	if c.cfg.InvalidateFunc != nil {
		channels = append(channels, c.invalCh)
	}
	backoff := c.cfg.BackoffMin
	everUp, outage := false, false
	for ctx.Err() == nil {
		err := c.session(ctx, channels, func() {
			backoff = c.cfg.BackoffMin
			// Whatever other processes changed before the subscription was confirmed reached no
			// cache here: clear them before they are used again.
			c.invalidateAll()
			c.up.Store(true)
			switch {
			case outage:
				c.logger.Info("Redis is reachable again; wake-ups across processes are immediate")
				// Subscriptions opened during the outage missed other processes' events.
				c.cfg.Hub.LagAll()
			case !everUp:
				c.logger.Info("Connected to Redis", "channels", channels)
			}
			everUp, outage = true, false
		})
		if ctx.Err() != nil {
			break
		}
		wasUp := c.up.Swap(false)
		if !outage {
			outage = true
			c.logger.Warn("Redis is unreachable; waiters fall back to polling the store until it is back",
				"error", redactError(err, c.cfg.URL))
			if wasUp {
				c.cfg.Hub.LagAll()
				c.invalidateAll()
			}
		}
		// Full jitter keeps processes that lost Redis together from reconnecting in step.
		wait := backoff/2 + rand.N(backoff/2+1) //nolint:gosec // jitter, not a secret
		backoff = min(backoff*2, c.cfg.BackoffMax)
		select {
		case <-ctx.Done():
		case <-time.After(wait):
		}
	}
	c.up.Store(false)
}

// session subscribes, calls subscribed once the subscription is confirmed, and receives until the
// connection fails or ctx ends.
func (c *Cluster) session(ctx context.Context, channels []string, subscribed func()) error {
	ps := c.client.Subscribe(ctx, channels...)
	defer func() { _ = ps.Close() }()
	for confirmed := 0; confirmed < len(channels); {
		msg, err := ps.ReceiveTimeout(ctx, c.cfg.Timeout)
		if err != nil {
			return fmt.Errorf("subscribe: %w", err)
		}
		if _, ok := msg.(*redis.Subscription); ok {
			confirmed++
		}
	}
	subscribed()
	pinged := false
	for {
		msg, err := ps.ReceiveTimeout(ctx, c.cfg.PingInterval)
		if err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() || ctx.Err() != nil {
				return err
			}
			if pinged {
				return errors.New("redis did not answer a ping")
			}
			if err := ps.Ping(ctx); err != nil {
				return fmt.Errorf("ping: %w", err)
			}
			pinged = true
			continue
		}
		pinged = false
		if m, ok := msg.(*redis.Message); ok {
			c.handle(ctx, m)
		}
	}
}

// invalidateAll hands the zero invalidation to InvalidateFunc, if any: the caches of the process
// are cleared.
func (c *Cluster) invalidateAll() {
	if c.cfg.InvalidateFunc != nil {
		c.cfg.InvalidateFunc(cache.Invalidation{})
	}
}

// handle acts on one received message: an event goes to the local hub, a cancel signal to CancelFunc,
// an invalidation to InvalidateFunc.
func (c *Cluster) handle(ctx context.Context, m *redis.Message) {
	w, err := decode(m.Payload)
	if err != nil {
		c.dropped.Add(1)
		c.warn("decode", "Ignoring a message from Redis", "channel", m.Channel, "error", err.Error())
		return
	}
	if w.Origin == c.cfg.ProcessID {
		return // this process's own message, already handed to its hub
	}
	switch {
	case w.Kind == kindCancel && m.Channel == c.cancelsCh:
		c.received.Add(1)
		if c.cfg.CancelFunc != nil {
			c.cfg.CancelFunc(store.ExecutionRef{TenantID: w.TenantID, ID: w.ExecutionID})
		}
	case w.Kind == kindInvalidate && m.Channel == c.invalCh && c.cfg.InvalidateFunc != nil:
		c.received.Add(1)
		c.cfg.InvalidateFunc(w.invalidation())
	case w.Kind == kindEvent && m.Channel == c.eventsCh && c.events:
		msg := w.message()
		if w.Refetch {
			if msg = c.refetch(ctx, w); msg == nil {
				return
			}
		}
		c.received.Add(1)
		c.cfg.Hub.Publish(msg)
	default:
		c.dropped.Add(1)
		c.warn("decode", "Ignoring a message from Redis", "channel", m.Channel, "error", "kind "+w.Kind+" on the wrong channel")
	}
}

// refetch reads from the store an event that travelled without its data. The read is inline, so that
// the events of an execution reach the hub in order.
func (c *Cluster) refetch(ctx context.Context, w *wire) *event.Message {
	rctx, cancel := context.WithTimeout(ctx, refetchTimeout)
	defer cancel()
	evs, err := c.cfg.Store.ListEvents(rctx, w.TenantID, w.ExecutionID, w.Seq-1, 1)
	if err != nil || len(evs) == 0 || evs[0].Seq != w.Seq {
		c.dropped.Add(1)
		if err == nil {
			err = store.ErrNotFound
		}
		c.warn("refetch", "Could not read a large event announced through Redis", "execution_id", w.ExecutionID, "seq", w.Seq, "error", err.Error())
		return nil
	}
	return &event.Message{TenantID: w.TenantID, WorkflowID: w.WorkflowID, Event: evs[0]}
}

// warnEvery is how often one kind of warning is logged at most.
const warnEvery = time.Minute

// warn logs a warning of the given kind unless one was logged less than warnEvery ago, so that a
// flood of bad messages or failed publishes makes one line a minute, not one per message.
func (c *Cluster) warn(kind, msg string, args ...any) {
	now := time.Now()
	c.warnMu.Lock()
	last, seen := c.warned[kind]
	if seen && now.Sub(last) < warnEvery {
		c.warnMu.Unlock()
		return
	}
	c.warned[kind] = now
	c.warnMu.Unlock()
	c.logger.Warn(msg, append(args, "dropped_total", c.dropped.Load())...)
}

// redactError returns err's text without the password of rawURL, should a driver quote it.
func redactError(err error, rawURL string) string {
	if err == nil {
		return ""
	}
	s := err.Error()
	if u, perr := url.Parse(rawURL); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" {
			s = strings.ReplaceAll(s, pw, "xxxxx")
		}
	}
	return s
}

// clientLogs forwards the Redis client library's own messages to a logger.
type clientLogs struct{ logger *slog.Logger }

func (l clientLogs) Printf(ctx context.Context, format string, v ...any) {
	l.logger.DebugContext(ctx, strings.TrimPrefix(fmt.Sprintf(format, v...), "redis: "))
}

// RouteClientLogs sends the messages the Redis client library prints on its own (one per failed dial,
// on stderr by default) to logger at debug level: the cluster and the rate limiter log an outage once,
// as a warning. The library keeps one logger per program, so cmd/ calls this once it has its logger.
func RouteClientLogs(logger *slog.Logger) {
	redis.SetLogger(clientLogs{logger: logger.With("component", "redis")})
}
