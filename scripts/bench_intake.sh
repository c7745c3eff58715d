#!/usr/bin/env bash
# Intake benchmark (issue 4), run by `make bench` after `make up`:
#  1. a fresh database dispatchd_bench on the up.sh PostgreSQL (default
#     settings: fsync and synchronous_commit on), migrated, with the Beijing
#     areas and the seed catalogue, every stock row raised so nothing sells out;
#  2. dispatchd on it; wrk posts orders for DURATION seconds at CONNECTIONS
#     connections (tests/bench/intake.lua: a distinct Idempotency-Key per
#     order, 1-3 random SKUs, a customer at a random station);
#  3. pgbench -N (simple-update without branch/teller updates) on the same
#     PostgreSQL, same client count and duration, in its own database;
#  4. intake_vs_pgbench = orders per second / pgbench TPS
#     (intake_orders_per_s / intake_pgbench_tps, both measured in this run).
# Prints one intake_* figure a line (scripts/bench.sh checks the names).
# Environment: DISPATCH_BUILD_DIR (default build/),
# INTAKE_CONNECTIONS (64), INTAKE_DURATION (20), INTAKE_POOL (8: PostgreSQL
# connections of the daemon), INTAKE_KEEP=1 keeps the databases.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench_lib.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
CONNS=${INTAKE_CONNECTIONS:-64}
THREADS=2
SECS=${INTAKE_DURATION:-20}
POOL=${INTAKE_POOL:-8}
DB=dispatchd_bench
PGB_DB=dispatchd_pgbench
WORK="$RUN_DIR/bench-intake"
mkdir -p "$WORK"
export PGOPTIONS="-c client_min_messages=warning"

psql_su -d postgres -c "DROP DATABASE IF EXISTS $PGB_DB WITH (FORCE)"
psql_su -d postgres -c "CREATE DATABASE $PGB_DB OWNER dispatchd"
bench_db_setup "$DB" "$WORK"
bench_daemon_start "$DB" "$WORK" "$POOL" 1
PORT=$BENCH_PORT
trap bench_daemon_stop EXIT
echo "intake_connections=$CONNS"
echo "intake_threads=$THREADS"
echo "intake_duration_s=$SECS"
psql_db() { psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U dispatchd -d "$DB" -v ON_ERROR_STOP=1 "$@"; }

wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --timeout 10s -s "$ROOT/tests/bench/intake.lua" \
	"http://127.0.0.1:$PORT" -- "$WORK/points.txt" "$WORK/skus.txt" >"$WORK/wrk.out"
grep -E '^intake_' "$WORK/wrk.out"
ORDERS_PS=$(sed -n 's/.*intake_orders_per_s=\([0-9.]*\).*/\1/p' "$WORK/wrk.out")
echo "intake_orders_in_db=$(psql_db -c 'SELECT count(*) FROM orders')"
bench_curl_admin -s "http://127.0.0.1:$PORT/metrics" | grep -E "^dispatchd_http_requests_total\{route=\"/v1/orders\"|^dispatchd_pg_" >"$WORK/metrics.txt" || true
bench_daemon_stop
trap - EXIT

pgbench -i -q -s 10 -h 127.0.0.1 -p "$PG_PORT" -U dispatchd "$PGB_DB" >/dev/null 2>&1
pgbench -N -c "$CONNS" -j "$THREADS" -T "$SECS" -h 127.0.0.1 -p "$PG_PORT" -U dispatchd "$PGB_DB" \
	>"$WORK/pgbench.out" 2>&1
TPS=$(sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p' "$WORK/pgbench.out")
echo "intake_pgbench_tps=${TPS%.*}"
echo "intake_vs_pgbench=$(bench_ratio "$ORDERS_PS" "$TPS")"
if [ -z "${INTAKE_KEEP:-}" ]; then
	for db in "$DB" "$PGB_DB"; do
		psql_su -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
	done
fi
