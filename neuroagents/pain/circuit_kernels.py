"""Fast CPU kernels (numba) for the dorsal-horn circuit.

They compute exactly what :meth:`DorsalHorn.rest_reference
<neuroagents.pain.dorsal_horn.DorsalHorn.rest_reference>` and
:meth:`~neuroagents.pain.dorsal_horn.DorsalHorn.simulate_reference` compute —
the same operations in the same order, per element — and are checked against
them in ``tests/test_pain_circuit_kernels.py``. The NumPy reference loops over
time steps (or fixed-point iterations) and does a dozen small array operations
on arrays of shape (K,) per step; here compiled loops do the same per element.
``simulate_kernel`` runs over steps, and inside each step over the K stimuli,
whose independent dependency chains the CPU overlaps (stimuli outside, steps
inside measured ~2x slower for von Frey, K = 59: one chain of ``tanh`` calls at a time).
``rest_kernel`` runs each stimulus' fixed-point iteration on its own and stops
once it is exactly fixed (the remaining iterations would repeat it).

Arithmetic is plain IEEE float64 (no ``fastmath``: no contraction into fused
multiply-adds, no reassociation). ``tanh`` and ``exp`` come from the C
library, NumPy uses its own SIMD versions, which differ in the last bit for
a fifth of the arguments; results agree with the reference to ~1e-13
relative, and where a rate is far below its ceiling to ~1e-16 of the ceiling
(``(X_max/2)(1 + tanh(u))`` cancels for u << 0 in both). The kernels are
serial: K is at most ~60 stimuli. ``bench/pain.py`` times both.

The circuit's scalar parameters travel as one tuple in the order of
:data:`PARAM_NAMES` (fields of :class:`~neuroagents.pain.params.PainParams`);
:func:`pack_params` builds it.
"""

from __future__ import annotations

import math

from numba import njit

__all__ = ["PARAM_NAMES", "pack_params", "rest_kernel", "simulate_kernel"]

# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of raising.
_JIT = {"cache": True, "error_model": "numpy"}

PARAM_NAMES = (
    "w_abeta_i", "i_max_hz", "i_alpha", "i_beta", "i_offset_hz",
    "w_c_e", "w_i_e", "e_max_hz", "e_alpha", "e_beta",
    "w_e_p", "p_max_hz", "p_alpha", "p_beta",
    "m_alpha", "m_beta", "nmda_rise_s", "nmda_decay_s",
)  # fmt: skip
"""Order of the circuit parameters in the tuple the kernels take. The primary-afferent weights on P
(``w_abeta_p``, ``w_c_p``: potentiated by astrocytes, so one pair per run) travel per stimulus, as ``g_max`` and
``w_ip`` do, so that one call can hold the stimuli of several runs (a lockstep batch's pain trace)."""


def pack_params(p) -> tuple[float, ...]:
    """The circuit parameters of ``p`` (a :class:`PainParams`) as a tuple of floats in :data:`PARAM_NAMES` order."""
    return tuple(float(getattr(p, name)) for name in PARAM_NAMES)


@njit(inline="always", **_JIT)
def _inf(c, xmax, alpha, beta):
    """``X∞(c) = (X_max / 2)(1 + tanh((c - β) / α))``, the same expression as the reference's ``_inf``."""
    return 0.5 * xmax * (1.0 + math.tanh((c - beta) / alpha))


@njit(**_JIT)
def rest_kernel(f_a, f_c, g_max, w_ip, w_abeta_p, w_c_p, prm, iterations, P, E, I, g):
    """Fixed point of the circuit for constant inputs, from P = g = 0 (writes ``P``, ``E``, ``I``, ``g``).

    Parameters
    ----------
    f_a, f_c : ndarray of shape (K,)
        Aβ and nociceptor (Aδ + C) input, Hz per fibre.
    g_max, w_ip, w_abeta_p, w_c_p : ndarray of shape (K,)
        NMDA ceiling, I -> P weight, Aβ -> P and nociceptor -> P weights.
    prm : tuple of float
        Circuit parameters in :data:`PARAM_NAMES` order.
    iterations : int
        Iterations of the fixed-point map (>= 1).
    P, E, I, g : ndarray of shape (K,)
        Output: rates (Hz) and the NMDA variable.

    Notes
    -----
    The map is ``g -> P(g) -> g'``; once ``g' == g`` exactly, every further
    iteration repeats the same numbers, so the loop stops there: the result is
    that of all ``iterations``.
    """
    (w_abeta_i, i_max, i_alpha, i_beta, i_offset, w_c_e, w_i_e, e_max, e_alpha, e_beta,
     w_e_p, p_max, p_alpha, p_beta, m_alpha, m_beta, rise_s, decay_s) = prm  # fmt: skip
    for k in range(f_a.shape[0]):  # over stimuli
        fa = f_a[k]
        fc = f_c[k]
        i = _inf(w_abeta_i * fa, i_max, i_alpha, i_beta) + i_offset
        e = _inf(w_c_e * fc - w_i_e * i, e_max, e_alpha, e_beta)
        p = 0.0
        gk = 0.0
        for _ in range(iterations):  # fixed-point iterations
            p = _inf(w_abeta_p[k] * fa + (w_c_p[k] + gk) * fc + w_e_p * e - w_ip[k] * i, p_max, p_alpha, p_beta)
            m = 0.5 * (1.0 + math.tanh((p - m_beta) / m_alpha))
            g_new = g_max[k] * (m / rise_s) / (m / rise_s + 1.0 / decay_s)
            if g_new == gk:
                break
            gk = g_new
        P[k] = p
        E[k] = e
        I[k] = i
        g[k] = gk


@njit(**_JIT)
def simulate_kernel(f_a, f_c, g_max, w_ip, w_abeta_p, w_c_p, prm, dt_s, dec_p, dec_e, dec_i, P0, E0, I0, g0, out):
    """Integrate the circuit through time-varying inputs by exponential Euler (writes ``out``).

    Parameters
    ----------
    f_a, f_c : ndarray of shape (T, K)
        Aβ and nociceptor input per step, Hz.
    g_max, w_ip, w_abeta_p, w_c_p : ndarray of shape (K,)
        NMDA ceiling, I -> P weight, Aβ -> P and nociceptor -> P weights.
    prm : tuple of float
        Circuit parameters in :data:`PARAM_NAMES` order.
    dt_s : float
        Step, s.
    dec_p, dec_e, dec_i : float
        ``exp(-dt_s / τ)`` of P, E and I.
    P0, E0, I0, g0 : ndarray of shape (K,)
        Initial state.
    out : ndarray of shape (T, K)
        Output: P after each step, Hz.
    """
    (w_abeta_i, i_max, i_alpha, i_beta, i_offset, w_c_e, w_i_e, e_max, e_alpha, e_beta,
     w_e_p, p_max, p_alpha, p_beta, m_alpha, m_beta, rise_s, decay_s) = prm  # fmt: skip
    k_rise = 1.0 / rise_s
    k_decay = 1.0 / decay_s
    P = P0.copy()
    E = E0.copy()
    I = I0.copy()
    g = g0.copy()
    for t in range(out.shape[0]):  # over time steps
        for k in range(out.shape[1]):  # over stimuli: independent chains, which the CPU overlaps
            fa = f_a[t, k]
            fc = f_c[t, k]
            i_inf = _inf(w_abeta_i * fa, i_max, i_alpha, i_beta) + i_offset
            i = i_inf + (I[k] - i_inf) * dec_i
            e_inf = _inf(w_c_e * fc - w_i_e * i, e_max, e_alpha, e_beta)
            e = e_inf + (E[k] - e_inf) * dec_e
            drive = w_abeta_p[k] * fa + (w_c_p[k] + g[k]) * fc + w_e_p * e - w_ip[k] * i
            p_inf = _inf(drive, p_max, p_alpha, p_beta)
            p = p_inf + (P[k] - p_inf) * dec_p
            rate = 0.5 * (1.0 + math.tanh((p - m_beta) / m_alpha)) * k_rise
            lam = rate + k_decay
            g_inf = g_max[k] * rate / lam
            g[k] = g_inf + (g[k] - g_inf) * math.exp(-lam * dt_s)
            I[k] = i
            E[k] = e
            P[k] = p
            out[t, k] = p
