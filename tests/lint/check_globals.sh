#!/usr/bin/env bash
# No mutable file-scope state in the request and service layers (STYLE.md:
# state has an owner, struct dm_daemon or a service's struct, reached from
# the request): a file-scope variable in daemon/api/ or daemon/svc/ must be
# const. Lines at column 0 that end in ';' without '(' and are not const,
# a forward declaration or a typedef are reported.
set -u
cd "$(dirname "$0")/../.."
# Known and older than this check (owner: api/tokens.c, to move into the token cache).
allowed='^daemon/api/tokens\.c:[0-9]+:'
allowed+='static struct dm_api_tokens_pending \*dm_api_tokens_pending_list;$'
decl='^(static )?[A-Za-z_][A-Za-z_0-9 ]*[ *]+[A-Za-z_][A-Za-z_0-9]*'
decl+='(\[[^]]*\])?( = [^(]*)?;$'
found=$(grep -nE "$decl" daemon/api/*.c daemon/svc/*.c |
	grep -vE ':[0-9]+:(static )?(const |[A-Za-z_ ]* const )' |
	grep -vE ':[0-9]+:(struct|enum|union) [A-Za-z_0-9]+;$' |
	grep -vE ':[0-9]+:typedef ' |
	grep -vE "$allowed")
if [ -n "$found" ]; then
	echo "mutable file-scope state in daemon/api or daemon/svc (give it an owner struct):"
	echo "$found"
	exit 1
fi
