package jscode

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/dop251/goja"

	"github.com/concertmaster/concertmaster/internal/budget"
	"github.com/concertmaster/concertmaster/internal/node"
)

// heapMetric is the Go heap's bytes in objects, live or not yet swept.
const heapMetric = "/memory/classes/heap/objects:bytes"

// sampleEvery is how often the watcher reads the heap while a script runs.
const sampleEvery = 2 * time.Millisecond

// chargeStep is the smallest growth the watcher charges to the execution's memory budget.
const chargeStep = 1 << 20

// stop is why the watcher interrupted a script.
type stop struct {
	code    string
	message string
	// err is a memory budget error from the execution's account, if that is the cause.
	err error
}

func (s *stop) Error() string { return s.message }

// watcher interrupts a running VM when its context ends or when the process heap has grown past the
// script's memory limit since it started.
type watcher struct {
	vm       *goja.Runtime
	limit    int64
	acct     node.Memory
	done     chan struct{}
	finished chan struct{}
	stopCtx  func() bool

	mu     sync.Mutex
	reason *stop
}

func heapBytes() int64 {
	sample := []metrics.Sample{{Name: heapMetric}}
	metrics.Read(sample)
	if sample[0].Value.Kind() != metrics.KindUint64 {
		return 0
	}
	return int64(sample[0].Value.Uint64()) //nolint:gosec // a heap size fits in int64
}

// watch starts watching vm; the caller must call stop when the script is done.
func watch(ctx context.Context, vm *goja.Runtime, limit int64, acct node.Memory) *watcher {
	w := &watcher{vm: vm, limit: limit, acct: acct, done: make(chan struct{}), finished: make(chan struct{})}
	w.stopCtx = context.AfterFunc(ctx, func() {
		code, msg := CodeTimeout, "the script ran past its time limit"
		cause := context.Cause(ctx)
		switch {
		case errors.Is(ctx.Err(), context.Canceled):
			code, msg = "canceled", "the script was canceled"
		case errors.Is(cause, errDefaultTimeout):
			msg = cause.Error()
		case cause != nil:
			msg = "the script ran past its time limit: " + cause.Error()
		}
		w.interrupt(&stop{code: code, message: msg})
	})
	go w.sampleHeap()
	return w
}

func (w *watcher) interrupt(s *stop) {
	w.mu.Lock()
	if w.reason == nil {
		w.reason = s
	}
	w.mu.Unlock()
	w.vm.Interrupt(s)
}

// stopped returns why the script was interrupted, or nil.
func (w *watcher) stopped() *stop {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.reason
}

// stop ends the watch and waits for the sampler to return.
func (w *watcher) stop() {
	w.stopCtx()
	close(w.done)
	<-w.finished
}

// sampleHeap reads the heap every sampleEvery. Heap growth past the limit may be garbage: the
// watcher then starts a collection and interrupts only if the growth is still there once it is done;
// it collects again only after another quarter limit's worth of growth, so that a script that makes
// garbage fast is not slowed down by collections. Growth past four times the limit interrupts at once,
// without waiting for a collection: a string that doubles would otherwise outrun it. Growth is charged
// to the execution's memory budget as it is seen (at least chargeStep at a time); when the budget
// refuses, a collection decides whether the script really holds more than it was charged.
func (w *watcher) sampleHeap() {
	defer close(w.finished)
	base := heapBytes()
	recheckAt := base + w.limit
	charged := int64(0)
	t := time.NewTicker(sampleEvery)
	defer t.Stop()
	collected := make(chan int64, 1)
	collecting := false
	overLimit := func(grown int64) {
		w.interrupt(&stop{code: CodeMemoryExceeded, message: fmt.Sprintf(
			"the script used more than its memory limit of %s (CM_CODE_MAX_MEMORY): the heap grew by %s while it ran",
			budget.Bytes(w.limit), budget.Bytes(grown))})
	}
	for {
		var h int64
		select {
		case <-w.done:
			return
		case h = <-collected:
			collecting = false
			if h < base {
				// The start's heap held garbage: measure from what is live now.
				base = h
			}
			if grown := h - base; grown > w.limit {
				overLimit(grown)
				return
			}
			recheckAt = max(h+w.limit/4, base+w.limit)
			continue
		case <-t.C:
			h = heapBytes()
		}
		if grown := h - base; grown > 4*w.limit {
			overLimit(grown)
			return
		}
		if w.acct != nil && h-base-charged >= chargeStep {
			if err := w.acct.Reserve(h - base - charged); err == nil {
				charged = h - base
			} else {
				runtime.GC()
				if grown := heapBytes() - base; grown > charged {
					if err := w.acct.Reserve(grown - charged); err != nil {
						w.interrupt(&stop{code: "budget_exceeded", message: err.Error(), err: err})
						return
					}
					charged = grown
				}
			}
		}
		if h > recheckAt && !collecting {
			collecting = true
			go func() {
				runtime.GC()
				collected <- heapBytes()
			}()
		}
	}
}
