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
EVOKED = "evoked (standard filament)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """``neuroagents dashboard inflamed_skin`` (small tissue) on a free port, with the front-end files local."""
    from viz import assets

    if assets.missing_assets():
        try:
            assets.fetch_assets(log=lambda line: None)
        except assets.AssetsError as exc:
            pytest.fail(f"front-end files missing and not fetchable ({exc}); run 'neuroagents dashboard "
                        "--fetch-assets' once (.ci/run does)")  # fmt: skip
    port = _free_port()
    cmd = [sys.executable, "-m", "neuroagents", "dashboard", "inflamed_skin", "--port", str(port),
           *(a for s in SKIN for a in ("--set", s))]  # fmt: skip
    log = open(ARTIFACTS.mkdir(exist_ok=True) or ARTIFACTS / "dashboard-server.log", "w")
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log.close()
            pytest.fail(f"the dashboard exited: {(ARTIFACTS / 'dashboard-server.log').read_text()[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.terminate()
        pytest.fail("the dashboard did not start listening within 90 s")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@pytest.fixture(scope="module")
def chromium():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Session:
    """One browser context on the dashboard, recording console errors and requests that failed or left."""

    def __init__(self, browser, url):
        self.context = browser.new_context(viewport={"width": 1600, "height": 1250})
        self.page = self.context.new_page()
        self.errors, self.failed, self.outside = [], [], []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.route("**/*", self._route)
        self.page.goto(url)
        self.page.wait_for_selector(".na-heatmap svg use", timeout=60_000)

    def _route(self, route):
        url = route.request.url
        if url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort()

    def time_min(self) -> float:
        return float(self.page.locator(".na-header").get_attribute("data-time-min"))

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
        self.context.close()


def test_load_step_play_pause_offline(server, chromium):
    s = Session(chromium, server)
    heat = s.page.locator(".na-heatmap svg")
    assert int(heat.get_attribute("data-cells-drawn")) == 25 + 75 + 15
    before = s.series("pain", EVOKED)
    s.step(2)  # 2 x 5 steps: one more recorded point
    after = s.series_when("pain", EVOKED, before["n"] + 1)
    assert after["n"] == before["n"] + 1 and after["points"] != before["points"]
    s.select("Mediator on the map", "histamine")
    s.page.wait_for_selector('.na-heatmap svg[data-mediator="histamine"]')
    assert float(heat.get_attribute("data-vmax")) > 0  # mast cells degranulated: histamine on the map
    s.page.get_by_role("button", name="▶").click()
    s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) >= 40", timeout=30_000)
    s.page.get_by_role("button", name="❚❚").click()
    s.page.wait_for_timeout(400)
    stopped = s.time_min()
    s.page.wait_for_timeout(800)
    assert s.time_min() == stopped  # paused
    assert s.series_when("pain", EVOKED, after["n"] + 3)["n"] >= after["n"] + 3
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
    pa, pb = a.series_when("pain", EVOKED, 7), b.series_when("pain", EVOKED, 7)  # records every 10 min: t = 0..60
    assert pa["n"] == pb["n"] == 7
    assert pa["last"] < pb["last"] - 0.1, (pa, pb)  # anti-TNF lowers the evoked pain signal
    assert b.page.locator(".na-marker").count() == 0
    a.check_clean("drug")
    b.check_clean("no-drug")
    a.close()
    b.close()


def test_change_a_parameter_inspect_a_cell_and_a_lesson(server, chromium):
    s = Session(chromium, server)
    assert s.series("counts", "macrophage M0")["first"] == 75
    slider = s.page.locator(".na-params .v-slider").nth(3)  # macrophages at start
    assert "macrophages at start" in s.page.locator(".na-params .v-input").nth(3).inner_text()
    slider.locator(".v-slider__thumb-container").focus()
    for _ in range(4):
        s.page.keyboard.press("ArrowRight")  # +5 each
    s.page.get_by_role("button", name="Apply (restarts the run)").click()
    s.page.wait_for_function(
        """() => { const l = document.querySelector('svg[data-chart="counts"] polyline[data-series="macrophage M0"]');
                   return l && Number(l.dataset.first) === 95; }""",
        timeout=20_000,
    )
    assert int(s.page.locator(".na-heatmap svg").get_attribute("data-cells-drawn")) == 25 + 95 + 15
    s.page.locator('.na-heatmap g[data-kind="macrophage"] use').nth(7).click(force=True)  # the map's click handler
    inspector = s.page.locator(".na-inspector")
    inspector.wait_for(timeout=20_000)
    assert inspector.get_attribute("data-kind") in ("macrophage", "mast_cell", "neuron")
    assert re.fullmatch(r"\d+", inspector.get_attribute("data-id"))
    assert s.page.locator(".na-heatmap .na-selected").count() == 1
    s.select("lesson", "Macrophages and miR-21 after nerve injury")
    s.page.wait_for_selector(".na-lesson")
    assert s.page.locator(".na-heatmap svg").get_attribute("data-mediator") == "miR21"
    assert s.page.get_by_text("not applied yet").count() == 0  # the sliders show the scenario's values as they are
    s.page.get_by_role("button", name="Knock out miR-21").click()
    s.page.wait_for_selector('.na-marker[data-label="miR21 knockout"]')
    s.step(3)
    s.check_clean("lesson")
    if os.environ.get("NEUROAGENTS_UPDATE_SCREENSHOT"):  # the README's picture: the lesson at day 2.5, reference kept
        s.page.get_by_role("button", name="Reset").click()
        s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) === 0")
        s.select("speed", "as fast as possible")
        s.page.get_by_role("button", name="▶").click()
        s.page.wait_for_function("Number(document.querySelector('.na-header').dataset.timeMin) >= 3600",
                                 timeout=300_000)  # fmt: skip
        s.page.get_by_role("button", name="❚❚").click()
        s.page.wait_for_timeout(1500)
        s.page.locator('.na-heatmap g[data-kind="macrophage"] use').nth(3).click(force=True)
        s.page.locator(".na-inspector").wait_for()
        s.page.wait_for_timeout(500)
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        s.page.screenshot(path=str(ROOT / "docs" / "img" / "dashboard.png"), full_page=True)
        s.check_clean("readme")
    s.close()
