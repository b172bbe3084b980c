"""Drugs reach the cells and the pain readouts through their named targets, in the published directions."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel

SMALL = dict(width_um=300.0, height_um=300.0, n_mast_cells=0, n_macrophages=0, n_neurons=0, vessel_spacing_um=1000.0)


def model(**kw):
    return NeuroImmuneModel(seed=3, **{**SMALL, **kw})


def hold(m, **levels_nM):
    for name, v in levels_nM.items():
        m.env.fields[m.env.index(name)] = v


def settle(ct, steps=40):
    for _ in range(steps):
        ct.sense(10.0)


def tofacitinib(dose_mg_per_kg):
    return [{"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": dose_mg_per_kg, "start_min": 0.0}]


def test_no_drugs_leaves_the_inputs_alone():
    m = model(inhibition={"NFKB": 0.2})
    m.step()
    assert m.pharmacology is None
    assert m.inhibition == {"NFKB": 0.2}
    assert m.free_fraction("TNF") == 1.0


def test_oral_jak_inhibitor_cuts_il10_stat3_dose_dependently_but_not_tnf_nfkb():
    stat3, nfkb = [], []
    for dose in (0.0, 0.3, 3.0, 30.0):
        m = model(n_macrophages=20, drugs=tofacitinib(dose) if dose else ())
        m.time_min = 60.0  # about Tmax of an oral dose (Dowty 2014: peak ~1 h)
        m._phase_dose(1.0)
        mac = m.cell_types["macrophage"]
        hold(m, IL10=1.0, TNF=1.0)
        settle(mac)
        stat3.append(float(mac.pop["STAT3"].mean()))
        nfkb.append(float(mac.pop["NFKB"].mean()))
    assert stat3[0] > 0.8
    assert all(a > b for a, b in itertools.pairwise(stat3)), stat3  # monotone in dose
    assert stat3[-1] < 0.3 * stat3[0]
    np.testing.assert_allclose(nfkb, nfkb[0], rtol=1e-9)  # TNF -> NF-kB is not JAK-coupled


def test_jak_inhibition_wears_off_after_the_dose():
    m = model(drugs=tofacitinib(10.0))
    m.time_min = 60.0
    m._phase_dose(1.0)
    early = m.inhibition["JAK1"]
    m.time_min = 48 * 60.0  # 16 half-lives of ~3 h later
    m._phase_dose(1.0)
    assert early > 0.5
    assert m.inhibition["JAK1"] < 0.05 * early


def test_anti_tnf_neutralizes_tnf_and_inhibits_no_kinase():
    m = model(n_macrophages=20, drugs=[{"drug": "adalimumab", "route": "sc", "dose_mg_per_kg": 10.0}])
    m.time_min = 3 * 1440.0
    m._phase_dose(1.0)
    assert m.free_fraction("TNF") < 0.5
    assert not any(k in m.inhibition for k in ("JAK1", "JAK2", "JAK3", "TYK2"))
    mac = m.cell_types["macrophage"]
    hold(m, TNF=0.05)
    settle(mac)
    with_drug = float(mac.pop["NFKB"].mean())
    m.neutralization = {}
    settle(mac)
    assert with_drug < float(mac.pop["NFKB"].mean())


def test_nsaid_cuts_pge2_from_m1_macrophages():
    released = []
    for drugs in ((), [{"drug": "ibuprofen", "route": "oral", "dose_mg_per_kg": 30.0}]):
        m = model(n_macrophages=30, drugs=drugs)
        mac = m.cell_types["macrophage"]
        mac.pop["state"][:] = 1  # M1
        m.time_min = 60.0
        m._phase_dose(1.0)
        m.env.clear_sources()
        mac.secrete()
        released.append(float(m.env.production_nM_per_min[m.env.index("PGE2")].sum()))
    assert released[0] > 0
    assert released[1] < 0.5 * released[0]


def test_mir21_antagonist_blocks_the_exosome_drive_of_macrophages():
    m = model(n_macrophages=10)
    mac = m.cell_types["macrophage"]
    mac.pop["mir21_vesicles"][:] = 1e4
    before = float(mac.raw_drives()[0].mean())
    m.apply_drug_effects({"periphery": {"miR21": 0.9}})
    after = float(mac.raw_drives()[0].mean())
    assert after == pytest.approx(0.1 * before, rel=1e-9)


def _threshold_under(level, effects=None):
    m = model(n_neurons=10)
    if effects:
        m.apply_drug_effects(effects)
    for _ in range(60):  # 10 h at 10 min: sensitization follows the held mediator
        hold(m, **level)
        m.pain.update(m, 10.0)
    return m.pain.readouts(m)["withdrawal_threshold_interp_g"]


def test_il6r_blockade_and_jak1_inhibition_spare_tnf_sensitization_but_not_il6():
    naive = _threshold_under({})
    il6 = _threshold_under({"IL6": 5.0})
    il6_blocked = _threshold_under({"IL6": 5.0}, {"periphery": {"IL6R": 0.99}, "dorsal_horn": {"IL6R": 0.99}})
    il6_jak = _threshold_under({"IL6": 5.0}, {"periphery": {"JAK1": 0.99}, "dorsal_horn": {"JAK1": 0.99}})
    tnf = _threshold_under({"TNF": 1.0})
    tnf_jak = _threshold_under({"TNF": 1.0}, {"periphery": {"JAK1": 0.99}, "dorsal_horn": {"JAK1": 0.99}})
    assert il6 < naive
    assert il6_blocked > il6 and il6_jak > il6
    assert tnf < naive
    assert tnf_jak == pytest.approx(tnf, rel=1e-6)


def test_anti_ngf_reduces_ngf_sensitization():
    ngf = _threshold_under({"NGF": 5.0})
    treated = _threshold_under({"NGF": 5.0}, {"periphery": {"NGF": 0.99}, "dorsal_horn": {"NGF": 0.99}})
    assert treated > ngf


def test_bad_drug_schedules_are_clear_errors():
    with pytest.raises(ConfigError, match=r"drugs\[0\]\.route"):
        model(drugs=[{"drug": "tofacitinib", "route": "orale", "dose_mg_per_kg": 1.0}])
    with pytest.raises(ConfigError, match="did you mean"):
        model(drugs=[{"drug": "tofacitinb", "route": "oral", "dose_mg_per_kg": 1.0}])
