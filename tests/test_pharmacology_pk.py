"""Pharmacokinetics: analytic solutions, superposition against an ODE solver, scaling, routes."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from neuroagents.pharmacology import DRUGS, Dose, DosingSchedule, LinearPK, Pharmacology, scale_pk
from neuroagents.pharmacology.pk import SPECIES, bateman, mg_per_l_to_nM

LN2 = math.log(2.0)
H = 60.0  # min per hour


def _human(name):
    return LinearPK(scale_pk(DRUGS[name], "human"))


def _reference_ode(pk: LinearPK, times, doses, rtol=1e-11):
    """Solve dx/dt = A x + u(t) with scipy, piecewise between dose events (the check on superposition)."""
    starts = [d.time_min for d in doses]
    ends = [d.time_min + d.duration_min for d in doses]
    events = sorted({0.0, *starts, *ends, float(times[-1])})
    x = np.zeros(len(pk.states))
    out = np.zeros((len(pk.outputs), len(times)))
    for a, b in itertools.pairwise(events):  # over dosing events, not time steps
        for d in doses:
            if d.duration_min == 0 and d.time_min == a:
                x = x + pk.input_vector(d.route) * d.amount_mg
        rate = np.zeros_like(x)
        for d in doses:
            if d.duration_min > 0 and d.time_min <= a < d.time_min + d.duration_min:
                rate = rate + pk.input_vector(d.route) * d.amount_mg / d.duration_min
        inside = (times >= a) & (times < b)
        t_eval = np.append(times[inside], b)  # the segment's end carries the state on
        sol = solve_ivp(lambda t, y, r=rate: pk.A @ y + r, (a, b), x, method="Radau", rtol=rtol, atol=1e-14,
                        t_eval=t_eval, jac=pk.A)  # fmt: skip
        out[:, inside] = pk.C @ sol.y[:, :-1]
        x = sol.y[:, -1]
    out[:, times == events[-1]] = (pk.C @ x)[:, None]
    return out


@pytest.mark.parametrize("name", [n for n, d in DRUGS.items() if d.tmax_h is not None and d.v2_l == 0])
def test_single_dose_peaks_at_the_catalogue_tmax(name):
    drug = DRUGS[name]
    route = "oral" if drug.f_oral is not None else "sc"
    pk = _human(name)
    t = np.linspace(0, 4 * drug.tmax_h * H, 40001)
    c = pk.simulate(t, [Dose(0.0, route, 100.0)])["plasma_total"]
    assert t[np.argmax(c)] / H == pytest.approx(drug.tmax_h, rel=0.02)


def test_tofacitinib_single_oral_dose_is_the_bateman_curve_and_halves_every_3_2_h():
    drug, pk = DRUGS["tofacitinib"], _human("tofacitinib")
    t = np.linspace(0, 24 * H, 2401)
    c = pk.simulate(t, [Dose(0.0, "oral", 5.0)])["plasma_total"]
    k = drug.cl_l_per_h / drug.v1_l
    ref = bateman(t / H, 5.0, drug.f_oral, drug.ka_oral_per_h, k, drug.v1_l)
    np.testing.assert_allclose(c, ref, rtol=1e-9, atol=1e-15)
    late = pk.simulate(np.array([8.0, 8.0 + 3.2, 8.0 + 6.4]) * H, [Dose(0.0, "oral", 5.0)])["plasma_total"]
    np.testing.assert_allclose(late[1:] / late[:-1], 0.5, rtol=2e-3)  # absorption is over by 8 h
    assert drug.half_life_h == pytest.approx(3.0, abs=0.3)


@pytest.mark.parametrize("name", sorted(DRUGS))
def test_terminal_half_life_of_the_model_matches_the_catalogue(name):
    drug, pk = DRUGS[name], _human(name)
    t_half = pk.params.terminal_half_life_h
    assert t_half == pytest.approx(drug.half_life_h, rel=0.15)
    t = np.array([10.0, 11.0]) * t_half * H  # long after distribution: a pure exponential
    c = pk.simulate(t, [Dose(0.0, "iv", 1.0)])["plasma_total"]
    assert c[1] / c[0] == pytest.approx(0.5, rel=1e-3)


@pytest.mark.parametrize(
    ("name", "route", "dose_mg", "n", "tau_h", "cmax_mg_l", "source"),
    [
        ("tofacitinib", "oral", 5.0, 20, 12.0, 140e-9 * 312.37e3, "Cmax ~140 nM at 5 mg bid (docs/references.md)"),
        ("adalimumab", "sc", 40.0, 1, None, 4.7, "Humira label"),
        ("etanercept", "sc", 25.0, 1, None, 1.46, "Korth-Bradley 2000"),
        ("ibuprofen", "oral", 500 * 206.28 / 352.47, 1, None, 31.0, "Geisslinger 1990 (500 mg lysine salt)"),
    ],
)
def test_peak_concentration_is_within_30_percent_of_published(name, route, dose_mg, n, tau_h, cmax_mg_l, source):
    ph = Pharmacology([DosingSchedule(name, route, dose_mg=dose_mg, n_doses=n, interval_h=tau_h)], species="human")
    t = np.linspace(0, (n * (tau_h or 0) + 20 * DRUGS[name].tmax_h) * H, 20001)
    c = ph.pk(name).simulate(t, ph.doses(name))["plasma_total"]
    assert c.max() == pytest.approx(cmax_mg_l, rel=0.30), source


def test_repeated_doses_accumulate_by_one_over_one_minus_exp_minus_k_tau():
    pk = _human("baricitinib")
    k = pk.params.cl_l_per_h / pk.params.v1_l
    tau = 12.0
    doses = [Dose(i * tau * H, "iv", 4.0) for i in range(30)]
    after = 2.0 * H  # sample 2 h after a dose
    c_first = pk.simulate([after], doses[:1])["plasma_total"][0]
    c_ss = pk.simulate([29 * tau * H + after], doses)["plasma_total"][0]
    assert c_ss / c_first == pytest.approx(1 / (1 - math.exp(-k * tau)), rel=1e-9)


def test_auc_over_a_steady_state_interval_equals_single_dose_auc_and_dose_over_clearance():
    pk = _human("naproxen")
    p = pk.params
    tau = 12.0
    single = np.linspace(0, 400 * H, 400001)
    auc_single = np.trapezoid(pk.simulate(single, [Dose(0.0, "oral", 250.0)])["plasma_total"], single / H)
    assert auc_single == pytest.approx(p.f_oral * 250.0 / p.cl_l_per_h, rel=1e-3)  # AUC = F D / CL (mass balance)
    doses = [Dose(i * tau * H, "oral", 250.0) for i in range(40)]
    interval = np.linspace(39 * tau * H, 40 * tau * H, 20001)
    auc_tau = np.trapezoid(pk.simulate(interval, doses)["plasma_total"], interval / H)
    assert auc_tau == pytest.approx(auc_single, rel=1e-3)


def test_superposition_equals_an_ode_solution_for_every_route_and_an_infusion():
    pk = _human("methotrexate")  # gut, s.c., two compartments, CSF and effect compartments
    assert pk.diagonalizable
    doses = [Dose(0.0, "oral", 15.0), Dose(300.0, "sc", 10.0), Dose(700.0, "iv", 20.0, duration_min=90.0),
             Dose(900.0, "intrathecal", 12.0), Dose(1500.0, "oral", 15.0)]  # fmt: skip
    t = np.linspace(0.0, 3000.0, 151)
    fast = pk.states_at(t, doses, project=True)
    ref = _reference_ode(pk, t, doses)
    scale = np.abs(ref).max(axis=1, keepdims=True)
    np.testing.assert_allclose(fast / scale, ref / scale, atol=1e-6)


def test_equal_rate_constants_fall_back_to_the_exact_matrix_exponential():
    drug = DRUGS["ibuprofen"]
    k = drug.cl_l_per_h / drug.v1_l
    p = replace(scale_pk(drug, "human"), ka_oral_per_h=k)  # ka = k: a defective system
    pk = LinearPK(p)
    assert not pk.diagonalizable
    t = np.linspace(0, 12 * H, 97)
    c = pk.simulate(t, [Dose(0.0, "oral", 400.0)])["plasma_total"]
    np.testing.assert_allclose(c, bateman(t / H, 400.0, 1.0, k, k, p.v1_l), rtol=1e-9, atol=1e-15)
    doses = [Dose(0.0, "oral", 400.0), Dose(120.0, "iv", 100.0, duration_min=60.0), Dose(200.0, "intrathecal", 1.0)]
    fast = pk.states_at(t, doses, project=True)
    ref = _reference_ode(pk, t, doses)
    scale = np.abs(ref).max(axis=1, keepdims=True)
    np.testing.assert_allclose(fast / scale, ref / scale, atol=1e-6)


def test_a_long_infusion_reaches_rate_over_clearance():
    pk = _human("tofacitinib")
    rate_mg_per_h = 2.0
    infusion = [Dose(0.0, "iv", rate_mg_per_h * 60.0, duration_min=60 * H)]  # 60 h at 2 mg/h
    c = pk.simulate([59.5 * H], infusion)["plasma_total"][0]  # ~18 half-lives in: within 1e-5 of steady state
    assert c == pytest.approx(rate_mg_per_h / pk.params.cl_l_per_h, rel=1e-5)
    after = pk.simulate([(60 + 3.2) * H], infusion)["plasma_total"][0]
    assert after == pytest.approx(c / 2, rel=1e-3)  # then it falls with the half-life


@pytest.mark.parametrize("name", ["tofacitinib", "ruxolitinib", "ibuprofen", "adalimumab"])
def test_free_concentration_respects_protein_binding(name):
    pk = _human(name)
    route = pk.routes[0]
    out = pk.simulate(np.linspace(0, 48 * H, 49), [Dose(0.0, route, 10.0)])
    p = pk.params
    np.testing.assert_allclose(out["plasma_free"], p.fraction_unbound * out["plasma_total"], rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(out["periphery"], p.tissue_partition * out["plasma_free"], rtol=1e-12, atol=1e-15)
    assert DRUGS[name].protein_binding == pytest.approx(1 - p.fraction_unbound)


def test_allometric_scaling_from_human_to_rodents():
    human, mouse = scale_pk(DRUGS["tofacitinib"], "human"), scale_pk(DRUGS["tofacitinib"], "mouse")
    r = SPECIES["mouse"].body_weight_kg / SPECIES["human"].body_weight_kg
    assert mouse.terminal_half_life_h == pytest.approx(human.terminal_half_life_h * r**0.25, rel=1e-12)
    assert mouse.v1_l == pytest.approx(human.v1_l * r)
    mab_h, mab_m = scale_pk(DRUGS["adalimumab"], "human"), scale_pk(DRUGS["adalimumab"], "mouse")
    assert mab_m.cl_l_per_h == pytest.approx(mab_h.cl_l_per_h * r**0.80)
    assert scale_pk(DRUGS["tofacitinib"], "rat").f_oral == pytest.approx(0.291)  # measured, not scaled
    assert scale_pk(DRUGS["tofacitinib"], "mouse", body_weight_kg=0.030).body_weight_kg == 0.030


@pytest.mark.parametrize("name", ["tofacitinib", "adalimumab", "methotrexate"])
def test_intrathecal_dose_reaches_the_dorsal_horn_far_better_than_systemic_dosing(name):
    pk = LinearPK(scale_pk(DRUGS[name], "rat"))
    t = np.linspace(0, 72 * H, 7201)
    it = pk.simulate(t, [Dose(0.0, "intrathecal", 0.1)])
    iv = pk.simulate(t, [Dose(0.0, "iv", 0.1)])
    assert np.trapezoid(it["dorsal_horn"], t) > 10 * np.trapezoid(iv["dorsal_horn"], t)
    assert it["plasma_total"].max() < iv["plasma_total"].max()  # plasma low: the dose trickles out with the CSF


def test_concentration_units_via_molecular_mass():
    assert mg_per_l_to_nM(1.0, 312.37) == pytest.approx(1e6 / 312.37)
    ph = Pharmacology([DosingSchedule("tofacitinib", "iv", dose_mg=1.0)], species="human")
    c = ph.concentrations(0.0)["tofacitinib"]["plasma_total"]
    assert c == pytest.approx(1.0 / DRUGS["tofacitinib"].v1_l * 1e6 / 312.37)
