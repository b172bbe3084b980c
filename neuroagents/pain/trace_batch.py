"""The pain trace of several runs at once (a lockstep batch): each run's signals as the reference gives them.

:func:`neuroagents.pain.trace.trace_signals` is the reference: one run's trace signals from its neurons' state, a
few dozen small NumPy calls and two circuit-kernel calls per run and step. :func:`trace_signals_together` computes
the same signals for ``B`` runs with the calls made once for all of them:

* the resting circuit of every run: one :meth:`DorsalHorn.rest <neuroagents.pain.dorsal_horn.DorsalHorn.rest>`
  call, each run's slow state (NMDA ceiling, I -> P weight, the astrocyte-potentiated afferent weights) per stimulus;
* the mechanical afferents of every run's stimuli (the standard filament; on a threshold step also the bracket of
  the last crossing and the filaments inside it), elementwise as the reference, each mean over a run's neurons in
  the order NumPy takes it there (one stimulus: the pairwise sum of a contiguous row; several: row after row);
* the von Frey responses of all those stimuli: one :meth:`DorsalHorn.simulate
  <neuroagents.pain.dorsal_horn.DorsalHorn.simulate>` call.

A run whose crossing has left the bracket (rare: a wider window or the whole grid) gets the reference's own call.
Each run's signals are its reference's, bit for bit (``tests/test_lockstep.py`` compares whole traces). Runs are
taken together when :func:`trace_key` is the same for all: what the trace reads of their parameters
(:data:`TRACE_FIELDS`), the circuit's constants (all but the per-run weights), the species, and the numba kernels.
"""

from __future__ import annotations

import numpy as np

from neuroagents.pain import readouts as ro
from neuroagents.pain.params import force_scale_g
from neuroagents.pain.trace import FINE_GRID_POINTS, WINDOWS, _thresholds, _window, trace_signals

__all__ = ["TRACE_FIELDS", "trace_key", "trace_signals_together"]

TRACE_FIELDS = (
    "fibre_background_hz", "n_adelta", "n_c", "abeta_max_hz", "abeta_onset_hz", "abeta_onset_ms", "abeta_threshold",
    "adelta_max_hz", "adelta_threshold", "c_max_hz", "c_threshold", "mech_hill", "criterion_hz", "vf_hold_s",
    "vf_dt_s",
)  # fmt: skip
"""The :class:`~neuroagents.pain.PainParams` fields the trace reads from the pain model's parameters (besides the
species' force scale); the circuit's come from each run's dorsal horn. ``tests/test_pain_trace.py`` checks that no
other field changes the trace."""


def trace_key(pain) -> tuple | None:
    """What the runs whose traces are computed together must share (see the module docstring); None for a run
    whose dorsal horn does not run the numba kernels (its trace is computed alone)."""
    dh = pain.dorsal_horn
    if dh.active_kernel != "numba":
        return None
    from neuroagents.pain.circuit_kernels import pack_params

    p, q, sp = pain.params, dh.p, pain.species
    return (tuple(getattr(p, f) for f in TRACE_FIELDS), force_scale_g(p, sp), pack_params(q), q.tau_p_s,
            q.tau_e_s, q.tau_i_s, sp.name, tuple(sp.filaments_g), sp.evoked_force_g)  # fmt: skip


def _evoked_means(s, owner, single, gt, thr, p):
    """The mean evoked C rate over each stimulus' run's neurons, ``(K,)``: ``s`` the stimuli (K,), ``owner`` their
    runs (K,), ``single`` whether the run has one stimulus (K,), ``gt`` gain × transduction and ``thr`` the C
    thresholds (B, n).

    The reference (:func:`~neuroagents.pain.readouts.mechanical_afferents`) takes ``evoked.mean(axis=0)`` of an
    ``(n, K_run)`` array: for one stimulus NumPy sums the column pairwise (as a contiguous row here), for several it
    adds row after row (as an ``(n, K)`` array here); each group is computed in that shape.
    """
    out = np.empty(s.shape[0])
    one = np.flatnonzero(single)
    if one.size:
        r = owner[one]
        rows = gt[r] * p.c_max_hz * ro._loglogistic(s[one][:, None], thr[r], p.mech_hill)  # (k, n)
        out[one] = np.ascontiguousarray(rows).mean(axis=1)  # the layout sets NumPy's order of summation
    many = np.flatnonzero(~single)
    if many.size:
        r = owner[many]
        cols = gt.T[:, r] * p.c_max_hz * ro._loglogistic(s[many][None, :], thr.T[:, r], p.mech_hill)  # (n, k)
        out[many] = np.ascontiguousarray(cols).mean(axis=0)  # (an F-ordered array would be summed pairwise)
    return out


def trace_signals_together(dhs, p, species, idx, ongoing_hz, transduces, thresholds, guesses):
    """:func:`~neuroagents.pain.trace.trace_signals` of ``B`` runs whose :func:`trace_key` is the same.

    Parameters
    ----------
    dhs : sequence of DorsalHorn
        Each run's, in batch order.
    p : PainParams
        One run's parameters (what the trace reads is the same in all: :data:`TRACE_FIELDS`).
    species : Species
    idx : dict of ndarray of shape (B, n)
        ``s_mech``, ``threshold_factor`` and ``gain`` (× excitability) of every run's neurons (host).
    ongoing_hz, transduces : ndarray of shape (B, n)
        Each neuron's ongoing firing (Hz) and transduction (host).
    thresholds : sequence of bool
        Which runs compute the two withdrawal thresholds this step.
    guesses : sequence of int
        Each run's fine-grid index of the last crossing.

    Returns
    -------
    list of (dict, int)
        Each run's signals and next guess, as the reference returns them.
    """
    b = len(dhs)
    dh0 = dhs[0]
    scale = force_scale_g(p, species)
    filaments = tuple(float(f) for f in species.filaments_g)
    weights = {name: np.array([getattr(dh, name) for dh in dhs]) for name in ("g_max", "w_ip")}
    weights.update({name: np.array([getattr(dh.p, name) for dh in dhs]) for name in ("w_abeta_p", "w_c_p")})
    mean_on = ongoing_hz.mean(axis=1)
    rest = dh0.rest(np.full(b, p.fibre_background_hz), ro.pooled_nociceptor_hz(p, p.fibre_background_hz, mean_on),
                    **weights)  # fmt: skip
    s_mech = idx["s_mech"].mean(axis=1)
    nan = float("nan")
    outs = [{
        "pain_ongoing_hz": float(rest["P"][k]),
        "pain_evoked_standard_hz": nan,
        "withdrawal_threshold_g": nan,
        "withdrawal_threshold_interp_g": nan,
        "neuron_mean_firing_hz": float(mean_on[k]),
        "mean_sensitization": float(s_mech[k]),
        "spinal_disinhibition": float(dh.disinhibition),
    } for k, dh in enumerate(dhs)]  # fmt: skip

    # every run's stimuli: the standard filament, and on a threshold step the bracket of the last crossing
    forces, owner, windows = [], [], {}
    for k in range(b):  # over runs
        f = [species.evoked_force_g]
        if thresholds[k]:
            windows[k] = _window(filaments, min(max(int(guesses[k]), 0), FINE_GRID_POINTS), WINDOWS[0])
            f = np.concatenate([f, windows[k][1], windows[k][2]])
        forces.append(np.asarray(f, dtype=float))
        owner.append(np.full(len(f), k))
    starts = np.cumsum([0] + [f.size for f in forces])
    s = np.concatenate(forces) / scale
    owner = np.concatenate(owner)
    single = np.array([forces[k].size == 1 for k in owner], dtype=bool)

    # readouts.mechanical_afferents of every stimulus, each with its run's neurons
    recruited = ro._loglogistic(s, p.abeta_threshold, p.mech_hill)
    f_a_onset = p.fibre_background_hz + p.abeta_onset_hz * recruited
    f_a = p.fibre_background_hz + p.abeta_max_hz * recruited
    thr = p.c_threshold * idx["threshold_factor"]
    evoked = _evoked_means(s, owner, single, idx["gain"] * transduces, thr, p)
    f_c = mean_on[owner] + evoked
    tf, gain = idx["threshold_factor"].mean(axis=1), idx["gain"].mean(axis=1)
    theta_n = np.array([(p.adelta_threshold * float(tf[k])) ** p.mech_hill for k in range(b)])  # a float's power
    s_pos = np.maximum(s, 0.0)
    f_ad = p.fibre_background_hz + p.adelta_max_hz * gain[owner] * (s_pos**p.mech_hill
                                                                     / (s_pos**p.mech_hill + theta_n[owner]))
    f_noci = ro.pooled_nociceptor_hz(p, f_ad, f_c)

    # readouts.von_frey_responses of every stimulus, each from its run's resting circuit, in one kernel call
    steps = max(1, round(p.vf_hold_s / p.vf_dt_s))
    onset = min(steps, max(1, round(p.abeta_onset_ms * 1e-3 / p.vf_dt_s)))
    fa = np.empty((steps, s.size))
    fa[:onset] = f_a_onset
    fa[onset:] = f_a
    state = {key: v[owner] for key, v in rest.items()}
    resp = dh0.simulate(fa, np.broadcast_to(f_noci, (steps, s.size)), p.vf_dt_s, state=state,
                        **{name: w[owner] for name, w in weights.items()}).max(axis=0)  # fmt: skip

    results = []
    for k, (dh, out) in enumerate(zip(dhs, outs, strict=True)):  # over runs
        r = resp[starts[k] : starts[k + 1]]
        out["pain_evoked_standard_hz"] = float(r[0])
        if not thresholds[k]:
            results.append((out, guesses[k]))
            continue
        lo, fine_f, fil_f = windows[k]
        found = _thresholds(filaments, lo, fine_f, r[1 : 1 + fine_f.size], fil_f, r[1 + fine_f.size :],
                            p.criterion_hz)  # fmt: skip
        if found is None:  # the crossing left the bracket: the reference's wider windows, for this run alone
            one = {key: idx[key][k] for key in ("s_mech", "threshold_factor", "gain")}
            results.append(trace_signals(dh, p, species, one, ongoing_hz[k], transduces[k], threshold=True,
                                         guess=guesses[k]))  # fmt: skip
            continue
        out["withdrawal_threshold_g"], out["withdrawal_threshold_interp_g"], j = found
        results.append((out, j))
    return results
