package main

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/cluster/clustertest"
)

// BenchmarkWaitWakeAcrossProcesses measures, for b.N executions run by a worker process, how long
// after the run finished the ?wait= request on the API process answered: woken through Redis, and by
// the polling fallback (no Redis, CM_WAIT_POLL_INTERVAL at its 2 s default). 16 requests wait at once.
//
//	go test -run XXX -bench WaitWakeAcrossProcesses -benchtime 200x ./cmd/concertmaster
func BenchmarkWaitWakeAcrossProcesses(b *testing.B) {
	for _, mode := range []struct {
		name  string
		redis bool
	}{{"Redis", true}, {"Polling", false}} {
		b.Run(mode.name, func(b *testing.B) {
			redisURL := ""
			if mode.redis {
				redisURL = clustertest.RedisURL(b)
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			so := startScaleOut(ctx, b, redisURL, "2s")
			if mode.redis {
				so.api.waitLog(b, "Connected to Redis")
				so.worker.waitLog(b, "Connected to Redis")
			}
			w := so.s.do(b, http.MethodPost, "/api/v1/workflows", quickWorkflow)
			path := "/api/v1/workflows/" + w["id"].(string) + "/executions?wait=60s"
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			work := make(chan int)
			b.ResetTimer()
			for range 16 {
				wg.Go(func() {
					for i := range work {
						exec := so.s.do(b, http.MethodPost, path, `{"input":{}}`)
						answered := time.Now()
						require.Equal(b, "succeeded", exec["status"])
						lat[i] = answered.Sub(finishedAt(b, exec))
					}
				})
			}
			for i := range b.N {
				work <- i
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			slices.Sort(lat)
			p50, p95 := lat[len(lat)/2], lat[len(lat)*95/100]
			b.ReportMetric(float64(p50.Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(p95.Microseconds())/1000, "p95-ms")
			fmt.Printf("figure: ?wait= wake-up across processes (API + worker, PostgreSQL), %s: p50 %.1f ms, p95 %.1f ms over %d executions\n",
				map[bool]string{true: "through Redis", false: "polling fallback every 2s"}[mode.redis],
				float64(p50.Microseconds())/1000, float64(p95.Microseconds())/1000, b.N)
			so.stop(b, cancel)
		})
	}
}
