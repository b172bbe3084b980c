"""Intraperitoneal and local routes: where the dose goes, how fast it leaves, and what each compartment sees."""

from __future__ import annotations

import math

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.pharmacology import DosingSchedule, Pharmacology
from neuroagents.pharmacology.drugs import DRUGS
from neuroagents.pharmacology.local import LOCAL_HALF_LIFE_MIN, LOCAL_ROUTES
from neuroagents.pharmacology.pk import Dose, LinearPK, scale_pk

T = np.linspace(0.0, 48 * 60.0, 2881)  # min, 1-min grid


def _pk(name, species="mouse", routes=()):
    return LinearPK(scale_pk(DRUGS[name], species), routes=routes)


def _auc(c):
    return float(np.sum((c[1:] + c[:-1]) * np.diff(T)) / 2)


def test_systems_without_the_new_routes_are_the_old_ones():
    old, new = _pk("tofacitinib"), _pk("tofacitinib", routes=("oral", "sc", "iv", "intrathecal"))
    assert old.states == new.states == ("gut", "central", "csf")
    assert np.array_equal(old.A, new.A) and np.array_equal(old.C, new.C)


def test_ip_of_a_drug_with_sc_data_is_absorbed_as_sc():
    pk = _pk("adalimumab", routes=("ip", "sc"))
    assert pk.states == _pk("adalimumab").states  # no new state: the s.c. depot
    ip, sc = pk.simulate(T, [Dose(0.0, "ip", 0.25)]), pk.simulate(T, [Dose(0.0, "sc", 0.25)])
    np.testing.assert_array_equal(ip["plasma_total"], sc["plasma_total"])


def test_ip_of_an_oral_drug_is_the_oral_course_without_first_pass_loss():
    """Same ka as by mouth, F = 1: the i.p. course is the oral one divided by F_oral, at every time."""
    pk = _pk("minocycline", routes=("ip", "oral"))
    assert "ip" in pk.states
    ip, oral = pk.simulate(T, [Dose(0.0, "ip", 1.0)]), pk.simulate(T, [Dose(0.0, "oral", 1.0)])
    f = pk.params.f_oral
    np.testing.assert_allclose(ip["plasma_total"], oral["plasma_total"] / f, rtol=1e-9, atol=1e-15)


@pytest.mark.parametrize("route", sorted(LOCAL_ROUTES))
def test_a_local_dose_sits_at_its_site_and_empties_into_plasma(route):
    """Site level fu·D·e^{-kt}/V_site on top of the systemic level in its kind only; all of it reaches plasma."""
    name = "celecoxib"  # no s.c. data: the local half-life is LOCAL_HALF_LIFE_MIN
    pk = _pk(name, routes=(route, "iv"))
    p = pk.params
    dose = 0.03  # mg
    out = pk.simulate(T, [Dose(0.0, route, dose)])
    kind = LOCAL_ROUTES[route].kind
    other = "drg" if kind == "periphery" else "periphery"
    v_site = LOCAL_ROUTES[route].volume_ml["mouse"] * 1e-3
    k = math.log(2.0) / LOCAL_HALF_LIFE_MIN
    site = p.fraction_unbound * dose * np.exp(-k * T) / v_site
    systemic = p.tissue_partition * out["plasma_free"]
    np.testing.assert_allclose(out[kind] - systemic, site, rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(out[other], systemic, rtol=1e-9, atol=1e-15)  # the other kind: systemic only
    assert out[kind][10] > 100 * out[other][10]  # a high local exposure
    iv = pk.simulate(T, [Dose(0.0, "iv", dose)])
    assert _auc(out["plasma_total"]) == pytest.approx(_auc(iv["plasma_total"]), rel=0.02)  # F = 1 (clips 48 h tail)


def test_an_antibody_leaves_a_local_site_at_its_sc_absorption_rate():
    pk = _pk("adalimumab", routes=("intra_articular",))
    out = pk.simulate(T, [Dose(0.0, "intra_articular", 0.1)])
    p = pk.params
    v_site = LOCAL_ROUTES["intra_articular"].volume_ml["mouse"] * 1e-3
    site = p.fraction_unbound * 0.1 * np.exp(-p.ka_sc_per_h / 60.0 * T) / v_site
    np.testing.assert_allclose(out["periphery"] - p.tissue_partition * out["plasma_free"], site, rtol=1e-6)


def test_an_effect_compartment_drug_sees_its_site_through_the_effect_state():
    pk = _pk("prednisolone", routes=("intraganglionic",))
    out = pk.simulate(T, [Dose(0.0, "intraganglionic", 0.001)])
    assert out["drg_effect"][60] > 1000 * out["periphery_effect"][60]
    assert out["drg_effect"][0] == 0.0  # the effect lags


def test_schedules_take_the_new_routes_and_typos_are_named():
    DosingSchedule("tofacitinib", "intraganglionic", dose_mg=0.001)
    DosingSchedule("infliximab", "ip", dose_mg_per_kg=10.0)  # i.v.-only antibody: the fallback absorption
    with pytest.raises(ConfigError, match=r"route = 'intraplanter'.*did you mean 'intraplantar'"):
        DosingSchedule("celecoxib", "intraplanter", dose_mg=0.03)
    with pytest.raises(ConfigError, match=r"infusion_min = 5.*0 for route 'perineural'"):
        DosingSchedule("celecoxib", "perineural", dose_mg=0.03, infusion_min=5.0)
    with pytest.raises(ConfigError, match=r"route = 'perineural': must be one of"):
        _pk("celecoxib").input_vector("perineural")  # a system not built for it


def test_intraplantar_and_intraganglionic_doses_act_in_their_compartment_of_the_model():
    comps = [{"name": "paw", "kind": "periphery", "width_um": 200.0, "height_um": 200.0, "cells": {"macrophage": 5}},
             {"name": "drg", "kind": "drg", "width_um": 200.0, "height_um": 200.0, "cells": {"neuron": 4}},
             {"name": "dh", "kind": "dorsal_horn", "width_um": 200.0, "height_um": 200.0}]  # fmt: skip
    m = NeuroImmuneModel(seed=1, compartments=comps, drugs=[
        {"drug": "celecoxib", "route": "intraplantar", "dose_mg": 0.03},
        {"drug": "tofacitinib", "route": "intraganglionic", "dose_mg": 1e-5}])  # fmt: skip
    for _ in range(10):
        m.step()
    assert m.compartments["paw"].enzyme_inhibition["COX2"] > 0.99
    assert m.compartments["drg"].enzyme_inhibition["COX2"] < 0.5
    assert m.drg_inhibition["JAK1"] > 0.99 and m.inhibition["JAK1"] < 0.5 and m.spinal_inhibition["JAK1"] < 0.5


def test_ip_minocycline_reaches_the_dorsal_horn():
    ph = Pharmacology([{"drug": "minocycline", "route": "ip", "dose_mg_per_kg": 50.0}], "mouse")
    assert ph.effects(60.0)["dorsal_horn"]["P38"] > 0.5
