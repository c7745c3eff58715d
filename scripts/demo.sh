#!/usr/bin/env bash
# Start dispatchd against the services of up.sh and run a simulated day in
# Beijing through it (scripts/demo_day.py: orders, warehouses, waves,
# couriers, pickup points, returns, cash on delivery, the figures), then the
# report (scripts/demo_report.py, build/demo/report.html).
# Re-runnable: a demo daemon already running is restarted, and each run
# simulates the day after the previous run's (run/demo.day), so waves
# already planned are never reused. The daemon keeps running afterwards on
# 127.0.0.1:$HTTP_PORT with its clock where the day ended; `make down` stops
# everything. DEMO_DAY_ARGS passes options to demo_day.py (--orders N,
# --wall-seconds S, ...).
set -euo pipefail
source "$(dirname "$0")/env.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
CONF="$RUN_DIR/dispatchd.conf"
# The simulated day: the day after the last one simulated here.
DAY_FILE="$RUN_DIR/demo.day"
DAY=2030-01-08
if [ -f "$DAY_FILE" ]; then
	DAY=$(date -u -d "$(cat "$DAY_FILE") + 2 days" +%Y-%m-%d)
fi
cat >"$CONF" <<CONF
[server]
listen_address = 127.0.0.1
listen_port = $HTTP_PORT

[postgres]
dsn = $PG_DSN

[redis]
host = 127.0.0.1
port = $REDIS_PORT

[paths]
migrations_dir = $ROOT/data/migrations

[auth]
token_key_file = $RUN_DIR/token.key

[dispatch]
scheduler_interval_ms = 100

[webhooks]
poll_interval_ms = 250

# Installation visits of large appliances (as config/dispatchd.conf).
[services]
windows = 09:00-13:00/2, 14:00-18:00/2

[service.large_appliances.installation]
duration_minutes = 90
base_fee = 120.00
free = true
extra = pipe_extension, m, 15.00, 10
extra = work_at_height, visit, 50.00, 1
extra = old_appliance_removal, unit, 30.00, 1

# The simulated day's time source: driven by scripts/demo_day.py through
# PUT /v1/admin/clock. Test-only (docs/operations.md): never in a
# production config; the shipped unit refuses it.
[testing]
clock = driven
clock_at = ${DAY}T00:00:00+08:00
CONF

# The key that hashes the API tokens: made once, kept across demos.
[ -f "$RUN_DIR/token.key" ] || "$BUILD_DIR/dispatchctl" tokens init-key "$RUN_DIR/token.key"
"$BUILD_DIR/dispatchd" --check-config -c "$CONF"
"$BUILD_DIR/dispatchctl" migrate -c "$CONF"
# The Beijing sample network: districts (dirty, repaired on import), then the
# stations and warehouses generated from them (data/beijing/README.md).
for kind in district station warehouse; do
	file="$ROOT/data/beijing/network.geojson"
	[ "$kind" = district ] && file="$ROOT/data/cities/beijing.geojson"
	"$BUILD_DIR/dispatchctl" areas import "$file" --kind "$kind" -c "$CONF" >/dev/null
done
# The sample catalogue (268 SKUs) and the warehouses' stock.
"$BUILD_DIR/dispatchctl" seed --catalogue "$ROOT/data/catalogue" -c "$CONF"
# For this demo an admin token and the order service's (docs/operations.md).
ADMIN_TOKEN=$("$BUILD_DIR/dispatchctl" tokens create --role admin --label "make demo admin" \
	--expires 7d -c "$CONF" | sed -n 's/^token //p')
TOKEN=$("$BUILD_DIR/dispatchctl" tokens create --role order_service --label "make demo shop" \
	--expires 7d -c "$CONF" | sed -n 's/^token //p')
printf '%s\n' "$ADMIN_TOKEN" >"$RUN_DIR/admin.token"
printf '%s\n' "$TOKEN" >"$RUN_DIR/order_service.token"
chmod 600 "$RUN_DIR/admin.token" "$RUN_DIR/order_service.token"

if [ -f "$RUN_DIR/dispatchd.pid" ] && kill -0 "$(cat "$RUN_DIR/dispatchd.pid")" 2>/dev/null; then
	echo "demo: stopping the previous demo daemon"
	kill -TERM "$(cat "$RUN_DIR/dispatchd.pid")"
	while kill -0 "$(cat "$RUN_DIR/dispatchd.pid")" 2>/dev/null; do sleep 0.1; done
fi
setsid "$BUILD_DIR/dispatchd" -c "$CONF" >>"$RUN_DIR/dispatchd.log" 2>&1 </dev/null &
echo $! >"$RUN_DIR/dispatchd.pid"

BASE="http://127.0.0.1:$HTTP_PORT"
for _ in $(seq 1 100); do
	curl -fsS "$BASE/readyz" >/dev/null 2>&1 && break
	sleep 0.1
done
for _ in $(seq 1 50); do
	curl -fsS -H "Authorization: Bearer $TOKEN" "$BASE/v1/stations/bj-st-001" >/dev/null 2>&1 && break
	sleep 0.1
done
echo "demo: dispatchd is up at $BASE (pid $(cat "$RUN_DIR/dispatchd.pid")); simulating $DAY in Beijing"

# The day: everything through the REST API with real tokens.
printf '%s\n' "$DAY" >"$DAY_FILE"
mkdir -p "$BUILD_DIR/demo"
# shellcheck disable=SC2086 # DEMO_DAY_ARGS is a list of options
python3 "$ROOT/scripts/demo_day.py" --base "$BASE" --admin-token-file "$RUN_DIR/admin.token" \
	--day "$DAY" --out "$BUILD_DIR/demo/day.json" --try-file "$RUN_DIR/demo.try" ${DEMO_DAY_ARGS:-}
if [ -f "$ROOT/scripts/demo_report.py" ]; then
	python3 "$ROOT/scripts/demo_report.py" "$BUILD_DIR/demo/day.json" "$BUILD_DIR/demo/report.html"
fi

# What to try now (demo.try: the day's sample ids and tokens, mode 0600).
# shellcheck disable=SC1091
source "$RUN_DIR/demo.try"
echo
echo "demo: the report:             file://$BUILD_DIR/demo/report.html"
echo "demo: a delivered parcel's public tracking page (no token):"
echo "  curl -s $BASE/v1/track/$TRY_TRACKING_CODE"
echo "demo: its order, as the shop that placed it sees it (order_service token):"
echo "  curl -s -H \"Authorization: Bearer $TRY_SHOP_TOKEN\" $BASE/v1/orders/$TRY_ORDER"
echo "demo: the station feed of $TRY_STATION (station token):"
echo "  curl -s -H \"Authorization: Bearer $TRY_STATION_TOKEN\" '$BASE/v1/stations/$TRY_STATION/feed?cursor=0&limit=20'"
echo "demo: the routes of its wave $TRY_WAVE:"
echo "  curl -s -H \"Authorization: Bearer $TRY_STATION_TOKEN\" $BASE/v1/stations/$TRY_STATION/waves/$TRY_WAVE/routes"
echo "demo: a courier's route today (courier $TRY_COURIER's token):"
echo "  curl -s -H \"Authorization: Bearer $TRY_COURIER_TOKEN\" $BASE/v1/couriers/me/route"
echo "demo: admin token: $RUN_DIR/admin.token; the daemon's clock stays at the end of the day"
echo "demo: (move it: curl -X PUT -H \"Authorization: Bearer \$(cat $RUN_DIR/admin.token)\" $BASE/v1/admin/clock -d '{\"at\":\"...\"}')"
echo "demo: dispatchd is running (pid $(cat "$RUN_DIR/dispatchd.pid"), log $RUN_DIR/dispatchd.log); stop everything with: make down"
