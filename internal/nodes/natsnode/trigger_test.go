package natsnode

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
)

// listen runs trig.Listen until the returned stop is called, which returns Listen's error.
func listen(t *testing.T, trig *Trigger, creds node.Credentials, fire func(context.Context, any) error) (stop func() error) {
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
	return stop
}

func (b *testBundle) trigger(t *testing.T, s *shared, config map[string]any) *Trigger {
	t.Helper()
	config["credential"] = b.credID
	return instantiate(t, &Trigger{shared: s}, config).(*Trigger)
}

func (b *testBundle) publish(t *testing.T, subject string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		_, err := b.js.Publish(context.Background(), subject, []byte(`{"n":`+strconv.Itoa(i)+`}`))
		require.NoError(t, err)
	}
}

// waitSettled waits until n messages were fired and the consumer has nothing pending or
// unacknowledged.
func (b *testBundle) waitSettled(t *testing.T, rec *recorder, stream, durable string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		if rec.unique() < n {
			return false
		}
		c, err := b.js.Consumer(context.Background(), stream, durable)
		if err != nil {
			return false
		}
		info := c.CachedInfo()
		return info.NumAckPending == 0 && info.NumPending == 0
	}, 30*time.Second, 20*time.Millisecond, "fired %d of %d", rec.unique(), n)
}

func TestTrigger(t *testing.T) {
	t.Parallel()

	t.Run("CanceledMidStreamAndRestarted", func(t *testing.T) {
		t.Parallel()
		for _, tt := range []struct {
			name       string
			newProcess bool
		}{{"OtherProcess", true}, {"SameProcess", false}} {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				b := setup(t)
				stream, subjects := b.stream(t)
				s := newShared(b.cfg)
				config := func() map[string]any {
					return map[string]any{"stream": stream, "durable": "d", "subject": subjects + ".>", "ackWait": "1s"}
				}
				b.publish(t, subjects+".a", 0, 200)
				rec := newRecorder()
				// From the 45th execution on, the first listener queues nothing it is delivered (as
				// when its process is being killed): those messages must come back.
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
				stop1 := listen(t, b.trigger(t, s, config()), b.creds, dying)
				<-halfway
				require.NoError(t, stop1())
				require.Equal(t, 45, rec.unique(), "the first listener was stopped mid-stream")
				if tt.newProcess {
					s = newShared(b.cfg)
				}
				b.publish(t, subjects+".b", 200, 250)
				stop2 := listen(t, b.trigger(t, s, config()), b.creds, rec.fire)
				b.waitSettled(t, rec, stream, "d", 250)
				require.NoError(t, stop2())
				_, fired := rec.snapshot()
				for seq := 1; seq <= 250; seq++ {
					require.GreaterOrEqual(t, fired[strconv.Itoa(seq)], 1, "message %d was never fired", seq)
				}
				require.Len(t, fired, 250)
			})
		}
	})

	t.Run("Core", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		subject := "cmtest." + b.suffix + ".core"
		rec := newRecorder()
		stop := listen(t, b.trigger(t, newShared(b.cfg), map[string]any{"mode": "core", "subject": subject + ".*", "queue": "q"}), b.creds, rec.fire)
		// Core NATS delivers only to subscribers present when a message is published: wait for ours.
		require.Eventually(t, func() bool {
			require.NoError(t, b.raw.Publish(subject+".probe", []byte(`"probe"`)))
			require.NoError(t, b.raw.Flush())
			return rec.unique() > 0
		}, 5*time.Second, 20*time.Millisecond)
		for i := range 20 {
			require.NoError(t, b.raw.Publish(subject+".x", []byte(strconv.Itoa(i))))
		}
		require.Eventually(t, func() bool { return rec.unique() >= 21 }, 5*time.Second, 10*time.Millisecond)
		require.NoError(t, stop())
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Equal(t, subject+".x", rec.last["subject"])
		require.Equal(t, 19.0, rec.last["data"])
	})

	t.Run("ExistingConsumerKeepsItsStart", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream, subjects := b.stream(t)
		b.publish(t, subjects+".old", 0, 5)
		ctx := context.Background()
		_, err := b.js.CreateConsumer(ctx, stream, jetstream.ConsumerConfig{Durable: "d", AckPolicy: jetstream.AckExplicitPolicy, DeliverPolicy: jetstream.DeliverNewPolicy})
		require.NoError(t, err)
		rec := newRecorder()
		stop := listen(t, b.trigger(t, newShared(b.cfg), map[string]any{"stream": stream, "durable": "d", "deliverPolicy": "all", "maxAckPending": 7.0}), b.creds, rec.fire)
		require.Eventually(t, func() bool {
			c, err := b.js.Consumer(ctx, stream, "d")
			return err == nil && c.CachedInfo().Config.MaxAckPending == 7
		}, 5*time.Second, 20*time.Millisecond, "the consumer is updated to the configuration")
		b.publish(t, subjects+".new", 5, 8)
		b.waitSettled(t, rec, stream, "d", 3)
		require.NoError(t, stop())
		_, fired := rec.snapshot()
		require.Equal(t, map[string]int{"6": 1, "7": 1, "8": 1}, fired, "messages stored before the consumer are not delivered")
	})

	t.Run("FireFailsAndMessagesComeBack", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream, subjects := b.stream(t)
		rec := newRecorder()
		failed := map[string]bool{}
		rec.failFunc = func(key string, call int) bool {
			if call == 1 && len(rec.calls)%5 == 0 {
				failed[key] = true
				return true
			}
			return false
		}
		stop := listen(t, b.trigger(t, newShared(b.cfg), map[string]any{"stream": stream, "durable": "d"}), b.creds, rec.fire)
		b.publish(t, subjects+".a", 0, 200)
		b.waitSettled(t, rec, stream, "d", 200)
		require.NoError(t, stop())
		calls, fired := rec.snapshot()
		require.Len(t, fired, 200)
		require.NotEmpty(t, failed)
		for key := range failed {
			require.Equal(t, 2, calls[key], "message %s failed once and was delivered again", key)
			require.Equal(t, 1, fired[key])
		}
	})

	t.Run("ProducedWhileListening", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream, subjects := b.stream(t)
		rec := newRecorder()
		stop := listen(t, b.trigger(t, newShared(b.cfg), map[string]any{"stream": stream, "durable": "d", "subject": subjects + ".orders.*"}), b.creds, rec.fire)
		b.publish(t, subjects+".orders.created", 0, 200)
		b.publish(t, subjects+".other", 0, 10) // outside the filter
		b.waitSettled(t, rec, stream, "d", 200)
		require.NoError(t, stop())
		calls, fired := rec.snapshot()
		require.Len(t, fired, 200)
		for k, n := range calls {
			require.Equal(t, 1, n, "message %s", k)
		}
		rec.mu.Lock()
		defer rec.mu.Unlock()
		require.Equal(t, subjects+".orders.created", rec.last["subject"])
		require.Equal(t, map[string]any{"n": 199.0}, rec.last["data"])
		require.Equal(t, stream, rec.last["stream"])
		require.Equal(t, uint64(1), rec.last["deliveries"])
	})

	t.Run("StopsPromptly", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		stream, _ := b.stream(t)
		stop := listen(t, b.trigger(t, newShared(b.cfg), map[string]any{"stream": stream, "durable": "d"}), b.creds, newRecorder().fire)
		require.Eventually(t, func() bool {
			_, err := b.js.Consumer(context.Background(), stream, "d")
			return err == nil
		}, 5*time.Second, 10*time.Millisecond)
		start := time.Now()
		require.NoError(t, stop())
		require.Less(t, time.Since(start), 3*time.Second)
	})

	t.Run("StreamMissing", func(t *testing.T) {
		t.Parallel()
		b := setup(t)
		err := b.trigger(t, newShared(b.cfg), map[string]any{"stream": "CMTEST_MISSING_" + b.suffix, "durable": "d"}).
			Listen(context.Background(), node.ListenEnv{Credentials: b.creds, Fire: newRecorder().fire})
		require.Equal(t, CodeJetStream, errCode(t, err))
	})
}
