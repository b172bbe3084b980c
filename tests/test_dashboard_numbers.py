"""Every number docs/dashboard.md quotes, reproduced: the lessons' figures (by running them again, through the
dashboard's own code), the settings it names, and the measured figures labelled as such."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytest.importorskip("solara", reason="the dashboard extra is not installed (pip install 'neuroagents[dashboard]')")

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "dashboard.md").read_text(encoding="utf-8")


def _flat(text: str) -> str:
    return " ".join(text.split())


def _in_doc(snippet: str) -> None:
    assert _flat(snippet) in _flat(DOC), f"docs/dashboard.md does not say {snippet!r}"


@pytest.fixture(scope="module")
def lesson_results():
    from viz.lesson_runs import run_arms

    return run_arms()


@pytest.mark.slow
def test_the_lessons_table_is_what_the_lessons_give(lesson_results):
    """The table of lesson figures in the doc is exactly what running every arm gives now (seed 1, full size)."""
    from viz.lesson_runs import lesson_table

    table = lesson_table(lesson_results)
    assert table in DOC, "docs/dashboard.md's lesson table is out of date; paste `python -m viz.lesson_runs`:\n" + table


@pytest.mark.slow
def test_lesson_4_arms_differ_in_the_pain_signal_at_day_10(lesson_results):
    """Tofacitinib from day 3 and adalimumab at day 3 (the lesson's two one-click drugs) leave different pain at
    day 10: the JAK inhibitor, which also quiets the IL-6/GM-CSF axis that keeps M1 macrophages and COX-2 going,
    lowers the evoked signal and PGE2 more and raises the threshold more than the anti-TNF antibody."""
    arms = {a.name: r for a, r in lesson_results.items() if a.lesson == "jak_vs_anti_tnf" and a.day == 10}
    untreated, tofa, ada = arms["arthritis, untreated"], arms["tofacitinib from day 3"], arms["adalimumab at day 3"]
    for r in (untreated, tofa, ada):
        assert r["time_min"] == 10 * 1440.0
        assert 5.0 < r["pain_evoked_hz"] < 45.0  # within the evoked signal's range, not pinned at its ceiling
    assert tofa["pain_evoked_hz"] < ada["pain_evoked_hz"] - 0.1 < untreated["pain_evoked_hz"] - 0.1
    assert tofa["withdrawal_threshold_interp_g"] > ada["withdrawal_threshold_interp_g"] + 0.03
    # anti-TNF helps, but little: with T-cell IFN-γ (and the TLR agonist) keeping synovial macrophages M1, TNF is one
    # pro-inflammatory input among several (a TNF-driven synovitis is still open work, docs/validation.md)
    assert ada["withdrawal_threshold_interp_g"] > untreated["withdrawal_threshold_interp_g"] + 0.01
    assert tofa["heat_latency_s"] > ada["heat_latency_s"] > untreated["heat_latency_s"]
    assert tofa["n_macrophage_M1"] < 0.5 * ada["n_macrophage_M1"] and tofa["mean_PGE2_nM"] < 0.6 * ada["mean_PGE2_nM"]


def test_settings_the_doc_names():
    from viz.components import DOSE, DOSES, INTERVAL
    from viz.controls import PARAMS, Setup, build
    from viz.drawing import colour_table
    from viz.player import Player
    from viz.run_controls import SPEEDS
    from viz.server import CULL_AFTER
    from viz.tissue_view import MAX_CELLS

    model, kwargs, _ = build(Setup("nerve_injury"))
    n_cells = sum(ct.n for ct in model.cell_types.values())
    size = f"{kwargs['width_um'] / 1000:g} × {kwargs['height_um'] / 1000:g} mm"
    player = Player(on_frame=lambda seq: None)
    _in_doc(f"the default `nerve_injury` ({size}, ~{n_cells} cells, {player.steps_per_frame} steps per frame)")
    _in_doc(f'"medium" and "slow" wait {SPEEDS["medium"]:g} s and {SPEEDS["slow"]:g} s between frames')
    _in_doc(f"Above {MAX_CELLS} cells a stable sample is drawn")
    assert len(colour_table()) == 3 * 256
    _in_doc("an index into a 256-colour table")
    minutes = int(CULL_AFTER.removesuffix("m"))
    _in_doc(f"the server forgets a session whose browser has been gone for {minutes} minutes")
    _in_doc(f"keeps its model until the {minutes}-minute cull")
    from viz.memory import ARENAS

    _in_doc(f"the server's threads share {ARENAS} malloc arenas instead of glibc's 8 per core")
    _in_doc(f"a dose above {DOSE.high:g} mg/kg, an interval above {INTERVAL.high:g} h, more than {DOSES.high:g} doses")
    with pytest.raises(Exception) as err:
        DOSE.parse("nan")
    _in_doc(f"e.g. `{err.value}`")
    _in_doc(f"a connection lost without a close is noticed at the loop's next check, every {player.check_s:g} s")
    sni, _, _ = build(Setup("sni"))
    _in_doc(f"(`sni` records every {sni.record_every_min / 60:g} h)")
    highs = {p.key: p.high for p in PARAMS}
    _in_doc(f"the sliders' maxima ({highs['tissue.width_um'] / 1000:g} × {highs['tissue.height_um'] / 1000:g} mm, "
            f"{highs['cells.initial.macrophage']:g} macrophages)")  # fmt: skip
    from viz.lessons import load_lessons

    skin = load_lessons()["cytokine_gradient"]
    w = next(float(o.split("=")[1]) for o in skin.overrides if o.startswith("tissue.width_um="))
    _in_doc(f"`inflamed_skin`, {w / 1000:g} × {w / 1000:g} mm")


def test_the_bounds_the_doc_quotes_are_those_the_tests_assert():
    """The frame rates, latencies and memory are measured, not modelled: the bounds the doc says the tests assert
    are the ones they assert, and the doc states the bounds around the committed figures as the code has them."""
    from viz.measured_figures import bounds_text

    browser = (ROOT / "tests" / "test_dashboard_browser.py").read_text(encoding="utf-8")
    bounds = re.search(r"The tests assert generous bounds \(≥ (\S+) frames/s, answers < (\S+) s, < (\S+) s at the "
                       r"maxima, < (\S+) s after a tab closes, less than (\S+) MB", _flat(DOC))  # fmt: skip
    assert bounds, "the doc must say which bounds the browser tests assert"
    quoted = [float(v) for v in bounds.groups()]
    asserted = [re.search(pattern, browser) for pattern in (r"fps >= ([\d.]+),", r"switch < ([\d.]+) and pause <",
                                                            r"big_pause < ([\d.]+),", r"waited < ([\d.]+),",
                                                            r"MEMORY_GROWTH_MB = ([\d.]+)")]  # fmt: skip
    assert all(asserted) and quoted == [float(m.group(1)) for m in asserted], (quoted, asserted)
    _in_doc(f"hold each fresh figure to the one quoted here: {bounds_text()}.")


def test_every_measured_figure_quoted_is_the_committed_one():
    """Each measured figure in the doc is the value of docs/data/dashboard_measured.json, in the table rendered
    from it, with where, when and at which commit it was measured; no other measured-looking figure (a number of
    frames/s, ms, MB or s) appears anywhere in the doc, except the settings and bounds checked above."""
    from viz import measured_figures as mf
    from viz.player import Player
    from viz.run_controls import SPEEDS

    data = mf.load_data()
    assert mf.doc_problems(DOC, data) == []
    assert set(data["figures"]) == {f.key for f in mf.FIGURES}
    on = data["measured_on"]
    assert all(on.get(k) for k in ("machine", "browser", "commit", "dates")), on
    _in_doc(mf.measured_on_text(data))
    begin, end = DOC.index(mf.BEGIN), DOC.index(mf.END)
    rest = _flat(DOC[:begin] + DOC[end:]).replace(mf.bounds_text(), "")
    settings = {f"{SPEEDS['medium']:g} s", f"{SPEEDS['slow']:g} s", f"{Player(on_frame=print).check_s:g} s"}
    unit = r"(\d+(?:\.\d+)?) ?(frames/s|frames per second|ms|MB|s|seconds?)(?![\w/])"
    for m in re.finditer(r"(≥ |≤ |< |> |less than |more than )?" + unit, rest):  # over the figures outside the table
        assert m.group(1) or f"{m.group(2)} {m.group(3)}" in settings, (
            f"docs/dashboard.md quotes {m.group(0)!r} ({rest[max(m.start() - 60, 0):m.end() + 20]!r}): a measured "
            "figure belongs in the table of measured figures, measured by a test (viz/measured_figures.py)")


def test_a_figure_the_data_file_does_not_hold_is_caught():
    """The check above can fail: a figure changed, one added, one dropped."""
    from viz import measured_figures as mf

    data = mf.load_data()
    first = mf.FIGURES[0]
    shown = f"**{first.text(data['figures'][first.key]['value'])}**"
    assert shown in DOC
    changed = DOC.replace(shown, f"**{first.text(data['figures'][first.key]['value'] + 1.0)}**", 1)
    assert any(f"{first.label} = " in p for p in mf.doc_problems(changed, data))
    invented = DOC.replace(mf.END, f"| something else | **{first.text(99.0)}** | me |\n{mf.END}")
    assert any("is not one of the measured figures" in p for p in mf.doc_problems(invented, data))
    dropped = "\n".join(line for line in DOC.splitlines() if not line.startswith(f"| {first.label} |"))
    assert any("does not quote" in p for p in mf.doc_problems(dropped, data))
    slow = mf.check(first.key, 0.1)  # a frame rate far below the floor: the message names the doc's line
    assert slow is not None and f"docs/dashboard.md:{mf.doc_line(first.key)} quotes" in slow and first.label in slow
    assert DOC.splitlines()[mf.doc_line(first.key) - 1].startswith(f"| {first.label} |")


def test_update_takes_one_whole_run_at_one_clean_commit(tmp_path, monkeypatch):
    """``python -m viz.measured_figures --update`` writes the data file only from a record of every figure, all at
    one commit with nothing uncommitted; what it writes renders the doc's table again."""
    from neuroagents.errors import ConfigError
    from viz import measured_figures as mf

    timing, out = tmp_path / "timing.json", tmp_path / "measured.json"
    monkeypatch.setattr(mf, "commit", lambda: "abc123")
    for f in mf.FIGURES[:-1]:
        mf.record(f.key, 1.0, path=timing)
    with pytest.raises(ConfigError, match="memory after 50"):
        mf.update_data(timing, out)
    monkeypatch.setattr(mf, "commit", lambda: "abc123+changes")
    mf.record(mf.FIGURES[-1].key, 2.0, path=timing)
    with pytest.raises(ConfigError, match="one commit with no uncommitted changes"):
        mf.update_data(timing, out)
    monkeypatch.setattr(mf, "commit", lambda: "abc123")
    mf.record(mf.FIGURES[-1].key, 2.04, path=timing)
    mf.record_browser("Chromium 1.2.3", path=timing)
    data = mf.update_data(timing, out)
    assert mf.load_data(out) == data and data["measured_on"]["commit"] == "abc123"
    assert data["figures"][mf.FIGURES[-1].key]["value"] == 2.0  # as the doc quotes it: 1 decimal
    block = mf.render_block(data)
    assert "**2.0 MB**" in block and "Chromium 1.2.3" in block and mf.doc_problems(block, data) == []


def test_server_side_cost_of_a_nerve_injury_frame(monkeypatch):
    """A frame of the default nerve_injury on the server, through the page's own code (``solara.render``, the
    *Step* button, which runs a frame's model steps and then the page's redraw): each model step, the frame's
    readouts (``LiveTrace.take``: pain readouts and census) and its drawing (``FrameSinks.push``: header, map,
    legend, charts), timed over a few frames after a first that warms up. The figures are recorded
    (viz.measured_figures) and held to generous bounds around those docs/dashboard.md quotes."""
    import ipyvuetify as v
    import numpy as np
    import solara

    from viz.controls import OVERRIDES_ENV, SCENARIO_ENV
    from viz.frames import FrameSinks
    from viz.measured_figures import check, record
    from viz.player import Player
    from viz.trace import LiveTrace

    monkeypatch.delenv(SCENARIO_ENV, raising=False)  # the default scenario, as a teacher starts it
    monkeypatch.delenv(OVERRIDES_ENV, raising=False)
    took, pushed, models = [], [], []
    take, push = LiveTrace.take, FrameSinks.push

    def timed_take(self, model):
        t0 = time.perf_counter()
        out = take(self, model)
        took.append(time.perf_counter() - t0)
        models.append(model)
        return out

    def timed_push(self, seq):
        t0 = time.perf_counter()
        push(self, seq)
        pushed.append(time.perf_counter() - t0)

    monkeypatch.setattr(LiveTrace, "take", timed_take)
    monkeypatch.setattr(FrameSinks, "push", timed_push)
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)
    frames = 4
    n_take, n_push = len(took), len(pushed)
    for _ in range(1 + frames):  # the first frame warms up
        rc.find(v.Btn, children=["Step"]).widget.click()
    model = models[-1]
    spf = Player(on_frame=print).steps_per_frame  # the Step button's steps per frame, as the page starts
    assert model.steps == (1 + frames) * spf  # each click one frame, nothing else stepped
    assert len(took) == n_take + 1 + frames and len(pushed) == n_push + 1 + frames  # one readout, one push a frame
    rc.close()
    figures = {"nerve_injury model step (ms)": 1e3 * float(np.median(list(model.step_seconds)[-frames * spf:])),
               "nerve_injury readouts per frame (ms)": 1e3 * float(np.median(took[-frames:])),
               "nerve_injury drawing per frame (ms)": 1e3 * float(np.median(pushed[-frames:]))}  # fmt: skip
    for key, value in figures.items():  # over the three parts
        assert value > 0
        record(key, value)
    problems = [p for key, value in figures.items() if (p := check(key, value)) is not None]
    assert not problems, "\n".join(problems)
