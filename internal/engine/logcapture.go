package engine

import (
	"context"
	"log/slog"
	"sync"

	"github.com/concertmaster/concertmaster/internal/store"
)

// logCapture is a slog.Handler that keeps a node attempt's records, up to a bound, for its node run.
type logCapture struct {
	mu      *sync.Mutex
	logs    *[]store.LogEntry
	limit   int
	dropped *int
	attrs   []slog.Attr
	group   string
}

func newLogCapture(limit int) *logCapture {
	return &logCapture{mu: &sync.Mutex{}, logs: &[]store.LogEntry{}, limit: limit, dropped: new(int)}
}

func (h *logCapture) Enabled(context.Context, slog.Level) bool { return true }

func (h *logCapture) Handle(_ context.Context, rec slog.Record) error {
	entry := store.LogEntry{Time: rec.Time.UTC(), Level: rec.Level.String(), Message: truncate(rec.Message, 4096)}
	attrs := map[string]any{}
	add := func(a slog.Attr) bool {
		key := a.Key
		if h.group != "" {
			key = h.group + "." + key
		}
		attrs[key] = a.Value.Resolve().Any()
		return true
	}
	for _, a := range h.attrs {
		add(a)
	}
	rec.Attrs(add)
	if len(attrs) > 0 {
		entry.Attrs = attrs
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if len(*h.logs) >= h.limit {
		*h.dropped++
		return nil
	}
	*h.logs = append(*h.logs, entry)
	return nil
}

func (h *logCapture) WithAttrs(attrs []slog.Attr) slog.Handler {
	c := *h
	c.attrs = append(append([]slog.Attr{}, h.attrs...), attrs...)
	return &c
}

func (h *logCapture) WithGroup(name string) slog.Handler {
	c := *h
	if c.group != "" {
		name = c.group + "." + name
	}
	c.group = name
	return &c
}

func (h *logCapture) entries() []store.LogEntry {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := append([]store.LogEntry(nil), *h.logs...)
	if *h.dropped > 0 {
		out = append(out, store.LogEntry{Level: "WARN", Message: "further log records were dropped", Attrs: map[string]any{"dropped": *h.dropped}})
	}
	return out
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
