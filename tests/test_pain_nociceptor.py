"""Peripheral sensitization goes the published way: mediators lower thresholds, saturating; IL-10 does not.

Fields are held constant by writing ``m.env.fields`` and calling ``m.pain.update``
directly (no diffusion step), so each test is a dose-response experiment.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.model import NeuroImmuneModel
from neuroagents.pain import PainModel
from neuroagents.pain.nociceptor import SENSITIZERS, effects

NAIVE_MIN = 240.0  # minutes to hold a dose: >> tau_on (10 min), so drives reach their targets


def make(n_neurons=8, params=None, species="mouse", seed=7, **kw):
    m = NeuroImmuneModel(
        seed=seed, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=n_neurons, **kw
    )
    m.pain = PainModel(m, params=params, species=species)
    return m


def hold(m, doses_nM, minutes=NAIVE_MIN, step_min=None):
    """Set every field to 0 except ``doses_nM`` (uniform), then advance the pain model."""
    m.env.fields[:] = 0.0
    for name, c in doses_nM.items():
        m.env.fields[m.env.index(name)] = c
    step = step_min or minutes
    for _ in range(round(minutes / step)):
        m.pain.update(m, step)
    return m.pain.readouts(m)


def half_effect_nM(name, p):
    return {e.mediator: e.kd_nM for e in effects(p)}[name]


@pytest.mark.parametrize("name", SENSITIZERS)
def test_each_mediator_lowers_threshold_dose_dependently_and_saturates(name):
    m = make(params={"priming_retained": 0.0, "b2_tachyphylaxis_min": 1e12})  # B2 tachyphylaxis: its own test
    k = half_effect_nM(name, m.pain.params)
    doses = k * np.array([0.0, 0.1, 1.0, 10.0, 1e3, 1e4])
    thr = np.array([hold(m, {name: c})["withdrawal_threshold_interp_g"] for c in doses])
    assert np.all(np.diff(thr) <= 1e-9), f"{name}: threshold must fall with dose, got {thr}"
    assert thr[2] < thr[0] * 0.97, f"{name}: no effect at the half-effect dose ({thr})"
    assert thr[-1] < thr[0] * 0.8, f"{name}: saturated effect too small ({thr})"
    assert abs(thr[-1] - thr[-2]) < 0.02 * thr[0], f"{name}: high doses must converge ({thr})"


def test_b2_receptors_tire_of_held_bradykinin_exactly_and_recover():
    """``dB/dt = (1 − B)/τ_rec − θ B/τ_tachy`` (exact for held bradykinin): the hyperalgesia of held bradykinin
    fades toward ``B* = (1/τ_rec)/(1/τ_rec + θ/τ_tachy)`` and comes back once it is gone."""
    m = make(params={"priming_retained": 0.0})
    p = m.pain.params
    c = p.bradykinin_kd_nM  # θ = 1/2
    first = hold(m, {"bradykinin": c}, minutes=30.0)["withdrawal_threshold_interp_g"]
    b_30 = m.pain.nociceptors.b2.copy()
    lam = 1.0 / p.b2_recovery_min + 0.5 / p.b2_tachyphylaxis_min
    b_inf = 1.0 / p.b2_recovery_min / lam
    np.testing.assert_allclose(b_30, b_inf + (1.0 - b_inf) * np.exp(-lam * 30.0), rtol=1e-12)
    late = hold(m, {"bradykinin": c}, minutes=3000.0, step_min=10.0)["withdrawal_threshold_interp_g"]
    np.testing.assert_allclose(m.pain.nociceptors.b2, b_inf, rtol=1e-4)  # 3000 min = 12.5 relaxation times
    naive = hold(make(params={"priming_retained": 0.0}), {})["withdrawal_threshold_interp_g"]
    assert first < late < naive  # the hyperalgesia fades but stays
    hold(m, {}, minutes=5 * p.b2_recovery_min, step_min=10.0)
    assert m.pain.nociceptors.b2.min() > 0.99  # back


def test_il10_does_not_sensitize_and_damps_tnf():
    m = make()
    naive = hold(m, {})
    il10 = hold(make(), {"IL10": 100.0})
    assert il10["withdrawal_threshold_interp_g"] == pytest.approx(naive["withdrawal_threshold_interp_g"])
    assert il10["heat_latency_s"] == pytest.approx(naive["heat_latency_s"])
    tnf = hold(make(), {"TNF": 0.05})["withdrawal_threshold_interp_g"]
    tnf_il10 = hold(make(), {"TNF": 0.05, "IL10": 100.0})["withdrawal_threshold_interp_g"]
    assert tnf < tnf_il10 < naive["withdrawal_threshold_interp_g"]


def test_jak1_inhibition_removes_il6_effect_but_not_tnf_effect():
    naive = hold(make(), {})["withdrawal_threshold_interp_g"]
    il6 = hold(make(), {"IL6": 10.0})["withdrawal_threshold_interp_g"]
    il6_jak = hold(make(inhibition={"JAK1": 1.0}), {"IL6": 10.0})["withdrawal_threshold_interp_g"]
    tnf = hold(make(), {"TNF": 1.0})["withdrawal_threshold_interp_g"]
    tnf_jak = hold(make(inhibition={"JAK1": 1.0}), {"TNF": 1.0})["withdrawal_threshold_interp_g"]
    assert il6 < 0.8 * naive
    assert il6_jak == pytest.approx(naive, rel=1e-9)
    assert tnf_jak == pytest.approx(tnf, rel=1e-9) and tnf < 0.8 * naive


def test_p38_inhibition_reaches_tnf_not_il6():
    naive = hold(make(), {})["withdrawal_threshold_interp_g"]
    tnf_p38 = hold(make(inhibition={"P38": 1.0}), {"TNF": 1.0})["withdrawal_threshold_interp_g"]
    il6_p38 = hold(make(inhibition={"P38": 1.0}), {"IL6": 10.0})["withdrawal_threshold_interp_g"]
    tnf_free = hold(make(), {"TNF": 1.0})["withdrawal_threshold_interp_g"]
    assert tnf_free < 0.5 * naive
    assert tnf_p38 == pytest.approx(naive, rel=0.03)  # only spinal TNF -> NMDA gain is left (a few %)
    assert il6_p38 < 0.8 * naive


def test_tnf_sodium_effect_matches_leo_2015_at_saturation():
    m = make()
    hold(m, {"TNF": 1e3})
    na = m.pain.nociceptors.drive["na"]
    np.testing.assert_allclose(na, 0.272 + 0.449, rtol=2e-3)  # TNFR1 + TNFR2 Emax


def test_priming_keeps_sensitization_after_a_transient_pulse():
    kw = {"n_neurons": 6}
    primed, latent = make(**kw), make(params={"priming_retained": 0.0}, **kw)
    for m in (primed, latent):  # the periphery alone: the patch's TNF must not stand in for spinal TNF here
        m.pain.spinal = lambda model: {}
    naive = hold(make(**kw), {})["withdrawal_threshold_interp_g"]
    for m in (primed, latent):
        hold(m, {"PGE2": 100.0, "TNF": 0.5}, minutes=720, step_min=10)  # 12 h of inflammation
        after = hold(m, {}, minutes=1440, step_min=30)  # mediators gone for a day
        assert float(m.pain.nociceptors.drive["na"].max()) < 1e-3  # the fast part has decayed
        m.after = after
    assert float(primed.pain.nociceptors.priming.mean()) > 0.1
    assert primed.after["withdrawal_threshold_interp_g"] < 0.95 * naive
    assert latent.after["withdrawal_threshold_interp_g"] == pytest.approx(naive, rel=1e-3)
    # priming decays over days, not minutes
    before = float(primed.pain.nociceptors.priming.mean())
    hold(primed, {}, minutes=1440, step_min=60)
    assert 0.8 * before < float(primed.pain.nociceptors.priming.mean()) < before


def test_priming_prolongs_the_next_hyperalgesia():
    def decay_after_second_pulse(m):
        hold(m, {"PGE2": 100.0}, minutes=120, step_min=10)
        return hold(m, {}, minutes=120, step_min=10)["withdrawal_threshold_interp_g"]

    naive_animal, primed_animal = make(params={"priming_retained": 0.0}), make(params={"priming_retained": 0.0})
    hold(primed_animal, {"PGE2": 100.0, "TNF": 0.5}, minutes=1440, step_min=20)
    hold(primed_animal, {}, minutes=1440, step_min=60)
    assert decay_after_second_pulse(primed_animal) < decay_after_second_pulse(naive_animal)


def test_injury_gives_ectopic_ongoing_firing():
    m = make(n_neurons=10)
    base = hold(m, {})
    neurons = m.cell_types["neuron"]
    neurons.injure(0.5)
    injured = neurons.pop["state"] == 1
    after = hold(m, {}, minutes=1)
    f = neurons.pop["firing_hz"]
    p = neurons.params
    assert injured.any() and (~injured).any()
    np.testing.assert_allclose(f[injured], p.baseline_hz + p.ectopic_hz)
    np.testing.assert_allclose(f[~injured], p.baseline_hz)
    assert after["neuron_mean_firing_hz"] > base["neuron_mean_firing_hz"]
    assert after["pain_ongoing_hz"] > base["pain_ongoing_hz"]
    # sensitization raises ectopic discharge further
    hold(m, {"TNF": 1.0}, minutes=120)
    assert np.all(neurons.pop["firing_hz"][injured] > p.baseline_hz + p.ectopic_hz)


def test_relaxation_is_exact_so_step_size_does_not_matter():
    a, b = make(params={"priming_retained": 0.0}), make(params={"priming_retained": 0.0})
    hold(a, {"PGE2": 30.0}, minutes=30, step_min=30)
    hold(b, {"PGE2": 30.0}, minutes=30, step_min=1)
    for ch in ("na", "trpv1", "trpa1"):
        np.testing.assert_allclose(a.pain.nociceptors.drive[ch], b.pain.nociceptors.drive[ch], rtol=1e-12)


def test_state_follows_neurons_by_id_when_neurons_are_added():
    m = make(n_neurons=4)
    hold(m, {"NGF": 1.0}, minutes=60)
    old = m.pain.nociceptors.drive["trpv1"].copy()
    m.cell_types["neuron"].seed_cells(3)
    m.env.fields[:] = 0.0
    m.pain.update(m, 1e-9)
    new = m.pain.nociceptors.drive["trpv1"]
    assert new.shape == (7,)
    np.testing.assert_allclose(new[:4], old, rtol=1e-6)
    np.testing.assert_array_equal(new[4:], 0.0)


def test_inspect_neuron_reports_thresholds_with_units():
    m = make(n_neurons=3)
    hold(m, {"TNF": 0.1})
    rec = m.pain.inspect_neuron(m, 1)
    assert rec["sensed_nM"]["TNF"] == pytest.approx(0.1)
    assert 0 < rec["c_half_activation_force_g"] < m.pain.params.mouse_force_scale_g
    assert rec["heat_half_activation_C"] < m.pain.params.heat_half_C
    assert rec["channel_drive"]["na"] == pytest.approx(rec["channel_target"]["na"], rel=1e-6)


def test_jak_inhibition_takes_away_the_neuronal_il10_brake():
    """IL-10R signals through JAK1 and TYK2 in neurons as in every cell (cells/signaling.py): blocking either
    JAK leaves TNF's sensitization undivided, so a JAK inhibitor also removes an analgesic route."""
    tnf = hold(make(), {"TNF": 0.05})["withdrawal_threshold_interp_g"]
    with_il10 = hold(make(), {"TNF": 0.05, "IL10": 100.0})["withdrawal_threshold_interp_g"]
    assert with_il10 > 1.05 * tnf
    for kinase in ("JAK1", "TYK2"):
        blocked = hold(make(inhibition={kinase: 1.0}), {"TNF": 0.05, "IL10": 100.0})["withdrawal_threshold_interp_g"]
        assert blocked == pytest.approx(tnf, rel=1e-9), kinase
    jak2 = hold(make(inhibition={"JAK2": 1.0}), {"TNF": 0.05, "IL10": 100.0})["withdrawal_threshold_interp_g"]
    assert jak2 == pytest.approx(with_il10, rel=1e-9)  # JAK2 is not in the IL-10 receptor


def test_opioid_peptides_relieve_inflammatory_hyperalgesia_more_once_mu_receptors_come():
    """Immune-cell opioid peptides act on the terminals' μ receptors (Stein & Machelska 2011): no effect on a
    naive paw, a small one on the first hours of inflammation, a large one after days of it, when inflammation has
    brought the receptors to the terminals (Zöllner 2003; pain/nociceptor.py)."""
    p = make().pain.params
    naive = hold(make(), {})["withdrawal_threshold_interp_g"]
    assert hold(make(), {"opioid": 100.0})["withdrawal_threshold_interp_g"] == pytest.approx(naive, rel=1e-9)
    hours = {label: hold(make(params={"priming_retained": 0.0}), dose, minutes=120)["withdrawal_threshold_interp_g"]
             for label, dose in (("pge2", {"PGE2": 30.0}), ("both", {"PGE2": 30.0, "opioid": 100.0}))}  # fmt: skip
    days = {}
    for label, dose in (("pge2", {"PGE2": 30.0}), ("both", {"PGE2": 30.0, "opioid": 100.0})):
        m = make(params={"priming_retained": 0.0})
        out = hold(m, dose, minutes=8 * p.mor_tau_min, step_min=p.mor_tau_min / 8)
        days[label] = out["withdrawal_threshold_interp_g"]
        mor = m.pain.nociceptors.mor
    assert hours["pge2"] < 0.8 * naive and days["pge2"] == pytest.approx(hours["pge2"], rel=1e-6)
    early_relief = (hours["both"] - hours["pge2"]) / (naive - hours["pge2"])
    late_relief = (days["both"] - days["pge2"]) / (naive - days["pge2"])
    assert 0.0 < early_relief < 0.25 and late_relief > 0.5, (early_relief, late_relief)
    assert np.all(mor > 0.6) and np.all(mor <= 1.0), mor


def test_mu_receptor_availability_relaxes_exactly_with_its_time_constant():
    p = make().pain.params
    m = make()
    hold(m, {"PGE2": 1e4}, minutes=p.mor_tau_min, step_min=p.mor_tau_min / 16)
    raw = m.pain.nociceptors
    x = p.mech_na_weight * 0.4 + p.mech_trpa1_weight * 0.1  # PGE2's saturated Na and TRPA1 weights (docs/pain.md)
    m_inf = p.mor_rest + (1.0 - p.mor_rest) * x / (x + p.mor_half_drive)
    expected = m_inf + (p.mor_rest - m_inf) * np.exp(-1.0)
    np.testing.assert_allclose(raw.mor, expected, rtol=1e-3)
