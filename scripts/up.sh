#!/usr/bin/env bash
# Start a throwaway PostgreSQL 15 (as the postgres OS user) and Redis 7 on
# loopback under run/, create the dispatchd role and database. Re-runnable:
# whatever already runs is left alone.
set -euo pipefail
source "$(dirname "$0")/env.sh"

mkdir -p "$PG_DIR" "$RUN_DIR/redis"
chown "$PG_USER_OS" "$PG_DIR" 2>/dev/null || true
if ! as_pg test -w "$PG_DIR"; then
	echo "up: the $PG_USER_OS user cannot write $PG_DIR (check the folder permissions)" >&2
	exit 1
fi

if [ ! -f "$PG_DIR/data/PG_VERSION" ]; then
	echo "up: initdb $PG_DIR/data"
	as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres -A trust -E UTF8 --no-sync >/dev/null
fi
port_taken() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" status >/dev/null 2>&1; then
	if port_taken "$PG_PORT"; then
		echo "up: 127.0.0.1:$PG_PORT is taken by another program; set DISPATCH_PG_PORT" >&2
		exit 1
	fi
	echo "up: starting PostgreSQL on 127.0.0.1:$PG_PORT"
	as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgresql.log" -w -t 60 \
		-o "-p $PG_PORT -k $PG_DIR -c listen_addresses=127.0.0.1 -c max_connections=200" \
		start >/dev/null
fi
psql_su() { as_pg psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }
psql_su -d postgres -tc "SELECT 1 FROM pg_roles WHERE rolname = 'dispatchd'" | grep -q 1 ||
	psql_su -d postgres -c "CREATE ROLE dispatchd LOGIN CREATEDB"
# PostGIS in template1: every database created from now on has it.
psql_su -d template1 -c "CREATE EXTENSION IF NOT EXISTS postgis" 2>/dev/null
psql_su -d postgres -tc "SELECT 1 FROM pg_database WHERE datname = 'dispatchd'" | grep -q 1 ||
	psql_su -d postgres -c "CREATE DATABASE dispatchd OWNER dispatchd"

if ! redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1; then
	echo "up: starting Redis on 127.0.0.1:$REDIS_PORT"
	redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --daemonize yes \
		--dir "$RUN_DIR/redis" --pidfile "$RUN_DIR/redis/redis.pid" \
		--logfile "$RUN_DIR/redis/redis.log" --save "" --appendonly no
	for _ in $(seq 1 50); do
		redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
		sleep 0.1
	done
fi
echo "up: PostgreSQL $PG_DSN"
echo "up: Redis 127.0.0.1:$REDIS_PORT"
