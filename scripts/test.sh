#!/usr/bin/env bash
# The whole test suite through CTest: unit and integration tests in the
# normal build, then under ASan+UBSan, then the libFuzzer harnesses for a
# fixed time each. Integration tests start their own PostgreSQL, Redis and
# dispatchd on free loopback ports (tests/integration/harness.py): nothing
# here uses the shared `make up` stack or its fixed ports. At the end, any
# process a test left running (under run/tests/ or a private PostgreSQL
# folder in /var/tmp) fails the run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
JOBS=${JOBS:-$(nproc)}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# The harness names what it starts after these folders.
leftovers() {
	local hash
	hash=$(printf %s "$(realpath "$ROOT")" | md5sum | cut -c1-12)
	pgrep -a -f -- "$ROOT/run/tests/|/var/tmp/dispatchd-test-pg-$hash-" || true
}
status=0
before=$(leftovers)
if [ -n "$before" ]; then
	echo "== processes of an earlier test run are still running (ignored below):"
	echo "$before"
fi
# The fault tests (label fault, docs/reliability.md) run in the normal build
# only: under the sanitizers they take about twice as long, past their budget.
for dir in build build-asan; do
	echo "== ctest in $dir"
	exclude=fuzz
	[ "$dir" = build-asan ] && exclude='fuzz|fault'
	(cd "$dir" && ctest -LE "$exclude" --output-on-failure -j "$JOBS" --timeout 900) || status=1
done
echo "== fuzzers (build-fuzz)"
(cd build-fuzz && ctest -L fuzz --output-on-failure -j "$JOBS") || status=1
after=$(leftovers)
left=$(comm -13 <(printf '%s\n' "$before" | sort) <(printf '%s\n' "$after" | sort) | sed '/^$/d')
if [ -n "$left" ]; then
	echo "== FAIL: tests left these processes running:"
	echo "$left"
	status=1
fi
exit $status
