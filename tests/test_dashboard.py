"""The dashboard without a browser: actions, drawing, lessons, assets, the command, and the page via solara.render."""

from __future__ import annotations

import doctest
import importlib
import io
import re
import tarfile
import time

import numpy as np
import pytest

pytest.importorskip("solara", reason="the dashboard extra is not installed (pip install 'neuroagents[dashboard]')")

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from viz import actions, assets, drawing, live
from viz.controls import Setup, build
from viz.lessons import load_lessons

SMALL = dict(width_um=400, height_um=400, n_mast_cells=8, n_macrophages=20, n_neurons=6)
SKIN = ("tissue.width_um=600", "tissue.height_um=600", "cells.initial.mast_cell=12", "cells.initial.macrophage=30",
        "cells.initial.neuron=8")  # fmt: skip


@pytest.mark.parametrize("name", ["actions", "assets", "charts", "controls", "drawing", "frames", "inputs", "lessons",
                                  "live", "measured_figures", "player", "plots", "server", "trace"])
def test_viz_doctests(name):
    mod = importlib.import_module(f"viz.{name}")
    result = doctest.testmod(mod, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0 and result.attempted > 0


# --- actions --------------------------------------------------------------------------------
def test_drug_now_equals_the_same_schedule_from_the_start():
    given = live.LiveModel(seed=3, **SMALL)
    actions.give_drug(given, "tofacitinib", "oral", 10.0, interval_h=12.0, n_doses=2)
    scheduled = NeuroImmuneModel(seed=3, **SMALL, drugs=[{"drug": "tofacitinib", "route": "oral",
                                                          "dose_mg_per_kg": 10.0, "interval_h": 12.0, "n_doses": 2}])
    for t in (30.0, 600.0, 800.0):
        assert given.pharmacology.effects(t) == scheduled.pharmacology.effects(t)
    for _ in range(5):
        given.step()
        scheduled.step()
    assert given.inhibition == pytest.approx(scheduled.inhibition)
    assert given.inhibition["JAK1"] > 0.3
    assert [a.kind for a in given.actions] == ["drug"] and "q12h x2" in given.actions[0].label


def test_drug_given_later_starts_then_and_keeps_earlier_doses():
    m = live.LiveModel(seed=1, **SMALL)
    actions.give_drug(m, "adalimumab", "iv", 10.0)
    for _ in range(3):
        m.step()
    actions.give_drug(m, "tofacitinib", "oral", 10.0)
    starts = sorted((s.drug, s.start_min) for s in m.pharmacology.schedules)
    assert starts == [("adalimumab", 0.0), ("tofacitinib", 3.0)]
    assert m.pharmacology.effects(3.0)["periphery"]["JAK1"] < 1e-9  # an oral dose has not been absorbed yet
    assert m.pharmacology.effects(3.0)["periphery"]["TNF"] > 0.9  # the i.v. antibody from t = 0 is still there


def test_deplete_now_removes_that_fraction_of_that_state():
    m = live.LiveModel(seed=2, **{**SMALL, "n_macrophages": 400})
    a = actions.deplete_now(m, "macrophage", 0.5)
    n = m.cell_types["macrophage"].n
    assert 150 < n < 250 and a.detail == f"removed {400 - n} of 400 macrophage"
    with pytest.raises(ConfigError, match=r"deplete\.fraction"):
        actions.deplete_now(m, "macrophage", 1.5)
    with pytest.raises(ConfigError, match="did you mean 'mast_cell'"):
        actions.deplete_now(m, "mast_cells", 0.5)
    before = m.cell_types["mast_cell"].census()
    actions.deplete_now(m, "mast_cell", 1.0, state="refractory")  # none are refractory yet
    assert m.cell_types["mast_cell"].census() == before


def test_knockouts_now():
    m = live.LiveModel(seed=1, **SMALL, mast_cell_stimulus=0.8)
    ref = live.LiveModel(seed=1, **SMALL, mast_cell_stimulus=0.8)
    actions.knock_out_now(m, "mediator", "histamine")
    actions.knock_out_now(m, "receptor", "TNFR1")
    actions.knock_out_now(m, "cell_type", "t_cell")
    actions.give_drug(m, "ibuprofen", "iv", 10.0)  # drug effects are recomputed each step: the receptor stays blocked
    for _ in range(10):
        m.step()
        ref.step()
    hist = m.env.names.index("histamine")
    assert float(ref.env.fields[hist].max()) > 0 and float(m.env.fields[hist].max()) == 0.0
    assert m.inhibition["TNFR1"] == 1.0 and "t_cell" in m.knockouts.cell_types
    with pytest.raises(ConfigError, match="knockout"):
        actions.knock_out_now(m, "gene", "Tnf")


def test_deplete_and_knock_out_in_the_compartment_chosen_or_say_model_wide():
    model, _, _ = build(Setup("sni", ("compartments.paw.width_um=400", "compartments.paw.height_um=400")))
    comps = model.compartments
    n = {c: comps[c].cell_types["macrophage"].n for c in comps}
    a = actions.deplete_now(model, "macrophage", 1.0, compartment="drg")
    assert comps["drg"].cell_types["macrophage"].n == 0 and a.label == "deplete 100% macrophage in drg"
    assert a.detail == f"removed {n['drg']} of {n['drg']} macrophage in drg"
    assert {c: comps[c].cell_types["macrophage"].n for c in ("paw", "dorsal_horn")} == {
        c: n[c] for c in ("paw", "dorsal_horn")}  # fmt: skip
    a = actions.deplete_now(model, "macrophage", 1.0)
    assert a.label.endswith("(all compartments)") and sum(c.cell_types["macrophage"].n for c in comps.values()) == 0
    with pytest.raises(ConfigError, match=r"deplete\.compartment = 'knee'"):
        actions.deplete_now(model, "macrophage", 0.5, compartment="knee")
    dh_microglia = comps["dorsal_horn"].cell_types["microglia"].n
    a = actions.knock_out_now(model, "mediator", "BDNF", compartment="dorsal_horn")
    assert a.label == "BDNF knockout in dorsal_horn" and "BDNF" in model.knockouts_in("dorsal_horn").mediators
    assert "BDNF" not in model.knockouts_in("drg").mediators and "BDNF" not in model.knockouts.mediators
    actions.knock_out_now(model, "receptor", "TNFR1", compartment="drg")
    assert model.inhibition_in("drg")["TNFR1"] == 1.0 and model.inhibition_in("periphery").get("TNFR1", 0.0) < 1.0
    for _ in range(60):
        model.step()
    assert model.inhibition_in("drg")["TNFR1"] == 1.0  # the block outlasts the step's drug tables
    assert comps["dorsal_horn"].cell_types["microglia"].n >= dh_microglia > 0  # a mediator knockout removes no cell


def test_markers_place_a_scenario_knockout_at_its_from_min_and_name_where_it_acts():
    kw = {"injured_fraction": 0.5, "interventions": [
        {"kind": "knockout", "mediator": "BDNF", "compartment": "dorsal_horn", "from_min": 2880.0},
        {"kind": "knockout", "cell_type": "t_cell"},
        {"kind": "deplete", "cell_type": "macrophage", "fraction": 0.9, "time_min": 1440.0, "compartment": "drg",
         "until_min": 4320.0},
        {"kind": "transfer", "cell_type": "t_cell", "n": 5, "compartment": "drg", "time_min": 60.0}]}  # fmt: skip
    events = [(a.time_min, a.kind, a.label) for a in live.scenario_events(kw)]
    assert events == [(0.0, "injury", "injury (50% of neurons)"), (0.0, "knockout", "t_cell knockout (scenario)"),
                      (60.0, "transfer", "transfer 5 t_cell in drg (scenario)"),
                      (1440.0, "deplete", "deplete 90% macrophage in drg, held to day 3 (scenario)"),
                      (2880.0, "knockout", "BDNF knockout in dorsal_horn (scenario)")]  # fmt: skip


def test_legend_counts_the_compartment_on_the_map_and_labels_the_total():
    model, _, _ = build(Setup("sni", ("compartments.paw.width_um=400", "compartments.paw.height_um=400")))
    view = live.views(model)["drg"]
    layer = drawing.cell_layer(view)
    everywhere = {k: sum(c.cell_types[k].n for c in model.compartments.values()) for k in view.cell_types}
    legend = drawing.legend_html(layer, where="drg", everywhere=everywhere)
    drg = model.compartments["drg"].cell_types["macrophage"]
    assert f'data-kind="macrophage" data-total="{drg.n}"' in legend and "Cells in drg" in legend
    assert f'data-n="{everywhere["macrophage"]}">({everywhere["macrophage"]} in all compartments)' in legend
    assert everywhere["macrophage"] > drg.n
    for state, n in drg.census().items():
        assert f'data-state="{state}" data-n="{n}"' in legend


# --- drawing --------------------------------------------------------------------------------
def _unb64(text, dtype):
    import base64

    return np.frombuffer(base64.b64decode(text), dtype=dtype)


def test_map_frame_is_the_field_as_bytes_and_one_position_array_per_type_and_state():
    m = live.LiveModel(seed=1, **{**SMALL, "n_macrophages": 600}, mast_cell_stimulus=0.8)
    for _ in range(3):
        m.step()
    view = live.views(m)["tissue"]
    frame = drawing.field_frame(view, "histamine")
    field = m.env.field("histamine")
    assert frame.vmax == pytest.approx(float(field.max())) and frame.vmax > 0 and not frame.fixed
    index = _unb64(frame.index_base64, np.uint8).reshape(frame.shape)  # rows = y
    assert frame.shape == (field.shape[1], field.shape[0])
    assert index.max() == 255 and np.array_equal(index.T, np.round(np.clip(field / frame.vmax, 0, 1) * 255))
    layer = drawing.cell_layer(view, max_cells=100)
    assert layer.n_total == sum(ct.n for ct in m.cell_types.values())
    assert 50 < layer.n_drawn < 160
    again = drawing.cell_layer(view, max_cells=100)
    assert np.array_equal(layer.drawn["macrophage"][2], again.drawn["macrophage"][2])
    payload = drawing.map_frame(frame, layer, seq=7)
    assert payload["seq"] == 7 and payload["mediator"] == "histamine" and payload["n_drawn"] == layer.n_drawn
    groups = {(g["kind"], g["state"]): g for g in payload["groups"]}
    assert len(groups) == len(payload["groups"])  # one group (one path in the browser) per type and state
    assert sum(g["n"] for g in payload["groups"]) == layer.n_drawn
    mast = groups[("mast_cell", "refractory")] if ("mast_cell", "refractory") in groups else None
    if mast is not None:  # positions are float32 pairs
        assert _unb64(mast["xy"], np.float32).size == 2 * mast["n"]
    base = drawing.map_base(view)
    assert len(_unb64(base["lut"], np.uint8)) == 768 and base["extent_um"] == [400.0, 400.0]
    vessels = _unb64(base["vessels"], np.uint8).reshape(base["shape"])
    assert 0 < vessels.sum() < vessels.size
    assert layer.state_totals["macrophage"] == m.cell_types["macrophage"].census()


def test_fixed_colour_scale_keeps_its_top():
    m = live.LiveModel(seed=1, **SMALL, mast_cell_stimulus=0.8)
    for _ in range(3):
        m.step()
    view = live.views(m)["tissue"]
    peak = float(m.env.field("histamine").max())
    fixed = drawing.field_frame(view, "histamine", vmax=4 * peak)
    index = _unb64(fixed.index_base64, np.uint8)
    assert fixed.fixed and fixed.vmax == 4 * peak and fixed.peak == pytest.approx(peak)
    assert 60 <= index.max() <= 66  # a quarter of the scale
    from viz.tissue_view import scale_top

    assert scale_top(m, ("tissue", "histamine"), peak, None) == peak
    assert scale_top(m, ("tissue", "histamine"), peak / 10, None) == peak  # the highest so far: it never shrinks
    assert scale_top(m, ("tissue", "histamine"), peak / 10, 2.5) == 2.5  # a typed top wins
    kind, cid = "neuron", int(m.cell_types["neuron"].pop.ids[0])
    x, y = m.cell_types["neuron"].pop.position_um[0][:2]
    assert drawing.nearest_cell(view, float(x), float(y), radius_um=0.5) == (kind, cid)
    assert drawing.nearest_cell(view, -1e4, -1e4) is None


def test_heatmap_of_a_3d_grid_is_one_slice():
    m = live.LiveModel(seed=1, width_um=200, height_um=200, depth_um=100, n_mast_cells=4, n_macrophages=20,
                       n_neurons=2)  # fmt: skip
    view = live.views(m)["tissue"]
    frame = drawing.field_frame(view, "TNF", z_index=2)
    layer = drawing.cell_layer(view, z_index=2)
    assert frame.z_index == 2 and 0 < layer.n_total < 26


# --- lessons and setups ---------------------------------------------------------------------
# --- the play loop, inputs, the live trace -------------------------------------------------
def test_player_waits_for_the_browser_and_stops_when_it_goes():
    import threading

    m = live.LiveModel(seed=1, **SMALL)
    published, connected = [], threading.Event()
    connected.set()
    from viz.player import Player

    p = Player(on_frame=published.append, connected=connected.is_set, ack_timeout_s=30.0, check_s=0.02)
    p.steps_per_frame = 2
    p.play(m)
    deadline = time.monotonic() + 20
    while not published and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.3)
    assert published == [1] and m.time_min == 2.0  # frame 1 not drawn yet: no second frame
    p.drawn(1, 12.5)
    while len(published) < 2 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert published[:2] == [1, 2] and p.browser_fps == 12.5
    connected.clear()  # the tab closed
    p.join(5.0)
    assert not p.playing and p.stopped_because == "the browser disconnected"
    t = m.time_min
    time.sleep(0.2)
    assert m.time_min == t


def test_player_pause_and_run_to_a_time():
    from viz.player import Player

    m = live.LiveModel(seed=1, **SMALL)
    p = Player(on_frame=lambda seq: None, wait_for_browser=False)
    p.steps_per_frame = 4
    p.play(m, until_min=10.0)
    p.join(30.0)
    assert m.time_min == 10.0 and p.stopped_because == "reached 10 min"  # stops there exactly, not at 12
    p.play(m, until_min=5.0)
    assert not p.playing and "already at" in p.stopped_because
    p.play(m)
    p.pause()
    p.join(10.0)
    assert not p.playing and p.stopped_because == "paused"


@pytest.mark.parametrize("text", ["nan", "NaN", "inf", "-inf", "", "  ", "abc", "1e400", "-1", "0", "1e9", "True"])
def test_bad_numbers_are_one_line_errors_naming_the_field(text):
    from viz.components import DOSE, DOSES, INTERVAL
    from viz.run_controls import RUN_TO_DAY

    for spec in (DOSE, INTERVAL, DOSES):
        with pytest.raises(ConfigError) as err:
            spec.parse(text)
        assert str(err.value).startswith(f"{spec.key} = ") and "\n" not in str(err.value)
    if text not in ("0", "1e9"):  # day 0 is a day; 1e9 is out of its range too but checked below
        with pytest.raises(ConfigError, match="run to day"):
            RUN_TO_DAY.parse(text)
    with pytest.raises(ConfigError):
        RUN_TO_DAY.parse("1e9")
    assert DOSES.parse("6") == 6 and DOSE.parse("2,5") == 2.5


def test_live_trace_counts_each_compartment_and_pain_every_frame():
    model, _, _ = build(Setup("sni", ("compartments.paw.width_um=400", "compartments.paw.height_um=400")))
    assert model.record_every_min == 720.0
    for _ in range(3):
        model.step()
        model.trace.take(model)
    assert len(model.trace) == 4 and len(model.timeseries()) == 1  # a point per frame; the model recorded once
    last = model.trace.last
    for name, comp in model.compartments.items():
        for state, n in comp.cell_types["macrophage"].census().items():
            assert last[f"n_macrophage_{state}_{name}"] == n
    assert last["n_macrophage_M0"] == model.counts()["macrophage"]["M0"]
    assert last["pain_evoked_hz"] == pytest.approx(model.pain.readouts(model)["pain_evoked_hz"])
    from viz.charts import count_series

    arrays = model.trace.arrays()
    drg = {s.name: s.y[-1] for s in count_series(arrays, "macrophage", "drg")}
    total = {s.name: s.y[-1] for s in count_series(arrays, "macrophage", None)}
    assert drg["macrophage M0"] == model.compartments["drg"].cell_types["macrophage"].census()["M0"]
    assert total["macrophage M0"] > drg["macrophage M0"]


def test_at_least_four_lessons_and_each_runs_with_its_actions():
    lessons = load_lessons()
    assert len(lessons) >= 4
    for ls in lessons.values():
        small = (*ls.overrides, "tissue.width_um=400", "tissue.height_um=400")
        model, _, _ = build(Setup(ls.scenario, small, ls.name))
        assert ls.mediator in model.env.names and ls.counts in model.cell_types
        model.step()
        for t in ls.actions:
            getattr(actions, {"drug": "give_drug", "deplete": "deplete_now", "knockout": "knock_out_now"}[t.kind])(
                model, **t.kwargs
            )
        model.step()
        assert len(model.actions) == len(ls.actions)


def test_setup_errors_are_one_line():
    with pytest.raises(ConfigError, match=r"tissue.width_um = -1: must be a length > 0"):
        build(Setup("healthy", ("tissue.width_um=-1",)))


# --- assets and the command -----------------------------------------------------------------
def test_asset_packages_and_unpacking(tmp_path):
    specs = assets.required_packages()
    assert any(s.startswith("@widgetti/solara-vuetify-app@") for s in specs)
    assert any(s.startswith("requirejs@") for s in specs)
    assert assets.missing_assets(tmp_path) == list(specs)
    data = b"define([], {});"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        info = tarfile.TarInfo("package/require.js")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    tgz = tmp_path / "requirejs-2.3.6.tgz"
    tgz.write_bytes(buf.getvalue())
    target = tmp_path / "cache" / "requirejs@2.3.6"
    target.parent.mkdir()
    assets._unpack(tgz, target)
    assert (target / "require.js").read_bytes() == data
    assert "requirejs@2.3.6" not in assets.missing_assets(tmp_path / "cache")


def test_server_frees_sessions_without_a_browser_within_minutes(monkeypatch, tmp_path):
    from viz.server import CULL_AFTER, server_environment

    monkeypatch.delenv("SOLARA_KERNEL_CULL_TIMEOUT", raising=False)
    env = server_environment(tmp_path, allow_cdn=False, scenario=None, overrides=[])
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == CULL_AFTER == "3m"  # Solara's default would keep them 24 h
    monkeypatch.setenv("SOLARA_KERNEL_CULL_TIMEOUT", "30m")
    env = server_environment(tmp_path, allow_cdn=False, scenario=None, overrides=[])
    assert env["SOLARA_KERNEL_CULL_TIMEOUT"] == "30m"


def test_a_freed_model_takes_its_solver_casts_with_it():
    """The diffusion solver's cache of cast coefficients holds no plan alive: when a session's model is freed, its
    entries go with it (they used to stay until 32 newer plans pushed them out: a few MB of closed sessions)."""
    import gc
    import weakref

    from neuroagents.tissue.diffusion import numba_host

    m, _, _ = build(Setup("inflamed_skin", SKIN))
    before = set(numba_host._coeff_cache)
    m.step()
    mine = {k for k in set(numba_host._coeff_cache) - before if k[1] is not None}  # keyed by this model's plans
    assert mine, "the step cast no coefficients: the test no longer watches the cache the model uses"
    freed = weakref.ref(m)
    del m
    gc.collect()
    assert freed() is None
    assert not mine & set(numba_host._coeff_cache)


_ARENAS_SCRIPT = """
import ctypes, sys, threading
from viz.memory import limit_arenas
if sys.argv[1] == "limit":
    assert limit_arenas(2)
start, done = threading.Barrier(9), threading.Barrier(9)
def work():  # eight threads allocating at once, as sessions' threads do
    start.wait()
    keep = [bytearray(4096) for _ in range(100)]
    done.wait()
threads = [threading.Thread(target=work) for _ in range(8)]
for t in threads:
    t.start()
start.wait()
done.wait()
libc = ctypes.CDLL("libc.so.6")
libc.fopen.restype = ctypes.c_void_p
fp = libc.fopen(sys.argv[2].encode(), b"w")
libc.malloc_info(0, ctypes.c_void_p(fp))
libc.fclose(ctypes.c_void_p(fp))
for t in threads:
    t.join()
"""


def test_server_threads_share_two_malloc_arenas(tmp_path):
    """With :func:`viz.memory.limit_arenas` (the server calls it at start), threads started afterwards share at
    most 2 glibc malloc arenas; without it, eight threads allocating at once get arenas of their own."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from viz import memory

    lib = memory._libc()
    if not lib or not hasattr(lib, "mallopt") or not hasattr(lib, "malloc_info"):
        pytest.skip("glibc's malloc (mallopt, malloc_info) is not this process's allocator")
    root = Path(__file__).resolve().parents[1]
    env = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    arenas = {}
    for mode in ("limit", "default"):
        info = tmp_path / f"{mode}.xml"
        subprocess.run([sys.executable, "-c", _ARENAS_SCRIPT, mode, str(info)], env=env, cwd=root, check=True,
                       timeout=120)  # fmt: skip
        arenas[mode] = info.read_text().count("<heap nr=")
    assert 1 <= arenas["limit"] <= 2 < arenas["default"], arenas


def test_dashboard_command_refuses_missing_assets_and_bad_scenarios(tmp_path, capsys):
    from neuroagents.cli import main

    assert main(["dashboard", "--assets-dir", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--fetch-assets" in err
    assert main(["dashboard", "helthy", "--allow-cdn"]) == 2
    assert "did you mean 'healthy'" in capsys.readouterr().err


# --- the page, rendered without a browser ---------------------------------------------------
def _page(monkeypatch):
    import ipyvuetify as v
    import solara

    monkeypatch.setenv("NEUROAGENTS_DASHBOARD_SCENARIO", "inflamed_skin")
    monkeypatch.setenv("NEUROAGENTS_DASHBOARD_SET", '["' + '", "'.join(SKIN) + '"]')
    from viz.app import Page

    _, rc = solara.render(Page(), handle_error=False)

    def html():  # static HTML, and what each frame pushed (viz.frames)
        import ipyvue

        live = [str(w.html) for w in rc.find(ipyvue.VueTemplate).widgets if w.has_trait("html")]
        return " ".join([str(w.unsafe_innerHTML) for w in rc.find(solara.widgets.HTML).widgets] + live)

    def click(label):
        rc.find(v.Btn, children=[label]).widget.click()

    return rc, html, click


def _chart(html: str, series: str) -> dict:
    m = re.search(rf'data-series="{re.escape(series)}" data-n="(\d+)" data-first="([^"]*)" data-last="([^"]*)"', html)
    assert m, f"no series {series!r} on the page"
    return {"n": int(m.group(1)), "first": float(m.group(2) or "nan"), "last": float(m.group(3) or "nan")}


def test_page_steps_gives_a_drug_and_marks_it(monkeypatch):
    rc, html, click = _page(monkeypatch)
    assert 'data-time-min="0"' in html()
    n0 = _chart(html(), "evoked (mean over the von Frey series)")["n"]
    for _ in range(2):
        click("Step")  # five steps each
    page = html()
    assert 'data-time-min="10"' in page
    assert _chart(page, "evoked (mean over the von Frey series)")["n"] == n0 + 2  # a point per frame, not per record
    assert "na-marker" not in page
    click("Give now")  # tofacitinib 10 mg/kg oral, the panel's default
    page = html()
    assert page.count('data-label="tofacitinib 10 mg/kg oral"') == 4  # a marker on each of the four charts
    assert "acts on JAK1" in page or "tofacitinib" in page
    rc.close()


@pytest.mark.parametrize("text", ["nan", "inf", "", "-3", "1e12", "abc"])
def test_page_refuses_a_bad_dose_with_one_line_and_changes_nothing(monkeypatch, text):
    import ipyvuetify as v

    rc, html, click = _page(monkeypatch)
    field = rc.find(v.TextField, label="dose (mg/kg)").widget
    field.v_model = text
    click("Give now")
    errors = [str(w.children) for w in rc.find(v.Alert).widgets]
    assert any("dose (mg/kg) = " in e and "must be a finite number in (0, 1000]" in e for e in errors), errors
    assert "na-marker" not in html()  # nothing given
    click("Step")
    assert 'data-time-min="5"' in html()  # the session lives on
    rc.close()


def test_two_sessions_have_their_own_models(monkeypatch):
    rc1, html1, click1 = _page(monkeypatch)
    rc2, html2, _ = _page(monkeypatch)
    click1("Step")
    assert 'data-time-min="5"' in html1() and 'data-time-min="0"' in html2()
    rc1.close()
    rc2.close()
