#!/usr/bin/env bash
# cluster.sh runs a local ConcertMaster cluster as processes on one PostgreSQL (and Redis, when
# CM_REDIS_URL is set): N `serve --role=api` processes and M `concertmaster worker` processes, for
# tests and demos (docs/deploy.md).
#
#   scripts/cluster.sh start [--api N] [--workers M] [--port P] [--dir D]   # default 1 API, 2 workers, port 8080
#   scripts/cluster.sh status [--dir D]
#   scripts/cluster.sh stop [--dir D]
#
# The database is CM_DATABASE_URL, else CM_TEST_DATABASE_URL (eval "$(scripts/ensure-services.sh)").
# API process i listens on 127.0.0.1:P+i-1 (8080, 8081, …). Logs go to D/logs/<name>.log and PIDs to
# D/pids/<name>.pid (D defaults to ./.cluster). The binary is bin/concertmaster (`make build`), or
# CM_CLUSTER_BIN. Without CM_SECRET_KEY the processes share one generated into D/secret.key.
# start waits until every API process answers /readyz and every worker logs that it runs; stop sends
# SIGTERM, waits for the drain (CM_SHUTDOWN_GRACE, default 15s, plus 10s), then SIGKILLs what is
# left and says so. Every other setting (CM_*) is passed through from the environment.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${CM_CLUSTER_BIN:-$root/bin/concertmaster}
dir=${CM_CLUSTER_DIR:-$PWD/.cluster}
apis=1
workers=2
port=8080
# The processes would warn about these: they are the script's, not settings.
unset CM_CLUSTER_BIN CM_CLUSTER_DIR

say() { echo "cluster: $*" >&2; }
die() { say "$*"; exit 1; }

usage() {
	sed -n '2,16p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

[ $# -ge 1 ] || usage
action=$1
shift
while [ $# -gt 0 ]; do
	case $1 in
	--api) apis=${2:?--api needs a number}; shift 2 ;;
	--workers) workers=${2:?--workers needs a number}; shift 2 ;;
	--port) port=${2:?--port needs a number}; shift 2 ;;
	--dir) dir=${2:?--dir needs a directory}; shift 2 ;;
	-h | --help) usage ;;
	*) say "unknown argument: $1"; usage ;;
	esac
done
for n in "$apis" "$workers" "$port"; do
	[[ $n =~ ^[0-9]+$ ]] || die "not a number: $n"
done

# alive reports whether the process of a PID file runs. An exited process its new parent has not
# reaped yet (a zombie) does not.
alive() {
	[ -f "$1" ] || return 1
	local pid state
	pid=$(cat "$1")
	kill -0 "$pid" 2>/dev/null || return 1
	if [ -r "/proc/$pid/stat" ]; then
		state=$(sed -E 's/^[0-9]+ \(.*\) (.).*/\1/' "/proc/$pid/stat" 2>/dev/null || true)
		[ "$state" != Z ] || return 1
	fi
	return 0
}

# names lists the processes recorded under dir, APIs first.
names() {
	[ -d "$dir/pids" ] || return 0
	local f
	for f in "$dir"/pids/api-*.pid "$dir"/pids/worker-*.pid; do
		[ -e "$f" ] && basename "$f" .pid
	done
	return 0
}

# grace_seconds is CM_SHUTDOWN_GRACE in whole seconds (Go durations such as 15s, 1m, 500ms).
grace_seconds() {
	local g=${CM_SHUTDOWN_GRACE:-15s} total=0 n unit
	while [[ $g =~ ^([0-9]+)(h|ms|m|s)(.*)$ ]]; do
		n=${BASH_REMATCH[1]} unit=${BASH_REMATCH[2]} g=${BASH_REMATCH[3]}
		case $unit in h) total=$((total + n * 3600)) ;; m) total=$((total + n * 60)) ;; s) total=$((total + n)) ;; ms) total=$((total + (n + 999) / 1000)) ;; esac
	done
	echo $((total > 0 ? total : 15))
}

ready() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$1/readyz" 2>/dev/null; }

start() {
	[ -x "$bin" ] || die "no binary at $bin: run make build (or set CM_CLUSTER_BIN)"
	command -v curl >/dev/null || die "curl is needed to wait for /readyz"
	local db=${CM_DATABASE_URL:-${CM_TEST_DATABASE_URL:-}}
	[ -n "$db" ] || die "set CM_DATABASE_URL (or CM_TEST_DATABASE_URL: eval \"\$(scripts/ensure-services.sh)\") to a postgres:// URL"
	case $db in postgres://* | postgresql://*) ;; *) die "a cluster needs PostgreSQL: CM_DATABASE_URL must be a postgres:// URL" ;; esac
	[ "$apis" -ge 1 ] || die "--api must be at least 1"
	if [ -n "$(names)" ]; then
		for name in $(names); do
			alive "$dir/pids/$name.pid" && die "a cluster already runs from $dir ($name): run $0 stop --dir $dir first"
		done
		rm -f "$dir"/pids/*.pid
	fi
	if [ "$apis" -gt 1 ] && [ -z "${CM_REDIS_URL:-}" ]; then
		die "$apis API processes need CM_REDIS_URL (the same Redis): without it the second refuses to start (docs/scale-out.md)"
	fi
	mkdir -p "$dir/logs" "$dir/pids"
	if [ -z "${CM_SECRET_KEY:-}" ]; then
		if [ ! -s "$dir/secret.key" ]; then
			(umask 077 && head -c 32 /dev/urandom | base64 >"$dir/secret.key")
		fi
		CM_SECRET_KEY=$(cat "$dir/secret.key")
	fi
	export CM_DATABASE_URL=$db CM_SECRET_KEY
	# The first process migrates the database; the others would race it for the schema, so it starts
	# (and becomes ready) alone.
	local i name
	for i in $(seq 1 "$apis"); do
		name=api-$i
		CM_ADDR=127.0.0.1:$((port + i - 1)) nohup "$bin" serve --role=api >"$dir/logs/$name.log" 2>&1 &
		echo $! >"$dir/pids/$name.pid"
		if [ "$i" = 1 ]; then wait_ready "$name" $((port)); fi
	done
	for i in $(seq 1 "$workers"); do
		name=worker-$i
		nohup "$bin" worker >"$dir/logs/$name.log" 2>&1 &
		echo $! >"$dir/pids/$name.pid"
	done
	for i in $(seq 2 "$apis"); do wait_ready "api-$i" $((port + i - 1)); done
	for i in $(seq 1 "$workers"); do wait_log "worker-$i" "Worker is running"; done
	say "started $apis API process(es) on http://127.0.0.1:$port… and $workers worker(s); logs in $dir/logs"
}

# wait_ready waits up to 60 s for an API process to answer /readyz.
wait_ready() {
	local name=$1 p=$2
	for _ in $(seq 1 600); do
		ready "$p" && return 0
		alive "$dir/pids/$name.pid" || { tail -n 20 "$dir/logs/$name.log" >&2; die "$name exited before it was ready"; }
		sleep 0.1
	done
	die "$name did not answer http://127.0.0.1:$p/readyz within 60 s (see $dir/logs/$name.log)"
}

# wait_log waits up to 60 s for a process to log a line.
wait_log() {
	local name=$1 want=$2
	for _ in $(seq 1 600); do
		grep -q "$want" "$dir/logs/$name.log" 2>/dev/null && return 0
		alive "$dir/pids/$name.pid" || { tail -n 20 "$dir/logs/$name.log" >&2; die "$name exited before it was running"; }
		sleep 0.1
	done
	die "$name did not log \"$want\" within 60 s (see $dir/logs/$name.log)"
}

status() {
	local name pid state any=1
	for name in $(names); do
		any=0
		pid=$(cat "$dir/pids/$name.pid")
		state=stopped
		if alive "$dir/pids/$name.pid"; then
			state=running
			if [[ $name == api-* ]]; then
				local addr
				addr=$(grep -o 'addr=http://[0-9.:]*' "$dir/logs/$name.log" | head -n1 | cut -d/ -f3)
				if [ -n "$addr" ] && ready "${addr##*:}"; then state="running, ready at http://$addr"; else state="running, not ready"; fi
			fi
		fi
		printf '%-10s pid %-8s %s\n' "$name" "$pid" "$state"
	done
	[ $any = 0 ] || say "no cluster recorded in $dir"
}

stop() {
	local name pid left=() deadline
	for name in $(names); do
		if alive "$dir/pids/$name.pid"; then
			pid=$(cat "$dir/pids/$name.pid")
			kill -TERM "$pid" 2>/dev/null || true
			left+=("$name")
		fi
	done
	deadline=$((SECONDS + $(grace_seconds) + 10))
	while [ ${#left[@]} -gt 0 ] && [ $SECONDS -lt $deadline ]; do
		local still=()
		for name in "${left[@]}"; do alive "$dir/pids/$name.pid" && still+=("$name"); done
		left=("${still[@]+"${still[@]}"}")
		[ ${#left[@]} -gt 0 ] && sleep 0.1
	done
	for name in "${left[@]+"${left[@]}"}"; do
		say "$name did not stop in time after SIGTERM: killing it"
		kill -KILL "$(cat "$dir/pids/$name.pid")" 2>/dev/null || true
	done
	for name in $(names); do rm -f "$dir/pids/$name.pid"; done
	say "stopped${left[*]:+ (killed: ${left[*]})}"
	[ ${#left[@]} -eq 0 ]
}

case $action in
start) start ;;
status) status ;;
stop) stop ;;
*) usage ;;
esac
