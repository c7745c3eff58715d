#!/usr/bin/env bash
# The whole test suite through CTest: unit and integration tests in the
# normal build, then under ASan+UBSan, then the libFuzzer harnesses for a
# fixed time each. Integration tests start their own PostgreSQL and Redis.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
JOBS=${JOBS:-$(nproc)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
for dir in build build-asan; do
	echo "== ctest in $dir"
	(cd "$dir" && ctest -LE fuzz --output-on-failure -j "$JOBS" --timeout 900) || status=1
done
echo "== fuzzers (build-fuzz)"
(cd build-fuzz && ctest -L fuzz --output-on-failure -j "$JOBS") || status=1
exit $status
