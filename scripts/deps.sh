#!/usr/bin/env bash
# Install the Debian 12 packages the project builds, runs and tests with,
# when any is missing (dpkg-dev, file, lintian, man-db: `make package` and
# its test). Re-runnable: does nothing when all are present.
set -euo pipefail
PACKAGES=(
	build-essential cmake pkg-config
	libevent-dev libpq-dev libhiredis-dev libgeos-dev libjansson-dev libsystemd-dev
	libinih-dev libcmocka-dev libsodium-dev libssl-dev
	postgresql-15 postgresql-15-postgis-3 postgresql-15-pgtap postgresql-client-15 redis-server
	systemd python3 python3-yaml curl wrk clang libclang-rt-14-dev valgrind
	dpkg-dev fakeroot file lintian man-db groff-base
	# The demo report's test opens it in headless Chromium; the font draws the
	# Chinese district names in its screenshots.
	chromium fonts-wqy-microhei
)
missing=()
for p in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing+=("$p")
	fi
done
# Node.js and npm run the OpenAPI linter of the tests (scripts/openapi_lint.sh,
# which installs it with npm ci). Checked as commands: a Node.js from another
# Debian source that bundles npm counts.
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
echo "deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
