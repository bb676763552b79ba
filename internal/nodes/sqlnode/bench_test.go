package sqlnode_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/concertmaster/concertmaster/internal/node"
	"github.com/concertmaster/concertmaster/internal/nodes/conn/conntest"
	"github.com/concertmaster/concertmaster/internal/nodes/sqlnode"
)

// BenchmarkPostgresQueryOverhead measures what postgres.query adds to a raw pgx query on the same
// pool: each iteration runs `select $1::int` raw (pool.QueryRow), through the node's Execute, and
// through Instantiate (schema check, decode, Validate, as the engine does for a configuration with
// templates) plus Execute, so the three see the same server and pool. It reports the p50 and p95 of
// each, and of the overhead (node minus raw, per iteration).
func BenchmarkPostgresQueryOverhead(b *testing.B) {
	url := conntest.ServerURL(b, "CM_TEST_DATABASE_URL", "127.0.0.1:5432")
	ctx := context.Background()
	p := sqlnode.NewPostgres(conntest.Config())
	defer p.Close()
	r := newRunner(sqlnode.PostgresNodes(p)...)
	id := r.creds.Add(b, "postgres", map[string]any{"url": url})
	cred, err := r.creds.Get(ctx, id)
	if err != nil {
		b.Fatal(err)
	}
	pool, release, err := p.Pool(ctx, cred)
	if err != nil {
		b.Fatal(err)
	}
	defer release()
	typ, _ := r.reg.Lookup("postgres.query")
	config := map[string]any{"credential": id, "query": "select $1::int as n", "params": []any{7.0}}
	n, err := typ.Instantiate(config, false)
	if err != nil {
		b.Fatal(err)
	}
	in := conntest.Input(r.creds, nil)
	check := func(out node.Output, err error) {
		if err != nil {
			b.Fatal(err)
		}
		rows := out.Value.(map[string]any)["rows"].([]any)
		if rows[0].(map[string]any)["n"] != 7.0 {
			b.Fatalf("unexpected output %v", out.Value)
		}
	}
	// Warm the pool and the statement caches of its connections.
	for range 50 {
		check(n.Execute(ctx, in))
	}
	var raw, exec, overhead, overheadFull []time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		start := time.Now()
		var v int
		if err := pool.QueryRow(ctx, "select $1::int as n", 7).Scan(&v); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		check(n.Execute(ctx, in))
		t2 := time.Now()
		inst, err := typ.Instantiate(config, false)
		if err != nil {
			b.Fatal(err)
		}
		check(inst.Execute(ctx, in))
		t3 := time.Now()
		raw, exec = append(raw, t1.Sub(start)), append(exec, t2.Sub(t1))
		overhead, overheadFull = append(overhead, t2.Sub(t1)-t1.Sub(start)), append(overheadFull, t3.Sub(t2)-t1.Sub(start))
	}
	b.StopTimer()
	pct := func(d []time.Duration, q int) float64 {
		s := slices.Clone(d)
		slices.Sort(s)
		return float64(s[(len(s)-1)*q/100].Microseconds())
	}
	b.ReportMetric(pct(raw, 50), "raw-p50-µs")
	b.ReportMetric(pct(exec, 50), "node-p50-µs")
	b.ReportMetric(pct(exec, 95), "node-p95-µs")
	b.ReportMetric(pct(overhead, 50), "overhead-p50-µs")
	b.ReportMetric(pct(overhead, 95), "overhead-p95-µs")
	if len(raw) >= 100 {
		fmt.Printf("figure: postgres.query overhead over a raw pgx query on the same pool (select $1::int, loopback): p50 %.0f µs, p95 %.0f µs of the paired differences over %d runs "+
			"(raw p50 %.0f / p95 %.0f µs, node p50 %.0f / p95 %.0f µs, so p95 node − p95 raw = %.0f µs; with Instantiate as the engine does: overhead p50 %.0f µs, p95 %.0f µs)\n",
			pct(overhead, 50), pct(overhead, 95), len(raw), pct(raw, 50), pct(raw, 95), pct(exec, 50), pct(exec, 95), pct(exec, 95)-pct(raw, 95),
			pct(overheadFull, 50), pct(overheadFull, 95))
	}
}
