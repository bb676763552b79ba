package engine_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/concertmaster/concertmaster/internal/engine/enginetest"
	"github.com/concertmaster/concertmaster/internal/workflow"
)

// chainDefinition returns trigger → n data.set nodes in a line.
func chainDefinition(n int) string {
	nodes := []string{`{"id":"start","type":"trigger.manual"}`}
	edges := []string{}
	prev := "start"
	for i := range n {
		id := fmt.Sprintf("set_%d", i)
		nodes = append(nodes, fmt.Sprintf(`{"id":%q,"type":"data.set","config":{"fields":{"step":%d,"label":"step {{ input.step }}"}}}`, id, i))
		edges = append(edges, fmt.Sprintf(`{"source":%q,"target":%q}`, prev, id))
		prev = id
	}
	return `{"name":"chain","nodes":[` + strings.Join(nodes, ",") + `],"edges":[` + strings.Join(edges, ",") + `]}`
}

// BenchmarkChain100 measures the engine's overhead per node: a 100-node chain of data.set, durable
// (data.set is pure: the chain is written as the engine checkpoints, ADR 0023, on SQLite or, with
// CM_BENCH_DATABASE_URL, PostgreSQL). It reports ms/node.
func BenchmarkChain100(b *testing.B) {
	env := enginetest.Start(b, enginetest.Options{Path: benchDBPath(b), PostgresURL: os.Getenv("CM_BENCH_DATABASE_URL")})
	w := env.Save(b, chainDefinition(100))
	env.Run(b, w.ID, `{}`) // warm the plan cache
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		exec := env.Run(b, w.ID, `{"step":0}`)
		require.Equal(b, workflow.ExecutionSucceeded, exec.Status)
		total += exec.FinishedAt.Sub(*exec.StartedAt)
	}
	perNode := float64(total.Microseconds()) / 1000 / float64(b.N) / 101
	b.ReportMetric(perNode, "ms/node")
	b.ReportMetric(0, "ns/op")
	if b.N >= 10 {
		store := "sqlite"
		if os.Getenv("CM_BENCH_DATABASE_URL") != "" {
			store = "postgres"
		}
		fmt.Printf("figure: engine overhead per node, 100-node data.set chain, durable (%s): %.3f ms/node over %d runs — target ≤ 0.05 ms/node\n", store, perNode, b.N)
	}
}
