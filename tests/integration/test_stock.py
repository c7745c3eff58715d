"""Stock administration and the seed catalogue: dispatchctl seed (idempotent,
all-or-nothing, warehouses must exist), PUT /v1/warehouses/{id}/stock/{sku}
(available moves by the delta, never below what is reserved) and
GET /v1/warehouses/{id}/stock (paged)."""
import os
import subprocess

import harness
from test_orders import CATALOGUE, CTL, FDC, NETWORK, RDC, daemon, new_sku, order_body, post, \
    sql, stock_row


def seed(dsn, catalogue=CATALOGUE):
    return subprocess.run([CTL, "seed", "--catalogue", catalogue, "--dsn", dsn],
                          capture_output=True, text=True)


def fresh_db(w, name):
    w.pg.psql("postgres", f"CREATE DATABASE {name} OWNER dispatchd")
    dsn = w.pg.dsn.replace("dbname=dispatchd", f"dbname={name}")
    assert harness.migrate(dsn).returncode == 0
    return dsn


def test_seed_needs_the_warehouses_and_loads_nothing_otherwise(w):
    dsn = fresh_db(w, "noareas")
    r = seed(dsn)
    assert r.returncode == 1 and "import the warehouse areas first" in r.stderr, r.stderr
    assert w.pg.psql("noareas", "SELECT (SELECT count(*) FROM skus) + (SELECT count(*) FROM stock)") == "0"


def test_seed_is_idempotent_and_keeps_live_stock(w):
    dsn = fresh_db(w, "seeded")
    r = subprocess.run([CTL, "areas", "import", NETWORK, "--kind", "warehouse", "--dsn", dsn],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = seed(dsn)
    assert r.returncode == 0, r.stderr
    assert "268 SKU(s): 268 new" in r.stdout and "646 new" in r.stdout, r.stdout
    q = lambda s: w.pg.psql("seeded", s)
    assert q("SELECT count(*) FROM skus WHERE large") != "0"
    assert q("SELECT weight_g FROM skus WHERE sku = 'SKU-00001'") == "195"
    assert q("SELECT count(DISTINCT warehouse_id) FROM stock") == "4"
    q("UPDATE stock SET on_hand = on_hand + 5, reserved = 5 WHERE sku = 'SKU-00001' "
      "AND warehouse_id = 'bj-rdc-01'")
    before = q("SELECT on_hand, reserved, available FROM stock WHERE sku = 'SKU-00001' "
               "AND warehouse_id = 'bj-rdc-01'")
    r = seed(dsn)
    assert r.returncode == 0 and "0 new, 0 updated" in r.stdout and "646 already" in r.stdout, r.stdout
    assert q("SELECT on_hand, reserved, available FROM stock WHERE sku = 'SKU-00001' "
             "AND warehouse_id = 'bj-rdc-01'") == before
    # A broken file loads nothing, not even the good lines before it.
    bad = os.path.join(w.root, "badcat")
    os.makedirs(bad)
    with open(os.path.join(CATALOGUE, "skus.csv")) as f:
        lines = f.read().splitlines()
    with open(os.path.join(bad, "skus.csv"), "w") as f:
        f.write("\n".join(lines[:3] + ["SKU-X,Broken,phones,heavy,1,0,0,1,A"]) + "\n")
    with open(os.path.join(bad, "stock.csv"), "w") as f:
        f.write("warehouse_id,sku,on_hand\n")
    q("UPDATE skus SET name = 'renamed' WHERE sku = 'SKU-00001'")
    r = seed(dsn, bad)
    assert r.returncode == 1 and "line 4" in r.stderr, r.stderr
    assert q("SELECT name FROM skus WHERE sku = 'SKU-00001'") == "renamed"


def test_put_stock_moves_available_by_the_delta(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10})
    assert post(d, order_body([(sku, 4)])).status == 201
    assert stock_row(w, RDC, sku) == (10, 4, 6)
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}", body={"on_hand": 25})
    assert r.status == 200, r
    assert r.json() == {"warehouse": RDC, "sku": sku, "on_hand": 25, "reserved": 4,
                        "available": 21}, r
    assert stock_row(w, RDC, sku) == (25, 4, 21)
    # Down to exactly what is reserved is fine; below is refused.
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}", body={"on_hand": 4})
    assert r.status == 200 and r.json()["available"] == 0, r
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}", body={"on_hand": 3})
    assert r.status == 409 and r.json()["stock"]["reserved"] == 4, r
    assert stock_row(w, RDC, sku) == (4, 4, 0)
    # A warehouse that had none gets a row; the next order can use it.
    r = d.request("PUT", f"/v1/warehouses/{FDC}/stock/{sku}", body={"on_hand": 7})
    assert r.status == 200 and r.json()["available"] == 7, r
    o = post(d, order_body([(sku, 2)]))
    assert o.status == 201 and o.json()["shipments"][0]["warehouse"] == FDC, o
    assert stock_row(w, FDC, sku) == (7, 2, 5)


def test_put_stock_rejects_bad_input_and_changes_nothing(w):
    d = daemon(w)
    sku = new_sku(w, {RDC: 10})
    for body in ({"on_hand": -1}, {"on_hand": 1.5}, {"on_hand": "7"}, {}, {"on_hand": 10**10}):
        r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}", body=body)
        assert r.status == 422 and r.json()["errors"][0]["field"] == "on_hand", (body, r)
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/{sku}", body="nope",
                  headers={"Content-Type": "application/json"})
    assert r.status == 400, r
    r = d.request("PUT", f"/v1/warehouses/bj-nowhere/stock/{sku}", body={"on_hand": 1})
    assert r.status == 404 and "warehouse" in r.json()["detail"], r
    r = d.request("PUT", f"/v1/warehouses/{RDC}/stock/NO-SUCH", body={"on_hand": 1})
    assert r.status == 404 and "SKU" in r.json()["detail"], r
    assert stock_row(w, RDC, sku) == (10, 0, 10)
    assert sql(w, "SELECT count(*) FROM stock WHERE warehouse_id = 'bj-nowhere'") == "0"


def test_get_stock_pages_through_a_warehouse(w):
    d = daemon(w)
    total = int(sql(w, f"SELECT count(*) FROM stock WHERE warehouse_id = '{FDC}'"))
    seen, after = [], ""
    while True:
        r = d.get(f"/v1/warehouses/{FDC}/stock?limit=50" + (f"&after={after}" if after else ""))
        assert r.status == 200, r
        page = r.json()
        assert page["warehouse"] == FDC
        seen += page["items"]
        if page["next"] is None:
            break
        after = page["next"]
    assert len(seen) == total and [i["sku"] for i in seen] == sorted(i["sku"] for i in seen)
    one = seen[0]
    assert one["available"] + one["reserved"] == one["on_hand"], one
    # A last page that is exactly full says so: next is null.
    r = d.get(f"/v1/warehouses/{FDC}/stock?limit={total}")
    assert len(r.json()["items"]) == total and r.json()["next"] is None, r
    r = d.get(f"/v1/warehouses/{FDC}/stock?limit={total - 1}")
    assert r.json()["next"] == seen[total - 2]["sku"], r
    assert d.get("/v1/warehouses/bj-nowhere/stock").status == 404
    assert d.get(f"/v1/warehouses/{FDC}/stock?limit=0").status == 422
    assert d.request("DELETE", f"/v1/warehouses/{FDC}/stock").status == 405


if __name__ == "__main__":
    harness.run(globals())
