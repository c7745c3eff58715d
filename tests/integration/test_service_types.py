"""The published after-sales price lists (issue 12 part P0): GET
/v1/service-types[?category=C], public (no token), rendered from the
[service.CATEGORY.TYPE] sections of the running config: money as text and
as integer fen, exactly; a category filter (unknown: an empty list; not a
category name: 422); no sections, no service types; a reload (SIGHUP)
publishes the new lists, and a refused one keeps the old."""
import harness

SERVICES = """
[services]
windows = 09:00-13:00/2, 14:00-18:00/2
late_compensation = 50.00
[service.large_appliances.installation]
duration_minutes = 90
base_fee = 120.00
free = true                   ; the base fee is waived
extra = pipe_extension, m, 15.00, 10        ; code, unit, price, max quantity
extra = work_at_height, visit, 0.10, 1
extra = old_appliance_removal, unit, 0.2, 1
[service.large_appliances.repair]
duration_minutes = 60
base_fee = 80
extra = replacement_part, unit, 300.00, 3
[service.small_appliances.cleaning]
duration_minutes = 45
base_fee = 29.90
[returns]
window_days = 7
"""

INSTALLATION = {
    "category": "large_appliances", "type": "installation", "duration_minutes": 90,
    "currency": "CNY", "base_fee": "120.00", "base_fee_fen": 12000, "free": True,
    "extras": [
        {"code": "pipe_extension", "unit": "m", "price": "15.00", "price_fen": 1500,
         "max_qty": 10},
        {"code": "work_at_height", "unit": "visit", "price": "0.10", "price_fen": 10,
         "max_qty": 1},
        {"code": "old_appliance_removal", "unit": "unit", "price": "0.20", "price_fen": 20,
         "max_qty": 1},
    ]}
REPAIR = {
    "category": "large_appliances", "type": "repair", "duration_minutes": 60,
    "currency": "CNY", "base_fee": "80.00", "base_fee_fen": 8000, "free": False,
    "extras": [{"code": "replacement_part", "unit": "unit", "price": "300.00",
                "price_fen": 30000, "max_qty": 3}]}
CLEANING = {
    "category": "small_appliances", "type": "cleaning", "duration_minutes": 45,
    "currency": "CNY", "base_fee": "29.90", "base_fee_fen": 2990, "free": False,
    "extras": []}


def list_types(d, query="", **kw):
    r = d.get("/v1/service-types" + query, token=kw.pop("token", None), **kw)
    assert r.status == 200, r
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    return r.json()


def test_price_lists_are_published_exactly(w):
    d = w.daemon(extra_conf=SERVICES)
    # Anonymous: a published price list needs no token. Config order.
    assert list_types(d) == {"currency": "CNY",
                             "service_types": [INSTALLATION, REPAIR, CLEANING]}
    # Any token sees the same.
    assert list_types(d, token=w.token("courier", "c-1")) == list_types(d)


def test_category_filter(w):
    d = w.daemon(extra_conf=SERVICES)
    assert list_types(d, "?category=large_appliances") == {
        "currency": "CNY", "service_types": [INSTALLATION, REPAIR]}
    assert list_types(d, "?category=small_appliances")["service_types"] == [CLEANING]
    assert list_types(d, "?category=phones") == {"currency": "CNY", "service_types": []}
    for bad in ("Large", "large-appliances", "", "x" * 64):
        r = d.get(f"/v1/service-types?category={bad}", token=None)
        assert r.status == 422, (bad, r)
        p = r.json()
        assert p["type"] == "urn:dispatchd:problem:validation-failed", p
        assert p["errors"] == [{"field": "category", "message": "must be [a-z0-9_]{1,63}"}], p


def test_no_service_sections_no_service_types(w):
    d = w.daemon()
    assert list_types(d) == {"currency": "CNY", "service_types": []}


def test_reload_publishes_the_new_lists(w):
    d = w.daemon(extra_conf=SERVICES)
    assert list_types(d, "?category=large_appliances")["service_types"][1] == REPAIR
    d.reload(SERVICES.replace("base_fee = 80\n", "base_fee = 85.50\nfree = true\n"))
    repair = list_types(d, "?category=large_appliances")["service_types"][1]
    assert repair == dict(REPAIR, base_fee="85.50", base_fee_fen=8550, free=True), repair
    # A refused reload (an extra code twice) keeps the running lists.
    series = 'dispatchd_config_reloads_total{result="failed"}'
    failed = d.metric(series)
    d.extra_conf = SERVICES + "[service.phones.repair]\nduration_minutes = 30\nbase_fee = 1\n" \
        "extra = screen, unit, 1.00, 1\nextra = screen, unit, 2.00, 1\n"
    d.write_conf()
    d.signal(harness.signal.SIGHUP)
    harness.wait_until(lambda: d.metric(series) > failed, what="the refused reload")
    assert "[service.phones.repair] extra: the code 'screen' is listed twice" in d.log()
    assert list_types(d, "?category=phones")["service_types"] == []
    assert list_types(d, "?category=large_appliances")["service_types"][1]["base_fee_fen"] == 8550


if __name__ == "__main__":
    harness.run(globals())
