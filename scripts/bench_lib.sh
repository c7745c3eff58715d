# Shared set-up of the benchmarks (sourced, never run): the check that the
# fixed-port stack is this checkout's, a fresh database on the up.sh
# PostgreSQL with the Beijing network and catalogue, a dispatchd over it on a
# port of its own, the HTTP floor server, and the filter that holds every
# suite to named figures. Needs env.sh sourced first.

psql_su() { as_pg psql -X -q -w -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

# bench_stack_check: succeed only if the PostgreSQL on PG_PORT runs from this
# checkout's $PG_DIR/data and the Redis on REDIS_PORT from its $RUN_DIR/redis
# (both started by up.sh). The ports are fixed and shared by every checkout
# on the machine; the benchmarks drop and create databases and flush Redis
# databases 1 and 2, so they must never run against another checkout's
# `make up` / `make demo` stack (nor measure it). Prints why on stderr.
bench_stack_check() {
	local bad=0 pg_data redis_dir
	local hint="stop it there (make down) or give this checkout free ports (DISPATCH_PG_PORT=… DISPATCH_REDIS_PORT=… make bench)"
	pg_data=$(PGCONNECT_TIMEOUT=5 psql_su -d postgres -A -t -c 'SHOW data_directory' 2>/dev/null) ||
		pg_data=
	if [ -z "$pg_data" ]; then
		echo "bench: no PostgreSQL of this checkout answers on 127.0.0.1:$PG_PORT (run make up)" >&2
		bad=1
	elif [ "$(realpath -m "$pg_data")" != "$(realpath -m "$PG_DIR/data")" ]; then
		echo "bench: the PostgreSQL on 127.0.0.1:$PG_PORT is another checkout's ($pg_data," \
			"not $PG_DIR/data): $hint" >&2
		bad=1
	fi
	redis_dir=$(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" --raw CONFIG GET dir 2>/dev/null |
		sed -n 2p) || redis_dir=
	if [ -z "$redis_dir" ]; then
		echo "bench: no Redis of this checkout answers on 127.0.0.1:$REDIS_PORT (run make up)" >&2
		bad=1
	elif [ "$(realpath -m "$redis_dir")" != "$(realpath -m "$RUN_DIR/redis")" ]; then
		echo "bench: the Redis on 127.0.0.1:$REDIS_PORT is another checkout's ($redis_dir," \
			"not $RUN_DIR/redis): $hint" >&2
		bad=1
	fi
	return $bad
}

# bench_names PREFIX_REGEX: copy the figure lines of a suite's output
# (stdin) to stdout. A figure is one name=value line whose name starts with
# one of the suite's prefixes and "_" (intake_p99_ms, not p99_ms); "# "
# lines are detail and are dropped; any other line fails the suite.
bench_names() {
	awk -v re="^($1)_[a-z0-9_]+=[^ =]+$" '
		/^# / || /^$/ { next }
		$0 ~ re { print; next }
		{ print "bench: not a named figure of its suite: " $0 > "/dev/stderr"; bad = 1 }
		END { exit bad }'
}

# bench_ratio A B: A / B with two decimals (python3: the figures are floats).
bench_ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }

# bench_db_setup DB WORKDIR: recreate DB, migrate, import the network, seed
# the catalogue with stock that never runs out, and write WORKDIR/points.txt
# ("lat lon" of every station) and WORKDIR/skus.txt (SKUs the regional
# centre holds, so every customer can get them).
bench_db_setup() {
	local db=$1 work=$2 dsn="host=127.0.0.1 port=$PG_PORT dbname=$1 user=dispatchd"
	mkdir -p "$work"
	psql_su -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
	psql_su -d postgres -c "CREATE DATABASE $db OWNER dispatchd"
	"$BUILD_DIR/dispatchctl" migrate --dsn "$dsn" >/dev/null
	"$BUILD_DIR/dispatchctl" areas import "$ROOT/data/cities/beijing.geojson" --kind district \
		--dsn "$dsn" >/dev/null 2>&1
	for kind in station warehouse; do
		"$BUILD_DIR/dispatchctl" areas import "$ROOT/data/beijing/network.geojson" \
			--kind "$kind" --dsn "$dsn" >/dev/null 2>&1
	done
	"$BUILD_DIR/dispatchctl" seed --catalogue "$ROOT/data/catalogue" --dsn "$dsn" >/dev/null
	local q="psql -X -q -A -t -h 127.0.0.1 -p $PG_PORT -U dispatchd -d $db -v ON_ERROR_STOP=1"
	$q -c "UPDATE stock SET on_hand = 100000000, available = 100000000 - reserved" >/dev/null
	$q -c "VACUUM ANALYZE stock, skus, areas" >/dev/null
	$q -F ' ' -c "SELECT ST_Y(point), ST_X(point) FROM areas WHERE kind = 'station'" \
		>"$work/points.txt"
	$q -c "SELECT sku FROM stock WHERE warehouse_id = 'bj-rdc-01' ORDER BY 1" >"$work/skus.txt"
}

# bench_daemon_start DB WORKDIR POOL REDIS_DB: start dispatchd over DB with
# its own, emptied Redis database (capacity counts are per station id, so
# two databases must never share one); sets BENCH_PORT and BENCH_PID and
# waits until its areas are loaded. The daemon listens on port 0 and the port
# is read from its log, so no other program can hold it.
bench_daemon_start() {
	local db=$1 work=$2 pool=$3 rdb=$4
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -n "$rdb" FLUSHDB >/dev/null
	BENCH_PORT=
	# Authentication is always on: the load runs with an order_service token
	# (BENCH_TOKEN, read by the wrk scripts), /metrics is read with an admin one.
	local dsn="host=127.0.0.1 port=$PG_PORT dbname=$db user=dispatchd"
	rm -f "$work/token.key"
	"$BUILD_DIR/dispatchctl" tokens init-key "$work/token.key" >/dev/null
	BENCH_TOKEN=$("$BUILD_DIR/dispatchctl" tokens create --role order_service --label bench \
		--expires 1d --dsn "$dsn" --key-file "$work/token.key" 2>>"$work/tokens.err" |
		sed -n 's/^token //p')
	BENCH_ADMIN_TOKEN=$("$BUILD_DIR/dispatchctl" tokens create --role admin --label bench-admin \
		--expires 1d --dsn "$dsn" --key-file "$work/token.key" 2>>"$work/tokens.err" |
		sed -n 's/^token //p')
	[ -n "$BENCH_TOKEN" ] && [ -n "$BENCH_ADMIN_TOKEN" ] ||
		{ echo "bench: cannot create tokens (see $work/tokens.err)" >&2; return 1; }
	export BENCH_TOKEN BENCH_ADMIN_TOKEN
	cat >"$work/dispatchd.conf" <<CONF
[server]
listen_address = 127.0.0.1
listen_port = 0
[postgres]
dsn = host=127.0.0.1 port=$PG_PORT dbname=$db user=dispatchd
pool_size = $pool
[redis]
host = 127.0.0.1
port = $REDIS_PORT
db = $rdb
[log]
level = info
[paths]
migrations_dir = $ROOT/data/migrations
[auth]
token_key_file = $work/token.key
# One load generator is one caller: limits far above what it sends, so the
# limiter's cost is measured but it never refuses.
[rate_limit]
read_per_s = 1000000
write_per_s = 1000000
CONF
	"$BUILD_DIR/dispatchd" -c "$work/dispatchd.conf" >"$work/dispatchd.log" 2>&1 &
	BENCH_PID=$!
	for _ in $(seq 1 200); do
		kill -0 "$BENCH_PID" 2>/dev/null || break
		[ -n "$BENCH_PORT" ] || BENCH_PORT=$(sed -n \
			's/.*http: listening on [^ ]*:\([0-9][0-9]*\)$/\1/p' "$work/dispatchd.log" | head -1)
		[ -n "$BENCH_PORT" ] &&
			bench_curl -fsS "http://127.0.0.1:$BENCH_PORT/v1/stations/bj-st-001" >/dev/null 2>&1 &&
			return 0
		sleep 0.1
	done
	echo "bench: dispatchd did not load its areas (see $work/dispatchd.log)" >&2
	return 1
}

# bench_curl ARGS...: curl with the bench's order_service token.
bench_curl() { curl -H "Authorization: Bearer $BENCH_TOKEN" "$@"; }

# bench_curl_admin ARGS...: curl with the bench's admin token (/metrics).
bench_curl_admin() { curl -H "Authorization: Bearer $BENCH_ADMIN_TOKEN" "$@"; }

# bench_daemon_stop: SIGTERM the daemon started by bench_daemon_start.
bench_daemon_stop() {
	kill -TERM "$BENCH_PID" 2>/dev/null || true
	wait "$BENCH_PID" 2>/dev/null || true
}

# bench_floor_start BODY_BYTES WORKDIR: start dispatch-http-floor (the HTTP
# floor: evhttp alone answering a fixed body of BODY_BYTES) on a port the
# kernel picks; sets FLOOR_PORT and FLOOR_PID.
bench_floor_start() {
	local bytes=$1 work=$2
	FLOOR_PORT=
	"$BUILD_DIR/dispatch-http-floor" --body-bytes "$bytes" >"$work/floor.out" 2>&1 &
	FLOOR_PID=$!
	for _ in $(seq 1 100); do
		FLOOR_PORT=$(sed -n 's/^port=\([0-9][0-9]*\)$/\1/p' "$work/floor.out")
		[ -n "$FLOOR_PORT" ] && return 0
		kill -0 "$FLOOR_PID" 2>/dev/null || break
		sleep 0.05
	done
	echo "bench: dispatch-http-floor did not start: $(cat "$work/floor.out")" >&2
	return 1
}

# bench_floor_stop: SIGTERM the server started by bench_floor_start.
bench_floor_stop() {
	kill -TERM "$FLOOR_PID" 2>/dev/null || true
	wait "$FLOOR_PID" 2>/dev/null || true
}
