"""Stromal COX-2 (neuroagents/stroma.py): PGE2 induced by IL-1β/TNF in the interstitium, blocked by COX-2 inhibitors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.mediators import CATALOGUE
from neuroagents.model import NeuroImmuneModel
from neuroagents.stroma import StromaParams
from neuroagents.units import MOLECULES_PER_NM_UM3

HELD = CATALOGUE["IL1B"].with_overrides(decay_per_min=0.0, diffusion_um2_per_min=0.0)  # a clamp-free constant level


def _model(il1b_nM=0.0, *, pge2_decay=None, **kwargs):
    pge2 = CATALOGUE["PGE2"] if pge2_decay is None else CATALOGUE["PGE2"].with_overrides(decay_per_min=pge2_decay)
    m = NeuroImmuneModel(seed=3, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0,
                         mediators=[HELD, "TNF", pge2], **kwargs)  # fmt: skip
    comp = m.compartments["tissue"]
    comp.env.field("IL1B")[...] = il1b_nM
    return m, comp


def _run(m, minutes):
    for _ in range(math.ceil(minutes / m.cell_dt_min)):  # over steps
        m.step()


def test_no_cytokine_no_pge2():
    m, comp = _model(0.0)
    _run(m, 30)
    assert float(comp.stroma.produced_molecules) == 0.0
    assert float(comp.stroma.induction.max()) == 0.0
    assert float(comp.env.field("PGE2").max()) == 0.0


def test_pge2_source_rises_with_il1b_and_lags_by_the_induction_time():
    p = StromaParams()
    rates = []
    for c in (0.0, 0.5 * p.il1b_half_nM, p.il1b_half_nM, 4 * p.il1b_half_nM):
        m, comp = _model(c)
        _run(m, 3 * p.induction_min)
        rates.append(float(comp.stroma.rate_nM_per_min().mean()))
    assert rates[0] == 0.0
    assert np.all(np.diff(rates) > 0), rates
    # at K the drive is 1/2; after three induction times S = h (1 - e^-3)
    assert rates[2] == pytest.approx(p.pge2_max_nM_per_min * 0.5 * (1 - math.exp(-3)), rel=1e-9)
    m, comp = _model(4 * p.il1b_half_nM)
    m.step()  # one step of 1 min: COX-2 is not induced at once
    assert float(comp.stroma.induction.max()) < 0.1


def test_il1r1_blockade_removes_the_il1b_drive():
    m, comp = _model(0.1, inhibition={"IL1R1": 1.0})
    _run(m, 30)
    assert float(comp.stroma.produced_molecules) == 0.0


def test_celecoxib_given_to_the_model_blocks_stromal_pge2():
    drug = {"drug": "celecoxib", "route": "oral", "dose_mg_per_kg": 30.0, "n_doses": 1}
    runs = {}
    for label, drugs in (("none", ()), ("celecoxib", (drug,))):
        m, comp = _model(0.1, drugs=drugs, cell_dt_min=5.0, diffusion_dt_min=5.0)
        _run(m, 180)
        runs[label] = (m, comp)
    (_, ctrl), (m, cox) = runs["none"], runs["celecoxib"]
    inhibited = cox.enzyme_inhibition["COX2"]
    assert inhibited > 0.5
    assert float(cox.stroma.induction.mean()) == pytest.approx(float(ctrl.stroma.induction.mean()))  # same induction
    assert float(cox.stroma.rate_nM_per_min().mean()) == pytest.approx(
        float(ctrl.stroma.rate_nM_per_min().mean()) * (1 - inhibited), rel=1e-9)  # fmt: skip
    assert float(cox.stroma.produced_molecules) < 0.7 * float(ctrl.stroma.produced_molecules)
    assert float(cox.env.field("PGE2").mean()) < float(ctrl.env.field("PGE2").mean())


def test_pge2_added_equals_the_integrated_source():
    """No decay, no vessels, no-flux edges: the PGE2 on the grid is exactly what the stroma released."""
    p = StromaParams()
    m, comp = _model(p.il1b_half_nM, pge2_decay=0.0)
    comp.env.set_vessels(np.zeros(comp.grid.shape, dtype=bool))
    comp.env.set_vessel_exchange(np.zeros(comp.grid.shape, dtype=bool), np.zeros(len(comp.env.names)))  # closed
    comp.env.field("IL1B")[...] = p.il1b_half_nM
    n_steps = 40
    _run(m, n_steps)
    per_nM = MOLECULES_PER_NM_UM3 * comp.grid.voxel_volume_um3
    on_grid = float(comp.env.field("PGE2").sum()) * per_nM
    produced = float(comp.stroma.produced_molecules)
    assert on_grid == pytest.approx(produced, rel=1e-9)
    # and the integral is the analytic one: S_n = h (1 - e^{-n dt / tau}), h = 1/2 at K
    n_vox = int(comp.stroma.voxels.size)
    analytic = sum(p.pge2_max_nM_per_min * 0.5 * (1 - math.exp(-k / p.induction_min)) for k in range(1, n_steps + 1))
    assert produced == pytest.approx(analytic * n_vox * per_nM, rel=1e-9)
    assert n_vox == int((comp.regions == 0).sum())  # only the interstitium makes it


def test_stroma_params_flow_from_the_scenario_and_are_checked():
    from neuroagents.scenario.loader import load_scenario

    s = load_scenario("carrageenan", ["stroma.pge2_max_nM_per_min=0.0"])
    assert s.model_kwargs()["stroma_params"] == {"pge2_max_nM_per_min": 0.0}
    with pytest.raises(ConfigError, match=r"stroma\.hill"):
        load_scenario("carrageenan", ["stroma.hill=-1.0"])
    with pytest.raises(ConfigError, match=r"stroma_params\.induction_min"):
        NeuroImmuneModel(seed=1, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=0,
                         stroma_params={"induction_min": 0.0})  # fmt: skip
