"""Service areas end to end: dispatchctl areas import (validate, repair,
report, all-or-nothing), the daemon loading them at start and on SIGHUP,
and GET /v1/locate, /v1/stations, /v1/stations/{id}."""
import json
import os
import random
import signal
import subprocess

import harness

CTL = os.path.join(harness.BUILD_DIR, "dispatchctl")
DISTRICTS = os.path.join(harness.SOURCE_DIR, "data", "cities", "beijing.geojson")
NETWORK = os.path.join(harness.SOURCE_DIR, "data", "beijing", "network.geojson")


def areas_import(w, path, kind, *extra):
    return subprocess.run([CTL, "areas", "import", path, "--kind", kind, "--dsn", w.pg.dsn]
                          + list(extra), capture_output=True, text=True)


def count(w, kind):
    return int(w.pg.psql("dispatchd", f"SELECT count(*) FROM areas WHERE kind = '{kind}'"))


def write(w, name, doc):
    path = os.path.join(w.root, name)
    with open(path, "w") as f:
        f.write(doc if isinstance(doc, str) else json.dumps(doc))
    return path


def square(fid, x0, y0, size=0.01, props=None):
    ring = [[x0, y0], [x0 + size, y0], [x0 + size, y0 + size], [x0, y0 + size], [x0, y0]]
    return {"type": "Feature", "id": fid, "properties": dict(props or {}, name=fid),
            "geometry": {"type": "Polygon", "coordinates": [ring]}}


def test_locate_before_any_import_is_503(w):
    d = w.daemon()
    harness.wait_until(lambda: d.get("/readyz").status == 200, what="ready")
    r = d.get("/v1/locate?lat=39.9&lon=116.4")
    assert r.status == 503 and "no service areas" in r.json()["detail"], r
    assert d.get("/v1/stations").status == 503
    assert d.get("/readyz").json()["checks"]["areas"]["loaded"] is False


def test_dry_run_reports_repairs_and_imports_nothing(w):
    r = areas_import(w, DISTRICTS, "district", "--dry-run")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    rep = report["sets"][0]["report"]
    assert rep["areas"] == 16 and rep["repaired"] >= 10, rep
    bad = [f for f in rep["features"] if not f["valid"]]
    assert bad and bad[0]["reason"] and bad[0]["action"] == "make_valid", bad[:1]
    assert count(w, "district") == 0


def test_bad_files_import_nothing(w):
    assert areas_import(w, DISTRICTS, "district").returncode == 0
    before = count(w, "district")
    cases = {
        "truncated.json": '{"type":"FeatureCollection","features":[',
        "point.json": {"type": "FeatureCollection", "features": [
            square("a", 116.0, 39.0),
            {"type": "Feature", "id": "p", "properties": {},
             "geometry": {"type": "Point", "coordinates": [116.0, 39.0]}}]},
        "range.json": {"type": "FeatureCollection", "features": [square("a", 181.0, 39.0)]},
        "dup.json": {"type": "FeatureCollection", "features": [square("a", 116.0, 39.0),
                                                                square("a", 116.1, 39.0)]},
        "unclosed.json": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "u", "properties": {},
             "geometry": {"type": "Polygon", "coordinates": [[[116, 39], [116.1, 39], [116.1, 39.1]]]}}]},
    }
    for name, doc in cases.items():
        r = areas_import(w, write(w, name, doc), "district")
        assert r.returncode != 0, (name, r.stdout[-500:])
        assert r.stderr.strip(), name
        assert count(w, "district") == before, name
    r = areas_import(w, write(w, "point2.json", cases["point.json"]), "district")
    assert "feature 1" in r.stderr and "\"p\"" in r.stderr, r.stderr


def test_import_network_and_locate(w):
    for kind, path in (("district", DISTRICTS), ("station", NETWORK), ("warehouse", NETWORK)):
        r = areas_import(w, path, kind)
        assert r.returncode == 0, (kind, r.stderr)
    assert count(w, "station") == 80 and count(w, "rdc") == 1 and count(w, "fdc") == 3
    # Operators can query the records with PostGIS.
    inside = w.pg.psql("dispatchd", "SELECT id FROM stations WHERE ST_Contains(geom, "
                                    "ST_SetSRID(ST_MakePoint(116.3975, 39.9087), 4326))")
    d = w.daemon()
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    r = d.get("/v1/locate?lat=39.9087&lon=116.3975")
    assert r.status == 200, r
    body = r.json()
    assert body["station"]["id"] == inside, (body, inside)
    assert body["district"]["id"] == "110101" and body["match"] == "inside"
    kinds = [x["kind"] for x in body["warehouses"]]
    assert kinds[0] == "rdc" and "fdc" in kinds, body
    # Random points over the city all resolve, and agree with PostGIS when inside.
    rnd = random.Random(7)
    for _ in range(40):
        lon, lat = rnd.uniform(116.2, 116.6), rnd.uniform(39.8, 40.05)
        r = d.get(f"/v1/locate?lat={lat}&lon={lon}")
        assert r.status == 200, r
        pg = w.pg.psql("dispatchd", "SELECT id FROM stations WHERE ST_Contains(geom, "
                                    f"ST_SetSRID(ST_MakePoint({lon}, {lat}), 4326))")
        if pg:
            assert r.json()["station"]["id"] == pg, (lon, lat, r.json()["station"], pg)
    r = d.get("/v1/locate?lat=31.2304&lon=121.4737")
    assert r.status == 422 and "outside coverage" in r.json()["detail"], r
    r = d.get("/v1/locate?lat=95&lon=x")
    assert r.status == 422 and {e["field"] for e in r.json()["errors"]} == {"lat", "lon"}, r
    r = d.get("/v1/locate?lat=39.9")
    assert r.status == 422 and r.json()["errors"][0]["field"] == "lon", r
    r = d.get("/v1/stations")
    assert r.json()["count"] == 80
    r = d.get("/v1/stations/bj-st-001")
    assert r.status == 200 and r.json()["area"]["type"] in ("Polygon", "MultiPolygon"), r
    assert d.get("/v1/stations/bj-st-999").status == 404


def test_sighup_loads_new_areas(w):
    d = w.daemon()
    harness.wait_until(lambda: d.get("/v1/stations").status == 200, what="areas loaded")
    # Replace the stations with two squares of our own.
    doc = {"type": "FeatureCollection", "features": [
        square("zz-a", 116.30, 39.90, 0.05, {"kind": "station", "district": "110101"}),
        square("zz-b", 116.35, 39.90, 0.05, {"kind": "station", "district": "110101"})]}
    assert areas_import(w, write(w, "two.json", doc), "station").returncode == 0
    assert d.get("/v1/stations").json()["count"] == 80  # not before a reload
    d.signal(signal.SIGHUP)
    harness.wait_until(lambda: d.get("/v1/stations").json()["count"] == 2, what="new areas")
    assert d.get("/v1/locate?lat=39.92&lon=116.37").json()["station"]["id"] == "zz-b"
    # A gap just outside both squares, within 500 m, goes to the nearest.
    r = d.get("/v1/locate?lat=39.953&lon=116.36")
    assert r.status == 200 and r.json()["match"] == "nearest", r


if __name__ == "__main__":
    harness.run(globals())
