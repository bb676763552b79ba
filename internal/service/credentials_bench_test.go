package service_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/store"
)

// BenchmarkLoadCredential measures what a node run pays for one credential: the store read and the
// AES-256-GCM decryption (service.Credentials.LoadCredential, as the engine calls it).
func BenchmarkLoadCredential(b *testing.B) {
	env := enginetest.Start(b, enginetest.Options{NoDispatcher: true})
	ctx := context.Background()
	c, err := env.Credentials.Create(ctx, store.DefaultTenant, "bench", "postgres",
		map[string]any{"url": "postgres://app:a-long-enough-password@db.example.com:5432/orders?sslmode=require"})
	require.NoError(b, err)
	durations := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		got, err := env.Credentials.LoadCredential(ctx, store.DefaultTenant, c.ID)
		durations = append(durations, time.Since(start))
		if err != nil || got.Data["password"] != "a-long-enough-password" {
			b.Fatalf("load: %v", err)
		}
	}
	b.StopTimer()
	slices.Sort(durations)
	p := func(q float64) float64 { return float64(durations[int(q*float64(len(durations)-1))].Microseconds()) }
	fmt.Printf("figure: credential decryption per node run (store read + AES-256-GCM open, SQLite): p50 %.0f µs, p95 %.0f µs over %d loads\n", p(0.5), p(0.95), len(durations))
}
