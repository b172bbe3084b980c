"""The swelling readout (neuroagents/swelling.py): its rules, its exact update, its inputs and its errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.swelling import SwellingParams, build_swelling


def tissue(**kw):
    """A small resting tissue without cells that come and go."""
    return NeuroImmuneModel(seed=3, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0, **kw)


def swelling_of(m):
    return m.compartments["tissue"].swelling


def test_a_resting_tissue_does_not_swell():
    m = tissue()
    for _ in range(20):  # over steps
        m.step()
    assert swelling_of(m).percent() == 0.0
    assert m.timeseries()["swelling_pct_tissue"].abs().max() == 0.0


def test_the_fluid_follows_its_equation_exactly_for_a_held_drive():
    """``V(t) = V∞ (1 − e^{−t/τ})`` with ``V∞ = k τ ⟨P F⟩``: stepping in 1 or 7 pieces gives the same V."""
    m = tissue()
    m.env.field("histamine")[...] = 1000.0  # P = 1/2 everywhere (K = 1 µM)
    sw = swelling_of(m)
    p = sw.params
    v_inf = p.leak_per_min * p.drainage_min * 0.5
    assert float(sw.drive().mean()) == pytest.approx(0.5, rel=1e-12)
    sw.update(70.0)
    expect = v_inf * -math.expm1(-70.0 / p.drainage_min)
    assert float(sw.fluid) == pytest.approx(expect, rel=1e-12)
    other = build_swelling(m.compartments["tissue"], {})
    for _ in range(7):  # over sub-steps
        other.update(10.0)
    assert float(other.fluid) == pytest.approx(expect, rel=1e-12)
    assert sw.percent() == pytest.approx(100.0 * (expect + float(sw.matrix)), rel=1e-12)


def test_the_matrix_integrates_the_fluid_exactly_and_outlasts_it():
    """``dM/dt = k V − M/τ_M``: in 1 or 7 pieces the same, equal to the closed form, and after the leak stops the
    fluid drains in hours while the matrix falls by ``e`` only over ``τ_M``."""
    m = tissue()
    m.env.field("histamine")[...] = 1000.0  # P = 1/2 everywhere
    sw, other = swelling_of(m), build_swelling(m.compartments["tissue"], {})
    p = sw.params
    tv, tm, k = p.drainage_min, p.matrix_turnover_days * 1440.0, p.matrix_per_fluid_day / 1440.0
    v_inf, t = p.leak_per_min * p.drainage_min * 0.5, 600.0
    sw.update(t)
    for _ in range(7):  # over sub-steps
        other.update(t / 7)
    closed = k * v_inf * (tm * (1 - math.exp(-t / tm)) - tv * tm / (tm - tv) * (math.exp(-t / tm) - math.exp(-t / tv)))
    assert float(sw.matrix) == pytest.approx(closed, rel=1e-12)
    assert float(other.matrix) == pytest.approx(closed, rel=1e-12)
    assert sw.percent() == pytest.approx(100.0 * (float(sw.fluid) + closed), rel=1e-12)
    m.env.fields[...] = 0.0
    m0, v0 = float(sw.matrix), float(sw.fluid)
    sw.update(tm)
    assert float(sw.fluid) < 1e-6 * v_inf  # drained
    laid = k * v0 * tv * tm / (tm - tv) * (math.exp(-1.0) - math.exp(-tm / tv))  # by the draining fluid
    assert float(sw.matrix) == pytest.approx(m0 / math.e + laid, rel=1e-12)
    assert laid < 0.5 * m0 / math.e


def test_it_drains_when_the_mediators_are_gone():
    m = tissue()
    sw = swelling_of(m)
    sw.fluid = sw.fluid + 0.4
    sw.update(sw.params.drainage_min)  # no mediator: V falls by e
    assert float(sw.fluid) == pytest.approx(0.4 / math.e, rel=1e-12)


@pytest.mark.parametrize("mediator", ["histamine", "serotonin", "SP", "TNF", "IL1B", "bradykinin"])
def test_each_gap_opener_leaks_and_more_of_it_leaks_more(mediator):
    m = tissue()
    sw = swelling_of(m)
    drives = []
    for c in (0.0, 0.01, 1.0, 100.0):  # nM
        m.env.fields[...] = 0.0
        m.env.field(mediator)[...] = c
        drives.append(float(sw.drive().mean()))
    assert drives[0] == 0.0
    assert np.all(np.diff(drives) > 0), drives


def test_the_endothelial_b2_receptors_tire_exactly_and_come_back():
    """``dB/dt = (1 − B)/τ_rec − occ B/τ_tach`` with bradykinin held: 1 or 6 steps give the closed form; the leak that
    bradykinin drives falls with B; with the kinin gone, B comes back over τ_rec."""
    m = tissue()
    sw = swelling_of(m)
    p = sw.params
    m.env.field("bradykinin")[...] = p.bradykinin_ec50_nM  # occ = 1/2
    first = float(sw.drive().mean())
    assert first == pytest.approx(0.5 * p.bradykinin_efficacy, rel=1e-12)
    lam = 1.0 / p.b2_recovery_min + 0.5 / p.b2_tachyphylaxis_min
    b_inf = 1.0 / p.b2_recovery_min / lam
    other = build_swelling(m.compartments["tissue"], {})
    sw.update(120.0)
    for _ in range(6):  # over sub-steps
        other.update(20.0)
    expect = b_inf + (1.0 - b_inf) * math.exp(-lam * 120.0)
    np.testing.assert_allclose(sw.endothelial_b2(), expect, rtol=1e-12)
    np.testing.assert_allclose(other.endothelial_b2(), expect, rtol=1e-12)
    assert float(sw.drive().mean()) == pytest.approx(0.5 * p.bradykinin_efficacy * expect, rel=1e-12)
    assert expect < 0.5  # tired within two hours of a half-occupying kinin phase
    m.env.fields[...] = 0.0
    sw.update(p.b2_recovery_min)
    np.testing.assert_allclose(sw.endothelial_b2(), 1.0 - (1.0 - expect) / math.e, rtol=1e-12)


def test_vasodilators_potentiate_the_leak_but_do_not_open_gaps():
    """Williams & Morley 1973: PGE2 alone gives little oedema; with a permeability mediator it multiplies it."""
    m = tissue()
    sw = swelling_of(m)
    m.env.field("PGE2")[...] = 100.0
    m.env.field("CGRP")[...] = 10.0
    assert float(sw.drive().max()) == 0.0
    m.env.field("histamine")[...] = 1000.0
    p = sw.params
    potentiation = 1.0 + p.pge2_potentiation * 100 / 110 + p.cgrp_potentiation * 10 / 11
    assert float(sw.drive().mean()) == pytest.approx(0.5 * potentiation, rel=1e-12)


def test_receptor_blockade_and_neutralization_take_a_mediator_out():
    m = tissue(inhibition={"TNFR1": 1.0})
    m.env.field("TNF")[...] = 1.0
    assert float(swelling_of(m).drive().max()) == 0.0
    m.env.field("IL1B")[...] = 1.0
    assert float(swelling_of(m).drive().max()) > 0.0


def test_immune_cells_that_come_in_add_their_volume():
    m = tissue()
    sw = swelling_of(m)
    mac = m.cell_types["macrophage"]
    mac.add_cells(m.voxel_centres(np.arange(10)), "M0")
    expect = 100.0 * 10 * mac.params.cell_volume_um3 / sw.tissue_um3
    assert sw.percent() == pytest.approx(expect, rel=1e-12)


def test_scenario_tables_set_it_and_bad_values_are_named():
    m = tissue(swelling_params={"drainage_min": 60.0})
    assert swelling_of(m).params.drainage_min == 60.0
    with pytest.raises(ConfigError, match="drainage_min"):
        tissue(swelling_params={"drainage_min": -1.0})
    with pytest.raises(ConfigError, match="leak_per_minute"):
        tissue(swelling_params={"leak_per_minute": 1.0})
    with pytest.raises(ConfigError, match="swelling_params"):
        tissue(swelling_params=3)
    assert SwellingParams().leak_per_min > 0


def test_a_scenario_file_table_reaches_the_model(tmp_path):
    from neuroagents.scenario.loader import load_scenario

    path = tmp_path / "s.toml"
    path.write_text('base = "healthy"\n[swelling]\ndrainage_min = 30.0\n')
    s = load_scenario(str(path), [])
    m = s.build_model()
    assert all(c.swelling.params.drainage_min == 30.0 for c in m.compartments.values())
    path.write_text('base = "healthy"\n[swelling]\ndrainage = 30.0\n')
    with pytest.raises(ConfigError, match="drainage"):
        load_scenario(str(path), [])


def test_the_blood_spinal_cord_barrier_lets_a_fraction_of_the_leak_through():
    """For the same drive a dorsal-horn compartment leaks ``spinal_barrier`` times what skin or a (fenestrated) DRG
    leaks: the SNI dorsal horn's cytokines and PGE2 no longer swell the spinal cord by three quarters."""
    m = NeuroImmuneModel(seed=1, compartments=[
        {"name": "paw", "kind": "periphery", "width_um": 200, "height_um": 200},
        {"name": "drg", "kind": "drg", "width_um": 200, "height_um": 200},
        {"name": "dorsal_horn", "kind": "dorsal_horn", "width_um": 200, "height_um": 200}])  # fmt: skip
    fluid = {}
    for name, comp in m.compartments.items():
        comp.env.field("histamine")[...] = 1000.0  # the same drive, P = 1/2
        sw = comp.swelling
        assert float(sw.drive().mean()) == pytest.approx(0.5, rel=1e-12)
        sw.update(30.0)
        fluid[name] = float(sw.fluid)
    beta = m.compartments["dorsal_horn"].swelling.params.spinal_barrier
    assert 0.0 < beta < 1.0
    assert fluid["drg"] == pytest.approx(fluid["paw"], rel=1e-12)
    assert fluid["dorsal_horn"] == pytest.approx(beta * fluid["paw"], rel=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_the_compiled_drive_gives_the_reference_bits(seed):
    """``swelling_kernel.drive_kernel`` (run with the fused cell kernels) against the NumPy passes, bit for bit: every
    opener and vasodilator on the grid at levels around its K, a few voxels negative or zero, blockade of each
    receptor, a neutralized mediator, bradykinin with tired B2 receptors; and with no bradykinin on the grid."""
    from neuroagents.model import DEFAULT_MEDIATORS
    from neuroagents.swelling import _DILATORS, _OPENERS

    blockade = {"H1": 0.3, "NK1": 0.1, "TNFR1": 0.5, "IL1R1": 0.2, "B2": 0.25}  # as drug tables give them
    for mediators in (None, [m for m in DEFAULT_MEDIATORS if m != "bradykinin"]):
        kw = {} if mediators is None else {"mediators": mediators}
        fused, ref = (tissue(cell_kernels=k, **kw) for k in ("numba", "reference"))
        rng = np.random.default_rng(seed)
        sw_f, sw_r = swelling_of(fused), swelling_of(ref)
        assert sw_f._fused() and not sw_r._fused()
        p = sw_f.params
        for name, k_attr in [(o[0], o[2]) for o in _OPENERS] + [(d[0], d[1]) for d in _DILATORS]:
            if name not in fused.env.names:
                continue
            shape = fused.grid.shape
            values = getattr(p, k_attr) * rng.uniform(-0.2, 3.0, shape) * (rng.random(shape) > 0.1)
            fused.env.field(name)[...] = values
            ref.env.field(name)[...] = values
        for m in (fused, ref):
            m.inhibition_in = lambda kind: blockade
            m.free_fraction = lambda name, **_: 0.6 if name == "TNF" else 1.0
        b2 = rng.uniform(0.2, 1.0, sw_f.voxels.size)
        sw_f.b2, sw_r.b2 = b2.copy(), b2.copy()
        a, b = sw_f.drive(), sw_r.drive()
        assert a.shape == b.shape == (sw_f.voxels.size,) and (a > 0).all()
        assert np.array_equal(a, b)
        sw_f.update(5.0)
        sw_r.update(5.0)
        assert float(sw_f.fluid) == float(sw_r.fluid) and np.array_equal(sw_f.b2, sw_r.b2)
