#!/usr/bin/env bash
# make bench: every benchmark suite in one run, on this checkout's `make up`
# PostgreSQL and Redis (the fixed ports of env.sh, or DISPATCH_PG_PORT and
# DISPATCH_REDIS_PORT). Prints a "# make bench" line (date, commit, CPUs),
# then for each suite a "# COMMAND" line and its figures, one a line as
# name=value, every name starting with its suite (geo_, vrp_, intake_,
# promise_, http_floor_, feed_, pings_); paste the output into docs as printed. Each suite's
# whole output (Solomon instances as "# " lines, wrk and pgbench reports) is
# kept under run/bench/ and run/bench-*/.
#
# Refuses to run (exit 2, saying why) when the PostgreSQL or Redis on those
# ports belongs to another checkout, or when another `make bench` runs in
# this one: it would drop their databases and measure their servers.
#   scripts/bench.sh [--check-stack]   (--check-stack: only that refusal check)
# Environment: GEO_SECONDS (3), VRP_SECONDS (1, per Solomon instance), and
# those of bench_intake.sh, bench_promise.sh, bench_feed.sh and bench_pings.sh
# (durations, connections, polls).
set -euo pipefail
source "$(dirname "$0")/env.sh"
source "$(dirname "$0")/bench_lib.sh"
cd "$ROOT"

if [ "${1:-}" = "--check-stack" ]; then
	bench_stack_check
	exit
fi
[ $# -eq 0 ] || { echo "usage: scripts/bench.sh [--check-stack]" >&2; exit 2; }
bench_stack_check || exit 2
OUT="$RUN_DIR/bench"
mkdir -p "$OUT"
exec 9>"$OUT/lock"
if ! flock -n 9; then
	echo "bench: another make bench is running in this checkout ($OUT/lock)" >&2
	exit 2
fi

status=0
# suite NAME PREFIXES COMMAND...: run COMMAND, keep its output in
# run/bench/NAME.out and print its figures, which must be named PREFIXES_*.
suite() {
	local name=$1 prefixes=$2 rc=0
	shift 2
	echo "# $*"
	"$@" >"$OUT/$name.out" || rc=$?
	bench_names "$prefixes" <"$OUT/$name.out" || rc=1
	if [ "$rc" -ne 0 ]; then
		echo "bench: $name failed (exit $rc; output in $OUT/$name.out)" >&2
		status=1
	fi
}

echo "# make bench $(date -u +%Y-%m-%dT%H:%MZ) commit $(git describe --always --dirty 2>/dev/null ||
	echo unknown) on $(nproc) CPUs"
BENCH=${DISPATCH_BUILD_DIR:-build}/dispatch-bench
suite geo geo "$BENCH" geo --seconds "${GEO_SECONDS:-3}"
suite vrp_solomon vrp "$BENCH" vrp --solomon data/solomon --seconds "${VRP_SECONDS:-1}"
suite vrp_station vrp "$BENCH" vrp --station --seconds "${VRP_SECONDS:-1}"
suite intake intake scripts/bench_intake.sh
suite promise 'promise|http_floor' scripts/bench_promise.sh
suite feed feed scripts/bench_feed.sh
suite pings pings scripts/bench_pings.sh
exit $status
