#!/usr/bin/env bash
# Start dispatchd against the services of up.sh and show it working.
# Re-runnable: a demo daemon already running is restarted. It keeps running
# afterwards on 127.0.0.1:$HTTP_PORT; `make down` stops everything.
set -euo pipefail
source "$(dirname "$0")/env.sh"

BUILD_DIR=${DISPATCH_BUILD_DIR:-$ROOT/build}
CONF="$RUN_DIR/dispatchd.conf"
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
# api: curl with the order service's token; api_admin: with the admin's.
api() { curl -H "Authorization: Bearer $TOKEN" "$@"; }
api_admin() { curl -H "Authorization: Bearer $ADMIN_TOKEN" "$@"; }
show() {
	echo
	echo "\$ curl -s -H \"Authorization: Bearer \$TOKEN\" $BASE$1"
	api -sS -w '\n(HTTP %{http_code})\n' "$BASE$1" | head -n "${2:-40}"
}
for _ in $(seq 1 50); do
	api -fsS "$BASE/v1/stations/bj-st-001" >/dev/null 2>&1 && break
	sleep 0.1
done
show /healthz
show /readyz
echo
echo "\$ curl -s -H \"Authorization: Bearer \$ADMIN_TOKEN\" $BASE/metrics | grep -E 'dependency_up|requests_total'"
api_admin -sS "$BASE/metrics" | grep -E 'dependency_up|requests_total'
show "/v1/locate?lat=39.9087&lon=116.3975"
show "/v1/locate?lat=31.2304&lon=121.4737"
echo
echo "\$ curl -s -H \"Authorization: Bearer \$TOKEN\" $BASE/v1/stations/bj-st-001 | head -c 400"
api -sS "$BASE/v1/stations/bj-st-001" | head -c 400
echo
show "/v1/promise?lat=39.9087&lon=116.3975&sku=SKU-00001:2&sku=SKU-00233:1&install=true" 60
SLOT=$(api -s "$BASE/v1/promise?lat=39.9087&lon=116.3975&sku=SKU-00001:2" |
	python3 -c 'import json,sys; print(json.load(sys.stdin)["slots"][0]["start"])')
KEY="demo-$(date +%s)"
BODY="{\"external_id\":\"$KEY\",\"customer\":{\"lat\":39.9087,\"lon\":116.3975},\"lines\":[{\"sku\":\"SKU-00001\",\"qty\":2}],\"delivery_option\":\"slot\",\"slot\":{\"start\":\"$SLOT\"}}"
echo
echo "\$ curl -s -X POST $BASE/v1/orders -H \"Authorization: Bearer \$TOKEN\" -H 'Idempotency-Key: $KEY' -d '$BODY'"
ORDER=$(api -sS -X POST "$BASE/v1/orders" -H "Idempotency-Key: $KEY" -d "$BODY")
echo "$ORDER"
ID=$(echo "$ORDER" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
show "/v1/orders/$ID"
show /v1/nowhere
echo
echo "\$ curl -s $BASE/v1/orders/$ID     # no token"
curl -sS -w '\n(HTTP %{http_code})\n' "$BASE/v1/orders/$ID"
echo
echo "demo: dispatchd is running (pid $(cat "$RUN_DIR/dispatchd.pid"), log $RUN_DIR/dispatchd.log)"
echo "demo: this demo's tokens (mode 0600): $RUN_DIR/order_service.token, $RUN_DIR/admin.token"
echo "demo: try: curl -s -H \"Authorization: Bearer \$(cat $RUN_DIR/order_service.token)\" $BASE/v1/stations ; stop everything with: make down"
