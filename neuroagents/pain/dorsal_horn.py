"""Central sensitization: a dorsal-horn firing-rate circuit after Crodelle et al. 2019.

Populations (rates in Hz): excitatory interneurons E, inhibitory interneurons I
and projection neurons P (the pain signal), driven by the average firing rate
per fibre of Aβ (``f_A``) and of nociceptive Aδ + C fibres (``f_C``)::

    τ_I dI/dt = I∞(w_AI f_A) + I_0 - I
    τ_E dE/dt = E∞(w_CE f_C - w_IE I) - E
    τ_P dP/dt = P∞(w_AP f_A + (w_CP + g) f_C + w_EP E - w_IP (1 - d) I) - P
    dg/dt     = (g_max G - g) M∞(P) / τ_rise - g / τ_decay                 (NMDA on P)
    X∞(c)     = (X_max / 2)(1 + tanh((c - β_X) / α_X)),   M∞(P) = (1 + tanh((P - β_M)/α_M)) / 2

Structure after Crodelle et al. 2019 (PLoS Comput Biol e1007106); the numbers
come from the same group's code (Crodelle & Maia 2021, M). One change: their
NMDA variable relaxes with a single τ = 1 s (``τ dg/dt = g_max M∞(P) − g``),
which in this implementation gives a wind-up ratio of only ~1.1 at 1 Hz; here
the NMDA variable rises at a rate gated by P (``τ_rise``) and decays more
slowly (``τ_decay``), so that it accumulates over pulses at 0.5–1 Hz and not at
0.2 Hz — the frequency dependence of wind-up (see ``docs/pain.md``).

Spinal mediators and afferent input set the slow state (``spinal_nM`` is an
explicit input, so that a dorsal-horn compartment can replace the grid mean):

* **KCC2 loss** ``K`` in [0, 1): microglial BDNF -> TrkB -> KCC2 down (Coull
  2005 Nature; Coull 2003 Nature: KCC2 stays down for weeks after nerve
  injury). It follows BDNF within an hour but recovers only as KCC2 is made
  again, over days (``tau_kcc2_off_min``): the first memory of the circuit.
* **fast disinhibition** ``F``: IL-1β and IL-6 lower GABA/glycine currents
  (Kawasaki 2008), and so does IFN-γ from T cells that reach the dorsal horn
  (Vikman 2007 Pain 133:18; its receptor is JAK1/JAK2-coupled, so JAK
  inhibitors in the CSF reach it), following the cytokines within hours.
  Unlike BDNF this route does not pass through microglia: minocycline leaves it.
* disinhibition ``d = 1 − (1 − a_B K)(1 − F)``, ``F* = 1 − (1 − a_1 θ_IL1)(1 − a_6 θ_IL6)(1 − a_γ θ_IFNγ)``,
  ``K* = max(θ_BDNF, a_AK A)``: reactive astrocytes keep KCC2 down without
  BDNF (activity-dependent KCC2 cleavage by calpain, Zhou 2012 J Biol Chem
  287:33853). Both routes act on one pool of transporter, so the stronger sets
  the loss (assumption): astrocytes add little while microglia are active and
  hold the loss when microglia are inhibited.
* **reactive astrocytes** ``A`` in [0, 1) (induction -> maintenance): induced by
  microglial IL-1β and TNF (Raghavendra 2003 J Pharmacol Exp Ther 306:624;
  Gao 2009 J Neurosci 29:4096: astrocytic JNK -> CCL2 after microglia), and,
  once reactive, kept so by the ongoing input of injured afferents (a
  positive feedback: local anaesthetic block of the injured nerve reverses
  established neuropathic pain, Sukhotinsky 2004 Eur J Pain 8:135;
  Haroutounian 2014 Pain 155:1272)::

      dA/dt = (θ_cyt / τ_A,ind + s_aff h(A) / τ_A,sus) (1 − A) − A / τ_A,off
      θ_cyt = (1 − (1 − θ_IL1)(1 − θ_TNF)(1 − a_Aγ θ_IFNγ))²,   s_aff = f / (f + f½),   h(A) = A² / (A² + A½²)

  ``a_Aγ`` (``astro_ifng_induction``) is 0 in males; in females T-cell IFN-γ
  switches the astrocytes on too (neuroagents/sex.py), the route by which
  female pain needs T cells and not microglia (Sorge 2015 Nat Neurosci
  18:1081) and still ends in the loss of KCC2 (Mapplebeck 2019 Cell Rep 28:590).

  With the afferents silent (sham, or after regeneration) ``A = 0`` is the only
  state; with ectopic input a reactive state persists once induced and needs
  no microglia (the maintenance phase; minocycline started late lowers
  microglial activation but not this).
* **synaptic potentiation** ``Φ = 1 + a_A A``: astrocytic CCL2/CXCL1 and
  glia-gated LTP strengthen the primary-afferent synapses on projection neurons
  (Gao 2009; Zhang 2013 J Neurosci 33:1345 CXCL1; Ikeda 2006 Science 312:1659;
  Gruber-Schoffnegger 2013 J Neurosci 33:6540): ``w_abeta_p`` and ``w_c_p``
  are multiplied by Φ.
* NMDA gain ``G >= 1``: spinal TNF and IL-1β raise NMDA currents (Kawasaki 2008;
  TNF through TNFR1, Zhang et al. 2011 Pain), and astrocytic CCL2 does too (Gao
  2009): ``G* = 1 + a_TNF θ_TNF + a_IL1 θ_IL1 + a_AG A``.

``K``, ``F`` and ``G`` relax to their targets exactly (constant targets within a
step); ``A`` is integrated in sub-steps of at most ``astro_substep_min``
(semi-implicit, so it stays in [0, 1) at any step).

Kernels: :meth:`DorsalHorn.rest_reference` and :meth:`DorsalHorn.simulate_reference`
are the plain NumPy versions that read like the equations above;
:mod:`neuroagents.pain.circuit_kernels` does the same arithmetic in compiled
loops (numba), checked against them in ``tests/test_pain_circuit_kernels.py``.
:meth:`DorsalHorn.rest` and :meth:`DorsalHorn.simulate` dispatch on
``DorsalHorn.kernel``.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import numbers
from collections.abc import Mapping

import numpy as np

from neuroagents.cells.signaling import RECEPTORS, Receptor, SignalingNetwork
from neuroagents.errors import ConfigError

__all__ = ["KERNELS", "SPINAL_MEDIATORS", "CircuitState", "DorsalHorn"]

KERNELS = ("auto", "numba", "reference")
"""Circuit kernels: ``"reference"`` (NumPy), ``"numba"`` (compiled; an error if it cannot run) and ``"auto"`` (numba
when numba imports and the inputs are host arrays, else the reference)."""

SPINAL_MEDIATORS = ("BDNF", "TNF", "IL1B", "IL6", "IFNG")
"""Mediators the dorsal horn reads from ``spinal_nM``."""

CircuitState = dict
"""``{"P", "E", "I", "g"}`` -> ndarray of shape (K,): rates in Hz and the NMDA variable."""


def _inf(c, xmax, alpha, beta):
    return 0.5 * xmax * (1.0 + np.tanh((c - beta) / alpha))


@functools.cache
def _numba_kernels():
    """:mod:`neuroagents.pain.circuit_kernels`, or None when numba cannot be imported."""
    try:
        from neuroagents.pain import circuit_kernels
    except ImportError:
        return None
    return circuit_kernels


def _on_host(*xs) -> bool:
    """True when every argument is a NumPy array, a NumPy or Python number, or a list/tuple (not a CuPy array)."""
    return all(isinstance(x, np.ndarray | np.generic | numbers.Real | list | tuple) for x in xs)


def _flat(x, shape: tuple[int, ...]) -> np.ndarray:
    """``x`` (float or array) broadcast to ``shape`` as a contiguous float64 ndarray of shape (prod(shape),).

    A scalar becomes a filled array, and an array of ``shape`` a read-only view (contiguous) or a copy: the same
    values and flags as broadcasting, which numba's compiled signatures depend on, without broadcasting's
    overhead (the protocols call this a dozen times per readout).
    """
    a = np.asarray(x, dtype=np.float64)
    if a.ndim == 0:
        return np.full(math.prod(shape), a)
    if a.shape == shape:
        if not a.flags.c_contiguous:
            return np.ascontiguousarray(a).reshape(-1)
        view = a.reshape(-1).view()  # a new array object: its flag leaves ``a`` writeable
        view.flags.writeable = False
        return view
    return np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1)


def _unbroadcast(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The part of ``x`` (values broadcast from an array of ``shape``) that has ``shape``: undoes the broadcast."""
    x = x[(0,) * (x.ndim - len(shape))]
    return x[tuple(slice(None) if n == m else slice(0, 1) for n, m in zip(shape, x.shape, strict=True))].copy()


def _occ(c, k, h=1.0):
    c = max(float(c), 0.0)
    return c**h / (c**h + k**h)


class DorsalHorn:
    """The dorsal-horn circuit and its slow, mediator-driven state.

    Parameters
    ----------
    params : PainParams
    kernel : {"auto", "numba", "reference"}
        Implementation of :meth:`rest` and :meth:`simulate` (see :data:`KERNELS`); may be reassigned.

    Attributes
    ----------
    kernel : str
        As given.
    disinhibition : float
        Fractional loss of I -> P inhibition, in [0, 1).
    nmda_gain : float
        Multiplier of the NMDA ceiling ``g_max`` (1 = naive).
    kcc2_loss, fast_disinhibition : float
        The two parts of :attr:`disinhibition` (BDNF -> KCC2, slow; IL-1β/IL-6, fast), in [0, 1).
    astrocytes : float
        Reactive astrocytes ``A`` in [0, 1).
    params : PainParams
        The naive circuit's parameters; :attr:`p` is the circuit as potentiated now (``w_abeta_p``, ``w_c_p`` × Φ).
    """

    def __init__(self, params, *, kernel: str = "auto"):
        if kernel not in KERNELS:
            raise ConfigError("kernel", kernel, "one of " + ", ".join(map(repr, KERNELS)))
        self.params = params
        self.p = params
        self.kernel = kernel
        self.disinhibition = 0.0
        self.kcc2_loss = 0.0
        self.fast_disinhibition = 0.0
        self.astrocytes = 0.0
        self.nmda_gain = 1.0
        il6, ifng = RECEPTORS["IL6R"], RECEPTORS["IFNGR"]
        self._il6 = SignalingNetwork(
            (Receptor("IL6R", "IL6", params.il6_kd_nM, params.hill, il6.kinases, ("STAT3",), "pain.params"),)
        )
        self._ifng = SignalingNetwork(
            (Receptor("IFNGR", "IFNG", params.ifng_kd_nM, params.hill, ifng.kinases, ("STAT1",), "pain.params"),)
        )

    # --- slow state ----------------------------------------------------------------------------
    def _occupancies(self, spinal_nM: Mapping[str, float], inhibition: Mapping[str, float]) -> dict[str, float]:
        p = self.params
        il6_c = np.array([max(float(spinal_nM.get("IL6", 0.0)), 0.0)])
        ifng_c = np.array([max(float(spinal_nM.get("IFNG", 0.0)), 0.0)])
        return {
            "BDNF": _occ(spinal_nM.get("BDNF", 0.0), p.bdnf_ec50_nM, p.hill),
            "TNF": _occ(spinal_nM.get("TNF", 0.0), p.tnf_r1_kd_nM, p.hill),
            "IL1B": _occ(spinal_nM.get("IL1B", 0.0), p.il1b_kd_nM, p.hill),
            "IL6": float(self._il6.target_activity({"IL6": il6_c}, 1, inhibition)["STAT3"][0]),  # JAK1-gated
            "IFNG": float(self._ifng.target_activity({"IFNG": ifng_c}, 1, inhibition)["STAT1"][0]),  # JAK1+JAK2
        }

    def targets(self, spinal_nM: Mapping[str, float], inhibition: Mapping[str, float],
                astrocytes: float | None = None) -> tuple[float, float]:  # fmt: skip
        """Steady disinhibition and NMDA gain for the spinal mediator levels ``spinal_nM`` (nM).

        ``astrocytes`` (default: the current :attr:`astrocytes`, held) adds its KCC2 loss and NMDA gain.
        """
        p = self.params
        occ = self._occupancies(spinal_nM, inhibition)
        a = self.astrocytes if astrocytes is None else astrocytes
        kcc2 = max(occ["BDNF"], p.astro_kcc2_loss * a)
        keep = (1.0 - p.bdnf_disinhibition * kcc2) * (1.0 - self._fast_target(occ))
        return 1.0 - keep, self._gain_target(occ, a)

    def _fast_target(self, occ: Mapping[str, float]) -> float:
        """Steady fast (cytokine) disinhibition ``F*`` for receptor occupancies ``occ``."""
        p = self.params
        keep = ((1.0 - p.il1b_disinhibition * occ["IL1B"]) * (1.0 - p.il6_disinhibition * occ["IL6"])
                * (1.0 - p.ifng_disinhibition * occ["IFNG"]))  # fmt: skip
        return 1.0 - keep

    def _gain_target(self, occ: Mapping[str, float], astrocytes: float) -> float:
        """Steady NMDA gain ``G*`` for receptor occupancies ``occ`` and reactive astrocytes ``astrocytes``."""
        p = self.params
        return 1.0 + p.tnf_nmda_gain * occ["TNF"] + p.il1b_nmda_gain * occ["IL1B"] + p.astro_nmda_gain * astrocytes

    def update(self, spinal_nM: Mapping[str, float], inhibition: Mapping[str, float], dt_min: float,
               afferent_hz: float = 0.0) -> None:  # fmt: skip
        """Advance the slow state by ``dt_min`` minutes.

        Parameters
        ----------
        spinal_nM : Mapping[str, float]
            BDNF, TNF, IL1B, IL6, IFNG in the dorsal horn, nM (held over the step).
        inhibition : Mapping[str, float]
            Fractional inhibition of kinases and receptors in the dorsal horn.
        dt_min : float
            Step, min.
        afferent_hz : float
            Mean ongoing firing of the primary afferents, Hz (held over the step): keeps astrocytes reactive.
        """
        p = self.params
        occ = self._occupancies(spinal_nM, inhibition)
        k_star = max(occ["BDNF"], p.astro_kcc2_loss * self.astrocytes)
        tau_k = p.tau_disinhibition_on_min if k_star > self.kcc2_loss else p.tau_kcc2_off_min
        self.kcc2_loss = k_star + (self.kcc2_loss - k_star) * math.exp(-dt_min / tau_k)
        f_star = self._fast_target(occ)
        tau_f = p.tau_disinhibition_on_min if f_star > self.fast_disinhibition else p.tau_disinhibition_off_min
        self.fast_disinhibition = f_star + (self.fast_disinhibition - f_star) * math.exp(-dt_min / tau_f)
        self.disinhibition = 1.0 - (1.0 - p.bdnf_disinhibition * self.kcc2_loss) * (1.0 - self.fast_disinhibition)
        spared = (1.0 - occ["IL1B"]) * (1.0 - occ["TNF"])
        if p.astro_ifng_induction > 0.0:  # T-cell IFN-γ (females, neuroagents/sex.py)
            spared = spared * (1.0 - p.astro_ifng_induction * occ["IFNG"])
        cytokines = (1.0 - spared) ** 2  # cooperative: both, or much of one
        self.astrocytes = self._advance_astrocytes(cytokines, float(afferent_hz), dt_min)
        g_star = self._gain_target(occ, self.astrocytes)  # the occupancies of this step, computed once
        self.nmda_gain = g_star + (self.nmda_gain - g_star) * math.exp(-dt_min / p.tau_nmda_gain_min)
        self._potentiate()

    def _advance_astrocytes(self, cytokines: float, afferent_hz: float, dt_min: float) -> float:
        """``A`` after ``dt_min``: semi-implicit sub-steps of at most ``astro_substep_min`` (see module docstring)."""
        p = self.params
        s_aff = max(afferent_hz, 0.0) / (max(afferent_hz, 0.0) + p.astro_afferent_half_hz)
        n = max(1, math.ceil(dt_min / p.astro_substep_min))
        h_dt = dt_min / n
        a = self.astrocytes
        k_off = 1.0 / p.astro_off_min
        for _ in range(n):  # over sub-steps of one scalar ODE (not cells)
            h = a * a / (a * a + p.astro_half * p.astro_half)
            k_in = cytokines / p.astro_induction_min + s_aff * h / p.astro_sustain_min
            a = (a + h_dt * k_in) / (1.0 + h_dt * (k_in + k_off))
        return a

    def _potentiate(self) -> None:
        """Set :attr:`p` to the circuit with the primary-afferent synapses on P scaled by Φ = 1 + a_A A."""
        phi = self.potentiation
        if phi == 1.0:
            self.p = self.params
        elif abs(self.p.w_abeta_p - self.params.w_abeta_p * phi) > 1e-12 * phi:
            self.p = dataclasses.replace(self.params, w_abeta_p=self.params.w_abeta_p * phi,
                                         w_c_p=self.params.w_c_p * phi)  # fmt: skip

    @property
    def potentiation(self) -> float:
        """Synaptic potentiation Φ of the primary-afferent input to P (1 = naive)."""
        return 1.0 + self.params.astro_potentiation * self.astrocytes

    @property
    def w_ip(self) -> float:
        """Effective I -> P weight."""
        return self.params.w_i_p * (1.0 - self.disinhibition)

    @property
    def g_max(self) -> float:
        """Effective NMDA ceiling ``g_max G``."""
        return self.params.nmda_max * self.nmda_gain

    # --- the circuit -----------------------------------------------------------------------------
    def _use_numba(self, *xs) -> bool:
        """Whether :attr:`kernel` and the inputs ``xs`` select the numba kernels."""
        kernel = self.kernel
        if kernel == "reference":
            return False
        if kernel not in KERNELS:
            raise ConfigError("kernel", kernel, "one of " + ", ".join(map(repr, KERNELS)))
        ok = _on_host(*xs)
        if kernel == "numba":
            if _numba_kernels() is None:
                raise ConfigError("kernel", kernel, "'auto' or 'reference': numba cannot be imported")
            if not ok:
                raise ConfigError("kernel", kernel, "'auto' or 'reference' for inputs that are not NumPy arrays")
            return True
        return ok and _numba_kernels() is not None

    @property
    def active_kernel(self) -> str:
        """The kernel that runs for NumPy inputs: ``"numba"`` or ``"reference"``."""
        return "numba" if self._use_numba() else "reference"

    def rest(self, f_a, f_c, *, g_max=None, w_ip=None, w_abeta_p=None, w_c_p=None,
             iterations: int = 200) -> CircuitState:  # fmt: skip
        """Fixed point for constant inputs, reached from P = g = 0 (the lower branch if bistable).

        Runs the numba kernel or :meth:`rest_reference` as :attr:`kernel` says; same arguments and result.

        Parameters
        ----------
        f_a, f_c : float or ndarray of shape (K,)
            Aβ and nociceptor (Aδ + C) input, Hz per fibre (K may be several axes).
        g_max, w_ip : float or ndarray of shape (K,), optional
            NMDA ceiling and I -> P weight (default: the current slow state).
        w_abeta_p, w_c_p : float or ndarray of shape (K,), optional
            Aβ -> P and nociceptor -> P weights (default: :attr:`p`'s, as potentiated now); per stimulus where the
            stimuli are several runs' (a lockstep batch's pain trace).
        iterations : int
            Iterations of the fixed-point map.

        Returns
        -------
        CircuitState
            ``E`` and ``I`` of the shape of ``f_a`` and ``f_c`` broadcast, ``P`` and ``g`` of all four inputs
            broadcast (as the reference).
        """
        g_max = self.g_max if g_max is None else g_max
        w_ip = self.w_ip if w_ip is None else w_ip
        w_abeta_p = self.p.w_abeta_p if w_abeta_p is None else w_abeta_p
        w_c_p = self.p.w_c_p if w_c_p is None else w_c_p
        if not self._use_numba(f_a, f_c, g_max, w_ip, w_abeta_p, w_c_p):
            return self.rest_reference(f_a, f_c, g_max=g_max, w_ip=w_ip, w_abeta_p=w_abeta_p, w_c_p=w_c_p,
                                       iterations=iterations)  # fmt: skip
        f_a, f_c = np.asarray(f_a, float), np.asarray(f_c, float)
        shape_f = np.broadcast_shapes(f_a.shape, f_c.shape)
        shape = np.broadcast_shapes(shape_f, np.shape(g_max), np.shape(w_ip), np.shape(w_abeta_p), np.shape(w_c_p))
        out = {key: np.empty(math.prod(shape)) for key in ("P", "E", "I", "g")}
        kernels = _numba_kernels()
        kernels.rest_kernel(
            _flat(f_a, shape), _flat(f_c, shape), _flat(g_max, shape), _flat(w_ip, shape), _flat(w_abeta_p, shape),
            _flat(w_c_p, shape), kernels.pack_params(self.p), int(iterations), out["P"], out["E"], out["I"], out["g"],
        )  # fmt: skip
        # the reference's shapes: E, I of the inputs; P, g grow with each iteration as g_max and w_ip enter
        shape_p = shape_g = shape
        if iterations < 2:
            shape_p = (np.broadcast_shapes(shape_f, np.shape(w_ip), np.shape(w_abeta_p), np.shape(w_c_p))
                       if iterations == 1 else shape_f)  # fmt: skip
            shape_g = shape if iterations == 1 else shape_f
        return {key: _unbroadcast(out[key].reshape(shape), s)
                for key, s in (("P", shape_p), ("E", shape_f), ("I", shape_f), ("g", shape_g))}  # fmt: skip

    def rest_reference(self, f_a, f_c, *, g_max=None, w_ip=None, w_abeta_p=None, w_c_p=None,
                       iterations: int = 200) -> CircuitState:  # fmt: skip
        """Fixed point for constant inputs, reached from P = g = 0 (the lower branch if bistable); NumPy reference.

        Parameters
        ----------
        f_a, f_c : float or ndarray of shape (K,)
            Aβ and nociceptor (Aδ + C) input, Hz per fibre.
        g_max, w_ip, w_abeta_p, w_c_p : float or ndarray of shape (K,), optional
            As :meth:`rest`.
        iterations : int
            Iterations of the fixed-point map.

        Returns
        -------
        CircuitState
        """
        p = self.p
        g_max = self.g_max if g_max is None else g_max
        w_ip = self.w_ip if w_ip is None else w_ip
        w_abeta_p = p.w_abeta_p if w_abeta_p is None else w_abeta_p
        w_c_p = p.w_c_p if w_c_p is None else w_c_p
        f_a, f_c = np.broadcast_arrays(np.asarray(f_a, float), np.asarray(f_c, float))
        i = _inf(p.w_abeta_i * f_a, p.i_max_hz, p.i_alpha, p.i_beta) + p.i_offset_hz
        e = _inf(p.w_c_e * f_c - p.w_i_e * i, p.e_max_hz, p.e_alpha, p.e_beta)
        P = np.zeros_like(f_c)
        g = np.zeros_like(f_c)
        for _ in range(iterations):  # monotone map: converges from below
            P = _inf(w_abeta_p * f_a + (w_c_p + g) * f_c + p.w_e_p * e - w_ip * i, p.p_max_hz, p.p_alpha, p.p_beta)
            m = 0.5 * (1.0 + np.tanh((P - p.m_beta) / p.m_alpha))
            g = g_max * (m / p.nmda_rise_s) / (m / p.nmda_rise_s + 1.0 / p.nmda_decay_s)
        return {"P": P, "E": e, "I": i, "g": g}

    def simulate(self, f_a, f_c, dt_s: float, *, state: CircuitState, g_max=None, w_ip=None, w_abeta_p=None,
                 w_c_p=None):  # fmt: skip
        """Integrate the circuit through time-varying inputs.

        Runs the numba kernel or :meth:`simulate_reference` as :attr:`kernel` says; same arguments and result.

        Parameters
        ----------
        f_a, f_c : ndarray of shape (T, K)
            Aβ and nociceptor input per step, Hz (broadcast against each other; K may be several axes).
        dt_s : float
            Step, s.
        state : CircuitState
            Initial state (e.g. :meth:`rest`), arrays of shape (K,) (or broadcastable to it).
        g_max, w_ip : float or ndarray of shape (K,), optional
            NMDA ceiling and I -> P weight (default: the current slow state).
        w_abeta_p, w_c_p : float or ndarray of shape (K,), optional
            Aβ -> P and nociceptor -> P weights (default: :attr:`p`'s), as in :meth:`rest`.

        Returns
        -------
        ndarray of shape (T, K)
            P after each step, Hz.
        """
        g_max = self.g_max if g_max is None else g_max
        w_ip = self.w_ip if w_ip is None else w_ip
        w_abeta_p = self.p.w_abeta_p if w_abeta_p is None else w_abeta_p
        w_c_p = self.p.w_c_p if w_c_p is None else w_c_p
        weights = {"g_max": g_max, "w_ip": w_ip, "w_abeta_p": w_abeta_p, "w_c_p": w_c_p}
        st = [state[key] for key in ("P", "E", "I", "g")]
        if not self._use_numba(f_a, f_c, g_max, w_ip, w_abeta_p, w_c_p, *st):
            return self.simulate_reference(f_a, f_c, dt_s, state=state, **weights)
        f_a, f_c = np.asarray(f_a, float), np.asarray(f_c, float)
        shape = np.broadcast_shapes(f_a.shape, f_c.shape)
        if not shape:  # no time axis: the reference raises as it always did
            return self.simulate_reference(f_a, f_c, dt_s, state=state, **weights)
        per = shape[1:] or (1,)  # the stimuli (a protocol of shape (T,) is one stimulus)
        p, dt_s = self.p, float(dt_s)
        dec_p, dec_e, dec_i = (math.exp(-dt_s / t) for t in (p.tau_p_s, p.tau_e_s, p.tau_i_s))
        out = np.empty((shape[0], math.prod(per)))
        fa, fc = (_flat(x, shape).reshape(out.shape) for x in (f_a, f_c))
        kernels = _numba_kernels()
        kernels.simulate_kernel(
            fa, fc, _flat(g_max, per), _flat(w_ip, per), _flat(w_abeta_p, per), _flat(w_c_p, per),
            kernels.pack_params(p), dt_s, dec_p, dec_e, dec_i, *(_flat(x, per) for x in st), out,
        )  # fmt: skip
        return out.reshape(shape)

    def simulate_reference(self, f_a, f_c, dt_s: float, *, state: CircuitState, g_max=None, w_ip=None,
                           w_abeta_p=None, w_c_p=None):  # fmt: skip
        """Integrate the circuit through time-varying inputs; NumPy reference.

        Each step holds the inputs constant and relaxes I, E, P (in that order)
        and g exactly (exponential Euler), so fast populations (τ_P = 1 ms) are
        stable at any ``dt_s``.

        Parameters
        ----------
        f_a, f_c : ndarray of shape (T, K)
            Aβ and nociceptor input per step, Hz.
        dt_s : float
            Step, s.
        state : CircuitState
            Initial state (e.g. :meth:`rest`), arrays of shape (K,).
        g_max, w_ip, w_abeta_p, w_c_p : float or ndarray of shape (K,), optional
            As :meth:`simulate`.

        Returns
        -------
        ndarray of shape (T, K)
            P after each step, Hz.
        """
        p = self.p
        g_max = self.g_max if g_max is None else g_max
        w_ip = self.w_ip if w_ip is None else w_ip
        w_abeta_p = p.w_abeta_p if w_abeta_p is None else w_abeta_p
        w_c_p = p.w_c_p if w_c_p is None else w_c_p
        f_a = np.asarray(f_a, float)
        f_c = np.asarray(f_c, float)
        P, E, I, g = (np.array(state[k], dtype=float, copy=True) for k in ("P", "E", "I", "g"))
        dec_p, dec_e, dec_i = (math.exp(-dt_s / t) for t in (p.tau_p_s, p.tau_e_s, p.tau_i_s))
        out = np.empty(np.broadcast_shapes(f_a.shape, f_c.shape))
        k_rise, k_decay = 1.0 / p.nmda_rise_s, 1.0 / p.nmda_decay_s
        for t in range(out.shape[0]):  # over time steps of a short protocol
            fa, fc = f_a[t], f_c[t]
            i_inf = _inf(p.w_abeta_i * fa, p.i_max_hz, p.i_alpha, p.i_beta) + p.i_offset_hz
            I = i_inf + (I - i_inf) * dec_i
            e_inf = _inf(p.w_c_e * fc - p.w_i_e * I, p.e_max_hz, p.e_alpha, p.e_beta)
            E = e_inf + (E - e_inf) * dec_e
            drive = w_abeta_p * fa + (w_c_p + g) * fc + p.w_e_p * E - w_ip * I
            p_inf = _inf(drive, p.p_max_hz, p.p_alpha, p.p_beta)
            P = p_inf + (P - p_inf) * dec_p
            rate = 0.5 * (1.0 + np.tanh((P - p.m_beta) / p.m_alpha)) * k_rise
            lam = rate + k_decay
            g_inf = g_max * rate / lam
            g = g_inf + (g - g_inf) * np.exp(-lam * dt_s)
            out[t] = P
        return out
