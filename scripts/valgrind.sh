#!/usr/bin/env bash
# `make valgrind`: the integration tests with dispatchd under valgrind's
# memcheck (tests/integration/harness.py, DISPATCH_VALGRIND=1). Any invalid
# read or write, use of uninitialised memory, or definite or indirect leak
# makes dispatchd exit 99 and fails its test with valgrind's report. Every
# wait of the harness is ten times longer, and a test takes 20 to 40 times
# its usual time, so this is not part of `make test` (every test: several
# hours on two cores). The tests run one after the other, each its script
# straight (CTest's per-test timeouts are for the normal build), up to
# VALGRIND_TEST_TIMEOUT seconds each. VALGRIND_TESTS (a regex over test
# names) picks some; the default is every integration test that runs
# dispatchd through the harness. The figures go to build/reliability.txt
# (section valgrind, the latest result of each test) for
# scripts/reliability_doc.py.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
# Not here: tests without a harness-started dispatchd (openapi, package,
# demo_report, cli, systemd_unit), and those that measure time or replay
# the whole day (bench, demo_day), which only get slower, not more thorough.
SKIP='^test_(openapi|package|demo_report|demo_day|bench|cli|systemd_unit)$'
PICK=${VALGRIND_TESTS:-.}
passed=() failed=()
for script in tests/integration/test_*.py; do
	name=$(basename "$script" .py)
	[[ $name =~ $SKIP ]] && continue
	[[ $name =~ $PICK ]] || continue
	echo "== $name (under valgrind)"
	if DISPATCH_VALGRIND=1 timeout "${VALGRIND_TEST_TIMEOUT:-7200}" python3 "$script"; then
		passed+=("$name")
	else
		failed+=("$name")
	fi
done
echo "valgrind: passed ${passed[*]:-none}; failed ${failed[*]:-none}"
ROOT="$ROOT" python3 - "${passed[*]:-}" "${failed[*]:-}" <<'PY'
# The latest result of each test: a run of some tests keeps the others'.
import os, sys
sys.path.insert(0, os.path.join(os.environ["ROOT"], "tests", "integration"))
import harness
passed, failed = set(sys.argv[1].split()), set(sys.argv[2].split())
old = {}
path = os.path.join(harness.BUILD_DIR, "reliability.txt")
if os.path.exists(path):
    for line in open(path):
        key, _, value = line.strip().partition(" = ")
        if key in ("valgrind.tests", "valgrind.failed"):
            old[key] = set(value.split()) - {"none"}
ran = passed | failed
passed |= old.get("valgrind.tests", set()) - ran
failed |= old.get("valgrind.failed", set()) - ran
harness.reliability_report("valgrind", {"tests_passed": len(passed), "tests_failed": len(failed),
                                        "tests": " ".join(sorted(passed)) or "none",
                                        "failed": " ".join(sorted(failed)) or "none"})
PY
[ ${#failed[@]} -eq 0 ]
