"""Cash on delivery (issue 13, part C1; docs/api.md "Cash on delivery"): an
order's payment {method, amount, currency} (decimal strings, integer fen in
storage, never floats), shown on the order, the tracking page and the
courier's route; the delivered event's collection (method, amount,
reference, short_reason) into the append-only cod_ledger with the order
event payment.collected. Couriers, plans and stops are the SQL fixtures of
test_handheld.py."""
import json
import uuid

import harness
import test_handheld as hh
from test_handheld import courier, event, hd, plan, route, stop
from test_orders import order_body, post, sql
from test_shipments import new_sku, FDC

COD = {"method": "cod", "amount": "1299.00", "currency": "CNY"}


def cod_order(w, d, amount="1299.00", method="cod", at_station=True):
    """A fresh order placed with a payment; with at_station its shipment is
    at the station (ready for a stop). Returns the 201 document."""
    sku = new_sku(w, {FDC: 10})
    pay = {"method": method, "currency": "CNY"}
    if method == "cod":
        pay["amount"] = amount
    r = post(d, order_body([(sku, 1)], recipient=hh.RECIPIENT, payment=pay))
    assert r.status == 201, r
    o = r.json()
    if at_station:
        sql(w, f"UPDATE orders SET status = 'arrived_at_station' WHERE id = '{o['id']}'; "
               f"UPDATE shipments SET status = 'arrived_at_station' "
               f"WHERE order_id = '{o['id']}'")
    return o


def test_order_payment_is_stored_in_fen_and_shown(w):
    d = hd(w)
    sku = new_sku(w, {FDC: 10})
    body = order_body([(sku, 1)], recipient=hh.RECIPIENT, payment=COD)
    key = uuid.uuid4().hex
    r = post(d, body, key=key)
    assert r.status == 201, r
    o = r.json()
    want = {"method": "cod", "amount": "1299.00", "amount_fen": 129900, "currency": "CNY",
            "collected": None}
    assert o["payment"] == want, o
    assert sql(w, f"SELECT payment_method, cod_amount_fen FROM orders WHERE id = '{o['id']}'") \
        == "cod|129900"
    # The replay is byte for byte the 201.
    again = post(d, body, key=key)
    assert again.status == 201 and again.body == r.body, again
    # GET, the full tracking view and the public one show it.
    assert d.get(f"/v1/orders/{o['id']}").json()["payment"] == want
    assert d.get(f"/v1/orders/{o['id']}/tracking").json()["payment"] == want
    pub = d.get(f"/v1/track/{o['tracking_code']}", token=None)
    assert pub.status == 200 and pub.json()["payment"] == want, pub
    # Prepaid: nothing to collect. An order without a payment has no member.
    p = cod_order(w, d, method="prepaid", at_station=False)
    assert p["payment"] == {"method": "prepaid", "currency": "CNY", "collected": None}, p
    assert d.get(f"/v1/orders/{p['id']}").json()["payment"] == p["payment"]
    r = post(d, order_body([(sku, 1)]))
    assert r.status == 201 and "payment" not in r.json(), r
    assert "payment" not in d.get(f"/v1/orders/{r.json()['id']}").json()


def test_amounts_floats_cannot_hold_are_exact(w):
    d = hd(w)
    for amount, fen in (("0.10", 10), ("0.3", 30), ("0.01", 1), ("999999.99", 99999999),
                        ("1000000.00", 100000000), ("12", 1200)):
        o = cod_order(w, d, amount=amount, at_station=False)
        assert o["payment"]["amount_fen"] == fen, (amount, o)
        assert sql(w, f"SELECT cod_amount_fen FROM orders WHERE id = '{o['id']}'") == str(fen)


def test_bad_payment_is_422_naming_the_field(w):
    d = hd(w)
    sku = new_sku(w, {FDC: 10})
    cases = [
        ({"method": "cod", "amount": 1299.0, "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": 1299, "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "1299.001", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "-1.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "0.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "1000000.01", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": "99999999999999999999.00", "currency": "CNY"},
         "payment.amount"),
        ({"method": "cod", "amount": "1e3", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "amount": " 12.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cod", "currency": "CNY"}, "payment.amount"),
        ({"method": "prepaid", "amount": "12.00", "currency": "CNY"}, "payment.amount"),
        ({"method": "cash", "amount": "12.00", "currency": "CNY"}, "payment.method"),
        ({"method": "cod", "amount": "12.00", "currency": "USD"}, "payment.currency"),
        ({"method": "cod", "amount": "12.00"}, "payment.currency"),
        ({"method": "cod", "amount": "12.00", "currency": "CNY", "tip": "1"}, "payment.tip"),
        ("cod", "payment"),
        ([], "payment"),
    ]
    for pay, field in cases:
        r = post(d, order_body([(sku, 1)], payment=pay))
        assert r.status == 422, (pay, r)
        fields = [e["field"] for e in r.json()["errors"]]
        assert field in fields, (pay, fields)
    # Invalid UTF-8 in the body is refused before any member is read.
    raw = json.dumps(order_body([(sku, 1)], payment=COD)).replace("CNY", "C\udcffY",
                                                                    1).encode("utf-8",
                                                                              "surrogateescape")
    r = post(d, None, raw=raw)
    assert r.status in (400, 422), r
    assert sql(w, f"SELECT count(*) FROM order_lines WHERE sku = '{sku}'") == "0"


def test_the_route_shows_the_amount_to_collect(w):
    d = hd(w)
    ann, tok = courier(w, d)
    o = cod_order(w, d, amount="88.80")
    p = cod_order(w, d, method="prepaid")
    plan(w, hh.WAVE, [ann])
    s0 = stop(w, o["id"], ann, 0)
    s1 = stop(w, p["id"], ann, 1)
    doc = route(d, tok)
    by = {s["id"]: s for s in doc["stops"]}
    assert by[s0]["payment"] == {"method": "cod", "amount": "88.80", "amount_fen": 8880,
                                 "currency": "CNY", "collected": None}, by[s0]
    assert by[s1]["payment"]["method"] == "prepaid", by[s1]


if __name__ == "__main__":
    harness.run(globals())
