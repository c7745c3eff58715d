"""The demo report (scripts/demo_report.py) on tests/demo/fixture_day.json, a
small day that follows the day.json contract: the page loads in headless
Chromium without console errors or exceptions and fetches nothing but itself,
every route of the fixture is an SVG path the browser drew, and a screenshot
is saved as <build>/demo/report-fixture.png (console warnings are printed,
not failed: Chromium's own notes change with its versions). Then the script
alone: a name with markup in day.json comes out escaped, a route without a
street path is drawn through its stops, times are in the city's local time,
and a day.json missing a member stops it with that member's path. No service
needed.

How the browser is watched: the DevTools protocol over a pipe
(--remote-debugging-pipe: JSON messages on fds 3 and 4, standard library
only), one Chromium start for every check. Not `--enable-logging=stderr`:
Chromium logs every console message at INFO level there, so an error and a
log line look alike, and the format is not an interface. Not an inline script
recording errors into a --dump-dom: the page has no script by design (its
Content-Security-Policy forbids scripts), and such a recorder misses what the
browser itself reports (a blocked fetch, a CSP violation). The protocol gives
the console's level (Runtime.consoleAPICalled, Log.entryAdded), uncaught
exceptions (Runtime.exceptionThrown) and every request (Network.requestWillBeSent).

Also a tool: `python3 tests/integration/test_demo_report.py --screenshot
REPORT_HTML PNG` saves a screenshot of any report (the README's picture).
"""
import base64
import contextlib
import fcntl
import importlib.util
import io
import json
import os
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SOURCE_DIR = os.environ.get("DISPATCH_SOURCE_DIR",
                            os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BUILD_DIR = os.environ.get("DISPATCH_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
SCRIPT = os.path.join(SOURCE_DIR, "scripts", "demo_report.py")
FIXTURE = os.path.join(SOURCE_DIR, "tests", "demo", "fixture_day.json")
WIDTH = 1320


class Chromium:
    """Headless Chromium driven through the DevTools protocol on a pipe."""

    def __init__(self, tmp, deadline_s=60):
        exe = shutil.which("chromium") or shutil.which("chromium-browser")
        assert exe, "chromium is not installed (scripts/deps.sh installs Debian's chromium)"
        self.deadline = time.monotonic() + deadline_s
        to_chrome_r, self.to_chrome = os.pipe()
        self.from_chrome, from_chrome_w = os.pipe()

        def fds_3_4():
            # Out of the way first: a pipe end may itself be fd 3 or 4. The copies
            # close on exec; dup2 leaves 3 and 4 open in Chromium.
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        args = [exe, "--headless", "--remote-debugging-pipe", "--disable-gpu", "--no-first-run",
                "--no-default-browser-check", "--disable-extensions", "--disable-sync",
                "--disable-background-networking", "--disable-component-update",
                "--disable-dev-shm-usage", "--hide-scrollbars", "--mute-audio",
                f"--window-size={WIDTH},900", f"--user-data-dir={os.path.join(tmp, 'profile')}"]
        if os.geteuid() == 0:
            args.append("--no-sandbox")  # Chromium's sandbox refuses to run as root
        self.log = open(os.path.join(tmp, "chromium.log"), "w+")
        self.proc = subprocess.Popen(args + ["about:blank"], stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log, preexec_fn=fds_3_4,
                                     close_fds=False, start_new_session=True)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self.buf = b""
        self.next_id = 0
        self.events = []
        self.session = None

    def _read_message(self):
        while b"\0" not in self.buf:
            left = self.deadline - time.monotonic()
            if left <= 0 or not select.select([self.from_chrome], [], [], left)[0]:
                raise AssertionError("chromium did not answer in time: " + self.stderr_tail())
            chunk = os.read(self.from_chrome, 1 << 20)
            if not chunk:
                raise AssertionError("chromium closed the pipe: " + self.stderr_tail())
            self.buf += chunk
        msg, _, self.buf = self.buf.partition(b"\0")
        return json.loads(msg)

    def call(self, method, session=True, **params):
        self.next_id += 1
        msg = {"id": self.next_id, "method": method, "params": params}
        if session and self.session:
            msg["sessionId"] = self.session
        os.write(self.to_chrome, json.dumps(msg).encode() + b"\0")
        while True:
            m = self._read_message()
            if m.get("id") == self.next_id:
                assert "error" not in m, f"{method}: {m['error']}"
                return m["result"]
            if "method" in m:
                self.events.append(m)

    def wait_event(self, method):
        for m in self.events:
            if m["method"] == method:
                return m
        while True:
            m = self._read_message()
            if "method" in m:
                self.events.append(m)
                if m["method"] == method:
                    return m

    def open(self, url):
        target = self.call("Target.createTarget", session=False, url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", session=False, targetId=target,
                                 flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(domain + ".enable")
        self.call("Page.navigate", url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expr):
        r = self.call("Runtime.evaluate", expression=expr, returnByValue=True)
        assert "exceptionDetails" not in r, r["exceptionDetails"]
        return r["result"].get("value")

    def screenshot(self, path):
        """The whole page, WIDTH px wide."""
        height = self.evaluate("document.documentElement.scrollHeight")
        self.call("Emulation.setDeviceMetricsOverride", width=WIDTH, height=height,
                  deviceScaleFactor=1, mobile=False)
        png = base64.b64decode(self.call("Page.captureScreenshot", format="png")["data"])
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        with open(path, "wb") as f:
            f.write(png)
        return png

    def problems(self, level="error"):
        """The console's entries of this level ("error" or "warning"), and with errors the
        uncaught exceptions and failed loads, so far."""
        levels = ("error", "assert") if level == "error" else ("warning",)
        out = []
        for m in self.events:
            p = m.get("params", {})
            if m["method"] == "Runtime.exceptionThrown" and level == "error":
                d = p["exceptionDetails"]
                out.append(f"exception at line {d.get('lineNumber')}: "
                           + d.get("exception", {}).get("description", d.get("text", "")))
            elif m["method"] == "Runtime.consoleAPICalled" and p["type"] in levels:
                out.append(f"console.{p['type']}: " + json.dumps(p["args"])[:300])
            elif m["method"] == "Log.entryAdded" and p["entry"]["level"] in levels:
                out.append(f"log {p['entry']['level']}: {p['entry']['text']}")
            elif m["method"] == "Network.loadingFailed" and level == "error":
                out.append(f"load failed: {p.get('errorText')}")
        return out

    def requested_urls(self):
        return [m["params"]["request"]["url"] for m in self.events
                if m["method"] == "Network.requestWillBeSent"]

    def stderr_tail(self):
        self.log.seek(0)
        return self.log.read()[-2000:]

    def close(self):
        try:
            if self.proc.poll() is None:
                try:
                    self.deadline = time.monotonic() + 3
                    self.call("Browser.close", session=False)
                except (AssertionError, OSError):
                    pass
                try:
                    self.proc.wait(timeout=3)
                except subprocess.TimeoutExpired:
                    pass
        finally:
            # Its helpers (zygote, crashpad) share the session and group it started.
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait()
            os.close(self.to_chrome)
            os.close(self.from_chrome)
            self.log.close()


def run_script(*args):
    """The script as a command (the page the browser opens is made this way)."""
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          timeout=30)


def run_main(*args):
    """The script's main() in this process: the same checks without a Python start each."""
    spec = importlib.util.spec_from_file_location("demo_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = module.main(list(args))
    return subprocess.CompletedProcess(args, rc, out.getvalue(), err.getvalue())


def check_in_browser(tmp, fixture):
    report = os.path.join(tmp, "report.html")
    r = run_script(FIXTURE, report)
    assert r.returncode == 0, r.stderr
    routes = fixture["chosen_routes"]["routes"]
    url = "file://" + report
    chrome = Chromium(tmp)
    try:
        chrome.open(url)
        drawn = chrome.evaluate("""[...document.querySelectorAll('svg path.route')].map(p => {
            const b = p.getBBox();
            return {courier: p.getAttribute('data-courier'), svg: p instanceof SVGPathElement,
                    w: b.width, h: b.height, len: p.getTotalLength()};
        })""")
        stops = chrome.evaluate("document.querySelectorAll('#route-map g.stop').length")
        charts = chrome.evaluate("""['city-map', 'route-map', 'orders-per-hour',
            'on-time-by-station', 'courier-utilisation'].map(id => {
                const e = document.getElementById(id);
                return e ? [id, e.getBoundingClientRect().width,
                            e.querySelectorAll('*').length] : [id];
            })""")
        bars = chrome.evaluate("document.querySelectorAll('#orders-per-hour rect.bar').length")
        shot = os.path.join(BUILD_DIR, "demo", "report-fixture.png")
        png = chrome.screenshot(shot)
        problems = chrome.problems()
        warnings = chrome.problems("warning")
        urls = chrome.requested_urls()
    finally:
        chrome.close()
    for w in warnings:  # not failures: Chromium's own notes change with its versions
        print("note: console", w)
    assert not problems, "the page has console errors:\n" + "\n".join(problems)
    assert urls == [url], f"the page fetched more than itself: {urls}"
    assert len(drawn) == len(routes), (len(drawn), len(routes))
    assert [d["courier"] for d in drawn] == [r["courier"] for r in routes], drawn
    for d in drawn:
        assert d["svg"] and d["len"] > 50 and (d["w"] > 10 or d["h"] > 10), d
    assert stops == sum(len(r["stops"]) for r in routes), stops
    for c in charts:
        assert len(c) == 3 and c[1] > 200 and c[2] > 10, charts
    assert bars == 24, bars
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000, len(png)
    print(f"ok   report loads without console errors, fetches only itself; {len(drawn)} route "
          f"paths, {stops} stops; screenshot {shot} ({len(png) // 1024} KiB)")


def check_escaping(tmp, fixture):
    day = json.loads(json.dumps(fixture))
    evil = '<script>alert("x")</script>'
    day["stations"][1]["name"] = "Dongcheng " + evil
    day["chosen_routes"]["routes"][0]["courier"] = 'c-1" onmouseover="alert(1)'
    day["sample_parcel"]["events"][0]["text"] = "<img src=x onerror=alert(2)>"
    day["figures"]["orders_rejected_by_reason"]["<marquee>late</marquee>"] = 1
    src = os.path.join(tmp, "evil.json")
    with open(src, "w") as f:
        json.dump(day, f)
    out = os.path.join(tmp, "evil.html")
    r = run_main(src, out)
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8") as f:
        page = f.read()
    assert "<script" not in page.lower(), "a <script> from day.json reached the page"
    assert "Dongcheng &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in page
    assert 'onmouseover="' not in page and "c-1&quot; onmouseover=&quot;alert(1)" in page
    assert "<img" not in page and "&lt;img src=x onerror=alert(2)&gt;" in page
    assert "<marquee" not in page and "&lt;marquee&gt;late&lt;/marquee&gt;" in page
    print("ok   strings of day.json are escaped (text and attributes)")


def check_optional_shapes(tmp, fixture):
    """What the contract allows besides the fixture: no street path, no station area."""
    day = json.loads(json.dumps(fixture))
    day["chosen_routes"]["routes"][1]["path"] = []
    for st in day["stations"]:
        st["area"] = None
    src = os.path.join(tmp, "bare.json")
    with open(src, "w") as f:
        json.dump(day, f)
    out = os.path.join(tmp, "bare.html")
    r = run_main(src, out)
    assert r.returncode == 0, r.stderr
    with open(out, encoding="utf-8") as f:
        page = f.read()
    courier = day["chosen_routes"]["routes"][1]["courier"]
    at = page.index(f'class="route" data-courier="{courier}"')
    d = page[page.index(' d="M', at) + 4:page.index('"', page.index(' d="M', at) + 4)]
    # From the station through its stops and back: one point per stop and the station twice.
    assert d.count("L") == len(day["chosen_routes"]["routes"][1]["stops"]) + 1, d
    assert page.count('class="route"') == len(day["chosen_routes"]["routes"])
    assert '<path class="area' not in page
    # Times from the API (UTC) are shown in Beijing's local time, the day's own without a date.
    assert '<time title="2026-12-01T01:58:05.000Z">09:58</time>' in page
    assert '<time title="2026-11-30T13:42:10.118Z">11-30 21:42</time>' in page
    assert "generated 2026-12-01 23:59 (UTC+08:00)" in page
    print("ok   a route without a street path goes through its stops; stations without areas; "
          "local times")


def check_contract_errors(tmp, fixture):
    cases = [
        (lambda d: d["figures"].pop("on_time_pct"), "figures.on_time_pct: missing member"),
        (lambda d: d["chosen_routes"]["routes"][2]["stops"][1].pop("point"),
         "chosen_routes.routes[2].stops[1].point: missing member"),
        (lambda d: d.pop("sample_visit"), "sample_visit: missing member"),
        (lambda d: d.__setitem__("orders_per_hour", [1] * 23),
         "orders_per_hour: expected 24 items, got 23"),
        (lambda d: d["figures"].__setitem__("cod_collected_cny", 12.5),
         "figures.cod_collected_cny: expected a decimal string"),
        (lambda d: d["districts"][0]["geometry"].__setitem__("type", "LineString"),
         "districts[0].geometry: expected a GeoJSON Polygon or MultiPolygon"),
    ]
    for i, (breaks, message) in enumerate(cases):
        day = json.loads(json.dumps(fixture))
        breaks(day)
        src = os.path.join(tmp, f"broken{i}.json")
        with open(src, "w") as f:
            json.dump(day, f)
        out = os.path.join(tmp, f"broken{i}.html")
        r = run_main(src, out)
        assert r.returncode == 2, (message, r.returncode, r.stderr)
        assert "does not follow the day.json contract" in r.stderr and message in r.stderr, \
            (message, r.stderr)
        assert not os.path.exists(out), "a page was written for a broken day.json"
    r = run_main(os.path.join(tmp, "absent.json"), os.path.join(tmp, "absent.html"))
    assert r.returncode == 2 and "cannot read" in r.stderr and "absent.json" in r.stderr, r.stderr
    print(f"ok   a day.json off the contract names the member ({len(cases)} cases), "
          "a missing file too")


def main():
    with open(FIXTURE, encoding="utf-8") as f:
        fixture = json.load(f)
    with tempfile.TemporaryDirectory() as tmp:
        check_escaping(tmp, fixture)
        check_optional_shapes(tmp, fixture)
        check_contract_errors(tmp, fixture)
        check_in_browser(tmp, fixture)


def screenshot_tool(report, png):
    with tempfile.TemporaryDirectory() as tmp:
        chrome = Chromium(tmp)
        try:
            chrome.open("file://" + os.path.abspath(report))
            chrome.screenshot(png)
            problems = chrome.problems() + chrome.problems("warning")
        finally:
            chrome.close()
    for p in problems:
        print("warning:", p, file=sys.stderr)
    print(f"wrote {png}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--screenshot":
        screenshot_tool(sys.argv[2], sys.argv[3])
    else:
        main()
