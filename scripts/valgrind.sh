#!/usr/bin/env bash
# `make valgrind`: the integration tests with dispatchd under valgrind's
# memcheck (tests/integration/harness.py, DISPATCH_VALGRIND=1). Any invalid
# read or write, use of uninitialised memory, or definite or indirect leak
# makes dispatchd exit 99 and fails its test with valgrind's report. Every
# wait of the harness is ten times longer, so this is not part of `make
# test`: a run takes about an hour on two cores. VALGRIND_TESTS (a ctest -R
# regex) picks tests; the default is every integration test that runs
# dispatchd through the harness. The figures go to build/reliability.txt
# (section valgrind) for scripts/reliability_doc.py.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT/build"
# Not here: tests without a harness-started dispatchd (openapi, package,
# demo_report, cli), and those that measure time or run the whole day
# (bench, demo_day), which only get slower, not more thorough.
SKIP='test_openapi|test_package|test_demo_report|test_demo_day|test_bench|test_cli'
TESTS=${VALGRIND_TESTS:-integration_test_}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
DISPATCH_VALGRIND=1 ctest -L integration -R "$TESTS" -E "$SKIP" --output-on-failure \
	--timeout 7200 -j "${JOBS:-1}" | tee "$log" || status=1
ROOT="$ROOT" python3 - "$log" <<'PY'
import re, sys, os
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "fault"))
import workload
text = open(sys.argv[1]).read()
names = re.findall(r"Test +#\d+: integration_(\S+) \.+ +Passed", text)
passed = len(names)
failed = len(re.findall(r"Test +#\d+: \S+ \.+\**\s*(?:Failed|Timeout|Exception)", text))
errors = text.count("valgrind found errors in dispatchd")
workload.report("valgrind", {"tests_passed": passed, "tests_failed": failed,
                             "tests": " ".join(sorted(names)),
                             "daemons_with_errors": errors})
PY
exit $status
