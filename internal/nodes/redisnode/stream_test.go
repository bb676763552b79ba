package redisnode

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// recorder is a fake ListenEnv.Fire: it records every call and every execution it "queued".
type recorder struct {
	mu    sync.Mutex
	calls map[string]int
	fired map[string]int
	data  map[string]any
	// failFunc, when set, makes the call fail (the entry must not be acknowledged).
	failFunc func(id string, call int) bool
	// afterFunc, when set, runs after each successful fire with the number of executions so far.
	afterFunc func(n int)
	n         int
}

func newRecorder() *recorder {
	return &recorder{calls: map[string]int{}, fired: map[string]int{}, data: map[string]any{}}
}

func (r *recorder) fire(ctx context.Context, data any) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id := data.(map[string]any)["id"].(string)
	r.mu.Lock()
	r.calls[id]++
	if r.failFunc != nil && r.failFunc(id, r.calls[id]) {
		r.mu.Unlock()
		return errors.New("store unavailable")
	}
	r.fired[id]++
	r.data[id] = data
	r.n++
	n, after := r.n, r.afterFunc
	r.mu.Unlock()
	if after != nil {
		after(n)
	}
	return nil
}

// unique returns how many distinct entries were fired.
func (r *recorder) unique() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.fired)
}

func (r *recorder) snapshot() (calls, fired map[string]int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	calls, fired = map[string]int{}, map[string]int{}
	for k, v := range r.calls {
		calls[k] = v
	}
	for k, v := range r.fired {
		fired[k] = v
	}
	return calls, fired
}

// listen runs t.Listen until the returned stop is called, which returns Listen's error.
func listen(t *testing.T, trig *StreamTrigger, creds node.Credentials, fire func(context.Context, any) error) (stop func() error, ctx context.Context) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- trig.Listen(ctx, node.ListenEnv{TenantID: "t1", WorkflowID: "w1", NodeID: "n1", Credentials: creds, Fire: fire})
	}()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Listen did not return within 10s of its cancel")
			}
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop, ctx
}

func (b *testBundle) trigger(t *testing.T, s *shared, stream, consumer string, extra map[string]any) *StreamTrigger {
	t.Helper()
	config := map[string]any{"credential": b.credID, "stream": stream, "group": "g", "startFrom": "beginning", "claimIdle": "1s"}
	for k, v := range extra {
		config[k] = v
	}
	r := node.NewRegistry()
	require.NoError(t, r.Register(&StreamTrigger{shared: s}))
	typ, ok := r.Lookup(StreamTriggerType)
	require.True(t, ok)
	n, err := typ.Instantiate(config, false)
	require.NoError(t, err)
	trig := n.(*StreamTrigger)
	trig.consumer = consumer
	return trig
}

func (b *testBundle) produce(t *testing.T, stream string, from, to int) []string {
	t.Helper()
	ids := make([]string, 0, to-from)
	for i := from; i < to; i++ {
		id, err := b.raw.XAdd(context.Background(), &redis.XAddArgs{Stream: stream, Values: map[string]any{"n": strconv.Itoa(i), "doc": `{"n":` + strconv.Itoa(i) + `}`}}).Result()
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return ids
}

// waitSettled waits until n entries were fired and none is pending in the group.
func (b *testBundle) waitSettled(t *testing.T, rec *recorder, stream string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		if rec.unique() < n {
			return false
		}
		p, err := b.raw.XPending(context.Background(), stream, "g").Result()
		return err == nil && p.Count == 0
	}, 20*time.Second, 20*time.Millisecond, "fired %d of %d", rec.unique(), n)
}

func TestStreamTrigger(t *testing.T) {
	t.Parallel()

	t.Run("CanceledMidStreamAndRestarted", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct{ name, second string }{{"OtherConsumer", "B"}, {"SameConsumer", "A"}} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				s := newShared(b.cfg)
				stream := b.prefix + "stream"
				ids := b.produce(t, stream, 0, 200)
				rec := newRecorder()
				// The first listener dies in the middle of a batch: from the 45th execution on,
				// nothing it is delivered is queued (as when the process is killed), so the rest of
				// its batch stays delivered and unacknowledged.
				halfway := make(chan struct{})
				var dead atomic.Bool
				rec.afterFunc = func(n int) {
					if n == 45 {
						dead.Store(true)
						close(halfway)
					}
				}
				dying := func(ctx context.Context, data any) error {
					if dead.Load() {
						return errors.New("process killed")
					}
					return rec.fire(ctx, data)
				}
				stop1, _ := listen(t, b.trigger(t, s, stream, "A", nil), b.creds, dying)
				<-halfway
				require.NoError(t, stop1())
				first := rec.unique()
				require.Equal(t, 45, first)
				p, err := b.raw.XPending(context.Background(), stream, "g").Result()
				require.NoError(t, err)
				require.Positive(t, p.Count, "the first listener left entries delivered and unacknowledged")
				t.Logf("first listener fired %d entries and left %d pending", first, p.Count)

				more := b.produce(t, stream, 200, 250)
				stop2, _ := listen(t, b.trigger(t, s, stream, tt.second, nil), b.creds, rec.fire)
				b.waitSettled(t, rec, stream, 250)
				require.NoError(t, stop2())
				_, fired := rec.snapshot()
				for _, id := range append(ids, more...) {
					require.GreaterOrEqual(t, fired[id], 1, "entry %s was never fired", id)
				}
				require.Len(t, fired, 250)
			})
		}
	})

	t.Run("FireFailsAndEntriesComeBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream := b.prefix + "stream"
		rec := newRecorder()
		failed := map[string]bool{}
		rec.failFunc = func(id string, call int) bool {
			// Every fifth entry fails on its first call.
			if call == 1 && len(failed) < 40 && (len(rec.calls)%5 == 0) {
				failed[id] = true
				return true
			}
			return false
		}
		stop, _ := listen(t, b.trigger(t, newShared(b.cfg), stream, "A", nil), b.creds, rec.fire)
		b.produce(t, stream, 0, 200)
		b.waitSettled(t, rec, stream, 200)
		require.NoError(t, stop())
		calls, fired := rec.snapshot()
		require.Len(t, fired, 200)
		require.NotEmpty(t, failed)
		for id := range failed {
			require.Equal(t, 2, calls[id], "entry %s failed once and is fired again", id)
			require.Equal(t, 1, fired[id])
		}
	})

	t.Run("LoopbackRefusedByStrictPolicy", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		trig := b.trigger(t, newShared(conntest.StrictConfig()), b.prefix+"stream", "A", nil)
		err := trig.Listen(context.Background(), node.ListenEnv{Credentials: b.creds, Fire: newRecorder().fire})
		require.Equal(t, conn.CodeSSRFBlocked, errCode(t, err))
		require.True(t, node.IsPermanent(err))
	})

	t.Run("ProducedWhileListening", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream := b.prefix + "stream"
		rec := newRecorder()
		stop, _ := listen(t, b.trigger(t, newShared(b.cfg), stream, "", map[string]any{"parseJson": true, "startFrom": "new"}), b.creds, rec.fire)
		// startFrom new: wait for the group before producing.
		require.Eventually(t, func() bool {
			groups, err := b.raw.XInfoGroups(context.Background(), stream).Result()
			return err == nil && len(groups) == 1
		}, 5*time.Second, 10*time.Millisecond)
		ids := b.produce(t, stream, 0, 200)
		b.waitSettled(t, rec, stream, 200)
		require.NoError(t, stop())
		calls, fired := rec.snapshot()
		require.Len(t, fired, 200)
		for _, id := range ids {
			require.Equal(t, 1, calls[id])
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Equal(t, map[string]any{"stream": stream, "id": ids[7], "fields": map[string]any{"n": 7.0, "doc": map[string]any{"n": 7.0}}}, rec.data[ids[7]])
		consumers, err := b.raw.XInfoConsumers(context.Background(), stream, "g").Result()
		require.NoError(t, err)
		require.Len(t, consumers, 1)
		require.Contains(t, consumers[0].Name, ":w1:n1", "the consumer name is the process's, the workflow's and the node's")
	})

	t.Run("StopsPromptly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stop, _ := listen(t, b.trigger(t, newShared(b.cfg), b.prefix+"stream", "A", nil), b.creds, newRecorder().fire)
		require.Eventually(t, func() bool {
			groups, err := b.raw.XInfoGroups(context.Background(), b.prefix+"stream").Result()
			return err == nil && len(groups) == 1
		}, 5*time.Second, 10*time.Millisecond)
		start := time.Now()
		require.NoError(t, stop())
		require.Less(t, time.Since(start), 3*time.Second)
	})
}
