package natsnode

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// BenchmarkPublish measures nats.publish (credential lookup, shared connection, a flush round trip;
// or the JetStream acknowledgement) against a plain publish and flush:
//
//	go test ./internal/nodes/natsnode -run '^$' -bench Publish -benchtime 5000x
func BenchmarkPublish(b *testing.B) {
	bundle := setup(b)
	_, subjects := bundle.stream(b)
	ctx := context.Background()
	for _, jetstream := range []bool{false, true} {
		name := "Core"
		if jetstream {
			name = "JetStream"
		}
		b.Run(name, func(b *testing.B) {
			n := instantiate(b, &Publish{shared: newShared(bundle.cfg)}, map[string]any{"credential": bundle.credID,
				"subject": subjects + ".bench", "payload": map[string]any{"id": 1.0}, "jetstream": jetstream})
			in := conntest.Input(bundle.creds, nil)
			b.ResetTimer()
			for range b.N {
				if _, err := n.Execute(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
	b.Run("RawCore", func(b *testing.B) {
		for range b.N {
			require.NoError(b, bundle.raw.Publish(subjects+".bench", []byte(`{"id":1}`)))
			require.NoError(b, bundle.raw.Flush())
		}
	})
}

// BenchmarkTrigger measures how many JetStream messages per second trigger.nats fires and
// acknowledges (double ack) with a Fire that returns at once:
//
//	go test ./internal/nodes/natsnode -run '^$' -bench Trigger -benchtime 5000x
func BenchmarkTrigger(b *testing.B) {
	bundle := setup(b)
	stream, subjects := bundle.stream(b)
	ctx := context.Background()
	for i := range b.N {
		_, err := bundle.js.PublishAsync(subjects+".in", []byte(strconv.Itoa(i)))
		require.NoError(b, err)
	}
	<-bundle.js.PublishAsyncComplete()
	trig := &Trigger{Credential: bundle.credID, Stream: stream, Durable: "bench", MaxAckPending: 1000, shared: newShared(bundle.cfg)}
	var fired atomic.Int64
	done := make(chan struct{})
	lctx, cancel := context.WithCancel(ctx)
	defer cancel()
	b.ResetTimer()
	go func() {
		_ = trig.Listen(lctx, node.ListenEnv{Credentials: bundle.creds, Fire: func(context.Context, any) error {
			if fired.Add(1) == int64(b.N) {
				close(done)
			}
			return nil
		}})
	}()
	<-done
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "msgs/s")
}
