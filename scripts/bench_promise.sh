#!/usr/bin/env bash
# Promise benchmark (issue 5), run by `make bench` after `make up`: GET
# /v1/promise at PROMISE_CONNECTIONS (64) connections for PROMISE_DURATION
# (15) seconds against a daemon over the Beijing network and catalogue.
# Every SKU's stock hints are warmed first, so requests read only cached
# state (areas in memory, stock hints, capacity counters in Redis).
# Prints promise_req_per_s=N p99_ms=M (target: p99 <= 5 ms at >= 10,000/s).
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench_lib.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
CONNS=${PROMISE_CONNECTIONS:-64}
SECS=${PROMISE_DURATION:-15}
DB=dispatchd_bench_promise
WORK="$RUN_DIR/bench-promise"

bench_db_setup "$DB" "$WORK"
bench_daemon_start "$DB" "$WORK" 4 2
trap bench_daemon_stop EXIT
BASE="http://127.0.0.1:$BENCH_PORT"
# Warm: the capacity counters, then every SKU's stock hints.
for _ in $(seq 1 100); do
	curl -fsS "$BASE/v1/promise?lat=39.9087&lon=116.3975&sku=$(head -1 "$WORK/skus.txt"):1" |
		grep -q '"capacity":"live"' && break
	sleep 0.1
done
while read -r sku; do
	curl -s -o /dev/null "$BASE/v1/promise?lat=39.9087&lon=116.3975&sku=$sku:1"
done <"$WORK/skus.txt"

wrk -t 2 -c "$CONNS" -d "${SECS}s" --timeout 5s -s "$ROOT/tests/bench/promise.lua" "$BASE" \
	-- "$WORK/points.txt" "$WORK/skus.txt" >"$WORK/wrk.out"
grep -E '^promise_' "$WORK/wrk.out" | tr ' ' '\n'
curl -s "$BASE/metrics" | grep -E '^dispatchd_pg_queries_total' | sed 's/ /=/' || true
bench_daemon_stop
trap - EXIT
[ -n "${PROMISE_KEEP:-}" ] || psql_su -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
