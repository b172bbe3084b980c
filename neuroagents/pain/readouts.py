"""Behavioural and electrophysiological readouts, simulated from the current sensitization state.

All are cheap protocols run on the host (NumPy) when a readout is asked for:

* **ongoing pain** — P at the circuit's fixed point with background Aβ/Aδ input
  and the neurons' ongoing (incl. ectopic) firing as C input, spikes/s;
* **von Frey** — each filament of the species' series (plus a fine log-spaced
  grid) is held for ``vf_hold_s``; force ``F`` recruits fibres by a
  log-logistic code ``r = r_max F^n/(F^n + θ^n)`` with the nociceptors' own
  thresholds and gains (Aβ: a brief dynamic burst, then sustained
  discharge); the response is the peak P during the hold; the
  withdrawal threshold is the smallest filament whose response reaches
  ``criterion_hz`` (and, for a smooth readout, the log-interpolated crossing
  force on the fine grid); ``pain_evoked_hz`` is the peak P averaged over the series (the area under
  the stimulus-response curve) and ``pain_evoked_standard_hz`` the peak P for the species'
  standard force;
* **Hargreaves** — skin temperature rises linearly from ``heat_start_C`` at
  ``heat_rate_C_per_s``; heat-sensitive fibres follow a logistic of
  temperature around each neuron's ``T½``; latency = first time P reaches the
  criterion, else the cut-off;
* **wind-up** — ``windup_pulses`` electrical pulses at ``windup_hz``: an Aβ
  volley then a delayed C volley (transduction bypassed, so only central state
  matters); ratio = evoked spikes after the last pulse / after the first, with
  NMDA and with NMDA blocked (``g_max = 0``; ratio ≈ 1).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "hargreaves_latency_s",
    "heat_afferents",
    "mechanical_afferents",
    "ongoing_state",
    "pooled_nociceptor_hz",
    "threshold_from_responses",
    "von_frey_responses",
    "windup_ratios",
]


def _loglogistic(s, theta, n):
    s = np.maximum(s, 0.0)
    return s**n / (s**n + theta**n)


def pooled_nociceptor_hz(p, f_adelta, f_c):
    """Average rate per nociceptive fibre (Hz): Aδ and C pooled by their numbers (Crodelle 2019 Fig 3)."""
    return (p.n_adelta * f_adelta + p.n_c * f_c) / (p.n_adelta + p.n_c)


def mechanical_afferents(stimulus, idx, ongoing_hz, transduces, p):
    """Fibre inputs to the dorsal horn for mechanical stimuli.

    Parameters
    ----------
    stimulus : ndarray of shape (K,)
        Force / force scale (dimensionless; 1 = naive C half-activation).
    idx : dict of ndarray of shape (n,)
        From :meth:`Nociceptors.indices` (``threshold_factor``, ``gain``).
    ongoing_hz : ndarray of shape (n,)
        Each nociceptor's ongoing firing, Hz.
    transduces : ndarray of shape (n,)
        1 where the terminal transduces stimuli, less for injured ones.
    p : PainParams

    Returns
    -------
    f_a_onset, f_a, f_noci : ndarray of shape (K,)
        Aβ input during the first ``abeta_onset_ms`` (dynamic response), Aβ
        input after it (sustained), and pooled Aδ + C input; Hz per fibre.
    """
    s = np.asarray(stimulus, float)
    recruited = _loglogistic(s, p.abeta_threshold, p.mech_hill)
    f_a_onset = p.fibre_background_hz + p.abeta_onset_hz * recruited
    f_a = p.fibre_background_hz + p.abeta_max_hz * recruited
    thr = p.c_threshold * idx["threshold_factor"]
    evoked = (idx["gain"] * transduces)[:, None] * p.c_max_hz * _loglogistic(s[None, :], thr[:, None], p.mech_hill)
    f_c = ongoing_hz.mean() + evoked.mean(axis=0)
    thr_ad = p.adelta_threshold * float(idx["threshold_factor"].mean())
    f_ad = p.fibre_background_hz + p.adelta_max_hz * float(idx["gain"].mean()) * _loglogistic(s, thr_ad, p.mech_hill)
    return f_a_onset, f_a, pooled_nociceptor_hz(p, f_ad, f_c)


def heat_afferents(temperature_C, idx, ongoing_hz, transduces, p):
    """Fibre inputs for skin temperatures ``temperature_C`` (ndarray of shape (K,), °C); see above."""
    T = np.asarray(temperature_C, float)
    act = 1.0 / (1.0 + np.exp(-(T[None, :] - idx["heat_half_C"][:, None]) / p.heat_width_C))
    f_c = ongoing_hz.mean() + ((idx["gain"] * transduces)[:, None] * p.c_max_hz * act).mean(axis=0)
    act_ad = 1.0 / (1.0 + np.exp(-(T - float(idx["heat_half_C"].mean())) / p.heat_width_C))
    f_ad = p.fibre_background_hz + p.adelta_max_hz * float(idx["gain"].mean()) * act_ad
    f_a = np.full_like(T, p.fibre_background_hz)
    return f_a, pooled_nociceptor_hz(p, f_ad, f_c)


def ongoing_state(dh, ongoing_hz, p):
    """Resting circuit state for background Aβ/Aδ and the neurons' ongoing firing (arrays of shape (1,))."""
    f_c = pooled_nociceptor_hz(p, p.fibre_background_hz, float(ongoing_hz.mean()))
    return dh.rest(np.array([p.fibre_background_hz]), np.array([f_c]))


def von_frey_responses(dh, f_a_onset, f_a, f_noci, rest, p):
    """Peak P (Hz) while a filament is held ``vf_hold_s``: Aβ onset burst, then sustained input.

    Parameters
    ----------
    dh : DorsalHorn
    f_a_onset, f_a, f_noci : ndarray of shape (K,)
        From :func:`mechanical_afferents`, Hz.
    rest : CircuitState
        The ongoing state the stimulus starts from (arrays of shape (1,)).
    p : PainParams

    Returns
    -------
    ndarray of shape (K,)
    """
    steps = max(1, round(p.vf_hold_s / p.vf_dt_s))
    onset = min(steps, max(1, round(p.abeta_onset_ms * 1e-3 / p.vf_dt_s)))
    k = f_a.shape[0]
    state = {key: np.broadcast_to(v, (k,)) for key, v in rest.items()}
    fa = np.empty((steps, k))
    fa[:onset] = f_a_onset
    fa[onset:] = f_a
    fc = np.broadcast_to(f_noci, (steps, k))
    return dh.simulate(fa, fc, p.vf_dt_s, state=state).max(axis=0)


def threshold_from_responses(forces_g, responses_hz, criterion_hz):
    """Smallest force whose response reaches the criterion, and the log-interpolated crossing.

    Parameters
    ----------
    forces_g, responses_hz : ndarray of shape (K,)
        Ascending forces (g) and their responses (Hz).
    criterion_hz : float

    Returns
    -------
    (float, float)
        The first force at or above the criterion, and the interpolated
        crossing; both are the largest force (the cut-off) when none reaches it,
        and the smallest force when the first already does.
    """
    above = np.flatnonzero(responses_hz >= criterion_hz)
    if above.size == 0:
        top = float(forces_g[-1])
        return top, top
    k = int(above[0])
    if k == 0:
        return float(forces_g[0]), float(forces_g[0])
    r0, r1 = float(responses_hz[k - 1]), float(responses_hz[k])
    frac = (criterion_hz - r0) / (r1 - r0) if r1 > r0 else 1.0
    lf = np.log(forces_g[k - 1]) + frac * (np.log(forces_g[k]) - np.log(forces_g[k - 1]))
    return float(forces_g[k]), float(np.exp(lf))


def hargreaves_latency_s(dh, idx, ongoing_hz, transduces, rest, p):
    """Withdrawal latency (s) to a radiant-heat ramp; the cut-off when P never reaches the criterion."""
    t = np.arange(1, int(np.ceil(p.heat_cutoff_s / p.heat_dt_s)) + 1) * p.heat_dt_s
    T = p.heat_start_C + p.heat_rate_C_per_s * t
    f_a, f_noci = heat_afferents(T, idx, ongoing_hz, transduces, p)
    P = dh.simulate(f_a[:, None], f_noci[:, None], p.heat_dt_s, state=rest)[:, 0]
    above = np.flatnonzero(P >= p.criterion_hz)
    if above.size == 0:
        return float(p.heat_cutoff_s)
    k = int(above[0])
    if k == 0:
        return float(t[0])
    frac = (p.criterion_hz - P[k - 1]) / (P[k] - P[k - 1])
    return float(min(t[k - 1] + frac * p.heat_dt_s, p.heat_cutoff_s))


def windup_ratios(dh, f_c_ongoing: float, p) -> tuple[float, float]:
    """Wind-up ratio (last / first evoked spikes) with NMDA and with NMDA blocked.

    Parameters
    ----------
    dh : DorsalHorn
    f_c_ongoing : float
        Ongoing pooled nociceptor input, Hz per fibre.
    p : PainParams

    Returns
    -------
    (float, float)
        Ratios with NMDA (``g_max`` of the current state) and with ``g_max = 0``.
    """
    dt = p.vf_dt_s
    per = max(2, round(1.0 / (p.windup_hz * dt)))
    n = p.windup_pulses * per
    phase = np.arange(n) % per
    n_a = max(1, round(p.windup_abeta_ms * 1e-3 / dt))
    c0 = round(p.windup_c_delay_ms * 1e-3 / dt)
    c1 = c0 + max(1, round(p.windup_c_ms * 1e-3 / dt))
    f_a = p.fibre_background_hz + p.windup_abeta_hz * (phase < n_a)
    f_c = f_c_ongoing + p.windup_c_hz * ((phase >= c0) & (phase < c1))
    g_max = np.array([dh.g_max, 0.0])
    rest = dh.rest(np.full(2, p.fibre_background_hz), np.full(2, f_c_ongoing), g_max=g_max)
    P = dh.simulate(np.repeat(f_a[:, None], 2, axis=1), np.repeat(f_c[:, None], 2, axis=1), dt, state=rest, g_max=g_max)
    spikes = ((P - rest["P"]) * dt).reshape(p.windup_pulses, per, 2).sum(axis=1)
    eps = 1e-9
    ratio = (spikes[-1] + eps) / (spikes[0] + eps)
    return float(ratio[0]), float(ratio[1])
