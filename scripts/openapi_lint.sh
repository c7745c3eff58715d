#!/usr/bin/env bash
# Lint docs/openapi.yaml (or the files given) with Redocly CLI, pinned in
# tests/openapi/package-lock.json and installed there with `npm ci` when
# missing or older than the lock file. A test-time tool only: the daemon's
# build and run never need it. Node.js and npm come from scripts/deps.sh.
# Extra redocly arguments may follow the files after `--`, e.g.
#   scripts/openapi_lint.sh -- --format=json
# Exits with redocly's status (non-zero on any error).
set -euo pipefail
source "$(dirname "$0")/env.sh"
TOOLS=$ROOT/tests/openapi
files=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do files+=("$1"); shift; done
[ "${1:-}" = "--" ] && shift
[ ${#files[@]} -eq 0 ] && files=("$ROOT/docs/openapi.yaml")
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	echo "openapi_lint: node and npm are missing: run scripts/deps.sh" >&2
	exit 2
fi
# No usage reports or update checks: nothing but the registry is reached,
# and only by npm ci.
export REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true NO_UPDATE_NOTIFIER=1
stamp=$TOOLS/node_modules/.package-lock.json
if [ ! -x "$TOOLS/node_modules/.bin/redocly" ] || [ "$TOOLS/package-lock.json" -nt "$stamp" ]; then
	# One installer at a time (ctest -j may start several linters).
	exec 9>"$TOOLS/.npm-ci.lock"
	flock 9
	if [ ! -x "$TOOLS/node_modules/.bin/redocly" ] || [ "$TOOLS/package-lock.json" -nt "$stamp" ]; then
		echo "openapi_lint: npm ci in tests/openapi" >&2
		(cd "$TOOLS" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error >&2)
	fi
	exec 9>&-
fi
exec "$TOOLS/node_modules/.bin/redocly" lint --config "$TOOLS/redocly.yaml" "${files[@]}" "$@"
