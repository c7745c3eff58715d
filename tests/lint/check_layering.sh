#!/usr/bin/env bash
# The cores stay sans-I/O: routing/, warehouse/ and config/ must not include
# libevent, libpq, hiredis, systemd or daemon/ headers, nor call the clock,
# the environment, randomness or file functions (STYLE.md section 2). CMake
# already denies them the include paths; this is the second check.
set -u
cd "$(dirname "$0")/../.."
status=0
shopt -s nullglob
# routing/ is three libraries, one folder each: common/ (rt_common), geo/ (rt_geo), vrp/ (rt_vrp).
routing_src=(routing/*/*.[ch])
routing_c=(routing/*/*.c)
stray_routing=$(find routing -maxdepth 1 -type f ! -name CMakeLists.txt)
if [ -n "$stray_routing" ] || [ ${#routing_src[@]} -eq 0 ]; then
	echo "files in routing/ outside a library folder (or no routing sources found):"
	echo "$stray_routing"
	status=1
fi
bad_includes=$(grep -nE '#include *[<"](event2/|libpq-fe|hiredis/|systemd/|daemon/)' \
	"${routing_src[@]}" warehouse/*.[ch] config/*.[ch] 2>/dev/null)
if [ -n "$bad_includes" ]; then
	echo "I/O headers included by a core:"
	echo "$bad_includes"
	status=1
fi
# Calls that read the world. (Comments and strings could trip this; none do today.)
bad_calls=$(grep -nE '\b(time|getenv|rand|srand|fopen|open|socket|gettimeofday|clock_gettime)\s*\(' \
	"${routing_c[@]}" warehouse/*.c config/*.c 2>/dev/null | grep -vE '^\S+:\s*[0-9]+:\s*(/\*|\*)')
if [ -n "$bad_calls" ]; then
	echo "clock, environment, randomness or file calls in a core:"
	echo "$bad_calls"
	status=1
fi
# routing/ and warehouse/ do not include each other.
cross=$(grep -nE '#include *"warehouse/' "${routing_src[@]}"; grep -nE '#include *"routing/' warehouse/*.[ch])
if [ -n "$cross" ]; then
	echo "routing/ and warehouse/ include each other:"
	echo "$cross"
	status=1
fi
# The planner (routing/vrp) works on plain coordinates: no GEOS, and nothing
# from routing/geo. routing/common uses neither library. GEOS contexts are
# made only in routing/geo (rt_geo_ctx_new), never in daemon/ or elsewhere.
vrp_geos=$(grep -nE '#include *[<"](geos|routing/geo/)' routing/vrp/*.[ch] routing/common/*.[ch]; \
	grep -nE '#include *"routing/vrp/' routing/geo/*.[ch] routing/common/*.[ch])
if [ -n "$vrp_geos" ]; then
	echo "routing/vrp or routing/common includes GEOS or the other routing library:"
	echo "$vrp_geos"
	status=1
fi
geos_outside=$(grep -rnE '#include *<geos|GEOS_init|GEOSContextHandle_t' daemon tests/unit tests/bench \
	tests/fuzz --include='*.[ch]' | grep -v '^tests/unit/routing/geo/')
if [ -n "$geos_outside" ]; then
	echo "GEOS used outside routing/geo (make a context with rt_geo_ctx_new):"
	echo "$geos_outside"
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
[ $status -eq 0 ] && echo "ok   cores are sans-I/O; routing/vrp has no GEOS; daemon/ layers include downwards only"
exit $status
