#!/usr/bin/env bash
# The cores stay sans-I/O: routing/, warehouse/ and config/ must not include
# libevent, libpq, hiredis, systemd or daemon/ headers, nor call the clock,
# the environment, randomness or file functions (STYLE.md section 2). CMake
# already denies them the include paths; this is the second check.
set -u
cd "$(dirname "$0")/../.."
status=0
bad_includes=$(grep -nE '#include *[<"](event2/|libpq-fe|hiredis/|systemd/|daemon/)' \
	routing/*.[ch] warehouse/*.[ch] config/*.[ch] 2>/dev/null)
if [ -n "$bad_includes" ]; then
	echo "I/O headers included by a core:"
	echo "$bad_includes"
	status=1
fi
# Calls that read the world. (Comments and strings could trip this; none do today.)
bad_calls=$(grep -nE '\b(time|getenv|rand|srand|fopen|open|socket|gettimeofday|clock_gettime)\s*\(' \
	routing/*.c warehouse/*.c config/*.c 2>/dev/null | grep -vE '^\S+:\s*[0-9]+:\s*(/\*|\*)')
if [ -n "$bad_calls" ]; then
	echo "clock, environment, randomness or file calls in a core:"
	echo "$bad_calls"
	status=1
fi
# routing/ and warehouse/ do not include each other.
cross=$(grep -nE '#include *"warehouse/' routing/*.[ch]; grep -nE '#include *"routing/' warehouse/*.[ch])
if [ -n "$cross" ]; then
	echo "routing/ and warehouse/ include each other:"
	echo "$cross"
	status=1
fi
# daemon/ layers: base <- io <- svc <- api <- main. A lower layer never
# includes a higher one; only main.c lives in daemon/ itself.
layer_check() { # folder, the daemon/ folders it must not include
	local dir=$1; shift
	for up in "$@"; do
		local hits
		hits=$(grep -nE "#include *\"daemon/$up/" daemon/$dir/*.[ch] 2>/dev/null)
		if [ -n "$hits" ]; then
			echo "daemon/$dir includes the higher layer daemon/$up:"
			echo "$hits"
			status=1
		fi
	done
}
layer_check base io svc api ctl
layer_check io svc api ctl
layer_check svc api ctl
layer_check api ctl
layer_check ctl io svc api
stray=$(find daemon -maxdepth 1 -type f ! -name main.c ! -name CMakeLists.txt)
if [ -n "$stray" ]; then
	echo "files in daemon/ outside a layer folder:"
	echo "$stray"
	status=1
fi
# dispatchctl has no event loop: no libevent, hiredis or systemd headers.
ctl_io=$(grep -nE '#include *[<"](event2/|hiredis/|systemd/)' daemon/ctl/*.[ch] daemon/base/log.c \
	daemon/base/file.c daemon/base/clock.c daemon/base/reload.c daemon/base/promise_cfg.c)
if [ -n "$ctl_io" ]; then
	echo "dispatchctl's sources include libevent, hiredis or systemd:"
	echo "$ctl_io"
	status=1
fi
# dm_pure (the request parsers unit tests and fuzzers link) has no event
# loop or backend either: jansson and the cores only.
pure_io=$(grep -nE '#include *[<"](event2/|libpq-fe|hiredis/|systemd/)' daemon/io/route_match.[ch] \
	daemon/io/query_parse.[ch] daemon/api/order_body.[ch])
if [ -n "$pure_io" ]; then
	echo "dm_pure's sources include libevent, libpq, hiredis or systemd:"
	echo "$pure_io"
	status=1
fi
[ $status -eq 0 ] && echo "ok   cores are sans-I/O; daemon/ layers include downwards only"
exit $status
