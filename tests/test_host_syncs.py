"""A step copies no device data to the host outside its declared sync points: checked without a GPU.

Every built-in scenario runs a few steps (every phase; the last step records) on the strict backend
(:mod:`neuroagents.strict_xp`), which records each operation that would synchronize on CuPy with the line that asked
for it. Any sync outside :data:`neuroagents.host_syncs.DECLARED` and :data:`~neuroagents.host_syncs.KNOWN` fails,
with the whole list. ``python -m neuroagents.host_syncs`` prints the inventory ``docs/gpu.md`` quotes.
"""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from neuroagents.backend import strict_backend
from neuroagents.errors import ConfigError
from neuroagents.host_syncs import DECLARED, KNOWN, run_phases, scenario_inventory
from neuroagents.model import PHASES, NeuroImmuneModel
from neuroagents.scenario import load_scenario
from neuroagents.scenario.loader import builtin_scenarios

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {**DECLARED, **KNOWN}


def _forbidden(model) -> list[str]:
    return [f"{s.label}: {s.where}: {s.op}" for s in model.backend.xp.syncs if s.allowed is None]


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_every_phase_of_every_scenario_syncs_only_where_declared(name):
    model = scenario_inventory(name, steps=3, allow=ALLOWED)  # then one step at each later scheduled event
    assert model.phase_order == PHASES and model.steps == 0  # run phase by phase: every phase ran 3 times or more
    assert model.time_min >= 3 * model.cell_dt_min and not model.schedule.pending  # every scheduled event acted
    assert model._last_record_min == pytest.approx(3 * model.cell_dt_min)  # the third step recorded
    forbidden = _forbidden(model)
    assert not forbidden, "host syncs outside the declared points:\n" + "\n".join(sorted(set(forbidden)))


def test_a_new_sync_in_a_step_is_caught(monkeypatch):
    from neuroagents.cells.macrophage import Macrophage

    secrete = Macrophage.secrete

    def secrete_and_ask(self):
        if self.pop["state"].any():  # asks the device: a host sync
            secrete(self)

    monkeypatch.setattr(Macrophage, "secrete", secrete_and_ask)
    model = scenario_inventory("healthy", steps=2, allow=ALLOWED)
    assert [f for f in _forbidden(model) if "secrete_and_ask" in f] == [
        f"secrete: tests/test_host_syncs.py:{secrete_and_ask.__code__.co_firstlineno + 1} (test_a_new_sync_in_a_"
        f"step_is_caught.<locals>.secrete_and_ask): bool()"
    ] * 2


def _qualnames(path: Path) -> set[str]:
    names: set[str] = set()

    def walk(node, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.ClassDef)):
                names.add(prefix + child.name)
                walk(child, prefix + child.name + ".")

    walk(ast.parse(path.read_text(encoding="utf-8")), "")
    return names


@pytest.mark.parametrize("entry", sorted(ALLOWED))
def test_each_allowed_point_names_a_function_and_says_why(entry):
    path, _, qualname = entry.partition(":")
    assert qualname in _qualnames(ROOT / path), f"{entry}: no such function (renamed? update neuroagents/host_syncs)"
    assert len(ALLOWED[entry]) > 40  # the reason is written out
    assert not (entry in DECLARED and entry in KNOWN)


def _state(model):
    out = {}
    for cname, comp in model.compartments.items():
        out[f"{cname}.fields"] = model.backend.xp.asnumpy(comp.env.fields, allowed=True) \
            if model.backend.name == "strict" else comp.env.fields.copy()  # fmt: skip
        for kind, ct in comp.cell_types.items():
            for col in ct.pop.columns:
                a = ct.pop[col]
                out[f"{cname}.{kind}.{col}"] = model.backend.xp.asnumpy(a, allowed=True) \
                    if model.backend.name == "strict" else a.copy()  # fmt: skip
    return out


@pytest.mark.parametrize("name", ["sni_rag1_transfer", "arthritis"])
def test_a_strict_run_is_the_numpy_run_bit_for_bit(name):
    """The device paths the strict backend takes (scatter-adds, fixed-size counts, pending checks) give NumPy's
    numbers: the same seed gives the same fields and cells after 6 steps. (No move is crowded out in them: off NumPy
    crowding ranks by counter-based priorities, not by NumPy's draws; tests/test_motility.py checks that path.)"""
    sc = load_scenario(name)
    ref = NeuroImmuneModel.from_scenario(sc, backend="numpy", seed=3)
    strict = NeuroImmuneModel.from_scenario(sc, backend=strict_backend(mode="record", allow=ALLOWED), seed=3)
    for _ in range(6):
        ref.step()
    run_phases(strict, 6, record_last=False)
    want, got = _state(ref), _state(strict)
    assert want.keys() == got.keys()
    assert sum(v.size for v in want.values()) > 1000
    for key in want:
        np.testing.assert_array_equal(got[key], want[key], err_msg=key)
    assert strict.counts() == ref.counts()


def test_a_bad_secretion_on_a_device_raises_at_the_next_record():
    from neuroagents.tissue import Grid, Microenvironment
    from neuroagents.tissue.exchange import add_export

    # raise mode: the exchange and the step must not sync; check_pending may (the model calls it when recording)
    be = strict_backend(allow={"neuroagents/tissue/microenvironment.py:Microenvironment.check_pending"})
    env = Microenvironment(Grid((8, 8), spacing_um=20.0), ["TNF"], backend=be)
    env.clear_sources()  # as the model's secrete phase does: then the step knows its sources without asking
    voxels = be.xp.asarray(np.array([3, 5, 5]))
    add_export(env, "TNF", voxels, be.xp.asarray(np.array([1.0, 2.0, 3.0])))
    add_export(env, "TNF", voxels, be.xp.asarray(np.array([1.0, -4.0, np.nan])))  # held, not raised
    env.step(1.0)
    with pytest.raises(ConfigError, match=r"secretion\.TNF\.molecules_per_min = -[0-9.e-]+: must be finite and >= 0"):
        env.check_pending()
    env.check_pending()  # reported once


def test_cell_events_cross_at_the_record_not_in_the_step():
    """``CellType.mark`` defers its count and ids (cells/events.py): six steps without a record ask the device
    nothing about events, and once read the counts and the log are NumPy's."""
    sc = load_scenario("carrageenan")  # mast cells degranulate, macrophages are recruited and polarize
    ref = NeuroImmuneModel.from_scenario(sc, backend="numpy", seed=3)
    strict = NeuroImmuneModel.from_scenario(sc, backend=strict_backend(mode="record", allow=ALLOWED), seed=3)
    for _ in range(6):
        ref.step()
    run_phases(strict, 6, record_last=False)
    assert not [s for s in strict.backend.xp.syncs if "events.py" in s.where or "mark" in s.where]
    assert strict.events._pending  # deferred, not lost
    want = {k: dict(ct.event_counts) for k, ct in ref.cell_types.items()}
    got = {k: dict(ct.event_counts) for k, ct in strict.cell_types.items()}  # reading sorts them in
    assert got == want and sum(want["mast_cell"].values()) + sum(want["macrophage"].values()) > 0
    assert not strict.events._pending
    chunks = [(t, k, e, ids.tolist()) for t, k, e, ids in ref.events.chunks]
    assert [(t, k, e, ids.tolist()) for t, k, e, ids in strict.events.chunks] == chunks and chunks


def test_deferred_events_keep_the_log_order_and_a_bounded_backlog():
    from neuroagents.cells.events import EventLog

    log, counts, ids = EventLog(max_pending=3), {}, np.array([4, 9])
    log.defer(1.0, "macrophage", "to_M1", ids, np.array([True, False]), counts)
    log.add(2.0, "macrophage", "to_M2", np.array([9]))  # a direct entry comes after the deferred one
    assert [(t, e, i.tolist()) for t, _, e, i in log.chunks] == [(1.0, "to_M1", [4]), (2.0, "to_M2", [9])]
    mask = np.array([False, True])
    for t in (3.0, 4.0):
        log.defer(t, "macrophage", "to_M1", ids, mask, counts)
    mask[:] = True  # the caller reuses its mask: what was deferred keeps its own copy
    ids[:] = 0  # ...and its ids (the population compacts in place)
    assert len(log._pending) == 2 and counts == {"to_M1": 1}
    log.defer(5.0, "macrophage", "to_M1", np.array([1, 2]), np.array([False, False]), counts)  # the third: flushed
    assert not log._pending and counts == {"to_M1": 3}
    assert log.for_cell("macrophage", 9) == [(2.0, "to_M2"), (3.0, "to_M1"), (4.0, "to_M1")]
