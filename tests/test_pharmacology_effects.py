"""Target effects: Hill/Emax on free drug, combination, time course, model inputs, robustness."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from neuroagents.cells.signaling import KINASES, PATHWAYS, SignalingNetwork
from neuroagents.errors import ConfigError
from neuroagents.pharmacology import COMPARTMENTS, DRUGS, DosingSchedule, Pharmacology, split_by_kind
from neuroagents.pharmacology.effects import combine_independent, hill_occupancy

S = DosingSchedule
DAY = 1440.0


def test_hill_occupancy_is_half_at_potency_and_bounded():
    c = np.array([0.0, 1.0, 10.0, 1e300, -3.0])
    i = hill_occupancy(c, 10.0, hill=2.0, emax=0.8)
    np.testing.assert_allclose(i, [0.0, 0.8 / 101, 0.4, 0.8, 0.0])
    assert combine_independent([0.5, 0.5]) == pytest.approx(0.75)


def _jak1_at_2h(drug, dose_mg_per_kg):
    return Pharmacology([S(drug, "oral", dose_mg_per_kg=dose_mg_per_kg)], species="rat").effects(120.0)["periphery"]


def test_fedratinib_at_half_maximal_jak1_inhibits_jak2_almost_fully():
    lo, hi = 1e-6, 1e3  # bisect the dose (mg/kg) that gives 50% JAK1 in the periphery 2 h after an oral dose
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        lo, hi = (mid, hi) if _jak1_at_2h("fedratinib", mid)["JAK1"] < 0.5 else (lo, mid)
    e = _jak1_at_2h("fedratinib", lo)
    assert e["JAK1"] == pytest.approx(0.5, abs=1e-3)
    assert e["JAK2"] > 0.95 > e["TYK2"] and e["JAK3"] < 0.15


def test_dose_response_is_monotone_and_saturating():
    doses = np.geomspace(1e-4, 1e3, 30)
    jak1 = np.array([_jak1_at_2h("tofacitinib", d)["JAK1"] for d in doses])
    assert np.all(np.diff(jak1) > 0) and jak1[0] < 0.01 and jak1[-1] > 0.999
    assert np.all(jak1 <= 1.0)
    nfkb = [Pharmacology([S("methotrexate", "oral", dose_mg=d)], species="human").effects(3 * DAY)["periphery"]["NFKB"]
            for d in doses]  # fmt: skip
    assert np.all(np.diff(nfkb) >= 0) and nfkb[-1] <= 0.3 + 1e-12  # saturates at its Emax


def test_anti_tnf_neutralizes_tnf_and_inhibits_no_kinase():
    ph = Pharmacology([S("adalimumab", "sc", dose_mg_per_kg=10)], species="mouse")
    e = ph.effects(2 * DAY)
    for comp in COMPARTMENTS:
        assert set(e[comp]) == {"TNF"}
    assert e["periphery"]["TNF"] > 0.99 and e["dorsal_horn"]["TNF"] < e["periphery"]["TNF"]
    both = Pharmacology([S("adalimumab", "sc", dose_mg_per_kg=10), S("baricitinib", "oral", dose_mg_per_kg=3)])
    alone = Pharmacology([S("baricitinib", "oral", dose_mg_per_kg=3)])
    assert both.effects(60.0)["periphery"]["JAK1"] == pytest.approx(alone.effects(60.0)["periphery"]["JAK1"])
    inputs = both.model_inputs(60.0)
    assert set(inputs["neutralization"]) == {"TNF"} and "TNF" not in inputs["inhibition"]


def test_two_drugs_on_one_target_combine_independently_one_drug_twice_adds_concentrations():
    ibu, cele = S("ibuprofen", "oral", dose_mg_per_kg=10), S("celecoxib", "oral", dose_mg_per_kg=3)
    t = 90.0
    i1 = Pharmacology([ibu]).effects(t)["periphery"]["COX2"]
    i2 = Pharmacology([cele]).effects(t)["periphery"]["COX2"]
    assert Pharmacology([ibu, cele]).effects(t)["periphery"]["COX2"] == pytest.approx(1 - (1 - i1) * (1 - i2))
    half = S("tofacitinib", "oral", dose_mg=0.0005)
    twice = Pharmacology([half, half]).effects(t)["periphery"]["JAK1"]
    once_double = Pharmacology([S("tofacitinib", "oral", dose_mg=0.001)]).effects(t)["periphery"]["JAK1"]
    assert twice == pytest.approx(once_double)  # same drug: concentrations add (not Bliss)


def test_prednisolone_effect_outlasts_its_plasma_half_life():
    ph = Pharmacology([S("prednisolone", "oral", dose_mg=20)], species="human")
    t = np.linspace(0, 48 * 60, 2881)
    c = ph.concentrations_over(t)["prednisolone"]["plasma_free"]
    e = ph.effects_over(t)["periphery"]["NFKB"]
    assert t[np.argmax(e)] > t[np.argmax(c)] + 60  # the effect peaks later than the plasma
    k24 = np.searchsorted(t, 24 * 60)
    assert c[k24] < 0.05 * c.max()  # after ~6 plasma half-lives the drug is nearly gone ...
    assert e[k24] > 0.8 * e.max()  # ... but the NF-kB suppression is not


def test_methotrexate_acts_slowly():
    ph = Pharmacology([S("methotrexate", "oral", dose_mg=15, interval_h=168, n_doses=20)], species="human")
    troughs = ph.effects_over(np.arange(1, 13) * 7 * DAY - 1.0)["periphery"]["NFKB"]  # just before each dose
    assert np.all(np.diff(troughs) > 0)  # still rising week after week (1.9-week effect half-life)
    assert troughs[0] < 0.6 * troughs[-1] and troughs[-1] <= 0.3  # slow onset, modest effect
    day1 = ph.effects(DAY)["periphery"]["NFKB"]
    assert day1 < 0.6 * troughs[-1]


def test_intrathecal_antagomir_reaches_drg_and_dorsal_horn_not_periphery():
    ph = Pharmacology([S("antagomir-21", "intrathecal", dose_mg=0.05)], species="mouse")
    e = ph.effects(2 * DAY)
    assert e["dorsal_horn"]["miR21"] > 0.5 and e["drg"]["miR21"] > 0.5 > 5 * e["periphery"]["miR21"]


def test_effects_over_matches_effects_and_starts_at_zero():
    ph = Pharmacology([S("baricitinib", "oral", dose_mg=4, interval_h=24, n_doses=3, start_min=30),
                       S("minocycline", "oral", dose_mg=100)], species="human")  # fmt: skip
    times = np.array([0.0, 30.0, 100.0, 2000.0, 4000.0])
    over = ph.effects_over(times)
    for k, t in enumerate(times):
        one = ph.effects(float(t))
        for comp in COMPARTMENTS:
            for target, v in one[comp].items():
                assert over[comp][target][k] == pytest.approx(v, abs=1e-15)
    assert all(v == 0.0 for comp in COMPARTMENTS for v in ph.effects(0.0)[comp].values())
    assert Pharmacology([]).effects(10.0) == {c: {} for c in COMPARTMENTS}


def test_model_inputs_feed_the_signaling_network():
    drugs = [S("tofacitinib", "oral", dose_mg_per_kg=10), S("minocycline", "oral", dose_mg_per_kg=40),
             S("tocilizumab", "iv", dose_mg_per_kg=8), S("celecoxib", "oral", dose_mg_per_kg=10)]  # fmt: skip
    ph = Pharmacology(drugs)
    inputs = ph.model_inputs(60.0, "periphery")
    assert set(inputs["inhibition"]) == {*KINASES, "P38"} and set(inputs["inhibition"]) <= {*KINASES, *PATHWAYS}
    assert set(inputs["receptor_blockade"]) == {"IL6R"} and set(inputs["enzyme_inhibition"]) == {"COX2"}
    net = SignalingNetwork(["IL6R", "TNFR1"])
    conc = {"IL6": np.full(1, 10.0), "TNF": np.full(1, 1.0)}
    free, drugged = net.target_activity(conc, 1), net.target_activity(conc, 1, inputs["inhibition"])
    assert drugged["STAT3"][0] < 0.2 * free["STAT3"][0] and drugged["P38"][0] < free["P38"][0]
    assert split_by_kind({}) == {v: {} for v in inputs}
    with pytest.raises(ConfigError, match="compartment"):
        ph.model_inputs(60.0, "spleen")
    with pytest.raises(ConfigError, match="finite times"):
        ph.effects_over([0.0, float("nan")])


_DRUG = st.sampled_from(sorted(DRUGS))


@st.composite
def schedules(draw):
    name = draw(_DRUG)
    route = draw(st.sampled_from(DRUGS[name].routes))
    n = draw(st.integers(1, 8))
    return S(name, route, dose_mg_per_kg=draw(st.floats(1e-4, 1e3)), n_doses=n,
             interval_h=draw(st.floats(0.5, 72.0)) if n > 1 else None, start_min=draw(st.floats(0.0, 5e3)),
             infusion_min=draw(st.floats(0.0, 120.0)) if route in ("iv", "intrathecal") else 0.0)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(schedules(), min_size=1, max_size=4), st.sampled_from(["mouse", "rat", "human"]),
       st.lists(st.floats(0.0, 60 * DAY), min_size=1, max_size=20))  # fmt: skip
def test_random_valid_schedules_never_give_nan_or_values_outside_0_1(scheds, species, times):
    ph = Pharmacology(scheds, species=species)
    for comp, targets in ph.effects_over(times).items():
        for target, v in targets.items():
            assert np.all(np.isfinite(v)) and np.all((v >= 0) & (v <= 1)), (comp, target)
    for outputs in ph.concentrations_over(times).values():
        for v in outputs.values():
            assert np.all(np.isfinite(v)) and np.all(v >= 0)
