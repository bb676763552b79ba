package redisnode

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
)

// BenchmarkCommandGet measures redis.command get (credential lookup, shared client, STRLEN then GET,
// output) against a plain go-redis GET on the same server:
//
//	go test ./internal/nodes/redisnode -run '^$' -bench Get -benchtime 5000x
func BenchmarkCommandGet(b *testing.B) {
	bundle := setup(b)
	ctx := context.Background()
	key := bundle.prefix + "bench"
	require.NoError(b, bundle.raw.Set(ctx, key, `{"id":1,"name":"bench"}`, time.Minute).Err())

	b.Run("Node", func(b *testing.B) {
		n := command(b, newShared(bundle.cfg), map[string]any{"credential": bundle.credID, "operation": "get", "key": key, "parseJson": true})
		in := conntest.Input(bundle.creds, nil)
		b.ResetTimer()
		for range b.N {
			if _, err := n.Execute(ctx, in); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("Raw", func(b *testing.B) {
		for range b.N {
			if err := bundle.raw.Get(ctx, key).Err(); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkStreamTrigger measures how many entries per second trigger.redis_stream fires and
// acknowledges with a Fire that returns at once (the host's durable queuing excluded):
//
//	go test ./internal/nodes/redisnode -run '^$' -bench StreamTrigger -benchtime 5000x
func BenchmarkStreamTrigger(b *testing.B) {
	bundle := setup(b)
	ctx := context.Background()
	stream := bundle.prefix + "bench-stream"
	pipe := bundle.raw.Pipeline()
	for i := range b.N {
		pipe.XAdd(ctx, &redis.XAddArgs{Stream: stream, Values: map[string]any{"n": strconv.Itoa(i)}})
	}
	_, err := pipe.Exec(ctx)
	require.NoError(b, err)
	trig := &StreamTrigger{Credential: bundle.credID, Stream: stream, Group: "g", StartFrom: "beginning", BatchSize: 100, shared: newShared(bundle.cfg)}
	var fired atomic.Int64
	done := make(chan struct{})
	lctx, cancel := context.WithCancel(ctx)
	b.ResetTimer()
	go func() {
		_ = trig.Listen(lctx, node.ListenEnv{WorkflowID: "w", NodeID: "n", Credentials: bundle.creds, Fire: func(context.Context, any) error {
			if fired.Add(1) == int64(b.N) {
				close(done)
			}
			return nil
		}})
	}()
	<-done
	b.StopTimer()
	cancel()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}
