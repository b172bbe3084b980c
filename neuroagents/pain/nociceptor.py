"""Peripheral sensitization: mediators at each nociceptor -> channels -> thresholds, gain, firing.

Each neuron reads the mediators at its peripheral terminal (``terminal_voxel``);
TNF, IL-1β and IL-6 also act on the DRG soma (``voxel``), mixed with weight
``cytokine_soma_weight`` (TNF applied to the DRG makes afferents fire and
sensitize, Schäfers 2003; assumption for the weight).

Receptors and their kinase routes (``docs/references.md``)::

    TNF   -> TNFR1 (KD 19 pM), TNFR2 (KD 420 pM) -> p38 -> Nav1.8/1.9, TRPV1
    IL-1β -> IL-1R1 -> p38 -> TTX-r Na (Binshtok 2008), TRPV1
    IL-6  -> IL-6R/gp130 -> JAK1 (+JAK2|TYK2) -> STAT3 -> Na, TRPV1, TRPA1/mechanical
    IL-17A-> IL-17RA -> PI3K/ERK -> TTX-r Na (Ebbinghaus 2017), mechanical
    NGF   -> TrkA -> TRPV1 (strongly), Nav1.7/1.8
    PGE2  -> EP2/EP4 -> cAMP/PKA -> TTX-r Na, TRPV1
    bradykinin -> B2 -> PLC/PKCε -> TRPV1 (strongly), TRPA1, TTX-r Na; the receptors tire of it (tachyphylaxis)
    histamine -> H1 -> PLC/PKC -> TRPV1;  5-HT -> 5-HT2A/4/7 -> Na, TRPV1
    IL-10 -> IL-10R: does not sensitize; divides the pro-nociceptive drive
    opioid peptides (immune cells) -> μ receptors on the terminal -> Gi/o: divide it too,
             in proportion to the terminal's μ-receptor availability m (Stein & Machelska 2011)

Inhibitors act where the wiring says: ``model.inhibition["JAK1"]`` (and
JAK2 with TYK2, and ``STAT3``) reaches IL-6 only, through
:class:`~neuroagents.cells.signaling.SignalingNetwork`; ``"P38"`` reaches TNF
and IL-1β; nothing here reaches PGE2, NGF or the amines.

Equations (per neuron *i*, vectorized; θ_R the occupancy ``c^h/(c^h + K^h)``)::

    D_ch*  = (1 - b θ_IL10)(1 - b_o m θ_op) Σ_R e_{R,ch} θ_R g_R     ch in {na, trpv1, trpa1}
    m     <- m* + (m - m*) exp(-dt/τ_m),  m* = m_0 + (1 - m_0) x_r/(x_r + x_½)   μ receptors at the terminal
    B     <- exact solution of dB/dt = (1 - B)/τ_rec - θ_B2 B/τ_tachy          B2 receptors left (θ_B2 g_B2 × B)
             (x_r: the mechanical drive of the undivided targets: inflammation brings the receptors)
    D_ch  <- D_ch* + (D_ch - D_ch*) exp(-dt/τ)             τ = τ_on if rising else τ_off (1 + κ Π)
    x_m    = k_na D_na + k_a1 D_trpa1,   S_fast = x_m / (1 + x_m)
    Π     <- exact solution of dΠ/dt = S⁺ (1 - Π)/τ_Π,on - Π/τ_Π,off      (hyperalgesic priming;
             S⁺ = max(S_fast - s_0, 0)/(1 - s_0), S_fast held at its mean over the step)
    S_mech = 1 - (1 - S_fast)(1 - ρ Π)                      mechanical sensitization, [0, 1)
    θ_mech = θ_0 (1 - δ_max S_mech)                         mechanical threshold
    S_heat = x_h/(1 + x_h),  x_h = k_v1 D_trpv1 + k_nah D_na;   T½ = T½_0 - ΔT_max S_heat
    gain   = 1 + k_g D_na
    firing = excitability (baseline (1 + a_s D_na) + injured · ectopic (1 + a_e D_na))
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neuroagents.cells.signaling import RECEPTORS, Receptor, SignalingNetwork
from neuroagents.kinins import b2_left
from neuroagents.tissue.exchange import gather

__all__ = [
    "CHANNELS", "SENSITIZERS", "Effect", "Nociceptors", "analgesia", "channel_targets", "effects", "sensing",
    "undivided_targets",
]

SENSITIZERS = ("TNF", "IL1B", "IL6", "IL17A", "NGF", "PGE2", "histamine", "serotonin", "elastase", "bradykinin")
"""Mediators that sensitize nociceptors (IL-10 is read too, and does not)."""
CHANNELS = ("na", "trpv1", "trpa1")
"""Channel drives: fractional increases of TTX-r Na (Nav1.7/1.8/1.9), TRPV1 and TRPA1 currents."""
_SOMA_ACTING = ("TNF", "IL1B", "IL6", "elastase")


@dataclass(frozen=True)
class Effect:
    """One receptor's contribution to the channel drives.

    Attributes
    ----------
    receptor, mediator : str
    kd_nM : float
        Half-occupancy concentration, nM.
    na, trpv1, trpa1 : float
        Fractional current increase at full occupancy (1 = doubled).
    route : {"none", "p38", "jak", "b2"}
        Which inhibitors reach it ("b2": none, but the receptors tire of bradykinin: tachyphylaxis).
    """

    receptor: str
    mediator: str
    kd_nM: float
    na: float
    trpv1: float
    trpa1: float
    route: str = "none"


def effects(p) -> tuple[Effect, ...]:
    """The receptor table built from :class:`~neuroagents.pain.params.PainParams` ``p``."""
    return (
        Effect("TNFR1", "TNF", p.tnf_r1_kd_nM, p.tnf_r1_na, p.tnf_trpv1, 0.0, "p38"),
        Effect("TNFR2", "TNF", p.tnf_r2_kd_nM, p.tnf_r2_na, 0.0, 0.0, "p38"),
        Effect("IL1R1", "IL1B", p.il1b_kd_nM, p.il1b_na, p.il1b_trpv1, 0.0, "p38"),
        Effect("IL6R", "IL6", p.il6_kd_nM, p.il6_na, p.il6_trpv1, p.il6_trpa1, "jak"),
        Effect("IL17RA", "IL17A", p.il17a_kd_nM, p.il17a_na, 0.0, p.il17a_trpa1),
        Effect("TrkA", "NGF", p.ngf_kd_nM, p.ngf_na, p.ngf_trpv1, p.ngf_trpa1),
        Effect("EP2/EP4", "PGE2", p.pge2_ec50_nM, p.pge2_na, p.pge2_trpv1, p.pge2_trpa1),
        Effect("H1", "histamine", p.histamine_ec50_nM, p.histamine_na, p.histamine_trpv1, p.histamine_trpa1),
        Effect("5-HT2A/4/7", "serotonin", p.serotonin_ec50_nM, p.serotonin_na, p.serotonin_trpv1, p.serotonin_trpa1),
        Effect("PAR2", "elastase", p.elastase_ec50_nM, p.elastase_na, 0.0, p.elastase_trpa1),
        Effect("B2", "bradykinin", p.bradykinin_kd_nM, p.bradykinin_na, p.bradykinin_trpv1, p.bradykinin_trpa1, "b2"),
    )


def _occupancy(xp, c, kd, h):
    c = xp.maximum(c, 0.0)
    ch = c**h
    return ch / (ch + kd**h)


def channel_targets(conc: Mapping[str, object], n: int, inhibition: Mapping[str, float], p, xp=np, mor=None,
                    b2=None):  # fmt: skip
    """Steady-state channel drives for the given mediators.

    Parameters
    ----------
    conc : Mapping[str, ndarray of shape (n,)]
        Concentrations at each neuron, nM; missing mediators read 0.
    n : int
        Number of neurons.
    inhibition : Mapping[str, float]
        Fractional inhibition of kinases and pathways (``model.inhibition``).
    p : PainParams
    mor : ndarray of shape (n,), optional
        μ-receptor availability at each terminal, 0..1 (``None``: ``p.mor_rest``).
    b2 : ndarray of shape (n,), optional
        B2 receptors left after tachyphylaxis, 0..1 (``None``: all).

    Returns
    -------
    dict[str, ndarray of shape (n,)]
        ``{"na", "trpv1", "trpa1"}``: fractional current increases, >= 0.
    """
    raw = undivided_targets(conc, n, inhibition, p, xp, b2)
    damp = analgesia(conc, n, inhibition, p, xp, mor)
    return {ch: raw[ch] * damp for ch in CHANNELS}


def analgesia(conc: Mapping[str, object], n: int, inhibition: Mapping[str, float], p, xp=np, mor=None):
    """The factor, in (0, 1], by which IL-10 and opioid peptides divide the drives, shape (n,).

    IL-10 acts through IL-10R1/JAK1 and IL-10R2/TYK2 -> STAT3, the receptor of every other cell type
    (``cells/signaling.py``), so JAK inhibitors take this brake away too; the opioid peptides act through
    μ receptors (Gi/o, no JAK) in proportion to their availability ``mor`` at the terminal.
    """
    zero = xp.zeros(n)
    m = p.mor_rest if mor is None else mor
    il10 = _jak_network("IL10R", "IL10", p.il10_kd_nM, p.hill, xp).target_activity(
        {"IL10": conc.get("IL10", zero)}, n, inhibition)["STAT3"]
    damp = 1.0 - p.il10_block * il10
    return damp * (1.0 - p.opioid_block * m * _occupancy(xp, conc.get("opioid", zero), p.opioid_kd_nM, 1.0))


def undivided_targets(conc: Mapping[str, object], n: int, inhibition: Mapping[str, float], p, xp=np, b2=None):
    """The receptors' summed drive before IL-10 and opioids divide it, ``{channel: (n,)}`` (see above); ``b2`` the
    B2 receptors left after tachyphylaxis, shape (n,) (``None``: all)."""
    zero = xp.zeros(n)
    out = {ch: xp.zeros(n) for ch in CHANNELS}
    p38_gate = 1.0 - inhibition.get("P38", 0.0)  # a number, or a column (B, 1) of a lockstep batch's runs
    for e in effects(p):  # over receptors (10), not cells
        c = conc.get(e.mediator, zero)
        if e.route == "jak":
            net = _jak_network("IL6R", e.mediator, e.kd_nM, p.hill, xp)
            occ = net.target_activity({e.mediator: c}, n, inhibition)["STAT3"]
        elif e.route == "b2":
            occ = b2_occupancy(c, p, xp) * (1.0 if b2 is None else b2)
        else:
            occ = _occupancy(xp, c, e.kd_nM, p.hill) * (p38_gate if e.route == "p38" else 1.0)
        for ch in CHANNELS:
            w = getattr(e, ch)
            if not _is_zero(w):
                out[ch] = out[ch] + w * occ
    return out


def _is_zero(w) -> bool:
    """Whether the weight ``w`` is the number 0 (a column of per-run weights is not: its zeros add an exact 0)."""
    return isinstance(w, (int, float)) and w == 0


def b2_occupancy(c, p, xp=np):
    """B2 occupancy by bradykinin ``c`` (nM) before tachyphylaxis, shape of ``c``."""
    return _occupancy(xp, c, p.bradykinin_kd_nM, p.hill)


@functools.lru_cache(maxsize=16)
def _jak_network(receptor: str, mediator: str, kd_nM: float, hill: float, xp) -> SignalingNetwork:
    """``receptor`` (IL6R: JAK1 and (JAK2 or TYK2); IL10R: JAK1 and TYK2) -> STAT3 with the kinase requirement
    every other cell type uses (cells/signaling.py), at the pain model's binding constant; built once."""
    ref = RECEPTORS[receptor]
    r = Receptor(receptor, mediator, kd_nM, hill, ref.kinases, ("STAT3",), "pain.params; wiring V")
    return SignalingNetwork((r,), xp=xp)


def sensing(model, neurons) -> tuple:
    """Where the nociceptors of ``model`` read their mediators: ``(env, term_env, names)``, the somata's
    microenvironment (the DRG when there are several compartments), the peripheral terminals', and the mediators
    read that are on the grid (:data:`SENSITIZERS`, IL-10, opioid peptides)."""
    axons = getattr(model, "axons", None)
    env = neurons.model.env
    term_env = axons.periphery.env if axons is not None else env
    return env, term_env, [m for m in (*SENSITIZERS, "IL10", "opioid") if m in env.names]


class Nociceptors:
    """Per-neuron sensitization state, kept aligned with the neuron population by id.

    Parameters
    ----------
    params : PainParams
    xp : module
        ``numpy`` or ``cupy`` (the model's array module).

    Attributes
    ----------
    ids : ndarray of shape (n,), int64
        Neuron ids the rows belong to.
    drive : dict[str, ndarray of shape (n,)]
        Relaxed channel drives ``na``, ``trpv1``, ``trpa1`` (fractional current increase).
    priming : ndarray of shape (n,)
        Hyperalgesic priming Π in [0, 1).
    mor : ndarray of shape (n,)
        μ-opioid-receptor availability at the peripheral terminal, ``mor_rest``..1.
    b2 : ndarray of shape (n,)
        Bradykinin B2 receptors not lost to tachyphylaxis, 0..1 (1 at rest).
    """

    b2 = None  # a state saved before the B2 receptors existed: aligned to 1 (rest) on the next step

    def __init__(self, params, xp=np):
        self.p = params
        self.xp = xp
        self.ids = xp.zeros(0, dtype=np.int64)
        self.drive = {ch: xp.zeros(0) for ch in CHANNELS}
        self.priming = xp.zeros(0)
        self.mor = xp.zeros(0)
        self.b2 = xp.zeros(0)

    # --- bookkeeping -----------------------------------------------------------------------------
    def align(self, ids) -> None:
        """Match rows to ``ids`` (ascending): keep known neurons' state, start new ones at rest."""
        xp = self.xp
        if self.b2 is None or self.b2.shape[0] != self.ids.shape[0]:  # a state from before the B2 receptors
            self.b2 = xp.ones(self.ids.shape[0])
        if ids.shape == self.ids.shape and xp is np and np.array_equal(ids, self.ids):
            return  # unchanged (on a device the carry below costs less than asking, and gives the same)
        m = self.ids.shape[0]
        if m:
            pos = xp.clip(xp.searchsorted(self.ids, ids), 0, m - 1)
            known = self.ids[pos] == ids

        def carry(old, rest=0.0):
            return xp.where(known, old[pos], rest) if m else xp.full(ids.shape[0], rest)

        self.drive = {ch: carry(v) for ch, v in self.drive.items()}
        self.priming = carry(self.priming)
        old_mor = getattr(self, "mor", None)
        if old_mor is None or old_mor.shape[0] != m:  # a checkpoint from before the μ receptors: at rest
            old_mor = xp.full(m, self.p.mor_rest)
        self.mor = carry(old_mor, self.p.mor_rest)
        self.b2 = carry(self.b2, 1.0)
        self.ids = ids.copy()

    @property
    def n(self) -> int:
        return int(self.ids.shape[0])

    # --- sensing ----------------------------------------------------------------------------------
    def concentrations(self, model) -> dict[str, object]:
        """Mediators (nM) each neuron senses, ``{name: ndarray (n,)}`` (terminal; soma mixed for cytokines)."""
        neurons = getattr(model, "neurons", None) or model.cell_types["neuron"]
        env, term_env, names = sensing(model, neurons)
        pop = neurons.pop
        if not names:
            return {}
        term = gather(term_env.fields, pop["terminal_voxel"])
        soma = gather(env.fields, pop["voxel"])
        w = self.p.cytokine_soma_weight
        out = {}
        for m in names:  # over mediators
            i = env.index(m)
            out[m] = (1.0 - w) * term[i] + w * soma[i] if m in _SOMA_ACTING else term[i]
            free = model.free_fraction(m) if hasattr(model, "free_fraction") else 1.0
            if free < 1.0:  # neutralizing antibodies (anti-TNF, anti-NGF): receptors see free ligand
                out[m] = out[m] * free
        return out

    # --- dynamics ---------------------------------------------------------------------------------
    def step(self, conc: Mapping[str, object], inhibition: Mapping[str, float], dt_min: float) -> None:
        """Advance drives and priming by ``dt_min`` minutes with mediators held at ``conc`` (exact)."""
        xp, p = self.xp, self.p
        occ = b2_occupancy(conc.get("bradykinin", xp.zeros(self.n)), p, xp)  # tachyphylaxis (exact)
        self.b2 = b2_left(self.b2, occ, p.b2_tachyphylaxis_min, p.b2_recovery_min, dt_min, xp)
        raw = undivided_targets(conc, self.n, inhibition, p, xp, self.b2)
        x_r = p.mech_na_weight * raw["na"] + p.mech_trpa1_weight * raw["trpa1"]
        m_inf = p.mor_rest + (1.0 - p.mor_rest) * x_r / (x_r + p.mor_half_drive)  # inflammation brings μ receptors
        self.mor = m_inf + (self.mor - m_inf) * np.exp(-dt_min / p.mor_tau_min)
        damp = analgesia(conc, self.n, inhibition, p, xp, self.mor)
        target = {ch: raw[ch] * damp for ch in CHANNELS}
        s_start = self.fast_mechanical()
        tau_off = p.tau_off_min * (1.0 + p.priming_prolongs * self.priming)
        for ch in CHANNELS:
            d = self.drive[ch]
            tau = xp.where(target[ch] > d, p.tau_on_min, tau_off)
            self.drive[ch] = target[ch] + (d - target[ch]) * xp.exp(-dt_min / tau)
        s_fast = 0.5 * (s_start + self.fast_mechanical())  # the step's mean drive (trapezoid)
        s0 = p.priming_drive_threshold  # trace sensitization (a resting tissue's basal cytokines) does not prime
        k_on = xp.maximum(s_fast - s0, 0.0) / (1.0 - s0) / p.priming_on_min
        lam = k_on + 1.0 / p.priming_off_min
        p_inf = k_on / lam
        self.priming = p_inf + (self.priming - p_inf) * xp.exp(-lam * dt_min)

    # --- derived quantities -----------------------------------------------------------------------
    def fast_mechanical(self):
        """Mediator-driven mechanical sensitization ``S_fast`` in [0, 1), shape (n,)."""
        p = self.p
        x = p.mech_na_weight * self.drive["na"] + p.mech_trpa1_weight * self.drive["trpa1"]
        return x / (1.0 + x)

    def indices(self) -> dict[str, object]:
        """Thresholds and gain of every neuron.

        Returns
        -------
        dict with ndarray of shape (n,):
            ``s_mech`` (mechanical sensitization incl. priming, 0..1),
            ``threshold_factor`` (mechanical threshold / naive threshold),
            ``s_heat`` (0..1), ``heat_half_C`` (°C at half-activation),
            ``gain`` (evoked firing multiplier, >= 1).
        """
        p = self.p
        s_mech = 1.0 - (1.0 - self.fast_mechanical()) * (1.0 - p.priming_retained * self.priming)
        xh = p.heat_trpv1_weight * self.drive["trpv1"] + p.heat_na_weight * self.drive["na"]
        s_heat = xh / (1.0 + xh)
        return {
            "s_mech": s_mech,
            "threshold_factor": 1.0 - p.mech_max_drop * s_mech,
            "s_heat": s_heat,
            "heat_half_C": p.heat_half_C - p.heat_max_shift_C * s_heat,
            "gain": 1.0 + p.gain_na_weight * self.drive["na"],
        }

    def ongoing_hz(self, injured, excitability, baseline_hz: float, ectopic_hz: float):
        """Spontaneous firing, Hz, shape (n,): sensitized baseline plus ectopic discharge of injured neurons."""
        p = self.p
        na = self.drive["na"]
        return excitability * (
            baseline_hz * (1.0 + p.spont_na_gain * na) + injured * ectopic_hz * (1.0 + p.ectopic_na_gain * na)
        )
