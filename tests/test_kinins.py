"""Kinins (neuroagents/kinins.py): bradykinin formed as the square of the exudation, cleared by kininases."""

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.units import MOLECULES_PER_NM_UM3


def tissue(**kw):
    return NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0, **kw)


def source(m):
    q_row, _ = m.env.source_rows(m.env.index("bradykinin"))
    return q_row.reshape(-1)


def test_no_leak_makes_no_kinin():
    m = tissue()
    m.env.clear_sources()
    m.compartments["tissue"].kinins.secrete(10.0)
    assert float(np.abs(source(m)).max()) == 0.0


def test_the_source_is_the_square_of_the_exudation_per_voxel_and_is_counted():
    """``q = k E²`` per interstitial voxel (E = the swelling module's P·F): twice the leak, four times the kinin
    (mass action of leaked kininogen and leaked kallikrein); the molecules made are counted exactly."""
    m = tissue()
    comp = m.compartments["tissue"]
    kin, sw = comp.kinins, comp.swelling
    k = kin.params.bradykinin_nM_per_min
    rates = []
    for histamine in (100.0, 1000.0):  # nM: H1 half-open at 1 µM
        m.env.fields[...] = 0.0
        m.env.field("histamine")[...] = histamine
        m.env.clear_sources()
        before = float(kin.produced_molecules)
        kin.secrete(5.0)
        e = sw.drive()
        np.testing.assert_allclose(source(m)[sw.voxels], k * e**2, rtol=1e-12)
        per_nM = MOLECULES_PER_NM_UM3 * m.grid.voxel_volume_um3
        assert float(kin.produced_molecules) - before == pytest.approx(float((k * e**2).sum()) * per_nM * 5.0,
                                                                        rel=1e-12)  # fmt: skip
        rates.append(float(source(m)[sw.voxels].mean()))
    e_ratio = (1000 / 2000) / (100 / 1100)
    assert rates[1] / rates[0] == pytest.approx(e_ratio**2, rel=1e-9)


def test_a_knockout_of_bradykinin_stops_it_and_the_params_are_checked():
    m = tissue(interventions=[{"kind": "knockout", "mediator": "bradykinin"}])
    m.env.field("histamine")[...] = 1000.0
    m.env.clear_sources()
    m.compartments["tissue"].kinins.secrete(10.0)
    assert float(np.abs(source(m)).max()) == 0.0
    with pytest.raises(ConfigError, match=r"kinin_params\.bradykinin_nM_per_min"):
        tissue(kinin_params={"bradykinin_nM_per_min": -1.0})


def test_a_leaking_tissue_holds_bradykinin_near_source_over_decay():
    """With the leak held, the field settles near q/λ (1-min half-life; diffusion evens it out)."""
    m = tissue()
    m.env.field("histamine")[...] = 1000.0
    for _ in range(30):
        m.env.field("histamine")[...] = 1000.0
        m.step()
    lam = np.log(2) / 1.0
    bk = float(m.env.field("bradykinin").mean())
    m.env.field("histamine")[...] = 1000.0  # the drive the step's source saw
    comp = m.compartments["tissue"]
    q = comp.kinins.params.bradykinin_nM_per_min * float(comp.swelling.drive().mean()) ** 2
    assert 0.3 * q / lam < bk < 1.5 * q / lam, (bk, q / lam)
