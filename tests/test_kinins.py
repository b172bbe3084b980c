"""Kinins (neuroagents/kinins.py): bradykinin formed as the square of the exudation where an injected agent activates
prekallikrein, cleared by kininases."""

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario.loader import load_scenario
from neuroagents.units import MOLECULES_PER_NM_UM3

CARRAGEENAN = [{"agent": "carrageenan", "compartment": "tissue", "dose_ug_per_mL": 500.0}]


def tissue(injections=CARRAGEENAN, **kw):
    return NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0,
                            injections=injections, **kw)  # fmt: skip


def source(m):
    q_row, _ = m.env.source_rows(m.env.index("bradykinin"))
    return q_row.reshape(-1)


def test_no_leak_makes_no_kinin():
    m = tissue()
    m.env.clear_sources()
    m.compartments["tissue"].kinins.secrete(10.0)
    assert float(np.abs(source(m)).max()) == 0.0


def test_the_source_is_the_square_of_the_exudation_per_voxel_and_is_counted():
    """``q = k A E²`` per interstitial voxel (E = the swelling module's P·F): twice the leak, four times the kinin
    (mass action of leaked kininogen and leaked kallikrein); the molecules made are counted exactly."""
    m = tissue()
    comp = m.compartments["tissue"]
    kin, sw = comp.kinins, comp.swelling
    k, half = kin.params.bradykinin_nM_per_min, kin.params.contact_half_nM
    rates = []
    for histamine in (100.0, 1000.0):  # nM: H1 half-open at 1 µM
        m.env.fields[...] = 0.0
        m.env.field("histamine")[...] = histamine
        m.env.field("PAMP")[...] = 3.0 * half  # A = 3/4
        m.env.clear_sources()
        before = float(kin.produced_molecules)
        kin.secrete(5.0)
        e = sw.drive()
        np.testing.assert_allclose(source(m)[sw.voxels], 0.75 * k * e**2, rtol=1e-12)
        per_nM = MOLECULES_PER_NM_UM3 * m.grid.voxel_volume_um3
        assert float(kin.produced_molecules) - before == pytest.approx(0.75 * float((k * e**2).sum()) * per_nM * 5.0,
                                                                        rel=1e-12)  # fmt: skip
        rates.append(float(source(m)[sw.voxels].mean()))
    e_ratio = (1000 / 2000) / (100 / 1100)
    assert rates[1] / rates[0] == pytest.approx(e_ratio**2, rel=1e-9)


def test_a_leak_without_a_contact_agent_makes_no_kinin_and_the_agent_gates_it_as_a_hill():
    """Prekallikrein needs a surface (carrageenan): a tissue nothing was injected into leaks but forms no kinin
    (zymosan exudates are kinin-free), and the source scales as ``A = c/(c + K)`` of the agent."""
    m = tissue(injections=[])
    assert "PAMP" not in m.env.names
    m.env.field("histamine")[...] = 1000.0
    m.env.clear_sources()
    m.compartments["tissue"].kinins.secrete(10.0)
    assert float(np.abs(source(m)).max()) == 0.0
    m = tissue()
    kin, sw = m.compartments["tissue"].kinins, m.compartments["tissue"].swelling
    means = []
    for agent in (0.0, 1.0, 3.0):  # in units of K
        m.env.fields[...] = 0.0
        m.env.field("histamine")[...] = 1000.0
        m.env.field("PAMP")[...] = agent * kin.params.contact_half_nM
        m.env.clear_sources()
        kin.secrete(1.0)
        means.append(float(source(m)[sw.voxels].mean()))
    assert means[0] == 0.0 and means[2] / means[1] == pytest.approx((3 / 4) / (1 / 2), rel=1e-12)


def test_an_inflamed_skin_forms_no_kinin_and_keeps_anti_tnf_s_effect():
    """The dashboard's default scenario (mast cells degranulating, nothing injected): its small neurogenic and TNF
    leak must not ignite the kinins' self-feeding leak, which would pin the evoked pain where anti-TNF cannot move
    it (the browser test's lesson: adalimumab i.v. at 20 min lowers the evoked pain by 60 min)."""

    def evoked_at_60(drug):
        m = load_scenario("inflamed_skin", []).build_model(backend="numpy")
        while m.time_min < 20.0 - 1e-9:
            m.step()
        if drug:
            m.add_dosing({"drug": "adalimumab", "route": "iv", "dose_mg_per_kg": 10.0, "start_min": m.time_min})
        while m.time_min < 60.0 - 1e-9:
            m.step()
        assert float(m.env.field("bradykinin").max()) == 0.0
        m.record()
        return m.timeseries().iloc[-1]

    treated, untreated = evoked_at_60(True), evoked_at_60(False)
    assert untreated["swelling_pct_tissue"] < 10.0  # a wheal, not a carrageenan paw
    assert treated["pain_evoked_hz"] < untreated["pain_evoked_hz"] - 0.2, (treated["pain_evoked_hz"],
                                                                           untreated["pain_evoked_hz"])  # fmt: skip


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
    act = float(m.env.field("PAMP").mean()) / (float(m.env.field("PAMP").mean()) + comp.kinins.params.contact_half_nM)
    q = comp.kinins.params.bradykinin_nM_per_min * act * float(comp.swelling.drive().mean()) ** 2
    assert 0.3 * q / lam < bk < 1.5 * q / lam, (bk, q / lam)
