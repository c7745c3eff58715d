"""The daemon's route tables read from its C sources: every row of the
tables that daemon/api/tables.c hands to the HTTP server (`.methods`,
`.pattern`, `.roles`, `.scope_param` of each struct dm_route), with its
roles as names. Shared by test_authz.py (a row per route) and
test_openapi.py (docs/openapi.yaml against the tables). Standard library
only; needs no daemon."""
import collections
import os
import re

# enum evhttp_cmd_type bits of `.methods`, by HTTP method.
METHOD_BITS = {"GET": "EVHTTP_REQ_GET", "HEAD": "EVHTTP_REQ_HEAD", "POST": "EVHTTP_REQ_POST",
               "PUT": "EVHTTP_REQ_PUT", "DELETE": "EVHTTP_REQ_DELETE",
               "PATCH": "EVHTTP_REQ_PATCH", "OPTIONS": "EVHTTP_REQ_OPTIONS"}
PUBLIC = "public"  # DM_ROLES_PUBLIC: no token needed

Route = collections.namedtuple("Route", "method pattern roles scope_param source")


def role_names(source_dir):
    """The token roles in enum order (daemon/base/token.h: DM_TOKEN_ADMIN = 0,
    ... up to DM_TOKEN_ROLE_COUNT), lower-cased: admin, order_service, ..."""
    text = open(os.path.join(source_dir, "daemon", "base", "token.h")).read()
    body = text[text.index("DM_TOKEN_ADMIN = 0"):text.index("DM_TOKEN_ROLE_COUNT")]
    return [m.lower() for m in re.findall(r"\bDM_TOKEN_([A-Z_]+)\b", body)]


def parse_roles(expr, roles):
    """`.roles` as a sorted tuple of names: DM_ROLE(X) | ..., DM_ROLES_ANY
    (every role), DM_ROLES_PUBLIC (("public",))."""
    expr = expr.strip()
    while expr.startswith("(") and expr.endswith(")"):
        expr = expr[1:-1].strip()
    if expr == "DM_ROLES_PUBLIC":
        return (PUBLIC,)
    if expr == "DM_ROLES_ANY":
        return tuple(sorted(roles))
    names = re.findall(r"DM_ROLE\(([A-Z_]+)\)", expr)
    if not names or re.sub(r"DM_ROLE\([A-Z_]+\)|[\s|()]", "", expr):
        raise ValueError(f"cannot read .roles = {expr}")
    unknown = {n.lower() for n in names} - set(roles)
    if unknown:
        raise ValueError(f".roles = {expr} names unknown roles {sorted(unknown)}")
    return tuple(sorted({n.lower() for n in names}))


def _rows(array_text, roles, source, method_bits, defines):
    """The routes of one `struct dm_route NAME[] = {...}` initializer; a
    value that is a macro of its file (#define NAME value) is expanded."""
    out = []
    array_text = re.sub(r"/\*.*?\*/|(?<=\s)//[^\n]*", " ", array_text, flags=re.S)
    for block in re.findall(r'\{\s*(\.methods(?:"[^"]*"|[^{}"])*)\}', array_text):
        fields = dict((k, defines.get(v.strip(), v.strip())) for k, v in
                      re.findall(r"\.([a-z_]+)\s*=\s*(\"[^\"]*\"|[^,]+)", block))
        methods, pattern = fields["methods"], fields["pattern"].strip('"')
        bits = re.findall(r"\bEVHTTP_REQ_[A-Z]+\b", methods)
        unknown = set(bits) - set(method_bits.values())
        if not bits or unknown or re.sub(r"EVHTTP_REQ_[A-Z]+|[\s|]", "", methods):
            raise ValueError(f"{source}: cannot read .methods = {methods} ({pattern})")
        served = [m for m, bit in method_bits.items() if bit in bits]
        rroles = parse_roles(fields.get("roles", ""), roles)
        scope = int(fields.get("scope_param", "0"))
        for m in served:
            out.append(Route(m, pattern, rroles, scope, source))
    return out


def routes(source_dir, api_dir=None, method_bits=None):
    """Every route served: the rows of each table listed in
    daemon/api/tables.c (`&NAME`), found in api_dir (default daemon/api) as
    `const struct dm_route_table NAME = {ARRAY, ...}` and `struct dm_route
    ARRAY[] = {...}`. A listed table that cannot be found, or a method not
    in method_bits (default METHOD_BITS), is an error."""
    method_bits = method_bits or METHOD_BITS
    api_dir = api_dir or os.path.join(source_dir, "daemon", "api")
    roles = role_names(source_dir)
    tables_c = open(os.path.join(api_dir, "tables.c")).read()
    listed = re.findall(r"&\s*(\w+)", tables_c[tables_c.index("dm_api_tables[]"):])
    if not listed:
        raise ValueError("daemon/api/tables.c lists no table")
    sources = {}
    for name in sorted(os.listdir(api_dir)):
        if name.endswith(".c") and name != "tables.c":
            sources[name] = open(os.path.join(api_dir, name)).read()
    out = []
    for table in listed:
        found = False
        for name, text in sources.items():
            m = re.search(rf"struct dm_route_table {table}\s*=\s*\{{\s*(?:\.routes\s*=\s*)?(\w+)",
                          text)
            if m is None:
                continue
            arr = re.search(rf"struct dm_route {m.group(1)}\[\]\s*=\s*\{{(.*?)\n\}};", text, re.S)
            if arr is None:
                raise ValueError(f"{name}: no array {m.group(1)} for table {table}")
            defines = {k: v.strip() for k, v in
                       re.findall(r"^#define\s+(\w+)\s+(.+?)\s*(?:/\*.*)?$", text, re.M)}
            out += _rows(arr.group(1), roles, f"daemon/api/{name}", method_bits, defines)
            found = True
            break
        if not found:
            raise ValueError(f"table {table} of daemon/api/tables.c is defined nowhere")
    return out


def method_patterns(source_dir, method_bits=None):
    """(method, pattern) of every route served."""
    return {(r.method, r.pattern) for r in routes(source_dir, method_bits=method_bits)}
