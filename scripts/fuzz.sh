#!/usr/bin/env bash
# `make fuzz`: every libFuzzer harness of build-fuzz (tests/fuzz/, built by
# `make build-fuzz`) for FUZZ_SECONDS (default 3600) each, JOBS at a time,
# from its committed seed corpus. New inputs are kept in build-fuzz/fuzz-new/
# NAME (a scratch corpus that grows over runs, never the committed seeds);
# a crash, leak or timeout leaves its input as build-fuzz/fuzz-new/
# crash-NAME-..., and fails the run with its list. Each harness's executed
# inputs go to build/reliability.txt as fuzz_long.NAME_execs
# (scripts/reliability_doc.py copies them into docs/reliability.md). A
# crash found here becomes a regression input: copy it into
# tests/fuzz/corpus/NAME/ with the fix.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$ROOT"
JOBS=${JOBS:-$(nproc)}
export FUZZ_SECONDS=${FUZZ_SECONDS:-3600}
keep=build-fuzz/fuzz-new
mkdir -p "$keep"
names=$(cd build-fuzz/tests && ls fuzz_* | sed 's/^fuzz_//')
echo "== fuzzing $(echo $names | wc -w) harnesses for ${FUZZ_SECONDS} s each, $JOBS at a time"
status=0
printf '%s\n' $names | xargs -P "$JOBS" -I{} python3 tests/fuzz/run.py --seconds "$FUZZ_SECONDS" \
	--figures build/reliability.txt --section fuzz_long --keep "$keep" \
	{} build-fuzz/tests/fuzz_{} tests/fuzz/corpus/{} || status=1
crashes=$(ls "$keep" | grep '^crash-' || true)
if [ -n "$crashes" ]; then
	echo "== FAIL: crashing inputs (copy each into tests/fuzz/corpus/NAME/ with its fix):"
	printf '  %s/%s\n' "$keep" $crashes
	status=1
fi
exit $status
