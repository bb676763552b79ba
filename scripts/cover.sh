#!/usr/bin/env bash
# Prints the statement coverage of ConcertMaster's product code with every test counted, integration
# tests included: each test binary instruments every product package (-coverpkg), so a statement run
# by the API tests counts for the store as much as one run by the store's own tests.
#
#   scripts/cover.sh            # or: make cover
#
# Product code is every Go package under cmd/, internal/ and web/ except the test helper packages
# (storetest, enginetest, apitest: the *test packages); bench/ is not product code. The counters of
# all test binaries are merged (go tool covdata), then printed one line per package, lowest first,
# and one total line at the end. Files stay in $COVER_DIR (default bin/cover): profile.txt is the
# merged profile (go tool cover -html=bin/cover/profile.txt opens it in a browser).
#
# Then, when web/ has a package.json, it prints the web editor's line coverage (Vitest with
# @vitest/coverage-v8, `npm run cover` in web/; the report is in web/coverage/). COVER_WEB=0 skips it.
#
# It runs without -race (coverage, not races, is measured here; make test runs -race) and needs
# PostgreSQL like make test does. A failing test fails the script: the coverage of a failing run
# is not reported.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
dir=${COVER_DIR:-bin/cover}
# COVER_TESTS narrows the tests run (the coverage is still of all product code).
read -r -a tests <<<"${COVER_TESTS:-./cmd/... ./internal/... ./web/...}"

if [ -z "${CM_TEST_DATABASE_URL:-}" ]; then
  eval "$(scripts/ensure-services.sh)"
  export CM_TEST_DATABASE_URL CM_TEST_REDIS_URL
fi

pkgs=$($GO list ./cmd/... ./internal/... ./web/... | grep -Ev '/[a-z]*test$')
coverpkg=$(paste -sd, <<<"$pkgs")

rm -rf "$dir"
mkdir -p "$dir/data"
dir=$(cd "$dir" && pwd)
log="$dir/test.log"

# Test binaries write their counters to -test.gocoverdir; the cmd/concertmaster tests build the real
# binary with -cover too and point the processes they start there (see binary in process_test.go).
if ! $GO test -count=1 -timeout 30m -cover -covermode=set -coverpkg="$coverpkg" \
  "${tests[@]}" -args -test.gocoverdir="$dir/data" >"$log" 2>&1; then
  grep -Ev '^(ok|\?) |coverage: [0-9.]+% of statements' "$log" | tail -n 200 >&2
  echo "cover: tests failed; the whole output is in $log" >&2
  exit 1
fi

$GO tool covdata textfmt -i="$dir/data" -o "$dir/profile.txt"
$GO tool covdata percent -i="$dir/data" -pkg="$coverpkg" |
  awk '{ sub(/^github.com\/concertmaster\/concertmaster\//, "", $1); printf "%-34s %s\n", $1, $3 }' |
  sort -k2 -n
$GO tool cover -func="$dir/profile.txt" | tail -n 1

if [ "${COVER_WEB:-1}" != 0 ] && [ -f web/package.json ]; then
  if ! (cd web && npm run cover) >"$dir/web.log" 2>&1; then
    tail -n 100 "$dir/web.log" >&2
    echo "cover: web tests failed; the whole output is in $dir/web.log" >&2
    exit 1
  fi
  node -e 'const t = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).total.lines;
console.log(`web (front-end lines, Vitest): ${t.pct}% (${t.covered} of ${t.total} lines)`);' web/coverage/coverage-summary.json
fi
