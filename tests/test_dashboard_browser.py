"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright.

One ``neuroagents dashboard`` server (the real command, in a subprocess) serves every test here; each test opens
its own browser context (its own session, so its own model). Every request that is not to this machine is
aborted, and a test fails on any aborted or failed request and on any console error, so passing means the page
works offline. A screenshot of each page is kept in ``test-artifacts/``; with NEUROAGENTS_UPDATE_SCREENSHOT=1
the richest one also replaces ``docs/img/dashboard.png``.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from viz.measured_figures import check, record, record_browser

pytest.importorskip("solara", reason="the dashboard extra is not installed (pip install 'neuroagents[dashboard]')")
playwright_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (it comes with .[dev])")

CHROMIUM = next((p for p in (os.environ.get("NEUROAGENTS_CHROMIUM"), shutil.which("chromium"), "/usr/bin/chromium")
                 if p and Path(p).is_file()), None)  # fmt: skip
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run does)"),
]
ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-quic", "--no-first-run"]  # fmt: skip
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
SKIN = ["tissue.width_um=1000", "tissue.height_um=1000", "cells.initial.mast_cell=25", "cells.initial.macrophage=75",
        "cells.initial.neuron=15"]  # fmt: skip
EVOKED = "evoked (mean over the von Frey series)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """``neuroagents dashboard ARGS`` in a subprocess on a free port, its output in ``test-artifacts/``."""

    def __init__(self, name: str, *args: str):
        from viz import assets

        if assets.missing_assets():
            try:
                assets.fetch_assets(log=lambda line: None)
            except assets.AssetsError as exc:
                pytest.fail(f"front-end files missing and not fetchable ({exc}); run 'neuroagents dashboard "
                            "--fetch-assets' once (.ci/run does)")  # fmt: skip
        ARTIFACTS.mkdir(exist_ok=True)
        self.log_path = ARTIFACTS / f"dashboard-server-{name}.log"
        self.log = open(self.log_path, "w")
        port = _free_port()
        cmd = [sys.executable, "-m", "neuroagents", "dashboard", *args, "--port", str(port)]
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        self.url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.close()
                pytest.fail(f"the dashboard exited: {self.log_path.read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.3)
        self.close()
        pytest.fail("the dashboard did not start listening within 90 s")

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text()

    def close(self):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


SERVERS: dict[str, Server] = {}
"""The running servers by name (a test that reads a server's memory needs its process)."""


@pytest.fixture(scope="module")
def server():
    """``neuroagents dashboard inflamed_skin`` (small tissue) on a free port, with the front-end files local."""
    srv = SERVERS["skin"] = Server("skin", "inflamed_skin", *(a for s in SKIN for a in ("--set", s)))
    yield srv.url
    srv.close()


@pytest.fixture(scope="module")
def default_server():
    """``neuroagents dashboard`` as a teacher starts it: the default scenario (nerve_injury) at its full size."""
    srv = Server("default")
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def chromium():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        record_browser(f"Chromium {b.version}")
        yield b
        b.close()


class Session:
    """One browser context on the dashboard, recording console errors and requests that failed or left."""

    def __init__(self, browser, url, viewport=(1600, 1250)):
        self.context = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        self.page = self.context.new_page()
        self.errors, self.failed, self.outside = [], [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.route("**/*", self._route)
        self.page.goto(url)
        self.page.wait_for_selector("canvas.na-map[data-frames-drawn]", timeout=60_000)
        self.map = self.page.locator("canvas.na-map")

    def _route(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def time_min(self) -> float:
        return float(self.page.locator(".na-header").get_attribute("data-time-min"))

    def frames_drawn(self) -> int:
        return int(self.map.get_attribute("data-frames-drawn") or 0)

    def click_cell(self, kind: str, i: int):
        """Click the ``i``-th drawn cell of a type on the map canvas (the canvas says where it drew it)."""
        self.map.scroll_into_view_if_needed()
        xy = self.page.evaluate(f"document.querySelector('canvas.na-map').naCellPoint('{kind}', {i})")
        assert xy is not None, f"no {kind} #{i} drawn"
        self.page.mouse.click(xy["x"], xy["y"])

    def play(self):
        self.page.get_by_role("button", name="▶").click()
        self.page.get_by_role("button", name="❚❚").wait_for(timeout=10_000)

    def pause(self) -> float:
        """Pause; the seconds until the page shows it (▶ back, and 'paused' in the header)."""
        t0 = time.monotonic()
        self.page.get_by_role("button", name="❚❚").click()
        self.page.get_by_role("button", name="▶").wait_for(timeout=30_000)
        self.page.wait_for_function("document.querySelector('.na-status').textContent === 'paused'",
                                    timeout=30_000)  # fmt: skip
        return time.monotonic() - t0

    def error_line(self, starts: str) -> str:
        """The one-line error at the top of the page, once it starts with ``starts``."""
        try:
            self.page.wait_for_function(
                """(s) => { const e = document.querySelector('.na-message-error');
                            return e && e.innerText.trim().startsWith(s); }""", arg=starts, timeout=20_000)  # fmt: skip
        except playwright_api.TimeoutError:
            shown = self.page.evaluate("[...document.querySelectorAll('.na-message-error')].map(e => e.innerText)")
            pytest.fail(f"no error starting with {starts!r}; shown: {shown}")
        return self.page.locator(".na-message-error").first.inner_text().strip()

    def step(self, times: int = 1):
        for _ in range(times):
            before = self.time_min()
            self.page.get_by_role("button", name="Step", exact=True).click()
            self.page.wait_for_function(
                f"Number(document.querySelector('.na-header').dataset.timeMin) > {before}", timeout=20_000
            )

    def series(self, chart: str, name: str) -> dict:
        line = self.page.locator(f'svg[data-chart="{chart}"] polyline[data-series="{name}"]').first
        return {
            "n": int(line.get_attribute("data-n")),
            "first": float(line.get_attribute("data-first") or "nan"),
            "last": float(line.get_attribute("data-last") or "nan"),
            "points": line.get_attribute("points"),
        }

    def series_when(self, chart: str, name: str, n: int) -> dict:
        """The series once the page shows ``n`` points of it (the plots reach the browser after the header)."""
        self.page.wait_for_function(
            f"""() => {{ const l = document.querySelector('svg[data-chart="{chart}"] polyline[data-series="{name}"]');
                        return l && Number(l.dataset.n) >= {n}; }}""",
            timeout=20_000,
        )
        return self.series(chart, name)

    def select(self, label: str, option: str):
        self.page.get_by_label(label, exact=True).click(force=True)
        self.page.get_by_role("option", name=option, exact=True).click()

    def check_clean(self, name: str):
        self.page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        assert not self.errors, f"console errors: {self.errors}"
        assert not self.failed, f"failed requests: {self.failed}"
        assert not self.outside, f"requests beyond this machine: {self.outside}"

    def close(self):
        """Close the tab as a person does. Requests stop being intercepted first: one intercepted while the
        context closes is dropped, and that would drop the page's close beacon (about one tab in four did), leaving
        its session on the server until the cull, minutes later, instead of freed at once."""
        self.page.unroute_all(behavior="ignoreErrors")
        self.context.close()


def test_load_step_play_pause_offline(server, chromium):
    s = Session(chromium, server)
    assert int(s.map.get_attribute("data-cells-drawn")) == 25 + 75 + 15
    before = s.series("pain", EVOKED)
    s.step(2)  # 2 frames of 5 steps: two more points (a point per frame, whatever the recording interval)
    after = s.series_when("pain", EVOKED, before["n"] + 2)
    assert after["n"] == before["n"] + 2 and after["points"] != before["points"]
    s.page.evaluate("document.querySelector('canvas.na-map').naTag = 'first'")
    drawn = s.frames_drawn()
    s.select("Mediator on the map", "TNF")
    s.page.wait_for_selector('canvas.na-map[data-mediator="TNF"]')
    s.select("Mediator on the map", "histamine")
    s.page.wait_for_selector('canvas.na-map[data-mediator="histamine"]')
    assert float(s.map.get_attribute("data-vmax")) > 0  # mast cells degranulated: histamine on the map
    s.page.wait_for_function(f"Number(document.querySelector('canvas.na-map').dataset.framesDrawn) >= {drawn + 2}",
                             timeout=10_000)  # fmt: skip
    assert s.page.evaluate("document.querySelector('canvas.na-map').naTag") == "first"  # redrawn, not replaced
    s.play()
    s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) >= 40", timeout=30_000)
    n0, t0 = s.frames_drawn(), time.monotonic()
    s.page.wait_for_timeout(3000)
    fps = (s.frames_drawn() - n0) / (time.monotonic() - t0)
    _hold("inflamed_skin frames/s (browser)", fps)
    s.pause()
    at_pause = s.time_min()
    s.page.wait_for_timeout(800)
    stopped = s.time_min()  # the model step under way when ❚❚ was clicked still lands (player.pause), no more
    assert at_pause <= stopped <= at_pause + 5.0
    s.page.wait_for_timeout(800)
    assert s.time_min() == stopped  # paused
    assert s.series_when("pain", EVOKED, after["n"] + 3)["n"] >= after["n"] + 3
    assert s.page.locator(".na-header").get_attribute("data-pain-now") != "–"
    s.check_clean("play")
    s.close()


def test_drug_lowers_pain_and_sessions_do_not_share_a_model(server, chromium):
    a, b = Session(chromium, server), Session(chromium, server)
    a.step(4)  # t = 20 min
    assert a.time_min() == 20 and b.time_min() == 0  # B's model did not move
    b.step(4)
    a.select("drug", "adalimumab")
    a.select("route", "iv")
    a.page.get_by_role("button", name="Give now").click()
    a.page.wait_for_selector('svg[data-chart="pain"] .na-marker[data-label="adalimumab 10 mg/kg i.v."]')
    a.step(8)
    b.step(8)  # both at t = 60 min, same seed: only the drug differs
    assert a.time_min() == b.time_min() == 60
    pa, pb = a.series_when("pain", EVOKED, 13), b.series_when("pain", EVOKED, 13)  # t = 0, then 12 frames
    assert pa["n"] == pb["n"] == 13
    assert pa["last"] < pb["last"] - 0.1, (pa, pb)  # anti-TNF lowers the evoked pain signal
    assert b.page.locator(".na-marker").count() == 0
    a.check_clean("drug")
    b.check_clean("no-drug")
    a.close()
    b.close()


def test_change_a_parameter_inspect_a_cell_and_a_lesson(server, chromium):
    s = Session(chromium, server)
    assert s.series("counts", "macrophage M0")["first"] == 75
    assert "macrophages at start" in s.page.locator(".na-params .na-param").nth(3).inner_text()
    slider = s.page.locator(".na-params .v-slider").nth(3)  # macrophages at start
    slider.locator(".v-slider__thumb-container").focus()
    for _ in range(4):
        s.page.keyboard.press("ArrowRight")  # +5 each
    s.page.get_by_role("button", name="Apply (restarts the run)").click()
    s.page.wait_for_function(
        """() => { const l = document.querySelector('svg[data-chart="counts"] polyline[data-series="macrophage M0"]');
                   return l && Number(l.dataset.first) === 95; }""",
        timeout=20_000,
    )
    s.page.wait_for_selector(f'canvas.na-map[data-cells-drawn="{25 + 95 + 15}"]', timeout=20_000)
    s.click_cell("macrophage", 7)
    inspector = s.page.locator(".na-inspector")
    inspector.wait_for(timeout=20_000)
    assert inspector.get_attribute("data-kind") in ("macrophage", "mast_cell", "neuron")
    assert re.fullmatch(r"\d+", inspector.get_attribute("data-id"))
    s.select("lesson", "Macrophages and miR-21 after nerve injury")
    s.page.wait_for_selector(".na-lesson")
    s.page.wait_for_selector('canvas.na-map[data-mediator="miR21"]')
    # the sliders show the scenario's values as they are, once the lesson's scenario has loaded (a busy machine may
    # draw the map a moment before the sliders catch up)
    s.page.get_by_text("not applied yet").first.wait_for(state="detached", timeout=10_000)
    legend = s.page.locator(".na-legend")
    assert legend.get_attribute("data-where") == "drg"  # counts of the compartment on the map, said so
    s.page.get_by_role("button", name="Knock out miR-21").click()
    # the lesson's one-click knockout acts model-wide and the marker says so (several compartments)
    s.page.wait_for_selector('.na-marker[data-label="miR21 knockout (all compartments)"]')
    s.step(3)
    s.check_clean("lesson")
    if os.environ.get("NEUROAGENTS_UPDATE_SCREENSHOT"):  # the README's picture: the lesson at day 2.5
        s.page.get_by_role("button", name="Reset").click()
        s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) === 0")
        s.page.get_by_label("run to day", exact=True).fill("2.5")
        s.page.get_by_role("button", name="Go", exact=True).click()
        s.page.wait_for_function("document.querySelector('.na-status').textContent.startsWith('reached')",
                                 timeout=300_000)  # fmt: skip
        s.click_cell("macrophage", 3)
        s.page.locator(".na-inspector").wait_for()
        s.page.wait_for_timeout(500)
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        s.page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard.png"), full_page=True)
        s.check_clean("readme")
    s.close()


BAD = ["nan", "inf", "", "-1", "1e12", "ten"]


def test_bad_numbers_give_one_line_and_change_nothing(server, chromium):
    s = Session(chromium, server)
    s.step()
    s.page.get_by_label("repeat").check(force=True)
    s.page.get_by_label("every (h)", exact=True).wait_for()
    for field, good in (("dose (mg/kg)", "10"), ("every (h)", "12"), ("doses", "6")):  # every numeric input
        marked = f".na-input-{field.split()[0]}.error--text"  # the server has seen a bad value in the field
        for text in BAD + (["2.5"] if field == "doses" else []):
            s.page.get_by_label(field, exact=True).fill(text)
            s.page.wait_for_selector(marked, timeout=10_000)
            s.page.get_by_role("button", name="Give now").click()
            line = s.error_line(f"{field} = {text!r}")
            assert "must be" in line and "\n" not in line, line
            s.page.get_by_label(field, exact=True).fill(good)
            s.page.wait_for_selector(marked, state="detached", timeout=10_000)
    for text in BAD:
        s.page.get_by_label("run to day", exact=True).fill(text)
        s.page.get_by_role("button", name="Go", exact=True).click()
        line = s.error_line(f"run to day = {text!r}")
        assert "must be" in line and "\n" not in line, line
    vmax = s.map.get_attribute("data-vmax")
    for text in BAD[:2] + BAD[3:]:  # empty is allowed here: it means "the highest value so far"
        s.page.get_by_label("top (nM)", exact=True).fill(text)
        s.page.wait_for_selector(".na-input-scale .error--text", timeout=10_000)  # said at the field
        assert s.map.get_attribute("data-vmax") == vmax  # the map keeps its scale
    s.page.get_by_label("top (nM)", exact=True).fill("")
    s.page.wait_for_selector(".na-input-scale .error--text", state="detached", timeout=10_000)
    assert s.page.locator(".na-marker").count() == 0  # nothing was given
    assert s.time_min() == 5
    s.step()  # the session is alive and well
    assert s.page.get_by_text("Traceback").count() == 0 and s.page.get_by_text("Too many renders").count() == 0
    s.page.get_by_label("run to day", exact=True).fill("0.01")  # 14.4 min: stops there exactly
    s.page.get_by_role("button", name="Go", exact=True).click()
    s.page.wait_for_function("document.querySelector('.na-status').textContent.startsWith('reached')",
                             timeout=30_000)  # fmt: skip
    s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) >= 14", timeout=10_000)
    assert s.time_min() == 15  # the first step at or past 14.4 min (1-min steps)
    s.check_clean("bad-input")
    s.close()


def test_closing_the_tab_stops_the_play_loop(server, chromium):
    srv_log = ARTIFACTS / "dashboard-server-skin.log"

    def stops():  # the server says so when a play loop ends because its browser went (tab closed, connection lost)
        return len(re.findall(r"play stopped: (the browser disconnected|the session closed)", srv_log.read_text()))

    before = stops()
    s = Session(chromium, server)
    s.play()
    s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) >= 10", timeout=30_000)
    t0 = time.monotonic()
    s.close()
    while time.monotonic() - t0 < 20 and stops() == before:
        time.sleep(0.1)
    waited = time.monotonic() - t0
    assert stops() == before + 1, srv_log.read_text()[-1000:]
    assert waited < 10, f"the play loop stopped {waited:.1f} s after the tab closed"
    _hold("tab closed -> play loop stopped (s)", waited)


def _hold(key: str, value: float, *, recorded: bool = False):
    """Record a measured figure (test-artifacts/dashboard-timing.json, with the load average and the commit), unless
    ``recorded`` already, and hold it to generous bounds around the figure docs/dashboard.md quotes
    (viz/measured_figures.py)."""
    if not recorded:
        record(key, value)
    problem = check(key, value)
    assert problem is None, problem


def test_default_scenario_keeps_up_and_answers_quickly(default_server, chromium):
    """nerve_injury at full size: frames per second in the browser, pause and mediator-switch latencies.

    Targets on the 2-core machine: >= 10 frames/s, answers in <= 0.3 s (<= 1 s at the sliders' maxima). The
    assertions leave room for a CI machine shared with other jobs; the figures are recorded and held to generous
    bounds around those docs/dashboard.md quotes (``_hold``).
    """
    s = Session(chromium, default_server.url, viewport=(1280, 720))
    s.play()
    s.page.wait_for_timeout(1500)  # warm up
    n0, t0 = s.frames_drawn(), time.monotonic()
    s.page.wait_for_timeout(5000)
    fps = (s.frames_drawn() - n0) / (time.monotonic() - t0)
    record("nerve_injury frames/s (browser)", fps)
    header_fps = float(s.page.locator(".na-header").get_attribute("data-fps"))
    assert header_fps == pytest.approx(fps, rel=0.6)  # the header shows what the browser achieves
    assert fps >= 5.0, f"{fps:.1f} frames/s (target 10)"
    _hold("nerve_injury frames/s (browser)", fps, recorded=True)
    s.page.get_by_label("Mediator on the map", exact=True).click(force=True)
    option = s.page.get_by_role("option", name="TNF", exact=True)
    option.wait_for()
    t0 = time.monotonic()
    option.click()
    s.page.wait_for_selector('canvas.na-map[data-mediator="TNF"]', timeout=10_000)
    switch = time.monotonic() - t0
    record("nerve_injury mediator switch while playing (s)", switch)
    pause = s.pause()
    record("nerve_injury pause (s)", pause)
    assert switch < 1.5 and pause < 1.5, (switch, pause)
    _hold("nerve_injury mediator switch while playing (s)", switch, recorded=True)
    _hold("nerve_injury pause (s)", pause, recorded=True)
    s.page.wait_for_timeout(300)
    t = s.time_min()
    s.page.wait_for_timeout(1000)
    assert s.time_min() == t  # really paused
    # the sliders' maxima: 4 x 4 mm, 1000 macrophages
    for i in (3, 8, 9):  # macrophages at start, tissue width, tissue height
        label = s.page.locator(".na-params .na-param").nth(i).inner_text()
        assert any(k in label for k in ("macrophages at start", "tissue width", "tissue height")), label
        s.page.locator(".na-params .v-slider").nth(i).locator(".v-slider__thumb-container").focus()
        s.page.keyboard.press("End")
    s.page.get_by_role("button", name="Apply (restarts the run)").click()
    s.page.wait_for_selector('canvas.na-map[data-cells-total]', timeout=10_000)
    s.page.wait_for_function("Number(document.querySelector('canvas.na-map').dataset.cellsTotal) > 1000",
                             timeout=60_000)  # fmt: skip
    s.play()
    s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) >= 10", timeout=60_000)
    big_pause = s.pause()
    record("sliders' maxima pause (s)", big_pause)
    assert big_pause < 4.0, big_pause
    _hold("sliders' maxima pause (s)", big_pause, recorded=True)
    s.check_clean("default-1280x720")
    s.close()


def _box(page, selector):
    box = page.locator(selector).first.bounding_box()
    assert box is not None, f"{selector} not rendered"
    return box


@pytest.mark.parametrize("size", [(1280, 720), (800, 1000)])
def test_layout_keeps_the_map_and_charts_visible_and_unclipped(server, chromium, size):
    w, h = size
    s = Session(chromium, server, viewport=size)
    s.select("lesson", "How a cytokine gradient forms")
    s.page.wait_for_selector(".na-lesson")
    s.page.wait_for_timeout(500)
    s.page.screenshot(path=str(ARTIFACTS / f"dashboard-{w}x{h}.png"))
    boxes = {"map": _box(s.page, "canvas.na-map")}
    for cid in ("pain", "threshold", "counts", "spinal"):
        boxes[cid] = _box(s.page, f'svg[data-chart="{cid}"]')
    for name, b in boxes.items():
        assert b["width"] >= 220 and b["height"] >= 140, (name, b)  # big enough to read
        assert b["x"] >= 0 and b["x"] + b["width"] <= w + 0.5, (name, b)  # not clipped sideways
    text_px = boxes["pain"]["width"] / 300 * 14  # the charts' 14-px text, as drawn
    assert text_px >= 10.5, text_px
    if w >= 1280:  # a projector: the map and the first row of charts on the first screen
        assert boxes["map"]["y"] < 0.45 * h and boxes["pain"]["y"] + 0.5 * boxes["pain"]["height"] < h, boxes
        assert boxes["map"]["y"] + 0.6 * boxes["map"]["height"] < h, boxes
    names = list(boxes)
    for i, a in enumerate(names):  # nothing drawn over anything else
        for bname in names[i + 1 :]:
            A, B = boxes[a], boxes[bname]
            overlap = min(A["x"] + A["width"], B["x"] + B["width"]) - max(A["x"], B["x"]) > 1 and min(
                A["y"] + A["height"], B["y"] + B["height"]) - max(A["y"], B["y"]) > 1  # fmt: skip
            assert not overlap, (a, bname, A, B)
    scroll_w = s.page.evaluate("document.documentElement.scrollWidth")
    assert scroll_w <= w + 1, f"the page is {scroll_w} px wide in a {w}-px window"
    with s.page.expect_download() as dl:  # the map as a PNG image
        s.page.locator(".na-map-png").click()
    png = Path(dl.value.path()).read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 2000 and dl.value.suggested_filename.endswith(".png")
    map_w = int.from_bytes(png[16:20], "big")
    with s.page.expect_download() as dl:  # the map and the four charts on one image
        s.page.locator(".na-all-png").click()
    both = Path(dl.value.path()).read_bytes()
    assert both.startswith(b"\x89PNG") and dl.value.suggested_filename == "neuroagents-map-and-charts.png"
    width, height = int.from_bytes(both[16:20], "big"), int.from_bytes(both[20:24], "big")
    chart_w = boxes["pain"]["width"]
    assert width >= map_w + 2 * chart_w - 2 and height >= 2 * boxes["pain"]["height"], (width, height, map_w, chart_w)
    assert len(both) > len(png)  # the charts' lines and text are on it, not blank space
    with s.page.expect_download() as dl:  # the readouts at every frame, as CSV
        s.page.get_by_role("button", name="CSV", exact=True).click()
    head = Path(dl.value.path()).read_text().splitlines()[0].split(",")
    assert head[0] == "time_min" and "pain_evoked_hz" in head and "n_mast_cell_resting" in head
    s.page.get_by_role("button", name="hide the lesson ◂").click()
    s.page.wait_for_selector(".na-lesson-show")
    s.check_clean(f"layout-{w}")
    s.close()


MEMORY_GROWTH_MB = 6
"""Most the server's resident memory may grow from the 5th to the 50th open/close cycle. Measured (2-core machine,
inflamed_skin as below) with every session freed at once and few malloc arenas (viz.memory): 2.2, 2.8 and 3.6 MB.
It fails on what used to happen: with glibc's default arenas and the diffusion solver's cache holding closed
sessions' plans, 7.3-10.8 MB; with a quarter of the sessions left to the cull (Playwright dropped their close
beacons, see Session.close), 52 MB, about 4 MB a session still held."""


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="reads the server's memory from /proc (Linux)")
def test_memory_stays_flat_over_50_open_close_cycles(server, chromium):
    """Open a tab, play it, close it, 50 times: the server's resident memory after the 50th cycle is within
    MEMORY_GROWTH_MB of what it was after the 5th (every session's model freed, its memory given back)."""
    pid = SERVERS["skin"].proc.pid
    rss = {}
    for cycle in range(1, 51):
        s = Session(chromium, server, viewport=(1280, 720))
        s.play()
        s.page.wait_for_timeout(500)
        s.close()
        if cycle in (5, 25, 50):
            time.sleep(4.0)  # the closed session's memory is given back two seconds after it closes
            rss[cycle] = _rss_mb(pid)
    for cycle in (5, 25, 50):
        record(f"server memory after {cycle} open/close cycles (MB)", rss[cycle])
    assert rss[50] - rss[5] < MEMORY_GROWTH_MB, rss
    for cycle in (5, 25, 50):  # the server's footprint itself: within twice the figure quoted
        _hold(f"server memory after {cycle} open/close cycles (MB)", rss[cycle], recorded=True)
