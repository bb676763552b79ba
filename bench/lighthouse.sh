#!/usr/bin/env bash
# bench/lighthouse.sh: Lighthouse 12.2.3 (13 needs Node 22) in Debian's Chromium on the web editor's
# workflows page and its editor, against the built binary (bin/concertmaster, or $BIN) on a free port
# with a fresh SQLite database. It prints the four scores of each page, one "figure:" line each, with
# the targets of issue 13 (performance >= 90, accessibility >= 95, best practices >= 95), and exits 1
# when one misses. Called by bench/run.sh, not by make test; run `make build` first.
#
# The pages need a session: the script signs the owner in through the API and gives each Lighthouse
# run a session of its own (POST /auth/switch), passed as the refresh cookie with --extra-headers.
# Lighthouse runs with its desktop preset (the editor is a desktop tool). The JSON reports stay in
# $LIGHTHOUSE_OUT (default bench/out/lighthouse).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-bin/concertmaster}
CHROME_PATH=${CHROME_PATH:-/usr/bin/chromium}
OUT=${LIGHTHOUSE_OUT:-bench/out/lighthouse}
[ -x "$BIN" ] || { echo "lighthouse: $BIN is missing; run make build first" >&2; exit 1; }
[ -x "$CHROME_PATH" ] || { echo "lighthouse: $CHROME_PATH is missing: apt-get install -y chromium" >&2; exit 1; }
for tool in curl jq npx; do command -v "$tool" >/dev/null || { echo "lighthouse: $tool is missing" >&2; exit 1; }; done
export CHROME_PATH

dir=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
base="http://127.0.0.1:$port"
email=owner@lighthouse.test
password='lighthouse owner: correct horse battery staple'
CM_ADDR=127.0.0.1:$port CM_DATABASE_URL="sqlite://$dir/cm.db" CM_LOG_LEVEL=warn \
  CM_BOOTSTRAP_EMAIL=$email CM_BOOTSTRAP_PASSWORD=$password "$BIN" serve >"$dir/server.log" 2>&1 &
pid=$!
for _ in $(seq 300); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  kill -0 "$pid" 2>/dev/null || { cat "$dir/server.log" >&2; exit 1; }
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null || { echo "lighthouse: the server was not ready within 30 s" >&2; exit 1; }

login=$(curl -fsS "$base/api/v1/auth/login" -H 'Content-Type: application/json' \
  -d "$(jq -n --arg e "$email" --arg p "$password" '{email: $e, password: $p}')")
token=$(jq -r .accessToken <<<"$login")
tenant=$(jq -r .tenantId <<<"$login")
api() { curl -fsS "$base$1" -H "Authorization: Bearer $token" -H 'Content-Type: application/json' "${@:2}"; }
workflow=$(api /api/v1/workflows -d @examples/orders.json | jq -r .id)
api "/api/v1/workflows/$workflow/executions?wait=20s" -d '{"input": {"total": 150, "customer": "ada"}}' >/dev/null

# session answers a Cookie header with a fresh refresh token (a session of its own per run: the app
# rotates the token on its first refresh, so two runs cannot share one).
session() {
  local cookie
  cookie=$(curl -fsS -o /dev/null -D - "$base/api/v1/auth/switch" -H "Authorization: Bearer $token" \
    -H 'Content-Type: application/json' -d "{\"tenantId\": \"$tenant\"}" | tr -d '\r' |
    sed -n 's/^[Ss]et-[Cc]ookie: \(cm_refresh=[^;]*\).*/\1/p')
  [ -n "$cookie" ] || { echo "lighthouse: no session cookie from /auth/switch" >&2; exit 1; }
  jq -nc --arg c "$cookie" '{Cookie: $c}'
}

mkdir -p "$OUT"
fail=0
run() {
  local name=$1 path=$2 report="$OUT/$1.json"
  npx -y lighthouse@12.2.3 "$base$path" --quiet --preset=desktop \
    --chrome-flags="--headless --no-sandbox --disable-gpu --disable-background-networking" \
    --extra-headers="$(session)" --output=json --output-path="$report" >/dev/null
  local final
  final=$(jq -r '.finalDisplayedUrl // .finalUrl' "$report")
  case $final in
    *"$path") ;;
    *) echo "lighthouse: $name ended at $final, not $path (signed out?)" >&2; fail=1 ;;
  esac
  while read -r cat score; do
    local target=0
    case $cat in performance) target=90 ;; accessibility) target=95 ;; best-practices) target=95 ;; esac
    local ok=OK
    [ "$score" -ge "$target" ] || { ok=MISS; [ "$target" -gt 0 ] && fail=1; }
    echo "figure: lighthouse $name $cat: $score (target >= $target) $ok"
  done < <(jq -r '.categories[] | "\(.id) \(.score * 100 | round)"' "$report")
  jq -r '[.audits[] | select(.score != null and .score < 1 and (.details.type // "") != "opportunity" and .scoreDisplayMode == "binary") | .id] | "  failing audits: " + (if length == 0 then "none" else join(", ") end)' "$report"
}
run workflows /workflows
run editor "/workflows/$workflow"
exit $fail
