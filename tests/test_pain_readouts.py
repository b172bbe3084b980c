"""Behavioural readouts: naive values in the published ranges, finite, continuous in time."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.model import NeuroImmuneModel
from neuroagents.pain import PainModel, PainParams
from neuroagents.pain.readouts import threshold_from_responses

KEYS = {
    "pain_ongoing_hz", "pain_evoked_hz", "pain_evoked_standard_hz", "spinal_kcc2_loss", "spinal_astrocytes",
    "spinal_potentiation", "withdrawal_threshold_g", "withdrawal_threshold_interp_g", "heat_latency_s",
    "windup_ratio", "windup_ratio_nmda_blocked", "neuron_mean_firing_hz", "mean_sensitization",
    "mean_heat_sensitization", "mean_priming", "mean_mu_opioid_receptors", "spinal_disinhibition", "spinal_nmda_gain",
    "pain_rating_nrs",
}  # fmt: skip


def naive(species="mouse", **kw):
    m = NeuroImmuneModel(seed=2, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=6, **kw)
    m.env.fields[:] = 0.0
    m.pain = PainModel(m, species=species)
    m.pain.update(m, 1.0)
    return m, m.pain.readouts(m)


def test_naive_mouse_readouts_are_in_published_ranges():
    _, r = naive("mouse")
    assert set(r) == KEYS
    assert all(isinstance(v, float) and math.isfinite(v) for v in r.values())
    assert 0.6 <= r["withdrawal_threshold_g"] <= 1.0  # von Frey, naive mouse 0.6-1 g
    assert 0.6 <= r["withdrawal_threshold_interp_g"] <= 1.0
    assert 8.0 <= r["heat_latency_s"] <= 15.0  # Hargreaves, ~10 s
    assert r["pain_ongoing_hz"] < 1.0  # projection neurons nearly silent at rest
    assert r["pain_evoked_standard_hz"] < 25.0  # the standard filament is below the naive threshold
    assert r["pain_evoked_hz"] < 25.0  # most of the series is below the naive threshold
    assert r["windup_ratio"] > 1.3 and r["windup_ratio_nmda_blocked"] == pytest.approx(1.0, abs=0.01)
    assert r["mean_sensitization"] == 0.0 and r["spinal_disinhibition"] == 0.0


def test_naive_human_pinprick_threshold_is_near_100_mN():
    """People: the pinprick series of quantitative sensory testing, naive threshold ~100 mN (Chantelau 2015)."""
    _, r = naive("human")
    mn = 9.80665  # mN per g
    assert r["withdrawal_threshold_g"] == pytest.approx(128 / mn, rel=1e-3)  # the first pin at or above 100 mN
    assert 80.0 <= r["withdrawal_threshold_interp_g"] * mn <= 120.0
    assert r["pain_evoked_standard_hz"] < 25.0  # the 64 mN standard pin is below the naive threshold
    assert r["pain_rating_nrs"] == 0.0  # no ongoing pain at rest


def test_naive_rat_threshold_is_near_15_g():
    _, r = naive("rat")
    assert r["withdrawal_threshold_g"] == 15.0
    assert 10.0 <= r["withdrawal_threshold_interp_g"] <= 15.0


def test_model_without_neurons_still_reads_out_a_naive_animal():
    m = NeuroImmuneModel(seed=1, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=0)
    m.pain = PainModel(m)
    m.pain.update(m, 1.0)
    r = m.pain.readouts(m)
    assert all(math.isfinite(v) for v in r.values())
    assert 0.6 <= r["withdrawal_threshold_g"] <= 1.0


def test_threshold_is_first_filament_reaching_the_criterion():
    forces = np.array([0.4, 0.6, 1.0, 1.4])
    assert threshold_from_responses(forces, np.array([1.0, 10.0, 30.0, 50.0]), 25.0)[0] == 1.0
    first, interp = threshold_from_responses(forces, np.array([1.0, 20.0, 30.0, 50.0]), 25.0)
    assert first == 1.0 and 0.6 < interp < 1.0
    assert threshold_from_responses(forces, np.full(4, 1.0), 25.0) == (1.4, 1.4)  # cut-off
    assert threshold_from_responses(forces, np.full(4, 40.0), 25.0) == (0.4, 0.4)


def test_parameter_errors_name_the_key_and_species_is_checked():
    m = NeuroImmuneModel(seed=1, width_um=100, height_um=100, n_mast_cells=0, n_macrophages=0, n_neurons=2)
    with pytest.raises(ConfigError, match=r"pain\.hil.*did you mean 'hill'"):
        PainModel(m, params={"hil": 2.0})
    with pytest.raises(ConfigError, match=r"pain\.tau_on_min = -1"):
        PainModel(m, params={"tau_on_min": -1.0})
    with pytest.raises(ConfigError, match=r"pain\.species = 'cat'.*mouse"):
        PainModel(m, species="cat")


def test_time_course_of_a_model_run_is_continuous_and_finite():
    # stromal COX-2 and kinins off: the bolus is the input under test (0.5 nM TNF would induce stromal PGE2 and open
    # venules that make bradykinin on top of it, responses of their own, tested in tests/test_stroma.py and
    # tests/test_kinins.py)
    m = NeuroImmuneModel(seed=3, width_um=300, height_um=300, n_mast_cells=6, n_macrophages=10, n_neurons=8,
                         injured_fraction=0.3, injury_time_min=2.0,
                         stroma_params={"pge2_max_nM_per_min": 0.0},
                         kinin_params={"bradykinin_nM_per_min": 0.0})  # fmt: skip
    m.pain = PainModel(m)
    rows = []
    for k in range(90):
        if k == 5:  # an intraplantar-like bolus
            for name, c in (("PGE2", 50.0), ("TNF", 0.5), ("BDNF", 3.0)):
                m.env.fields[m.env.index(name)] += c
        m.step()
        if k % 3 == 0:
            rows.append(m.pain.readouts(m))
    series = {key: np.array([r[key] for r in rows]) for key in KEYS}
    assert all(np.isfinite(v).all() for v in series.values())
    naive_thr = series["withdrawal_threshold_interp_g"][0]
    assert series["withdrawal_threshold_interp_g"].min() < 0.7 * naive_thr  # the bolus sensitizes
    bounds = {"withdrawal_threshold_interp_g": 0.35 * naive_thr, "heat_latency_s": 2.5, "pain_ongoing_hz": 0.5,
              "mean_sensitization": 0.3, "spinal_disinhibition": 0.1, "windup_ratio": 0.3}  # per 3 min  # fmt: skip
    for key, bound in bounds.items():
        jump = np.abs(np.diff(series[key])).max()
        assert jump < bound, f"{key} jumps by {jump} between records"
    assert series["neuron_mean_firing_hz"][-1] > series["neuron_mean_firing_hz"][0]  # ectopic firing


def test_readouts_converge_as_the_pain_step_shrinks():
    """Refining the update step changes the trajectory less and less (no hidden discontinuity)."""

    def run(dt):
        m, _ = naive()
        m.env.fields[m.env.index("PGE2")] = 20.0
        for _ in range(round(600 / dt)):  # 10 h: priming (the only step-dependent part) builds up
            m.pain.update(m, dt)
        return m.pain.readouts(m)["withdrawal_threshold_interp_g"]

    coarse, fine, finest = run(60.0), run(10.0), run(2.0)
    assert abs(fine - finest) <= abs(coarse - finest) + 1e-12
    assert abs(fine - finest) < 0.01 * finest


def test_every_parameter_has_unit_source_and_a_row_in_the_docs():
    text = (Path(__file__).resolve().parents[1] / "docs" / "pain.md").read_text(encoding="utf-8")
    for f in dataclasses.fields(PainParams):
        assert f.metadata.get("unit") and f.metadata.get("source"), f.name
        assert f"`{f.name}`" in text, f"docs/pain.md lacks a row for {f.name}"
