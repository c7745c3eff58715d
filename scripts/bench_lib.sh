# Shared set-up of the HTTP benchmarks (sourced, never run): a fresh
# database on the up.sh PostgreSQL with the Beijing network and catalogue,
# and a dispatchd over it on a free port. Needs env.sh sourced first.

psql_su() { as_pg psql -X -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -v ON_ERROR_STOP=1 "$@"; }

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
# waits until its areas are loaded.
bench_daemon_start() {
	local db=$1 work=$2 pool=$3 rdb=$4
	redis-cli -h 127.0.0.1 -p "$REDIS_PORT" -n "$rdb" FLUSHDB >/dev/null
	BENCH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	cat >"$work/dispatchd.conf" <<CONF
[server]
listen_address = 127.0.0.1
listen_port = $BENCH_PORT
[postgres]
dsn = host=127.0.0.1 port=$PG_PORT dbname=$db user=dispatchd
pool_size = $pool
[redis]
host = 127.0.0.1
port = $REDIS_PORT
db = $rdb
[log]
level = warning
[paths]
migrations_dir = $ROOT/data/migrations
CONF
	"$BUILD_DIR/dispatchd" -c "$work/dispatchd.conf" >"$work/dispatchd.log" 2>&1 &
	BENCH_PID=$!
	for _ in $(seq 1 200); do
		curl -fsS "http://127.0.0.1:$BENCH_PORT/v1/stations/bj-st-001" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "bench: dispatchd did not load its areas (see $work/dispatchd.log)" >&2
	return 1
}

# bench_daemon_stop: SIGTERM the daemon started by bench_daemon_start.
bench_daemon_stop() {
	kill -TERM "$BENCH_PID" 2>/dev/null || true
	wait "$BENCH_PID" 2>/dev/null || true
}
