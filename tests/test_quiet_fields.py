"""Solving only the fields that can change (neuroagents/tissue/quiet_fields.py) gives the full solve's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import load_scenario
from neuroagents.scenario.loader import builtin_scenarios
from neuroagents.tissue import Grid, Microenvironment


def _pair(name: str, steps: int):
    sc = load_scenario(name)
    models = [NeuroImmuneModel.from_scenario(sc, backend="numpy", seed=2) for _ in range(2)]
    for comp in models[1].compartments.values():  # the reference: every field solved every step
        comp.env.quiet = None
    skipped = 0
    for _ in range(steps):  # over steps (a few hundred)
        for m in models:
            m.step()
        skipped += sum(int((~c.env.quiet.live(c.env, True)).sum()) for c in models[0].compartments.values())
    return models, skipped


@pytest.mark.parametrize("name", sorted(builtin_scenarios()))
def test_a_run_is_the_full_solve_bit_for_bit(name):
    (quiet, full), skipped = _pair(name, 150)
    assert skipped > 0  # fields were skipped (in every built-in scenario some mediator is nowhere)
    for cname, comp in quiet.compartments.items():
        np.testing.assert_array_equal(comp.env.fields, full.compartments[cname].env.fields, err_msg=cname)
        for kind, ct in comp.cell_types.items():
            for col in ct.pop.columns:
                np.testing.assert_array_equal(ct.pop[col], full.compartments[cname].cell_types[kind].pop[col])
    assert quiet.timeseries().equals(full.timeseries())


def test_live_rows_follow_fields_sources_baths_and_held_vessels():
    from neuroagents.tissue.exchange import add_export

    grid = Grid((12, 10), spacing_um=20.0)
    env = Microenvironment(grid, ["TNF", "IL6", "CCL2", "NGF"], backend="numpy",
                           boundaries={"xmin": {"kind": "dirichlet", "value_nM": {"NGF": 0.5, "*": 0.0}}})  # fmt: skip
    assert env.quiet.live(env, True).tolist() == [False, False, False, True]  # the bath feeds NGF
    mask = np.zeros(grid.shape, dtype=bool)
    mask[3, 4] = True
    env.set_vessels(mask, {"CCL2": 2.0, "TNF": 0.0})  # a held zero feeds nothing
    assert env.quiet.live(env, True).tolist() == [False, False, True, True]
    env.clear_sources()
    add_export(env, "IL6", np.array([5]), np.array([10.0]))
    assert env.quiet.live(env, True).tolist() == [False, True, True, True]
    assert env.quiet.live(env, False).tolist() == [False, False, True, True]  # without the step's sources
    env.step(1.0)
    assert env.fields[0].max() == 0 and env.fields[1].max() > 0 and env.fields[3].max() > 0
    env.clear_sources()
    assert env.quiet.live(env, True).tolist() == [False, True, True, True]  # IL-6 is somewhere now


def test_a_step_with_quiet_fields_equals_the_full_step():
    from neuroagents.tissue.exchange import add_export

    grid = Grid((30, 24), spacing_um=20.0)
    envs = [Microenvironment(grid, ["TNF", "IL6", "CCL2", "NGF", "PGE2"], backend="numpy") for _ in range(2)]
    envs[1].quiet = None
    mask = np.zeros(grid.shape, dtype=bool)
    mask[5, 5:9] = True
    rng = np.random.default_rng(0)
    for env in envs:
        env.set_vessels(mask, {"PGE2": 3.0})
        env.fields[2] = 0.0
    for t in range(40):  # over steps: sources appear in one mediator after another
        voxels, amounts = rng.integers(0, grid.n_voxels, 6), rng.random(6)
        for env in envs:
            env.clear_sources()
            add_export(env, ("IL6", "CCL2", "NGF")[min(t // 10, 2)], voxels, amounts * 50.0)
            env.step(1.0)
    np.testing.assert_array_equal(envs[0].fields, envs[1].fields)
    assert envs[0].fields[0].max() == 0.0 and envs[0].fields[4].max() > 0  # TNF untouched; PGE2 from its vessel


def test_is_zero_says_whether_a_field_is_zero_everywhere():
    """Swelling and stroma skip a mediator whose field is exactly zero (its term is exactly 0): the check must
    see a single non-zero voxel anywhere, the last one included."""
    from neuroagents.tissue import Grid, Microenvironment

    env = Microenvironment(Grid((20, 20), spacing_um=20.0), ["TNF", "IL6"], backend="numpy")
    assert env.is_zero("TNF") and env.is_zero("IL6")
    env.field("IL6")[19, 19] = 1e-300
    assert env.is_zero("TNF") and not env.is_zero("IL6")
