#!/usr/bin/env bash
# make bench: measures every figure the issues name and prints one "figure:" line for each, with its
# target. In-process figures come from `go test -bench`; server figures from bench/cmbench driving the
# real binary (wrk for the webhook load); the web editor's from bench/web.mjs in Debian's Chromium.
# Each runs on SQLite and, when PostgreSQL answers, again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/concertmaster}
[ -x "$BIN" ] || { echo "bench: $BIN is missing; run make build first" >&2; exit 1; }
command -v wrk >/dev/null || { [ "$(id -u)" = 0 ] && apt-get install -y -qq wrk >/dev/null; } || { echo "bench: wrk is missing: apt-get install -y wrk" >&2; exit 1; }

figures() { grep -oE 'figure:.*|^  [a-zA-Z].*' || true; }

go_benchmarks() {
  go test -run XXX -bench 'Chain100' -benchtime 50x ./internal/engine | figures
  go test -run XXX -bench 'CreateWorkflow200|RunToFirstNodeStarted' -benchtime 300x ./internal/api | figures
  go test -run XXX -bench 'SubWorkflowCall|ApprovalRoundTrip' -benchtime 300x ./internal/api | figures
  go test -run XXX -bench 'ForEachCall1000' -benchtime 3x ./internal/api | figures
  go test -run XXX -bench 'TestNode500' -benchtime 100x ./internal/api | figures
  go test -run XXX -bench 'ListPages' -benchtime 100x -timeout 60m ./internal/api | figures
}

echo "== Store-independent =="
go test -run XXX -bench 'HashPassword' -benchtime 20x ./internal/auth | figures
go test -run XXX -bench 'DummyVerify|VerifyPassword|CheckStrengthWorst|VerifyToken' -benchtime 10x ./internal/auth | grep '^Benchmark' || true

echo "== Plugins (issue 12) =="
go test -run XXX -bench 'BenchmarkWasmNodeCall|BenchmarkProcessRoundTrip' -benchtime 3s ./internal/pluginhost | grep '^Benchmark' || true
go test -run '^$' -bench HelloPython -benchtime 2000x ./pkg/plugin/python | grep '^Benchmark' || true
go run ./bench/cmbench -bin "$BIN" -only plugins

echo "== SQLite =="
go_benchmarks
go test -run XXX -bench 'LoadCredential' -benchtime 2000x ./internal/service | figures
# trigger.amqp throughput (needs RabbitMQ on 127.0.0.1:5672: scripts/ensure-services.sh starts it).
if AMQPOUT=$(scripts/ensure-services.sh 2>/dev/null); then
  eval "$AMQPOUT"
  CM_TEST_AMQP_URL=$CM_TEST_AMQP_URL go test -run XXX -bench 'AMQPTrigger' -benchtime 2000x -timeout 10m ./internal/listen | figures
fi
go run ./bench/cmbench -bin "$BIN"

PG_ADMIN=${CM_BENCH_DATABASE_URL:-${CM_TEST_DATABASE_URL:-}}
if [ -z "$PG_ADMIN" ] && PGOUT=$(scripts/ensure-services.sh 2>/dev/null); then
  eval "$PGOUT"
  PG_ADMIN=$CM_TEST_DATABASE_URL
fi
if [ -n "$PG_ADMIN" ]; then
  echo "== PostgreSQL =="
  CM_BENCH_DATABASE_URL=$PG_ADMIN go_benchmarks
  # postgres.query node overhead over a raw pgx query on the same pool (needs the server on 127.0.0.1:5432).
  CM_TEST_DATABASE_URL=$PG_ADMIN go test -run XXX -bench 'PostgresQueryOverhead' -benchtime 2000x ./internal/nodes/sqlnode | figures
  go run ./bench/cmbench -bin "$BIN" -postgres "$PG_ADMIN"
  # The scale-out figures of issue 11 (about 20 minutes): 1, 2 and 3 worker processes, 100 editors
  # for 5 min, 1,000 reads/s for 10 min, recovery after SIGKILL of a whole cluster (Redis when it answers).
  go run ./bench/cmbench -bin "$BIN" -postgres "$PG_ADMIN" -redis "${CM_TEST_REDIS_URL:-}" \
    -only workers,recovery,editors,stress
  # ?wait= wake-up across processes (API + worker): through Redis vs the polling fallback (ADR 0018).
  CM_TEST_DATABASE_URL=$PG_ADMIN go test -run XXX -bench 'WaitWakeAcrossProcesses' -benchtime 200x -timeout 20m ./cmd/concertmaster | figures
else
  echo "== PostgreSQL: skipped, no server (set CM_BENCH_DATABASE_URL) =="
fi

if [ -f bench/web.mjs ] && [ -d web/node_modules ]; then
  echo "== Web editor (Chromium) =="
  node bench/web.mjs
fi

# Lighthouse on the workflows page and the editor (issue 13): performance, accessibility, best
# practices and SEO scores (npx lighthouse@12.2.3, Debian's Chromium).
if [ -d web/node_modules ]; then
  echo "== Lighthouse (Chromium) =="
  bench/lighthouse.sh || true
fi
