#!/usr/bin/env python3
"""The demo day's report: build/demo/day.json -> build/demo/report.html.

Owns the page a station manager looks at after `make demo`: the city map
(districts, station areas, warehouses, pickup points), the chosen station's
wave with each courier's route in its own colour and numbered stops, the day's
figures, the timelines of a sample parcel and of a sample installation visit,
and charts of orders per hour, on-time rate per station and courier
utilisation. One self-contained file: inline CSS and SVG, no script, nothing
fetched (its Content-Security-Policy forbids any fetch or script). Standard
library only.

day.json is the load generator's (issue 14); CONTRACT below is its shape, as
agreed between the two (money as decimal strings, coordinates [lon, lat]).
Every string in it came from the API and is escaped here. A day.json that does
not follow the contract stops the script with the path of the first missing or
mistyped member (exit status 2), and no page is written.

    python3 scripts/demo_report.py [DAY_JSON [REPORT_HTML]]

Defaults: $DISPATCH_BUILD_DIR (else build/ of this checkout) /demo/day.json
and /demo/report.html.
"""
import datetime
import decimal
import html
import json
import math
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Courier colours: distinct on white and for the usual colour blindnesses
# first (Okabe-Ito, then Tableau), cycled past 14 routes.
PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#7b3294",
           "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1", "#9c755f", "#76b7b2"]
# Local time of the cities the sample networks cover (hours east of UTC).
CITY_UTC_OFFSET_H = {"beijing": 8, "shanghai": 8, "guangzhou": 8, "shenzhen": 8}


class ContractError(Exception):
    """day.json does not follow the contract: .path names the member."""

    def __init__(self, path, what):
        super().__init__(f"{path}: {what}")
        self.path = path


# The contract of day.json, checked before any drawing. A spec is a type
# name, a dict of members, ("list", spec[, length]), ("map", spec) (any keys)
# or ("null_or", spec). Members the contract does not name are allowed (a
# newer generator may add some).
EVENT = {"at": "str", "kind": "str", "text": "str"}
CONTRACT = {
    "city": "str", "day": "str", "generated_at": "str",
    "figures": {
        "orders_accepted": "int", "orders_rejected": "int",
        "orders_rejected_by_reason": ("map", "int"),
        "split_shipments": "int", "on_time_pct": "num", "failed_deliveries": "int",
        "routes": "int", "stops_per_courier": "num", "km_per_courier": "num",
        "planner_ms_p95": "num", "engineer_jobs": "int", "returns_picked_up": "int",
        "cod_collected_cny": "money", "pickups_collected": "int",
        "webhooks_delivered": "int"},
    "districts": ("list", {"id": "str", "name": "str", "geometry": "polygonal"}),
    "stations": ("list", {"id": "str", "name": "str", "point": "point",
                          "area": ("null_or", "polygonal")}),
    "warehouses": ("list", {"id": "str", "name": "str", "point": "point"}),
    "pickup_points": ("list", {"id": "str", "name": "str", "point": "point"}),
    "chosen_routes": {
        "station": "str", "wave": "str",
        "routes": ("list", {
            "courier": "str", "vehicle": "str", "km": "num",
            "path": ("list", "point"),
            "stops": ("list", {"seq": "int", "order": "str", "kind": "str",
                               "point": "point", "eta": "str", "status": "str"})})},
    "sample_parcel": {"order": "str", "tracking_code": "str", "events": ("list", EVENT)},
    "sample_visit": {
        "appointment": "str", "engineer": "str", "window": "str", "arrived_at": "str",
        "duration_min": "num",
        "charges": ("list", {"code": "str", "qty": "int", "unit_price": "money"}),
        "total": "money", "events": ("list", EVENT)},
    "orders_per_hour": ("list", "int", 24),
    "on_time_by_station": ("list", {"station": "str", "delivered": "int", "on_time": "int",
                                    "pct": "num"}),
    "courier_utilisation": ("list", {"courier": "str", "station": "str", "busy_min": "num",
                                     "shift_min": "num", "pct": "num"}),
}


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _check_ring_list(v, depth):
    """Nested coordinate lists of a Polygon (depth 2) or MultiPolygon (3)."""
    if depth == 0:
        return (isinstance(v, list) and len(v) >= 2 and _is_num(v[0]) and _is_num(v[1]))
    return isinstance(v, list) and all(_check_ring_list(x, depth - 1) for x in v)


def _check(v, spec, path):
    if isinstance(spec, dict):
        if not isinstance(v, dict):
            raise ContractError(path or "day.json", f"expected an object, got {_kind(v)}")
        for key, sub in spec.items():
            p = f"{path}.{key}" if path else key
            if key not in v:
                raise ContractError(p, "missing member")
            _check(v[key], sub, p)
        return
    if isinstance(spec, tuple):
        if spec[0] == "null_or":
            if v is not None:
                _check(v, spec[1], path)
            return
        if spec[0] == "map":
            if not isinstance(v, dict):
                raise ContractError(path, f"expected an object, got {_kind(v)}")
            for key, item in v.items():
                _check(item, spec[1], f"{path}.{key}")
            return
        if not isinstance(v, list):
            raise ContractError(path, f"expected an array, got {_kind(v)}")
        if len(spec) > 2 and len(v) != spec[2]:
            raise ContractError(path, f"expected {spec[2]} items, got {len(v)}")
        for i, item in enumerate(v):
            _check(item, spec[1], f"{path}[{i}]")
        return
    ok = {
        "str": lambda: isinstance(v, str),
        "int": lambda: isinstance(v, int) and not isinstance(v, bool),
        "num": lambda: _is_num(v),
        "money": lambda: isinstance(v, str) and _money(v) is not None,
        "point": lambda: _check_ring_list(v, 0) and -180 <= v[0] <= 180 and -90 <= v[1] <= 90,
        "polygonal": lambda: (isinstance(v, dict) and (
            (v.get("type") == "Polygon" and _check_ring_list(v.get("coordinates"), 2)) or
            (v.get("type") == "MultiPolygon" and
             _check_ring_list(v.get("coordinates"), 3)))),
    }[spec]()
    if not ok:
        want = {"str": "a string", "int": "an integer", "num": "a number",
                "money": 'a decimal string such as "123.40"', "point": "[lon, lat]",
                "polygonal": "a GeoJSON Polygon or MultiPolygon"}[spec]
        raise ContractError(path, f"expected {want}, got {_kind(v)} {_short(v)}")


def _kind(v):
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number", type(None): "null"}.get(type(v), "a value")


def _short(v):
    s = json.dumps(v, ensure_ascii=False)
    return s if len(s) <= 40 else s[:37] + "..."


def _money(s):
    try:
        d = decimal.Decimal(s)
    except (decimal.InvalidOperation, TypeError):
        return None
    return d if d.is_finite() else None


def check_contract(day):
    """Raises ContractError naming the first member of day that breaks the contract."""
    _check(day, CONTRACT, "")


def esc(v):
    """Any value from day.json as HTML text or attribute content."""
    return html.escape(str(v), quote=True)


# ---- time -------------------------------------------------------------------------------

class Clock:
    """Shows the API's RFC 3339 times in the city's local time."""

    def __init__(self, day):
        off = CITY_UTC_OFFSET_H.get(day["city"].strip().lower())
        self.tz = datetime.timezone(datetime.timedelta(hours=off)) if off is not None else None
        self.day = day["day"]

    def parse(self, s):
        try:
            t = datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))
        except ValueError:
            return None
        if t.tzinfo is not None and self.tz is not None:
            t = t.astimezone(self.tz)
        return t

    def hm(self, s):
        """HH:MM on the report's day, MM-DD HH:MM on another, the text itself if unparsable."""
        t = self.parse(s)
        if t is None:
            return s
        if t.date().isoformat() == self.day:
            return t.strftime("%H:%M")
        return t.strftime("%m-%d %H:%M")

    def full(self, s):
        """YYYY-MM-DD HH:MM and the UTC offset shown, the text itself if unparsable."""
        t = self.parse(s)
        if t is None or t.tzinfo is None:
            return s
        off = t.strftime("%z")
        return t.strftime("%Y-%m-%d %H:%M") + f" (UTC{off[:3]}:{off[3:]})"


# ---- map --------------------------------------------------------------------------------

def _rings(geom):
    """Every ring of a Polygon or MultiPolygon."""
    if geom["type"] == "Polygon":
        return list(geom["coordinates"])
    return [ring for poly in geom["coordinates"] for ring in poly]


class Projection:
    """Equirectangular, x scaled by cos(latitude of the centre), fitted into w x h px."""

    def __init__(self, points, w, h, pad=0.06):
        lons = [p[0] for p in points]
        lats = [p[1] for p in points]
        lon0, lon1, lat0, lat1 = min(lons), max(lons), min(lats), max(lats)
        self.k = math.cos(math.radians((lat0 + lat1) / 2))
        # At least about 500 m across: one point alone is not drawn at the scale of metres.
        span_x = max((lon1 - lon0) * self.k, 0.0045)
        span_y = max(lat1 - lat0, 0.0045)
        self.s = min(w * (1 - 2 * pad) / span_x, h * (1 - 2 * pad) / span_y)
        self.cx, self.cy = (lon0 + lon1) / 2, (lat0 + lat1) / 2
        self.w, self.h = w, h

    def xy(self, p):
        return (self.w / 2 + (p[0] - self.cx) * self.k * self.s,
                self.h / 2 - (p[1] - self.cy) * self.s)

    def path(self, coords, closed):
        """An SVG path for a line or a ring, points closer than half a pixel dropped."""
        out = []
        last = None
        for p in coords:
            x, y = self.xy(p)
            if last is not None and abs(x - last[0]) < 0.5 and abs(y - last[1]) < 0.5:
                continue
            out.append(f"{'L' if out else 'M'}{x:.1f} {y:.1f}")
            last = (x, y)
        return "".join(out) + ("Z" if closed and out else "")

    def area(self, geom):
        """An SVG path for every ring of a Polygon or MultiPolygon."""
        return "".join(self.path(ring, True) for ring in _rings(geom))

    def km_per_px(self):
        return 111.32 / self.s


def _scale_bar(proj, w, h):
    """A round length about a fifth of the map wide, bottom left."""
    target = proj.km_per_px() * w / 5
    step = 10 ** math.floor(math.log10(target))
    km = max(m * step for m in (1, 2, 5) if m * step <= target)
    px = km / proj.km_per_px()
    label = f"{km:g} km" if km >= 1 else f"{km * 1000:g} m"
    x, y = 14, h - 16
    return (f'<g class="scale"><path d="M{x} {y - 5}V{y}H{x + px:.1f}V{y - 5}" fill="none" '
            f'stroke="#333" stroke-width="1.5"/><text x="{x + px / 2:.1f}" y="{y - 8}" '
            f'text-anchor="middle">{label}</text></g>')


def _marker(kind, x, y, title):
    t = f"<title>{esc(title)}</title>"
    if kind == "warehouse":
        return (f'<rect class="warehouse" x="{x - 6:.1f}" y="{y - 6:.1f}" width="12" '
                f'height="12">{t}</rect>')
    if kind == "pickup":
        return (f'<path class="pickup" d="M{x:.1f} {y - 6:.1f}l6 6l-6 6l-6 -6Z">{t}</path>')
    return f'<circle class="station" cx="{x:.1f}" cy="{y:.1f}" r="4">{t}</circle>'


def city_map(day, w=620, h=520):
    """Districts, station areas, warehouses and pickup points; the chosen routes' box."""
    pts = [p for d in day["districts"] for r in _rings(d["geometry"]) for p in r]
    pts += [x["point"] for k in ("stations", "warehouses", "pickup_points") for x in day[k]]
    if not pts:
        return "<p>No map: day.json has no districts, stations or warehouses.</p>"
    proj = Projection(pts, w, h)
    out = [f'<svg class="map" id="city-map" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'role="img" aria-label="{esc(day["city"])}: districts, stations, warehouses">']
    for d in day["districts"]:
        out.append(f'<path class="district" '
                   f'd="{proj.area(d["geometry"])}">'
                   f'<title>{esc(d["name"])} ({esc(d["id"])})</title></path>')
    chosen = day["chosen_routes"]["station"]
    for s in day["stations"]:
        if s["area"] is not None:
            cls = "area chosen" if s["id"] == chosen else "area"
            out.append(f'<path class="{cls}" '
                       f'd="{proj.area(s["area"])}">'
                       f'<title>{esc(s["name"])} ({esc(s["id"])})</title></path>')
    for d in day["districts"]:
        ring = max(_rings(d["geometry"]), key=len)
        x, y = proj.xy(_centroid(ring))
        out.append(f'<text class="district-name" x="{x:.1f}" y="{y:.1f}">{esc(d["name"])}</text>')
    rpts = _route_points(day)
    if rpts:
        xs, ys = zip(*(proj.xy(p) for p in rpts))
        out.append(f'<rect class="zoom" x="{min(xs) - 4:.1f}" y="{min(ys) - 4:.1f}" '
                   f'width="{max(xs) - min(xs) + 8:.1f}" height="{max(ys) - min(ys) + 8:.1f}">'
                   f'<title>the routes shown on the right</title></rect>')
    for s in day["stations"]:
        out.append(_marker("station", *proj.xy(s["point"]), f'station {s["name"]} ({s["id"]})'))
    for p in day["pickup_points"]:
        out.append(_marker("pickup", *proj.xy(p["point"]), f'pickup point {p["name"]} ({p["id"]})'))
    for wh in day["warehouses"]:
        x, y = proj.xy(wh["point"])
        out.append(_marker("warehouse", x, y, f'warehouse {wh["name"]} ({wh["id"]})'))
        # Labels right of the marker, left of it in the map's right third.
        lx, anchor = (x - 9, "end") if x > w * 2 / 3 else (x + 9, "start")
        out.append(f'<text class="label" x="{lx:.1f}" y="{y + 4:.1f}" text-anchor="{anchor}">'
                   f'{esc(wh["name"])}</text>')
    out.append(_scale_bar(proj, w, h))
    out.append("</svg>")
    return "".join(out)


def _centroid(ring):
    n = len(ring)
    return [sum(p[0] for p in ring) / n, sum(p[1] for p in ring) / n]


def _route_points(day):
    pts = []
    for r in day["chosen_routes"]["routes"]:
        pts += r["path"] + [s["point"] for s in r["stops"]]
    return pts


def _station(day, sid):
    return next((s for s in day["stations"] if s["id"] == sid), None)


def route_map(day, w=620, h=520):
    """The chosen station's wave: one coloured path per courier, numbered stops."""
    cr = day["chosen_routes"]
    station = _station(day, cr["station"])
    pts = _route_points(day) + ([station["point"]] if station else [])
    if not pts:
        return "<p>No routes in the chosen wave.</p>"
    proj = Projection(pts, w, h, pad=0.08)
    out = [f'<svg class="map" id="route-map" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'role="img" aria-label="routes of {esc(cr["station"])}, wave {esc(cr["wave"])}">',
           f'<clipPath id="route-clip"><rect width="{w}" height="{h}"/></clipPath>',
           '<g clip-path="url(#route-clip)">']
    for s in day["stations"]:
        if s["area"] is not None:
            cls = "area chosen" if s["id"] == cr["station"] else "area"
            out.append(f'<path class="{cls}" '
                       f'd="{proj.area(s["area"])}">'
                       f'<title>{esc(s["name"])}</title></path>')
    for d in day["districts"]:
        out.append(f'<path class="district-edge" '
                   f'd="{proj.area(d["geometry"])}"/>')
    sample = day["sample_parcel"]["order"]
    for i, r in enumerate(cr["routes"]):
        colour = PALETTE[i % len(PALETTE)]
        stops = sorted(r["stops"], key=lambda s: s["seq"])
        line = r["path"]
        if len(line) < 2:  # no street path: straight from the station through the stops
            home = [station["point"]] if station else []
            line = home + [s["point"] for s in stops] + home
        out.append(f'<path class="route" data-courier="{esc(r["courier"])}" stroke="{colour}" '
                   f'd="{proj.path(line, False)}"><title>{esc(r["courier"])} ({esc(r["vehicle"])}, '
                   f'{r["km"]:.1f} km, {len(stops)} stops)</title></path>')
    for i, r in enumerate(cr["routes"]):
        colour = PALETTE[i % len(PALETTE)]
        for s in sorted(r["stops"], key=lambda s: s["seq"]):
            x, y = proj.xy(s["point"])
            cls = "stop"
            if "fail" in s["status"]:
                cls += " failed"
            ring = ""
            if s["order"] == sample:
                ring = f'<circle class="sample-ring" cx="{x:.1f}" cy="{y:.1f}" r="13"/>'
            out.append(f'<g class="{cls}">{ring}<circle cx="{x:.1f}" cy="{y:.1f}" r="8" '
                       f'fill="{colour}"/><text x="{x:.1f}" y="{y + 3.5:.1f}">{s["seq"]}</text>'
                       f'<title>{esc(r["courier"])} stop {s["seq"]}: {esc(s["kind"])} '
                       f'{esc(s["order"])}, ETA {esc(s["eta"])}, {esc(s["status"])}</title></g>')
    for p in day["pickup_points"]:
        out.append(_marker("pickup", *proj.xy(p["point"]), f'pickup point {p["name"]}'))
    for wh in day["warehouses"]:
        out.append(_marker("warehouse", *proj.xy(wh["point"]), f'warehouse {wh["name"]}'))
    if station:
        x, y = proj.xy(station["point"])
        out.append(f'<g class="home"><rect x="{x - 9:.1f}" y="{y - 9:.1f}" width="18" height="18" '
                   f'rx="3"/><text x="{x:.1f}" y="{y + 4:.1f}">S</text>'
                   f'<title>station {esc(station["name"])} ({esc(station["id"])})</title></g>')
    out.append("</g>")
    out.append(_scale_bar(proj, w, h))
    out.append("</svg>")
    return "".join(out)


def route_legend(day, clock):
    cr = day["chosen_routes"]
    rows = []
    for i, r in enumerate(cr["routes"]):
        stops = sorted(r["stops"], key=lambda s: s["seq"])
        done = sum(1 for s in stops if s["status"] in ("delivered", "picked_up", "collected"))
        failed = sum(1 for s in stops if "fail" in s["status"])
        last = clock.hm(stops[-1]["eta"]) if stops else ""
        rows.append(f'<tr><td><span class="swatch" style="background:{PALETTE[i % len(PALETTE)]}">'
                    f'</span>{esc(r["courier"])}</td><td>{esc(r["vehicle"])}</td>'
                    f'<td class="n">{len(stops)}</td><td class="n">{done}</td><td '
                    f'class="n">{failed}</td>'
                    f'<td class="n">{r["km"]:.1f}</td><td class="n">{esc(last)}</td></tr>')
    return ('<table class="legend"><thead><tr><th>courier</th><th>vehicle</th><th>stops</th>'
            '<th>done</th><th>failed</th><th>km</th><th>last ETA</th></tr></thead><tbody>'
            + "".join(rows) + "</tbody></table>")


# ---- figures ----------------------------------------------------------------------------

FIGURE_LABELS = [
    ("orders_accepted", "Orders accepted", "{:,}"),
    ("orders_rejected", "Orders rejected", "{:,}"),
    ("split_shipments", "Split shipments", "{:,}"),
    ("on_time_pct", "Delivered on time (211 and slots)", "{:.1f} %"),
    ("failed_deliveries", "Failed delivery attempts", "{:,}"),
    ("routes", "Courier routes planned", "{:,}"),
    ("stops_per_courier", "Stops per courier", "{:.1f}"),
    ("km_per_courier", "km per courier", "{:.1f}"),
    ("planner_ms_p95", "Wave planner, 95th percentile", "{:,.0f} ms"),
    ("engineer_jobs", "Engineer jobs", "{:,}"),
    ("returns_picked_up", "Returns picked up", "{:,}"),
    ("cod_collected_cny", "Cash on delivery collected", "¥{:,}"),
    ("pickups_collected", "Parcels collected at pickup points", "{:,}"),
    ("webhooks_delivered", "Webhooks delivered", "{:,}"),
]


def _val(f, key):
    """A figure to format: money members as Decimal (for the thousands separator)."""
    return _money(f[key]) if key.endswith("_cny") else f[key]


def figures(day):
    f = day["figures"]
    tiles = []
    for key, label, fmt in [("orders_accepted", "orders accepted", "{:,}"),
                            ("on_time_pct", "on time", "{:.1f} %"),
                            ("routes", "courier routes", "{:,}"),
                            ("cod_collected_cny", "COD collected", "¥{:,}")]:
        tiles.append(f'<div class="tile"><b>{esc(fmt.format(_val(f, key)))}</b><span>{label}'
                     f'</span></div>')
    rows = []
    for key, label, fmt in FIGURE_LABELS:
        rows.append(f'<tr title="{key}="><td>{label}</td>'
                    f'<td class="n">{esc(fmt.format(_val(f, key)))}</td></tr>')
        if key == "orders_rejected":
            for reason, n in sorted(f["orders_rejected_by_reason"].items(), key=lambda x: -x[1]):
                rows.append(f'<tr class="sub"><td>{esc(reason)}</td><td class="n">{n:,}</td></tr>')
    return ('<div class="tiles">' + "".join(tiles) + '</div><table class="figures"><tbody>'
            + "".join(rows) + "</tbody></table>")


# ---- charts -----------------------------------------------------------------------------

def _nice_max(v):
    if v <= 0:
        return 1
    step = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 2.5, 5, 10):
        if m * step >= v:
            return m * step
    return 10 * step


def hourly_chart(counts, w=620, h=240):
    left, right, top, bottom = 44, 10, 14, 34
    pw, ph = w - left - right, h - top - bottom
    top_v = _nice_max(max(counts) if counts else 0)
    bw = pw / 24
    out = [f'<svg class="chart" id="orders-per-hour" viewBox="0 0 {w} {h}" width="{w}" '
           f'height="{h}" '
           f'role="img" aria-label="orders per hour">']
    for i in range(5):
        v = top_v * i / 4
        y = top + ph - ph * i / 4
        out.append(f'<line class="grid" x1="{left}" x2="{w - right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                   f'<text class="tick" x="{left - 5}" y="{y + 4:.1f}" text-anchor="end">{v:g}'
                   f'</text>')
    for hr, n in enumerate(counts):
        bh = ph * n / top_v
        x = left + hr * bw
        out.append(f'<rect class="bar" x="{x + 1.5:.1f}" y="{top + ph - bh:.1f}" '
                   f'width="{bw - 3:.1f}" '
                   f'height="{bh:.1f}"><title>{hr:02d}:00-{hr + 1:02d}:00: {n:,} orders</title>'
                   f'</rect>')
        if hr % 2 == 0:
            out.append(f'<text class="tick" x="{x + bw / 2:.1f}" y="{top + ph + 14}" '
                       f'text-anchor="middle">{hr:02d}</text>')
    out.append(f'<line class="axis" x1="{left}" x2="{w - right}" y1="{top + ph}" y2="{top + ph}"/>'
               f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + ph}"/>'
               f'<text class="axis-label" x="{left + pw / 2:.1f}" y="{h - 4}" text-anchor="middle">'
               f'hour of the day (local time)</text>'
               f'<text class="axis-label" transform="translate(12 {top + ph / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle">orders</text></svg>')
    return "".join(out)


def hbar_chart(cid, rows, w=620, target=None, unit="%", xlabel=""):
    """Horizontal bars of rows [(label, pct 0..100, tooltip, css class)] on a 0-100 axis."""
    left, right, top, bottom, bh = 150, 48, 8, 34, 18
    h = top + bottom + bh * max(len(rows), 1)
    pw = w - left - right
    out = [f'<svg class="chart" id="{cid}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" '
           f'role="img" '
           f'aria-label="{esc(xlabel)}">']
    for v in range(0, 101, 20):
        x = left + pw * v / 100
        out.append(f'<line class="grid" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{h - bottom}"/>'
                   f'<text class="tick" x="{x:.1f}" y="{h - bottom + 14}" '
                   f'text-anchor="middle">{v}{unit}</text>')
    for i, (label, pct, tip, cls) in enumerate(rows):
        y = top + i * bh
        bw = pw * min(max(pct, 0), 100) / 100
        out.append(f'<text class="tick" x="{left - 6}" y="{y + bh / 2 + 4:.1f}" text-anchor="end">'
                   f'{esc(label)}</text><rect class="bar {cls}" x="{left}" y="{y + 3:.1f}" '
                   f'width="{bw:.1f}" height="{bh - 6}"><title>{esc(tip)}</title></rect>'
                   f'<text class="value" x="{left + bw + 4:.1f}" '
                   f'y="{y + bh / 2 + 4:.1f}">{pct:.1f}</text>')
    if target is not None:
        x = left + pw * target / 100
        out.append(f'<line class="target" x1="{x:.1f}" x2="{x:.1f}" y1="{top - 4}" '
                   f'y2="{h - bottom}">'
                   f'<title>target {target} %</title></line>')
    out.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{h - bottom}"/>'
               f'<line class="axis" x1="{left}" x2="{w - right}" y1="{h - bottom}" '
               f'y2="{h - bottom}"/>'
               f'<text class="axis-label" x="{left + pw / 2:.1f}" y="{h - 4}" text-anchor="middle">'
               f'{esc(xlabel)}</text></svg>')
    return "".join(out)


MAX_BARS = 20


def on_time_chart(day):
    rows = day["on_time_by_station"]
    chosen = day["chosen_routes"]["station"]
    names = {s["id"]: s["name"] for s in day["stations"]}
    shown = sorted(rows, key=lambda r: (r["pct"], r["station"]))
    note = ""
    if len(shown) > MAX_BARS:
        keep = shown[:MAX_BARS - 1]
        mine = [r for r in shown[MAX_BARS - 1:] if r["station"] == chosen]
        keep += mine[:1] or [shown[MAX_BARS - 1]]
        note = (f'<p class="note">The {MAX_BARS} lowest of {len(rows)} stations (and the chosen '
                f'one); the others are at or above {shown[MAX_BARS - 1]["pct"]:.1f} %.</p>')
        shown = keep
    bars = [(names.get(r["station"], r["station"]), r["pct"],
             f'{r["station"]}: {r["on_time"]:,} of {r["delivered"]:,} delivered on time',
             "chosen" if r["station"] == chosen else "") for r in shown]
    if any(r["station"] == chosen for r in shown):
        note += (f'<p class="note">In orange: {esc(names.get(chosen, chosen))}, the station '
                 'of the routes.</p>')
    return hbar_chart("on-time-by-station", bars, target=95,
                      xlabel="delivered within the promise, % (line: 95 % target)") + note


def utilisation_chart(day):
    rows = day["courier_utilisation"]
    chosen = day["chosen_routes"]["station"]
    mine = [r for r in rows if r["station"] == chosen]
    shown = mine if mine else rows
    note = ""
    if len(shown) > MAX_BARS:
        shown = sorted(shown, key=lambda r: -r["pct"])[:MAX_BARS]
    if rows:
        pcts = [r["pct"] for r in rows]
        note = (f'<p class="note">{"Couriers of the chosen station. " if mine else ""}All '
                f'{len(rows)} couriers: mean {sum(pcts) / len(pcts):.1f} %, lowest '
                f'{min(pcts):.1f} %, '
                f'highest {max(pcts):.1f} %.</p>')
    bars = [(r["courier"], r["pct"],
             f'{r["courier"]} ({r["station"]}): busy {r["busy_min"]:.0f} of '
             f'{r["shift_min"]:.0f} min', "")
            for r in shown]
    return hbar_chart("courier-utilisation", bars,
                      xlabel="time busy on the route, % of the shift") + note


# ---- timelines --------------------------------------------------------------------------

def timeline(events, clock):
    items = []
    for e in events:
        items.append(f'<li><time title="{esc(e["at"])}">{esc(clock.hm(e["at"]))}</time>'
                     f'<span class="kind">{esc(e["kind"].replace("_", " ").replace(".", " "))}'
                     f'</span><span>{esc(e["text"])}</span>'
                     f'</li>')
    return '<ol class="timeline">' + "".join(items) + "</ol>"


def parcel_panel(day, clock):
    p = day["sample_parcel"]
    return (f'<p>Order <code>{esc(p["order"])}</code>, tracking code '
            f'<code>{esc(p["tracking_code"])}</code> (ringed on the route map when in the chosen '
            f'wave).</p>' + timeline(p["events"], clock))


def visit_panel(day, clock):
    v = day["sample_visit"]
    rows = []
    itemised = decimal.Decimal(0)
    for c in v["charges"]:
        unit = _money(c["unit_price"])
        amount = unit * c["qty"]
        itemised += amount
        rows.append(f'<tr><td>{esc(c["code"].replace("_", " "))}</td><td class="n">{c["qty"]}</td>'
                    f'<td class="n">¥{esc(c["unit_price"])}</td><td class="n">¥{amount:.2f}</td>'
                    f'</tr>')
    total = _money(v["total"])
    if total != itemised:
        rows.append(f'<tr class="sub"><td>not itemised</td><td></td><td></td>'
                    f'<td class="n">¥{total - itemised:.2f}</td></tr>')
    mins = v["duration_min"]
    dur = f"{int(mins // 60)} h {mins % 60:.0f} min" if mins >= 60 else f"{mins:.0f} min"
    return (f'<dl class="visit"><dt>appointment</dt><dd><code>{esc(v["appointment"])}</code></dd>'
            f'<dt>engineer</dt><dd>{esc(v["engineer"])}</dd>'
            f'<dt>window</dt><dd>{esc(v["window"])}</dd>'
            f'<dt>arrived</dt><dd><time '
            f'title="{esc(v["arrived_at"])}">{esc(clock.hm(v["arrived_at"]))}</time></dd>'
            f'<dt>duration</dt><dd>{dur}</dd></dl>'
            '<table class="charges"><thead><tr><th>charge</th><th>qty</th><th>unit price</th>'
            '<th>amount</th></tr></thead><tbody>' + "".join(rows) +
            f'</tbody><tfoot><tr><td>total</td><td></td><td></td><td '
            f'class="n">¥{esc(v["total"])}</td>'
            '</tr></tfoot></table>' + timeline(v["events"], clock))


# ---- page -------------------------------------------------------------------------------

CSS = """
*{box-sizing:border-box}
body{margin:0;font:14px/1.4 system-ui,-apple-system,"Segoe UI","Noto Sans","Noto Sans CJK SC",
 "WenQuanYi Micro Hei","DejaVu Sans",sans-serif;color:#1d2329;background:#f3f5f7}
header{background:#1f3b57;color:#fff;padding:14px 24px}
header h1{margin:0;font-size:22px}header p{margin:2px 0 0;opacity:.8}
main{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:16px;padding:16px 24px;
 max-width:1320px}
section{background:#fff;border:1px solid #dde3e8;border-radius:6px;padding:12px 16px;min-width:0}
section.wide{grid-column:1/-1}
h2{font-size:16px;margin:0 0 8px}
svg{max-width:100%;height:auto;display:block}
svg text{font-size:11px;fill:#333}
.map{background:#eef3f6;border-radius:4px}
.district{fill:#fdfdfb;stroke:#8f9ba6;stroke-width:1.2}
.district-edge{fill:none;stroke:#8f9ba6;stroke-width:1.5;stroke-dasharray:5 3}
.district-name{font-size:12px;fill:#56616b;text-anchor:middle;font-weight:600}
.area{fill:#d8e6f0;fill-opacity:.45;stroke:#6d8aa3;stroke-width:.6}
.area.chosen{fill:#ffe9a8;fill-opacity:.7;stroke:#b88a00;stroke-width:1.5}
.station{fill:#1f3b57;stroke:#fff;stroke-width:1}
.warehouse{fill:#8c2d04;stroke:#fff;stroke-width:1.2}
.pickup{fill:#6a3d9a;stroke:#fff;stroke-width:1}
.label{font-size:11px;font-weight:600;fill:#8c2d04}
.zoom{fill:none;stroke:#d55e00;stroke-width:2;stroke-dasharray:4 2}
.route{fill:none;stroke-width:3.5;stroke-linejoin:round;stroke-linecap:round;stroke-opacity:.9}
.stop circle{stroke:#fff;stroke-width:1.5}
.stop text{fill:#fff;font-size:10px;font-weight:700;text-anchor:middle}
.stop.failed circle{stroke:#c00;stroke-width:3}
.sample-ring{fill:none!important;stroke:#111!important;stroke-width:2!important;
 stroke-dasharray:3 2}
.home rect{fill:#1f3b57;stroke:#fff;stroke-width:1.5}.home text{fill:#fff;font-weight:700;
 text-anchor:middle}
.scale text{font-size:11px}
.keys{display:flex;flex-wrap:wrap;gap:12px;font-size:12px;color:#4a5560;margin:6px 0}
.keys svg{display:inline-block;vertical-align:middle}
.grid{stroke:#e3e8ec}.axis{stroke:#555}.tick{fill:#4a5560}.axis-label{fill:#333;font-size:12px}
.bar{fill:#4e79a7}.bar.chosen{fill:#e69f00}.value{font-size:10px}
.target{stroke:#c00;stroke-width:1.5;stroke-dasharray:4 3}
table{border-collapse:collapse;width:100%}
td,th{padding:3px 8px;border-bottom:1px solid #edf0f2;text-align:left;vertical-align:top}
th{font-weight:600;color:#4a5560;font-size:12px}
td.n{text-align:right;font-variant-numeric:tabular-nums}
tr.sub td:first-child{padding-left:24px;color:#5c6670}
tfoot td{font-weight:700;border-top:2px solid #9aa5ae}
.swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;
 vertical-align:-1px}
.tiles{display:grid;grid-template-columns:repeat(4,1fr);gap:8px;margin-bottom:10px}
.tile{background:#f3f6f9;border-radius:4px;padding:8px}
.tile b{display:block;font-size:22px}.tile span{color:#5c6670;font-size:12px}
.timeline{list-style:none;margin:8px 0 0;padding:0 0 0 8px;border-left:2px solid #c9d3db}
.timeline li{position:relative;padding:2px 0 6px 12px;display:grid;
 grid-template-columns:100px 140px 1fr;gap:0 6px}
.timeline li:before{content:"";position:absolute;left:-14px;top:7px;width:10px;height:10px;
 border-radius:50%;background:#4e79a7;border:2px solid #fff}
.timeline time{white-space:nowrap;font-weight:600;font-variant-numeric:tabular-nums}
.timeline .kind{color:#5c6670;font-size:12px;overflow-wrap:anywhere}
dl.visit{display:grid;grid-template-columns:110px 1fr;margin:0 0 8px}
dl.visit dt{color:#5c6670}dl.visit dd{margin:0}
.note{color:#5c6670;font-size:12px;margin:4px 0 0}
code{font-size:12px}
"""


def _keys():
    return ('<div class="keys">'
            '<span><svg width="14" height="14"><circle class="station" cx="7" cy="7" r="4"/>'
            '</svg> station</span>'
            '<span><svg width="14" height="14"><rect class="warehouse" x="1" y="1" width="12" '
            'height="12"/>'
            '</svg> warehouse</span>'
            '<span><svg width="14" height="14"><path class="pickup" d="M7 1l6 6l-6 6l-6 -6Z"/>'
            '</svg> pickup point</span>'
            '<span><svg width="16" height="14"><rect class="area chosen" x="1" y="1" width="14" '
            'height="12"/>'
            '</svg> chosen station\'s area</span></div>')


def render(day):
    """The whole page for a day that follows the contract (check_contract first)."""
    clock = Clock(day)
    cr = day["chosen_routes"]
    station = _station(day, cr["station"])
    sname = station["name"] if station else cr["station"]
    title = f'dispatchd demo day: {day["city"]}, {day["day"]}'
    csp = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"
    n_stops = sum(len(r["stops"]) for r in cr["routes"])
    return "".join([
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
        f'<meta http-equiv="Content-Security-Policy" content="{csp}">',
        '<meta name="viewport" content="width=device-width,initial-scale=1">',
        f'<title>{esc(title)}</title><style>{CSS}</style></head><body>',
        f'<header><h1>{esc(title)}</h1><p>{len(day["districts"])} districts, '
        f'{len(day["stations"])} stations, {len(day["warehouses"])} warehouses, '
        f'{len(day["pickup_points"])} pickup points · generated '
        f'{esc(clock.full(day["generated_at"]))} '
        'by the load generator through the REST API</p></header><main>',
        f'<section><h2>The city</h2>{_keys()}{city_map(day)}</section>',
        f'<section><h2>Routes of {esc(sname)}, wave {esc(cr["wave"])}</h2>'
        f'<p class="note">{len(cr["routes"])} couriers, {n_stops} stops; numbers are the '
        f'stop order, '
        'a red ring a failed attempt, S the station.</p>'
        f'{route_map(day)}{route_legend(day, clock)}</section>',
        f'<section><h2>The day in figures</h2>{figures(day)}</section>',
        f'<section><h2>Orders per hour</h2>{hourly_chart(day["orders_per_hour"])}'
        f'<p class="note">{sum(day["orders_per_hour"]):,} orders in the '
        f'day\'s hourly counts.</p>'
        '</section>',
        f'<section><h2>On time per station</h2>{on_time_chart(day)}</section>',
        f'<section><h2>Courier utilisation</h2>{utilisation_chart(day)}</section>',
        f'<section><h2>A parcel\'s day</h2>{parcel_panel(day, clock)}</section>',
        f'<section><h2>An installation visit</h2>{visit_panel(day, clock)}</section>',
        '</main></body></html>\n'])


def main(argv):
    build = os.environ.get("DISPATCH_BUILD_DIR", os.path.join(ROOT, "build"))
    if len(argv) > 2 or any(a.startswith("-") for a in argv):
        print("usage: demo_report.py [DAY_JSON [REPORT_HTML]]", file=sys.stderr)
        return 64
    src = argv[0] if argv else os.path.join(build, "demo", "day.json")
    dst = argv[1] if len(argv) > 1 else os.path.join(os.path.dirname(src), "report.html")
    try:
        with open(src, encoding="utf-8") as f:
            day = json.load(f)
    except OSError as e:
        print(f"demo_report: cannot read {src}: {e.strerror} (make demo writes it)",
              file=sys.stderr)
        return 2
    except ValueError as e:
        print(f"demo_report: {src} is not JSON: {e}", file=sys.stderr)
        return 2
    try:
        check_contract(day)
    except ContractError as e:
        print(f"demo_report: {src} does not follow the day.json contract: {e}", file=sys.stderr)
        return 2
    page = render(day)
    os.makedirs(os.path.dirname(os.path.abspath(dst)), exist_ok=True)
    tmp = dst + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(tmp, dst)
    print(f"demo_report: wrote {dst} ({len(page.encode()) // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
