"""The dorsal-horn circuit: wind-up needs NMDA, BDNF disinhibits, cytokines raise NMDA gain."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuroagents.pain.dorsal_horn import DorsalHorn
from neuroagents.pain.params import PainParams
from neuroagents.pain.readouts import windup_ratios

P = PainParams()


def test_windup_above_one_with_nmda_and_one_without():
    dh = DorsalHorn(P)
    with_nmda, blocked = windup_ratios(dh, 0.2, P)
    assert with_nmda > 1.3
    assert blocked == pytest.approx(1.0, abs=0.01)
    no_nmda = DorsalHorn(dataclasses.replace(P, nmda_max=0.0))
    assert windup_ratios(no_nmda, 0.2, P)[0] == pytest.approx(1.0, abs=0.01)


def test_windup_needs_repetition_faster_than_the_nmda_decay():
    fast = windup_ratios(DorsalHorn(P), 0.2, P)[0]
    slow = windup_ratios(DorsalHorn(P), 0.2, dataclasses.replace(P, windup_hz=0.1))[0]
    assert fast > slow
    assert slow < 1.1


def test_bdnf_disinhibition_raises_projection_output_for_the_same_input():
    dh = DorsalHorn(P)
    f_a, f_c = np.array([8.0, 16.0, 41.0]), np.array([5.0, 10.0, 15.0])
    before = dh.rest(f_a, f_c)["P"]
    dh.update({"BDNF": 5.0}, {}, 1e4)
    assert dh.disinhibition > 0.85 * P.bdnf_disinhibition
    after = dh.rest(f_a, f_c)["P"]
    assert np.all(after > before)
    # a touch-like burst (Abeta only) stays gated before, drives P after
    burst = np.full((3, 1), 41.0), np.full((3, 1), 0.2)
    naive = DorsalHorn(P)
    rest0, rest1 = naive.rest(np.ones(1), np.full(1, 0.2)), dh.rest(np.ones(1), np.full(1, 0.2))
    assert naive.simulate(*burst, 0.01, state=rest0).max() < 10.0
    assert dh.simulate(*burst, 0.01, state=rest1).max() > P.criterion_hz


def test_spinal_tnf_and_il1b_raise_nmda_gain_and_tnf_raises_windup():
    both = DorsalHorn(P)
    both.update({"TNF": 1.0, "IL1B": 1.0}, {}, 600.0)  # 20 NMDA-gain time constants; astrocytes take days
    astro = P.astro_nmda_gain * both.astrocytes
    assert 0.0 < both.astrocytes < 0.2
    assert both.nmda_gain == pytest.approx(1.0 + P.tnf_nmda_gain + P.il1b_nmda_gain + astro, rel=0.02)
    tnf = DorsalHorn(P)
    tnf.update({"TNF": 1.0}, {}, 600.0)
    assert tnf.disinhibition == 0.0  # TNF acts on NMDA, not on inhibition (Kawasaki 2008)
    assert windup_ratios(tnf, 0.2, P)[0] > windup_ratios(DorsalHorn(P), 0.2, P)[0]


def test_spinal_il6_needs_jak1():
    free, blocked = DorsalHorn(P), DorsalHorn(P)
    free.update({"IL6": 10.0}, {}, 1e4)
    blocked.update({"IL6": 10.0}, {"JAK1": 1.0}, 1e4)
    assert free.disinhibition > 0.1
    assert blocked.disinhibition == pytest.approx(0.0, abs=1e-12)


def test_rest_is_the_long_time_limit_of_simulate():
    dh = DorsalHorn(P)
    f_a, f_c = np.array([1.0, 10.0]), np.array([0.2, 12.0])
    rest = dh.rest(f_a, f_c)
    zero = {k: np.zeros(2) for k in ("P", "E", "I", "g")}
    P_t = dh.simulate(np.tile(f_a, (3000, 1)), np.tile(f_c, (3000, 1)), 0.01, state=zero)
    np.testing.assert_allclose(P_t[-1], rest["P"], rtol=1e-4, atol=1e-6)


def test_slow_state_relaxes_exactly_and_recovers():
    a, b = DorsalHorn(P), DorsalHorn(P)
    a.update({"BDNF": 2.0}, {}, 60.0)
    for _ in range(60):
        b.update({"BDNF": 2.0}, {}, 1.0)
    assert a.disinhibition == pytest.approx(b.disinhibition, rel=1e-12)
    a.update({}, {}, 1e5)
    assert a.disinhibition == pytest.approx(0.0, abs=1e-9)


# --- induction and maintenance: KCC2 and the astrocyte switch ---------------------------------------------
_MICROGLIA = {"IL1B": 0.2, "TNF": 0.1}  # nM: reactive microglia's spinal cytokines (both well above their K)
_DAY = 1440.0


def _days(dh, days, spinal, afferent_hz, step_min=60.0):
    for _ in range(round(days * _DAY / step_min)):  # over time steps of a slow scalar state
        dh.update(spinal, {}, step_min, afferent_hz)


def test_astrocytes_need_induction_by_microglial_cytokines():
    """Ectopic afferent input alone does not turn astrocytes reactive: the loop has a threshold."""
    dh = DorsalHorn(P)
    _days(dh, 20, {}, afferent_hz=5.0)
    assert dh.astrocytes == 0.0 and dh.potentiation == 1.0 and dh.disinhibition == 0.0


def test_reactive_astrocytes_outlast_microglia_while_injured_afferents_fire():
    """Maintenance: after 7 days of microglial cytokines and BDNF, the microglia stop (minocycline, say); with the
    injured afferents still firing the astrocytes stay reactive and keep KCC2 down for weeks."""
    dh = DorsalHorn(P)
    _days(dh, 7, {**_MICROGLIA, "BDNF": 2.0}, afferent_hz=2.0)
    assert dh.astrocytes > 0.7
    induced = dh.disinhibition
    _days(dh, 21, {}, afferent_hz=2.0)
    assert dh.astrocytes > 0.7  # self-sustained
    assert dh.kcc2_loss > 0.7 * P.astro_kcc2_loss and dh.disinhibition > 0.5 * induced
    # without the astrocytes the same BDNF withdrawal gives KCC2 back within days
    no_astro = DorsalHorn(dataclasses.replace(P, astro_kcc2_loss=0.0))
    _days(no_astro, 7, {**_MICROGLIA, "BDNF": 2.0}, afferent_hz=2.0)
    _days(no_astro, 21, {}, afferent_hz=2.0)
    assert no_astro.kcc2_loss < 0.01


def test_astrocytes_resolve_when_the_afferents_fall_silent():
    """Resolution: once the injured afferents stop firing (regeneration, nerve block) the switch turns off with the
    astrocytes' own time constant, and KCC2 follows."""
    dh = DorsalHorn(P)
    _days(dh, 7, {**_MICROGLIA, "BDNF": 2.0}, afferent_hz=2.0)
    a0 = dh.astrocytes
    _days(dh, 14, {}, afferent_hz=0.1)  # a naive nociceptor's rate
    assert dh.astrocytes < 0.6 * a0  # about exp(-14 d / astro_off_min)
    _days(dh, 42, {}, afferent_hz=0.1)  # eight weeks: the naive input slows the decay a little
    assert dh.astrocytes < 0.3 * a0 and dh.kcc2_loss < 0.3


def test_astrocyte_state_barely_depends_on_the_step():
    a, b = DorsalHorn(P), DorsalHorn(P)
    _days(a, 5, _MICROGLIA, afferent_hz=2.0, step_min=5.0)
    _days(b, 5, _MICROGLIA, afferent_hz=2.0, step_min=240.0)
    assert 0.2 < a.astrocytes < 0.95
    assert b.astrocytes == pytest.approx(a.astrocytes, rel=0.02)


def test_astrocytes_potentiate_the_afferent_synapses_and_lower_the_response_threshold():
    dh = DorsalHorn(dataclasses.replace(P, astro_potentiation=0.2))  # off by default (pain/params.py)
    _days(dh, 10, _MICROGLIA, afferent_hz=2.0)
    assert dh.p.w_abeta_p == pytest.approx(P.w_abeta_p * dh.potentiation) and dh.potentiation > 1.05
    assert dh.params.w_abeta_p == P.w_abeta_p  # the naive parameters are kept
    f_a = np.array([8.0, 16.0])
    assert np.all(dh.rest(f_a, np.full(2, 2.0))["P"] > DorsalHorn(P).rest(f_a, np.full(2, 2.0))["P"])
