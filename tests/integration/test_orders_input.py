"""POST /v1/orders against bad input (issue 9): oversized bodies, unknown
members (refused, and never part of the idempotency hash), duplicate keys,
invalid UTF-8 and NUL characters, too many lines, SQL metacharacters. Each
is answered 4xx with nothing changed in PostgreSQL: orders, idempotency
keys, tracking events, reservations and the stock table are compared
before and after. The schema itself is unit-tested in
tests/unit/daemon/api/order_body.c; this checks the daemon answers it."""
import json
import os
import socket
import subprocess
import uuid

import harness

CTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
NETWORK = os.path.join(harness.SOURCE_DIR, "data", "beijing", "network.geojson")
CATALOGUE = os.path.join(harness.SOURCE_DIR, "data", "catalogue")

# bj-st-001 "Dongcheng 01", served by bj-rdc-01 and bj-fdc-01.
DONGCHENG = {"lat": 39.936261, "lon": 116.441397}
RDC = "bj-rdc-01"


def sql(w, text):
    return w.pg.psql("dispatchd", text)


def daemon(w):
    if not getattr(w, "orders_ready", False):
        for kind in ("warehouse", "station"):
            r = subprocess.run([CTL, "areas", "import", NETWORK, "--kind", kind,
                                "--dsn", w.pg.dsn], capture_output=True, text=True)
            assert r.returncode == 0, r.stderr
        r = subprocess.run([CTL, "seed", "--catalogue", CATALOGUE, "--dsn", w.pg.dsn],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        w.orders_ready = True
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    return d


def new_sku(w, n=10):
    """A fresh SKU with n units at the RDC only."""
    sku = "T-" + uuid.uuid4().hex[:12]
    sql(w, f"INSERT INTO skus (sku, name, category, weight_g, volume_ml, large) "
           f"VALUES ('{sku}', 'test', 'test', 500, 1000, false)")
    sql(w, f"INSERT INTO stock VALUES ('{RDC}', '{sku}', {n}, 0, {n})")
    return sku


def state(w):
    """Everything an order could change: counts of orders, keys, events and
    stock rows, and the stock table's totals."""
    return sql(w, "SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM idempotency_keys), "
                  "(SELECT count(*) FROM order_events), (SELECT count(*) FROM shipments), "
                  "(SELECT count(*) FROM stock), (SELECT sum(on_hand) FROM stock), "
                  "(SELECT sum(reserved) FROM stock), (SELECT sum(available) FROM stock)")


def body_of(sku, **extra):
    b = {"external_id": "SHOP-" + uuid.uuid4().hex[:16], "customer": dict(DONGCHENG),
         "lines": [{"sku": sku, "qty": 1}], "delivery_option": "standard"}
    b.update(extra)
    return b


def post(d, body=None, key=None, raw=None):
    """POST /v1/orders with body as JSON, or raw bytes/text as they are."""
    headers = {"Content-Type": "application/json",
               "Idempotency-Key": key or "in-" + uuid.uuid4().hex}
    return d.request("POST", "/v1/orders", body=raw if raw is not None else json.dumps(body),
                     headers=headers)


def problem(r, status):
    assert r.status == status, r
    assert r.headers["content-type"] == "application/problem+json", r.headers
    return r.json()


def fields(r):
    return [e["field"] for e in problem(r, 422)["errors"]]


def test_oversized_bodies_are_413_and_change_nothing(w):
    d = daemon(w)
    sku = new_sku(w)
    before = state(w)
    # Over the route's 64 KiB (and under the server's 1 MiB): problem+json.
    raw = json.dumps(body_of(sku)) + " " * 65536
    r = post(d, raw=raw)
    assert "65536" in problem(r, 413)["detail"], r
    # Over the server's max_body_bytes: refused from Content-Length, unread.
    s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
    s.sendall(b"POST /v1/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
              b"Idempotency-Key: big\r\nContent-Length: 2097152\r\n\r\n")
    head = s.recv(4096).decode("latin-1")
    s.close()
    assert head.startswith("HTTP/1.1 413"), head
    assert d.get("/healthz").status == 200
    assert state(w) == before


def test_unknown_members_are_422_at_every_level(w):
    d = daemon(w)
    sku = new_sku(w)
    before = state(w)
    cases = [
        (body_of(sku, note="leave at the door"), ["note"]),
        (body_of(sku, instal=True), ["instal"]),  # a typo is not silently an order without it
        (body_of(sku, customer=dict(DONGCHENG, alt=40)), ["customer.alt"]),
        (body_of(sku, lines=[{"sku": sku, "qty": 1, "price": 9}]), ["lines[0].price"]),
        (body_of(sku, delivery_option="slot",
                 slot={"start": "2026-11-23T09:00:00+08:00", "end": "x"}), ["slot.end"]),
        (body_of(sku, a=1, b=None), ["a", "b"]),
    ]
    for body, want in cases:
        r = post(d, body)
        assert fields(r) == want, (body, r)
        assert all(e["message"] == "is not a known member" for e in r.json()["errors"]), r
    assert state(w) == before


def test_bad_recipients_are_422_naming_the_field_and_change_nothing(w):
    d = daemon(w)
    sku = new_sku(w)
    before = state(w)
    cases = [
        ({"name": "W", "phone": "12345", "email": "w@example.com"}, ["recipient.email"]),
        ("Wang Wei", ["recipient"]),
        ({"phone": "13800138000"}, ["recipient.name"]),
        ({"name": ""}, ["recipient.name"]),
        ({"name": "x" * 201}, ["recipient.name"]),
        ({"name": "W", "phone": "call me maybe"}, ["recipient.phone"]),
        ({"name": "W", "phone": "123"}, ["recipient.phone"]),
        ({"name": "W", "phone": 13800138000}, ["recipient.phone"]),
        ({"name": "W", "address": "a" * 501, "notes": "n" * 501},
         ["recipient.address", "recipient.notes"]),
        ({"name": "W\u0007", "notes": ["x"]}, ["recipient.name", "recipient.notes"]),
    ]
    for rcp, want in cases:
        r = post(d, body_of(sku, recipient=rcp))
        assert fields(r) == want, (rcp, r)
    assert state(w) == before
    # At the limits: accepted.
    r = post(d, body_of(sku, recipient={"name": "名" * 200, "address": "a" * 500,
                                        "notes": "", "phone": "+1 (555) 010-0199"}))
    assert r.status == 201, r


def test_a_retry_with_an_unknown_member_is_422_and_the_key_still_replays(w):
    """Unknown members never reach the idempotency hash: a retry that adds
    one is refused as invalid (not compared with the stored body, not a new
    order), and the original retry still replays the first answer."""
    d = daemon(w)
    sku = new_sku(w, n=1)
    key = "retry-" + uuid.uuid4().hex
    body = body_of(sku)
    first = post(d, body, key=key)
    assert first.status == 201, first
    after_first = state(w)
    r = post(d, dict(body, comment="second try"), key=key)
    assert fields(r) == ["comment"], r
    assert state(w) == after_first
    again = post(d, body, key=key)
    assert again.status == 201 and again.body == first.body, (first, again)
    assert again.headers.get("idempotent-replayed") == "true", again.headers
    assert state(w) == after_first
    assert sql(w, f"SELECT count(*) FROM orders WHERE idempotency_key = '{key}'") == "1"


def test_duplicate_keys_are_400_and_change_nothing(w):
    d = daemon(w)
    sku = new_sku(w)
    before = state(w)
    good = json.dumps(body_of(sku))
    raws = [
        good[:-1] + ', "external_id": "SHOP-twice"}',
        good[:-1] + ', "lines": [{"sku": "%s", "qty": 5}]}' % sku,
        good.replace('"lat": ', '"lat": 1, "lat": ', 1),
        good.replace('"qty": 1', '"qty": 1, "qty": 2', 1),
    ]
    for raw in raws:
        r = post(d, raw=raw)
        assert "duplicate" in problem(r, 400)["detail"], (raw, r)
    assert state(w) == before


def test_invalid_utf8_and_nul_are_400_and_change_nothing(w):
    d = daemon(w)
    sku = new_sku(w)
    before = state(w)
    good = json.dumps(body_of(sku, external_id="SHOP-X")).encode()
    raws = [
        good.replace(b"SHOP-X", b"SHOP-\xff"),
        good.replace(b"SHOP-X", b"SHOP-\xc0\xaf"),           # overlong '/'
        good.replace(b"SHOP-X", b"SHOP-\xed\xa0\x80"),       # a UTF-16 surrogate
        good.replace(b"SHOP-X", b"SHOP-\xe5\x8c"),           # cut short
        good.replace(b"SHOP-X", b"SHOP-\\u0000X"),
        good.replace(b"SHOP-X", b"SHOP-\x00X"),
        good.replace(sku.encode(), sku.encode() + b"\\u0000"),
        good.replace(b'"external_id"', b'"external_id\\u0000"'),
        good.replace(b"SHOP-X", b"SHOP-\\ud800"),            # a lone surrogate escape
    ]
    for raw in raws:
        r = post(d, raw=raw)
        assert "malformed JSON" in problem(r, 400)["detail"], (raw, r)
    assert state(w) == before


def test_more_lines_than_allowed_is_422(w):
    d = daemon(w)
    tag = uuid.uuid4().hex[:8]
    skus = [f"L-{tag}-{i}" for i in range(65)]
    sql(w, f"INSERT INTO skus (sku, name, category, weight_g, volume_ml, large) "
           f"SELECT 'L-{tag}-' || i, 'test', 'test', 10, 100, false FROM generate_series(0, 64) i;"
           f"INSERT INTO stock SELECT '{RDC}', 'L-{tag}-' || i, 5, 0, 5 "
           f"FROM generate_series(0, 64) i")
    before = state(w)
    lines = [{"sku": s, "qty": 1} for s in skus]
    r = post(d, body_of(skus[0], lines=lines))
    assert fields(r) == ["lines"], r
    assert r.json()["errors"][0]["message"] == "must be an array of 1 to 64 lines", r
    assert state(w) == before
    # 64 is the limit, not one below it.
    r = post(d, body_of(skus[0], lines=lines[:64]))
    assert r.status == 201, r
    assert len(r.json()["lines"]) == 64, r


def test_sql_metacharacters_are_refused_in_ids_and_kept_verbatim_in_text(w):
    d = daemon(w)
    sku = new_sku(w)
    before = state(w)
    evil = "x';DROP/**/TABLE/**/stock;--"
    cases = [
        (body_of(evil), ["lines[0].sku"]),
        (body_of(sku, lines=[{"sku": sku + "' OR '1'='1", "qty": 1}]), ["lines[0].sku"]),
        (body_of(sku, station_id="bj-st-001';DELETE/**/FROM/**/orders;--"), ["station_id"]),
    ]
    for body, want in cases:
        r = post(d, body)
        assert fields(r) == want, (body, r)
    r = post(d, body_of(sku), key="'; DROP TABLE orders; --")  # spaces: not a key
    assert fields(r) == ["Idempotency-Key"], r
    assert state(w) == before
    # An id in the path is matched, decoded and looked up as data.
    assert problem(d.get("/v1/orders/x%27%3BDROP%2F**%2FTABLE%2F**%2Forders%3B--"), 404)
    # Free text and a key of visible characters are stored as given.
    ext = "x'); DELETE FROM stock; -- \"quoted\" \\ back"
    key = "k';DROP/**/TABLE/**/idempotency_keys;--"
    r = post(d, body_of(sku, external_id=ext), key=key)
    assert r.status == 201 and r.json()["external_id"] == ext, r
    g = d.get("/v1/orders/" + r.json()["id"])
    assert g.status == 200 and g.json()["external_id"] == ext, g
    stored = sql(w, "SELECT count(*) FROM orders WHERE idempotency_key = "
                    "'k'';DROP/**/TABLE/**/idempotency_keys;--'")
    assert stored == "1", stored
    after = state(w).split("|")
    want = before.split("|")
    assert after[4:6] == want[4:6], (before, after)  # stock rows and on-hand untouched
    assert int(after[0]) == int(want[0]) + 1, (before, after)


def test_a_nul_in_a_path_id_matches_no_route(w):
    """%00 in an {id} used to end the C string there: the PUT below set the
    stock of bj-rdc-01 itself. Now no route matches."""
    d = daemon(w)
    sku = new_sku(w, n=10)
    before = state(w)
    r = d.request("PUT", f"/v1/warehouses/{RDC}%00junk/stock/{sku}", body={"on_hand": 3})
    assert problem(r, 404)["detail"] == "no such resource", r
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}%00", body={"on_hand": 3})
    assert problem(r, 404)["detail"] == "no such resource", r
    assert problem(d.get("/v1/orders/ord_1%00x"), 404)["detail"] == "no such resource"
    assert state(w) == before
    # The same request without the NUL does change the stock: the route is right.
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}", body={"on_hand": 3})
    assert r.status == 200 and r.json()["on_hand"] == 3, r


if __name__ == "__main__":
    harness.run(globals())
