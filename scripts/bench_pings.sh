#!/usr/bin/env bash
# Pings benchmark (issue 11, the couriers' handheld), run by `make bench`
# after `make up`:
#  1. a fresh database dispatchd_bench_pings with the Beijing network, and
#     PINGS_COURIERS (64) couriers of bj-st-001, each with a courier token;
#  2. dispatchd on it; wrk posts batches of 10 pings at PINGS_CONNECTIONS
#     (64) connections for PINGS_DURATION (15) seconds, each request as the
#     next courier (tests/bench/pings.lua). Every request is one Redis round
#     trip; PostgreSQL gets one flush a second;
#  3. after the run (and one more flush), pings_positions_in_db counts the
#     couriers whose position reached PostgreSQL and pings_trail_in_db the
#     sampled trail points.
# Prints one pings_* figure a line (scripts/bench.sh checks the names).
# PINGS_KEEP=1 keeps the database.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench_lib.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
CONNS=${PINGS_CONNECTIONS:-64}
SECS=${PINGS_DURATION:-15}
COURIERS=${PINGS_COURIERS:-64}
THREADS=2
DB=dispatchd_bench_pings
WORK="$RUN_DIR/bench-pings"
export PGOPTIONS="-c client_min_messages=warning"
psql_db() { psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U dispatchd -d "$DB" -v ON_ERROR_STOP=1 "$@"; }

bench_db_setup "$DB" "$WORK"
bench_daemon_start "$DB" "$WORK" 4 3
trap bench_daemon_stop EXIT
PORT=$BENCH_PORT
DSN="host=127.0.0.1 port=$PG_PORT dbname=$DB user=dispatchd"
psql_db -c "INSERT INTO couriers (id, station_id, name, phone, vehicle)
	SELECT 'bench-c' || i, 'bj-st-001', 'Courier ' || i, '+86 ' || i, 'e_bike'
	  FROM generate_series(1, $COURIERS) AS i" >/dev/null
: >"$WORK/tokens.txt"
for i in $(seq 1 "$COURIERS"); do
	"$BUILD_DIR/dispatchctl" tokens create --role courier --courier "bench-c$i" --label bench \
		--expires 1d --dsn "$DSN" --key-file "$WORK/token.key" 2>>"$WORK/tokens.err" |
		sed -n 's/^token //p' >>"$WORK/tokens.txt"
done
[ "$(wc -l <"$WORK/tokens.txt")" -eq "$COURIERS" ] ||
	{ echo "bench: cannot create courier tokens (see $WORK/tokens.err)" >&2; exit 1; }
# The daemon reads new tokens every 2 s: wait until it knows the last one.
LAST=$(tail -1 "$WORK/tokens.txt")
for _ in $(seq 1 100); do
	[ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $LAST" \
		"http://127.0.0.1:$PORT/v1/couriers/me/route")" = 200 ] && break
	sleep 0.1
done
echo "pings_connections=$CONNS"
echo "pings_couriers=$COURIERS"
echo "pings_duration_s=$SECS"
echo "pings_batch=10"
wrk -t "$THREADS" -c "$CONNS" -d "${SECS}s" --timeout 10s -s "$ROOT/tests/bench/pings.lua" \
	"http://127.0.0.1:$PORT" -- "$WORK/tokens.txt" >"$WORK/wrk.out"
grep -E '^pings_' "$WORK/wrk.out"
sleep 1.5 # one more flush
echo "pings_positions_in_db=$(psql_db -c 'SELECT count(*) FROM courier_positions')"
echo "pings_trail_in_db=$(psql_db -c 'SELECT count(*) FROM courier_trail')"
bench_daemon_stop
trap - EXIT
[ -n "${PINGS_KEEP:-}" ] || psql_su -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
