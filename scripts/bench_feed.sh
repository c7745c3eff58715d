#!/usr/bin/env bash
# Station feed benchmark (issue 11), run by `make bench` after `make up`:
# FEED_POLLS (1000) long polls waiting at once on GET /v1/stations/{id}/feed
# over FEED_STATIONS (100) stations, while FEED_CHANGES (400) changes are
# committed at FEED_RATE (100) per second through station_feed_add
# (tests/bench/feed.c). Prints feed_* figures, the headline last:
#   feed_pg_connections  most dispatchd backends seen during the run: the
#                        pool (FEED_POOL, 4) plus the feed's listener
#   feed_wakeup_p99_ms   commit -> answer carrying the change
# FEED_KEEP=1 keeps the database.
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench_lib.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
DB=dispatchd_bench_feed
WORK="$RUN_DIR/bench-feed"
POOL=${FEED_POOL:-4}
export PGOPTIONS="-c client_min_messages=warning"

bench_db_setup "$DB" "$WORK"
bench_daemon_start "$DB" "$WORK" "$POOL" 1
trap bench_daemon_stop EXIT
echo "feed_pool_size=$POOL"
"$BUILD_DIR/dispatch-feed-bench" --url "http://127.0.0.1:$BENCH_PORT" \
	--dsn "host=127.0.0.1 port=$PG_PORT dbname=$DB user=dispatchd" \
	--polls "${FEED_POLLS:-1000}" --stations "${FEED_STATIONS:-100}" \
	--changes "${FEED_CHANGES:-400}" --rate "${FEED_RATE:-100}"
bench_daemon_stop
trap - EXIT
[ -n "${FEED_KEEP:-}" ] || psql_su -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)"
