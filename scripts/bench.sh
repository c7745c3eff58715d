#!/usr/bin/env bash
# make bench: every benchmark suite, each printing name=value lines.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
status=0
echo "== geo"
build/dispatch-bench geo || status=1
echo "== vrp (Solomon, 1 s per instance)"
build/dispatch-bench vrp --solomon data/solomon --seconds 1 || status=1
echo "== vrp (station-sized problem)"
build/dispatch-bench vrp --station || status=1
echo "== intake (wrk on POST /v1/orders vs pgbench -N, same PostgreSQL)"
scripts/bench_intake.sh || status=1
echo "== promise (wrk on GET /v1/promise, cached state only)"
scripts/bench_promise.sh || status=1
exit $status
