package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/concertmaster/concertmaster/internal/event"
	"github.com/concertmaster/concertmaster/internal/store"
)

const transportSSE = "sse"

// FormatCursor is the SSE id of an event of a workflow or tenant stream: its time in Unix
// microseconds, its execution and its sequence number.
func FormatCursor(c store.EventCursor) string {
	return strconv.FormatInt(c.Time.UnixMicro(), 10) + "_" + c.ExecutionID + "_" + strconv.FormatInt(c.Seq, 10)
}

// ParseCursor reads what FormatCursor wrote.
func ParseCursor(s string) (*store.EventCursor, error) {
	parts := strings.Split(s, "_")
	if len(parts) != 3 {
		return nil, errors.New("not an event id of this stream")
	}
	us, err1 := strconv.ParseInt(parts[0], 10, 64)
	seq, err2 := strconv.ParseInt(parts[2], 10, 64)
	if err1 != nil || err2 != nil || parts[1] == "" || len(parts[1]) > 64 || seq < 1 {
		return nil, errors.New("not an event id of this stream")
	}
	return &store.EventCursor{Time: time.UnixMicro(us).UTC(), ExecutionID: parts[1], Seq: seq}, nil
}

// ServeSSE streams what spec names as Server-Sent Events (docs/live.md). An unknown execution or
// workflow answers 404, a client over the limit 503, and an execution that has finished and whose
// every event the client has (AfterSeq) 204, which tells EventSource to stop reconnecting.
func (g *Gateway) ServeSSE(w http.ResponseWriter, r *http.Request, tenant string, spec Spec) {
	if !g.acquire() {
		w.Header().Set("Retry-After", "5")
		g.cfg.Problem(w, http.StatusServiceUnavailable, fmt.Sprintf("the server holds its maximum of %d live clients, or is shutting down; retry later", g.cfg.MaxClients))
		return
	}
	defer g.release()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	go func() {
		select {
		case <-g.shutdown:
			cancel()
		case <-ctx.Done():
		}
	}()
	s, err := g.open(ctx, tenant, spec)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			g.cfg.Problem(w, http.StatusNotFound, err.Error())
		} else {
			g.logger.Warn("Live stream failed", "error", err)
			g.cfg.Problem(w, http.StatusInternalServerError, "the stream could not start; the server log has the details")
		}
		return
	}
	defer s.close()
	if s.exec != nil && s.exec.Status.Terminal() && spec.AfterSeq >= s.exec.LastSeq && spec.Since == nil {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	g.cfg.Observer.LiveClients(transportSSE, 1)
	defer g.cfg.Observer.LiveClients(transportSSE, -1)

	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	out := &sseSink{g: g, w: w, rc: http.NewResponseController(w), broad: spec.broad()}
	if out.write("retry: 2000\n\n") != nil {
		return
	}
	hbCtx, hbStop := context.WithCancel(ctx)
	var hb sync.WaitGroup
	hb.Go(func() { out.heartbeat(hbCtx) })
	o, err := s.run(ctx, out)
	hbStop()
	hb.Wait() // nothing writes to w once the handler returns
	if err != nil || !o.resync {
		return
	}
	g.cfg.Observer.LiveResync(transportSSE)
	data := map[string]any{"afterSeq": o.afterSeq}
	if spec.broad() {
		data = map[string]any{"since": o.since}
		if o.after != nil {
			data["after"] = FormatCursor(*o.after)
		}
	}
	b, _ := json.Marshal(data)
	_ = out.write("event: resync\ndata: " + string(b) + "\n\n")
}

// sseSink writes events to an SSE response; writes are serialised with the heartbeat's.
type sseSink struct {
	g     *Gateway
	w     http.ResponseWriter
	rc    *http.ResponseController
	broad bool
	mu    sync.Mutex
	buf   []byte
}

func (s *sseSink) write(text string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.flush(append(s.buf[:0], text...))
}

// flush writes b and flushes it within the write timeout; s.mu is held.
func (s *sseSink) flush(b []byte) error {
	_ = s.rc.SetWriteDeadline(time.Now().Add(s.g.cfg.WriteTimeout))
	if _, err := s.w.Write(b); err != nil {
		return fmt.Errorf("write to SSE client: %w", err)
	}
	if err := s.rc.Flush(); err != nil {
		return fmt.Errorf("flush to SSE client: %w", err)
	}
	return nil
}

func (s *sseSink) event(m *event.Message, live bool) error {
	id := strconv.FormatInt(m.Event.Seq, 10)
	if s.broad {
		id = FormatCursor(store.EventCursor{Time: m.Event.Time, ExecutionID: m.Event.ExecutionID, Seq: m.Event.Seq})
	}
	s.mu.Lock()
	s.buf = append(s.buf[:0], "id: "...)
	s.buf = append(append(s.buf, id...), "\nevent: "...)
	s.buf = append(append(s.buf, m.Event.Type...), "\ndata: "...)
	s.buf = append(append(s.buf, m.JSON()...), "\n\n"...)
	err := s.flush(s.buf)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	var latency time.Duration
	if live {
		latency = time.Since(m.Event.Time)
	}
	s.g.cfg.Observer.LiveMessageSent(transportSSE, latency)
	return nil
}

func (s *sseSink) live() error { return nil }

// idle does nothing: every SSE event is flushed as it is written.
func (s *sseSink) idle() error { return nil }

func (s *sseSink) heartbeat(ctx context.Context) {
	t := time.NewTicker(s.g.cfg.SSEHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if s.write(": heartbeat\n\n") != nil {
				return
			}
		case <-ctx.Done():
			return
		}
	}
}
