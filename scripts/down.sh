#!/usr/bin/env bash
# Stop the demo daemon, the throwaway PostgreSQL and Redis started by up.sh.
# Re-runnable; keeps the data under run/ (rm -rf run/ to start afresh).
set -euo pipefail
source "$(dirname "$0")/env.sh"

if [ -f "$RUN_DIR/dispatchd.pid" ]; then
	kill -TERM "$(cat "$RUN_DIR/dispatchd.pid")" 2>/dev/null || true
	rm -f "$RUN_DIR/dispatchd.pid"
fi
if [ -f "$PG_DIR/data/PG_VERSION" ] &&
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null
	echo "down: PostgreSQL stopped"
fi
if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1 || true
	echo "down: Redis stopped"
fi
