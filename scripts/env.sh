# Shared settings of the project's scripts: sourced, never run.
# The throwaway PostgreSQL and Redis live under run/ on loopback ports that
# do not clash with system services.
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUN_DIR=${DISPATCH_RUN_DIR:-$ROOT/run}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_PORT=${DISPATCH_PG_PORT:-55432}
PG_USER_OS=${DISPATCH_PG_OS_USER:-postgres}
REDIS_PORT=${DISPATCH_REDIS_PORT:-56379}
HTTP_PORT=${DISPATCH_HTTP_PORT:-58080}
PG_DSN="host=127.0.0.1 port=$PG_PORT dbname=dispatchd user=dispatchd"

# Run a command as the PostgreSQL OS user (PostgreSQL refuses to run as root).
as_pg() {
	# From /: the checkout itself may be out of the PostgreSQL user's reach.
	if [ "$(id -un)" = "$PG_USER_OS" ]; then "$@"; else (cd / && runuser -u "$PG_USER_OS" -- "$@"); fi
}

# PostgreSQL's folder: run/pg, unless its OS user cannot reach the checkout
# (say, a clone under root's private home): then one under /var/tmp, named
# after the checkout so that up and down agree.
PG_DIR=$RUN_DIR/pg
if id "$PG_USER_OS" >/dev/null 2>&1 && ! as_pg test -x "$ROOT" 2>/dev/null; then
	PG_DIR=/var/tmp/dispatchd-pg-$(printf '%s' "$ROOT" | md5sum | cut -c1-12)
fi
