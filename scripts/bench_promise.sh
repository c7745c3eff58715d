#!/usr/bin/env bash
# Promise benchmark (issue 5) and the HTTP floor (issue 9), run by `make
# bench` after `make up`:
#  1. GET /v1/promise at PROMISE_CONNECTIONS (64) connections and 2 wrk
#     threads for PROMISE_DURATION (15) seconds against a daemon over the
#     Beijing network and catalogue. Every SKU's stock hints are warmed
#     first, so requests read only cached state (areas in memory, stock
#     hints, capacity counters in Redis); promise_pg_queries counts the
#     PostgreSQL queries the daemon ran during the run (none come from the
#     requests; a periodic capacity reconcile may add a few).
#  2. The HTTP floor: dispatch-http-floor (evhttp alone, one loop, as
#     dispatchd) answering every request with a fixed body as long as one
#     promise reply, driven by the same wrk script, threads, connections and
#     duration right after.
#  3. promise_vs_http_floor = promise_req_per_s / http_floor_req_per_s: the
#     share of the bare HTTP server's rate the promise keeps, a figure that
#     means the same on any machine (promise_req_per_s alone does not).
# Prints one promise_* or http_floor_* figure a line (scripts/bench.sh checks
# the names). PROMISE_KEEP=1 keeps the database.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench_lib.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
CONNS=${PROMISE_CONNECTIONS:-64}
SECS=${PROMISE_DURATION:-15}
THREADS=2
DB=dispatchd_bench_promise
WORK="$RUN_DIR/bench-promise"
export PGOPTIONS="-c client_min_messages=warning"

# run_wrk URL NAME: the promise load on URL, figures named NAME_*.
run_wrk() {
	wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --timeout 5s -s "$ROOT/tests/bench/promise.lua" \
		"$1" -- "$WORK/points.txt" "$WORK/skus.txt" "$2" >"$WORK/wrk-$2.out"
	grep -E "^$2_" "$WORK/wrk-$2.out"
}
pg_queries() {
	bench_curl_admin -fsS "$BASE/metrics" | sed -n 's/^dispatchd_pg_queries_total \([0-9][0-9]*\)$/\1/p'
}
figure() { sed -n "s/^$1=\([0-9.][0-9.]*\)$/\1/p" "$WORK/wrk-$2.out"; }

bench_db_setup "$DB" "$WORK"
bench_daemon_start "$DB" "$WORK" 4 2
trap bench_daemon_stop EXIT
BASE="http://127.0.0.1:$BENCH_PORT"
echo "promise_connections=$CONNS"
echo "promise_threads=$THREADS"
echo "promise_duration_s=$SECS"
# Warm: the capacity counters, then every SKU's stock hints.
for _ in $(seq 1 100); do
	bench_curl -fsS "$BASE/v1/promise?lat=39.9087&lon=116.3975&sku=$(head -1 "$WORK/skus.txt"):1" |
		grep -q '"capacity":"live"' && break
	sleep 0.1
done
while read -r sku; do
	bench_curl -s -o /dev/null "$BASE/v1/promise?lat=39.9087&lon=116.3975&sku=$sku:1"
done <"$WORK/skus.txt"
# One reply of the typical size (two SKUs), whose length the floor answers with.
read -r lat lon <"$WORK/points.txt"
BODY_BYTES=$(bench_curl -fsS "$BASE/v1/promise?lat=$lat&lon=$lon&$(head -2 "$WORK/skus.txt" |
	sed 's/.*/sku=&:1/' | paste -sd '&')" | wc -c)
echo "promise_body_bytes=$BODY_BYTES"

Q0=$(pg_queries)
run_wrk "$BASE" promise
echo "promise_pg_queries=$(($(pg_queries) - Q0))"
bench_daemon_stop
trap - EXIT

bench_floor_start "$BODY_BYTES" "$WORK"
trap bench_floor_stop EXIT
echo "http_floor_body_bytes=$BODY_BYTES"
run_wrk "http://127.0.0.1:$FLOOR_PORT" http_floor
bench_floor_stop
trap - EXIT
echo "promise_vs_http_floor=$(bench_ratio "$(figure promise_req_per_s promise)" \
	"$(figure http_floor_req_per_s http_floor)")"
[ -n "${PROMISE_KEEP:-}" ] || psql_su -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
