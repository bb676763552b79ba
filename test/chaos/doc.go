// Package chaos holds the chaos test of the scale-out mode (issue 11): one `serve --role=api` process
// and three `worker` processes of the real binary on a private PostgreSQL and a private Redis, 2,000
// executions (HTTP calls to a counting server on loopback, flow.delay waits, pure data.set chains and
// a schedule firing every second), a random worker killed with SIGKILL and restarted every 2 s, and
// PostgreSQL and Redis each stopped and started once during the run. It then checks, from the
// counting server and from PostgreSQL directly, that every execution finished and succeeded, that no
// HTTP node whose success was recorded was called again (calls ≤ its attempts, each attempt beyond
// the first being one the store recorded as cut short), that every execution's event sequence is
// gapless, and that each schedule due time started exactly one execution, and prints the counts.
//
// The test is behind the `chaos` build tag, so `go test ./...` does not run it: it takes a few
// minutes and needs the PostgreSQL server binaries (initdb, pg_ctl under /usr/lib/postgresql/*/bin)
// and redis-server, and it fails, never skips, without them. Run it with `make test-chaos` (part of
// `make test`), which builds bin/concertmaster first; CM_CHAOS_BIN names another binary. Its own
// servers listen on free loopback ports and live in a temporary directory, so stopping them cannot
// disturb other tests using the shared servers; as root, PostgreSQL runs as the postgres user
// (runuser). See docs/scale-out.md, "Chaos test".
package chaos
