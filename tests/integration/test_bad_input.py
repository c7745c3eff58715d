"""Bad input, every endpoint (issue 15): each route of the daemon's route
tables (route_table.py reads daemon/api/tables.c, so a new route is swept
without a change here; test_authz.py's ROUTES gives its valid request) is
sent, as a caller allowed to call it, requests that are wrong in each way
a client can get one wrong: bodies that are not JSON, truncated, an array,
`null`, nested 3,000 deep, with huge arrays, invalid UTF-8, a NUL, a
duplicate or unknown member, numbers out of range, NaN and Infinity, a
wrong type, a body over the route's own limit and one over the server's
(refused by libevent from its Content-Length); bad query values (invalid
UTF-8, NUL, out of range, not numbers); path segments that are not ids
(invalid UTF-8, NUL, SQL); a bad Idempotency-Key; headers over the
server's limit and a request line that does not parse.

Every answer must be a 4xx (never a 5xx, never a hang: each request has
PER_REQUEST_S) in application/problem+json whose `type` is one that
docs/api.md lists, with the status it lists; a checksum of every table
(SNAPSHOT_EXCLUDED names the ones left out and why) is the same before and
after the sweep. Then SQL metacharacters go into every string member of
each valid body: a 4xx as above, or a 2xx when the text is legitimately
accepted, in which case any echo of it in the answer is the same text, and
afterwards every table is still there. The counts go to reliability.txt
(section bad_input; scripts/reliability_doc.py copies them into
docs/reliability.md). One daemon, one keep-alive connection, no sleeps."""
import collections
import http.client
import json
import os
import re
import socket
import sys

import harness
import route_table as route_table_c
import test_authz as authz

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "fault"))
from workload import report  # noqa: E402

PER_REQUEST_S = 5.0 * harness.TIME_SCALE
SERVER_MAX_BODY = 1048576     # server.max_body_bytes (its default)
SERVER_MAX_HEADER = 16384     # server.max_header_bytes (its default)
OVER_ROUTE_LIMIT = 65537      # above every route's own body_limit (the largest is 64 KiB)
NUMBERS_PER_BODY = 4          # numeric members of a body each sent out of range
STRINGS_PER_BODY = 6          # string members of a body each sent with SQL metacharacters
# Out-of-range and non-finite numbers, as JSON text put in place of a number.
BAD_NUMBERS = ["1e400", "18446744073709551616", "-9223372036854775809", "9223372036854775807",
               "1e308", "NaN", "Infinity", "-Infinity"]
# SQL metacharacters: every query is parameterised, so each is text like any other.
SQL_TEXT = ["'; DROP TABLE orders; --", "%_\\\"' OR '1'='1"]
# Tables left out of the before/after checksum, each for a reason:
SNAPSHOT_EXCLUDED = {
    # PostGIS's reference systems: the extension's own data, thousands of rows
    # no daemon request writes; leaving it out keeps the checksum fast.
    "spatial_ref_sys",
}
# Columns left out of a table's checksum: what a read legitimately writes.
SNAPSHOT_COLUMNS_EXCLUDED = {
    # when a token was last used: the daemon flushes it in batches for every
    # request a token makes, refused or not (014_tokens.sql).
    "api_tokens": ["last_used_at"],
}


def doc_problem_types():
    """`type` -> status of every problem docs/api.md lists."""
    text = open(os.path.join(harness.SOURCE_DIR, "docs", "api.md")).read()
    types = dict((t, int(s)) for t, s in
                 re.findall(r"^\| `(urn:dispatchd:problem:[a-z0-9-]+)` \| (\d{3}) \|", text, re.M))
    assert len(types) >= 20, types
    return types


def snapshot(w):
    """table -> md5 of its rows (as text, sorted), for every table of the
    public schema but SNAPSHOT_EXCLUDED, less SNAPSHOT_COLUMNS_EXCLUDED;
    one psql call."""
    tables = w.pg.psql("dispatchd", "SELECT c.relname FROM pg_class c JOIN pg_namespace n "
                                    "ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND "
                                    "c.relkind = 'r' ORDER BY 1").split()
    tables = [t for t in tables if t not in SNAPSHOT_EXCLUDED]
    def row(t):
        cols = SNAPSHOT_COLUMNS_EXCLUDED.get(t)
        return f"(to_jsonb(t) - '{{{','.join(cols)}}}'::text[])::text" if cols else "t::text"
    sql = " UNION ALL ".join(
        f"SELECT '{t}', md5(coalesce(string_agg({row(t)}, '' ORDER BY {row(t)}), '')) "
        f"FROM \"{t}\" t" for t in tables)
    out = w.pg.psql("dispatchd", sql)
    return dict(line.split("|", 1) for line in out.splitlines())


class Client:
    """One keep-alive HTTP/1.1 connection, opened again when the daemon
    closed it; every request bounded by PER_REQUEST_S."""

    def __init__(self, port):
        self.port, self.conn = port, None

    def send(self, method, url, body=None, headers=None):
        """(status, headers with lower-case names, body bytes), or (None,
        {}, reason) when no answer came in time or the connection broke."""
        for attempt in (0, 1):
            reused = self.conn is not None
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port,
                                                       timeout=PER_REQUEST_S)
            try:
                self.conn.request(method, url, body=body, headers=headers or {})
                r = self.conn.getresponse()
                data = r.read()
                hdrs = {k.lower(): v for k, v in r.getheaders()}
                if r.will_close:
                    self.close()
                return r.status, hdrs, data
            except socket.timeout:
                self.close()
                return None, {}, f"no answer within {PER_REQUEST_S} s".encode()
            except (ConnectionError, http.client.HTTPException) as e:
                self.close()
                if attempt == 0 and reused:
                    continue  # the daemon closed an idle keep-alive connection
                return None, {}, f"connection failed: {e!r}".encode()

    def close(self):
        if self.conn is not None:
            self.conn.close()
        self.conn = None


def raw_exchange(port, data):
    """Send data on a fresh connection (no body follows) and read the answer
    until the daemon closes: (status, headers, body) or (None, {}, why)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=PER_REQUEST_S)
    got = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionError) as e:
        if not got:
            return None, {}, f"no answer: {e!r}".encode()
    finally:
        s.close()
    head, _, body = got.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/\d\.\d (\d{3})", lines[0])
    if not m:
        return None, {}, b"not an HTTP answer: " + got[:200]
    hdrs = dict((k.strip().lower(), v.strip()) for k, _, v in
                (line.partition(":") for line in lines[1:]))
    return int(m.group(1)), hdrs, body


class Sweep:
    """Sends bad requests, checks each answer, counts them per endpoint."""

    def __init__(self, client, types):
        self.client, self.types = client, types
        self.count = collections.Counter()
        self.failures = []
        self.accepted = collections.Counter()   # 2xx allowed and given
        self.echoed = 0

    def check(self, endpoint, what, status, hdrs, body, allow_2xx=False, head=False):
        self.count[endpoint] += 1
        where = f"{endpoint} [{what}]"
        if status == 429:   # refused before the input was looked at: proves nothing
            self.failures.append(f"{where}: rate-limited")
            return None
        if status is None:
            self.failures.append(f"{where}: {body.decode(errors='replace')}")
            return None
        if allow_2xx and 200 <= status < 300:
            self.accepted[endpoint] += 1
            return "2xx"
        if not 400 <= status < 500:
            self.failures.append(f"{where}: status {status} {body[:200]!r}")
            return None
        ctype = hdrs.get("content-type", "")
        if not ctype.startswith("application/problem+json"):
            self.failures.append(f"{where}: {status} in {ctype!r}: {body[:200]!r}")
            return None
        if head:
            return {}   # a HEAD answer has the problem's headers, not its body
        try:
            p = json.loads(body)
        except ValueError:
            self.failures.append(f"{where}: {status} body not JSON: {body[:200]!r}")
            return None
        t = p.get("type")
        if t not in self.types:
            self.failures.append(f"{where}: {status} type {t!r} not in docs/api.md")
        elif self.types[t] != status or p.get("status") != status:
            self.failures.append(f"{where}: {status} type {t} is documented as "
                                 f"{self.types[t]} (body says {p.get('status')})")
        return p

    def check_echo(self, endpoint, what, data, mark, sent):
        """A 2xx answer that took text: every string of it holding mark
        (the text's own marker) is the text as sent, byte for byte."""
        try:
            echo = [v for _, v in members(json.loads(data)) if isinstance(v, str) and mark in v]
        except ValueError:
            echo = []
        for v in echo:
            if v != sent:
                self.failures.append(f"{endpoint} [{what}]: sent {sent!r}, answer has {v!r}")
        self.echoed += bool(echo)

    def send(self, endpoint, what, method, url, body, headers, allow_2xx=False):
        status, hdrs, data = self.client.send(method, url, body, headers)
        self.check(endpoint, what, status, hdrs, data, allow_2xx, head=method == "HEAD")
        return status, data


# -- valid requests, one per route (test_authz.py's fixtures) --------------

def caller_of(who):
    """The token name of test_authz.prepare to call a route as: admin when
    it may, else the role that may (None for a public route)."""
    if who == authz.PUBLIC:
        return None
    if who == authz.ANY or "admin" in who:
        return "admin"
    return sorted(who)[0]


def valid_requests(w, d, tokens):
    """(method, pattern) -> (url, body, headers, token) of a request its
    caller may send: test_authz.py's row with its fixture made (fresh ids
    for each route, the rows the fixture needs)."""
    seq = iter(range(1, 100000))
    shop = d.get("/v1/admin/tokens/whoami", token=tokens["order_service"]).json()["id"]
    out = {}
    for (method, pattern), (who, path, body) in sorted(authz.ROUTES.items()):
        caller = caller_of(who)
        ids = authz.fresh_ids(w, d, path, seq, shop)
        url, req, headers = authz.request_for(w, d, method, path, body, caller or "admin", ids,
                                              next(seq) + 1000)
        if path == "/v1/orders":
            headers = {"Idempotency-Key": "bi-order-{n}"}
        out[(method, pattern)] = (url, req, headers, tokens[caller] if caller else None)
    return out


# -- what is wrong with a request --------------------------------------------

def members(value, path=()):
    """(path, value) of every scalar member of a JSON value, depth first."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from members(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from members(v, path + (i,))
    else:
        yield path, value


def replaced(value, path, new):
    """A deep copy of value with the member at path set to new."""
    if not path:
        return new
    copy = list(value) if isinstance(value, list) else dict(value)
    copy[path[0]] = replaced(value[path[0]], path[1:], new)
    return copy


def fill(body, n):
    """body's {n} placeholders (ids, external ids) made unique with n."""
    return json.loads(json.dumps(body).replace("{n}", str(n)))


MARK = "\u2063bi-raw\u2063"   # stands for raw JSON text until dumps() is done


def dumps_raw(body, raw):
    """body as JSON bytes, its MARK string replaced by raw bytes."""
    text = json.dumps(body).encode()
    return text.replace(json.dumps(MARK).encode(), raw)


def bad_bodies(body):
    """(what, bytes) of each bad body made from a valid one (a dict; {} for
    a route that takes none)."""
    base = json.dumps(body).encode()
    out = [("not JSON", b"{not json"), ("truncated", base[:-1] if body else b'{"a":'),
           ("an array", b"[" + base + b"]"), ("null", b"null"), ("a string", b'"text"'),
           ("nested 3000 deep", b'{"a":' + b"[" * 3000 + b"]" * 3000 + b"}"),
           ("huge array", dumps_raw(dict(body, bi_list=MARK),
                                    b"[" + b",".join([b"1"] * 20000) + b"]")),
           ("invalid UTF-8", dumps_raw(dict(body, bi_text=MARK), b'"\xff\xfe\xc3("')),
           ("NUL in a string", dumps_raw(dict(body, bi_text=MARK), b'"a\\u0000b"')),
           ("duplicate member", b"{" + b'"bi":1,"bi":2' + (b"," + base[1:] if body else b"}")),
           ("unknown member", json.dumps(dict(body, bi_unknown_member=1)).encode())]
    pad = OVER_ROUTE_LIMIT - len(json.dumps(dict(body, bi_pad="")).encode())
    out.append(("over the route's limit", json.dumps(dict(body, bi_pad="x" * pad)).encode()))
    scalars = list(members(body))
    numbers = [(p, v) for p, v in scalars if isinstance(v, (int, float)) and
               not isinstance(v, bool)][:NUMBERS_PER_BODY]
    for p, _ in numbers:
        for bad in BAD_NUMBERS:
            out.append((f"{'.'.join(map(str, p))} = {bad}",
                        dumps_raw(replaced(body, p, MARK), bad.encode())))
    for p, v in scalars:
        if isinstance(v, str):
            where = ".".join(map(str, p))
            out.append((f"{where} invalid UTF-8",
                        dumps_raw(replaced(body, p, MARK), b'"\xc0\xaf"')))
            out.append((f"{where} an object", json.dumps(replaced(body, p, {"bi": 1})).encode()))
            break
    for p, v in list(walk_lists(body))[:1]:
        out.append((f"{'.'.join(map(str, p))} huge", json.dumps(
            replaced(body, p, (v or [1]) * max(1, 60000 // max(1, len(json.dumps(v or [1])))))
        ).encode()))
    return out


def walk_lists(value, path=()):
    """(path, list) of every list in a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk_lists(v, path + (k,))
    elif isinstance(value, list):
        yield path, value
        for i, v in enumerate(value):
            yield from walk_lists(v, path + (i,))


BAD_QUERY = [("invalid UTF-8", "%FF%FE%C0%AF", True), ("NUL", "a%00b", True),
             ("out of range", "99999999999999999999999", None), ("1e400", "1e400", None),
             ("NaN", "NaN", None), ("-1", "-1", None), ("empty", "", None),
             ("10,000 characters", "q" * 10000, None),
             ("SQL", "%27%3B%20DROP%20TABLE%20orders%3B%20--", None)]
# (what, segment, its text when a read may take it as text: then a 2xx
# must echo it unchanged, if at all; None: refused on every route).
BAD_SEGMENTS = [("invalid UTF-8", "%FF%FE", None), ("NUL", "%00", None),
                ("SQL", "x%27%3B%20DROP%20TABLE%20orders%3B%20--", "x'; DROP TABLE orders; --"),
                ("LIKE", "%25_%5C", "%_\\")]


def strict_param(value):
    """A query parameter whose valid value is a number or a date: any bad
    value must be refused, not read as text."""
    return re.fullmatch(r"-?[0-9.]+|\d{4}-\d{2}-\d{2}", value) is not None


def headers_for(token, headers, body):
    """headers with the caller's token and, with a body, its content type."""
    h = dict(headers or {})
    if token is not None:
        h["Authorization"] = f"Bearer {token}"
    if body is not None:
        h["Content-Type"] = "application/json"
    return h


def sweep_route(sw, method, pattern, url, body, headers, token):
    """Every bad request of one route (nothing here may change state)."""
    ep = f"{method} {pattern}"
    path, _, query = url.partition("?")
    enc = json.dumps(body).encode() if body is not None else None
    if method in ("POST", "PUT", "PATCH"):
        for what, data in bad_bodies(body if isinstance(body, dict) else {}):
            sw.send(ep, what, method, url, data, headers_for(token, headers, data))
    # Any route: a query parameter that is not UTF-8 (none is read as text).
    sw.send(ep, "?bi= invalid UTF-8", method, f"{path}?{query + '&' if query else ''}bi=%FF",
            enc, headers_for(token, headers, body))
    # The route's query parameters, each with each bad value.
    params = [p.partition("=") for p in query.split("&") if p]
    for i, (k, _, v) in enumerate(params):
        for what, bad, strict in BAD_QUERY:
            q = "&".join(f"{k2}={bad if j == i else v2}" for j, (k2, _, v2) in enumerate(params))
            sw.send(ep, f"?{k}= {what}", method, f"{path}?{q}", enc,
                    headers_for(token, headers, body), allow_2xx=not (strict or strict_param(v)))
    # Each path parameter replaced by something no id is.
    pat = pattern.split("/")
    segs = path.split("/")
    if len(pat) == len(segs):
        for i, p in enumerate(pat):
            if not p.startswith("{"):
                continue
            for what, bad, text in BAD_SEGMENTS:
                u = "/".join(bad if j == i else s for j, s in enumerate(segs))
                read = method in ("GET", "HEAD") and text is not None
                status, data = sw.send(ep, f"{p} {what}", method,
                                       u + (f"?{query}" if query else ""), enc,
                                       headers_for(token, headers, body), allow_2xx=read)
                if read and status is not None and 200 <= status < 300:
                    sw.check_echo(ep, f"{p} {what}", data, text, text)
    # A bad Idempotency-Key: not UTF-8, or longer than any key.
    if headers and "Idempotency-Key" in headers:
        for what, key in (("invalid UTF-8", "k\xff\xfe"), ("1,000 characters", "k" * 1000)):
            sw.send(ep, f"Idempotency-Key {what}", method, url, enc,
                    headers_for(token, dict(headers, **{"Idempotency-Key": key}), body))


def sweep_sql_text(sw, method, pattern, url, body, headers, token, seq):
    """SQL metacharacters in each string member of the valid body (the first
    STRINGS_PER_BODY): refused as any bad input, or accepted as text and
    echoed unchanged."""
    if method not in ("POST", "PUT", "PATCH") or not isinstance(body, dict):
        return
    ep = f"{method} {pattern}"
    strings = [p for p, v in members(body) if isinstance(v, str)][:STRINGS_PER_BODY]
    for p in strings:
        for text in SQL_TEXT:
            n = next(seq)
            value = f"bi{n}{text}"
            b = replaced(fill(body, n), p, value)
            h = dict(headers or {})
            if "Idempotency-Key" in h:
                h["Idempotency-Key"] = f"bi-sql-{n}"
            status, data = sw.send(ep, f"{'.'.join(map(str, p))} SQL", method,
                                   url.replace("{n}", str(n)), json.dumps(b).encode(),
                                   headers_for(token, h, b), allow_2xx=True)
            if status is not None and 200 <= status < 300:
                sw.check_echo(ep, f"{'.'.join(map(str, p))} SQL", data, f"bi{n}", value)


def test_bad_input_on_every_route(w):
    table = route_table_c.method_patterns(harness.SOURCE_DIR, authz.METHOD_BITS)
    assert table == set(authz.ROUTES), ("routes without a row in test_authz.ROUTES",
                                        table - set(authz.ROUTES))
    types = doc_problem_types()
    d, tokens = authz.prepare(w)
    # No rate limit: a 429 would answer before the input is looked at. No
    # pickup expiry: its tick (a minute) would change tables meanwhile on a
    # slow run (valgrind), not the refused requests.
    d.reload(extra_conf=d.extra_conf + "[rate_limit]\npublic_per_s = 0\nread_per_s = 0\n"
                                       "write_per_s = 0\nplan_per_s = 0\n"
                                       "[pickup]\nexpiry_interval_ms = 0\n")
    valid = valid_requests(w, d, tokens)
    client = Client(d.port)
    sw = Sweep(client, types)
    before = snapshot(w)
    for n, ((method, pattern), (url, body, headers, token)) in enumerate(sorted(valid.items())):
        sweep_route(sw, method, pattern, url.replace("{n}", str(n)), body, headers, token)
    # What libevent refuses itself: a body over server.max_body_bytes (from
    # its Content-Length, never read), headers over server.max_header_bytes,
    # a request line that does not parse.
    for (method, pattern), (url, body, headers, token) in sorted(valid.items()):
        if method not in ("POST", "PUT", "PATCH"):
            continue
        head = (f"{method} {url} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + (f"Authorization: Bearer {token}\r\n" if token else "")
                + f"Content-Length: {SERVER_MAX_BODY + 1}\r\n\r\n")
        status, hdrs, data = raw_exchange(d.port, head.encode())
        p = sw.check(f"{method} {pattern}", "over server.max_body_bytes", status, hdrs, data)
        if p is not None and p.get("type") != "urn:dispatchd:problem:body-too-large":
            sw.failures.append(f"{method} {pattern}: over max_body_bytes answered {p}")
    for what, data in (
            ("a 64 KiB header", b"GET /v1/stations HTTP/1.1\r\nHost: x\r\nX-Big: "
             + b"b" * 65536 + b"\r\n\r\n"),
            ("headers just over the limit", b"GET /v1/stations HTTP/1.1\r\nHost: x\r\n"
             + b"".join(b"X-H%d: %s\r\n" % (i, b"h" * 1000)
                        for i in range(SERVER_MAX_HEADER // 1000 + 1)) + b"\r\n"),
            ("a request line that does not parse", b"GARBAGE\r\n\r\n"),
            ("an unknown method", b"BREW /v1/stations HTTP/1.1\r\nHost: x\r\n\r\n"),
            ("a request line of 64 KiB", b"GET /" + b"p" * 65536 + b" HTTP/1.1\r\n\r\n")):
        status, hdrs, body = raw_exchange(d.port, data)
        p = sw.check("libevent", what, status, hdrs, body)
        if p is not None and p.get("type") != "urn:dispatchd:problem:malformed-request":
            sw.failures.append(f"libevent [{what}]: answered {p}")
    r = d.request("POST", "/healthz", body={}, operator=True, token=None)
    sw.check("operators' listener", "POST /healthz", r.status, r.headers, r.body.encode())
    client.close()
    after = snapshot(w)
    changed = sorted(t for t in before if before[t] != after.get(t))
    if changed:
        sw.failures.append(f"tables changed by refused requests: {changed}")
    assert not sw.failures, f"{len(sw.failures)} bad answers:\n" + "\n".join(sw.failures[:80])
    assert d.get("/readyz", token=None).status == 200

    # SQL metacharacters in every string member, 2xx allowed.
    sql = Sweep(Client(d.port), types)
    seq = iter(range(10 ** 6, 10 ** 7))
    for (method, pattern), (url, body, headers, token) in sorted(valid.items()):
        sweep_sql_text(sql, method, pattern, url, body, headers, token, seq)
    sql.client.close()
    assert not sql.failures, f"{len(sql.failures)} bad answers:\n" + "\n".join(sql.failures[:80])
    assert set(snapshot(w)) == set(before), "a table went missing"
    assert d.get("/readyz", token=None).status == 200

    per = {ep: sw.count[ep] + sql.count[ep] for ep in set(sw.count) | set(sql.count)
           if ep.split()[0] in route_table_c.METHOD_BITS}
    report("bad_input", {
        "routes": len(table),
        "endpoints": len(per),
        "requests": sum(sw.count.values()) + sum(sql.count.values()),
        "refused_requests": sum(sw.count.values()),
        "max_per_endpoint": "%d (%s)" % max((v, k) for k, v in per.items()),
        "median_per_endpoint": sorted(per.values())[len(per) // 2],
        "min_per_endpoint": "%d (%s)" % min((v, k) for k, v in per.items()),
        "libevent_refusals": sw.count["libevent"] + sum(
            1 for m, _ in valid if m in ("POST", "PUT", "PATCH")),
        "sql_text_requests": sum(sql.count.values()),
        "sql_text_accepted": sum(sql.accepted.values()),
        "sql_text_echoed_unchanged": sql.echoed,
        "tables_compared": len(before),
    })


if __name__ == "__main__":
    harness.run(globals())
