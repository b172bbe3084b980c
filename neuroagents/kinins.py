"""Kinins: bradykinin cut from the plasma kininogen that leaks into inflamed tissue.

Where venules leak (``swelling.py``), plasma brings high- and low-molecular-weight kininogen and prekallikrein into
the interstitium, and kallikreins there cut bradykinin from them; kininases (ACE/kininase II, aminopeptidase P,
neprilysin) destroy it within a minute. So bradykinin is made where and while plasma leaks: kinins rise in
pancreatic tissue as its oedema forms, and the extravasated plasma supplies the kininogen and active plasma
kallikrein (Griesbacher 2003 Br J Pharmacol 139:299, V). In the carrageenan paw the kinins follow the amines and
precede the prostaglandins (Di Rosa 1971 J Pathol 104:15, V: amines 0-1.5 h, kinins ~1.5-2.5 h, prostaglandins
later); kininogen-deficient rats swell less (Oh-ishi 1993 Folia Pharmacol Jpn 101:209, V), and a B2 antagonist
(HOE 140) given with carrageenan lowers the paw's oedema by 25-41 % and its spinal c-Fos by 23-50 % (Buritova 1997
Eur J Pharmacol 320:73, V) and its hyperalgesia (Ferreira 1993 Br J Pharmacol 110:1227, V). On the nociceptors
bradykinin acts through B2 receptors (``pain/nociceptor.py``), which tire of it (tachyphylaxis), so it matters in
the first hours of an inflammation and little in a lasting one (a B2 antagonist barely touches CFA hyperalgesia,
Perkins 1993 Pain 53:191, V).

Per interstitial voxel of each compartment, with ``E`` the swelling module's exudation drive there
(permeability times the vasodilators' potentiation, ``P F`` in [0, 1 + Σg]) and ``A`` the contact activation::

    q = k_BK A E²,    A = c_PAMP / (c_PAMP + K_A)       nM/min, into the bradykinin field (kininases in its decay)

The square is mass action: both the substrate (kininogen) and the enzyme (prekallikrein) come in with the leaked
plasma, each in proportion to the leak (Griesbacher 2003), so a brisk leak makes kinins and the trickle of a resting
or resolving tissue almost none. Prekallikrein is activated on a contact surface, and a leak without one makes no
kinins: exudates of carrageenan peritonitis carry bradykinin, those of zymosan peritonitis none ('Kinins and
peritoneal exudates induced by carrageenin and zymosan in rats', Br J Pharmacol 1990, V), and carrageenan activates
rat plasma prekallikrein in vitro (Inflammation 1983 7:121, doi:10.1007/BF00917817, V). ``A`` reads the injected
agent's field (``PAMP``, ``injections.py``): carrageenan's sulfated polymer is the surface (V); the mycobacterial
depots of CFA and adjuvant are assumed to be one (U). Without an injected agent ``A = 0``: an inflamed skin or an
injured nerve forms no plasma kinins here (the heparin that degranulating mast cells release activates factor XII,
Oschatz 2011 Immunity 34:258, V; not modelled). This gate is what keeps the kinins' self-feeding leak (below) from
igniting on any small leak.

Nothing else makes bradykinin; a knockout of the ``bradykinin`` mediator stops it (the kininogen-deficient or
B2-blocked paw). Bradykinin opens venular gaps through the endothelium's B2 receptors (``swelling.py``), so the
leak feeds itself until those receptors tire: the kinin phase of an oedema.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0)
>>> kin = m.compartments["tissue"].kinins
>>> m.step(); float(kin.produced_molecules)          # no leak, no kinin
0.0
>>> m.env.field("histamine")[...] = 1000.0             # 1 µM histamine: venules leak
>>> m.step(); float(kin.produced_molecules)          # but no contact surface: no kinin
0.0
>>> inj = [{"agent": "carrageenan", "compartment": "tissue", "dose_ug_per_mL": 500.0}]
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0,
...                      injections=inj)                 # carrageenan's surface activates prekallikrein
>>> kin = m.compartments["tissue"].kinins
>>> m.env.field("histamine")[...] = 1000.0
>>> m.step(); float(kin.produced_molecules) > 0
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neuroagents.params import build_params, param
from neuroagents.tissue.exchange import add_tissue_source

__all__ = ["KininParams", "Kinins", "b2_left", "build_kinins"]


@dataclass(frozen=True)
class KininParams:
    """Numbers of the kinin source (see the module docstring)."""

    bradykinin_nM_per_min: float = param(
        10.0, "nM/min", "assumption, calibrated: bradykinin formed per minute at unit exudation drive, fully "
        "activated; with a 1-min half-life the carrageenan paw reaches a few nM (nociceptor B2 K 2 nM) in its "
        "kinin phase, 1-4 h (Di Rosa 1971, V for the timing; U for the size)", low=0.0)  # fmt: skip
    contact_half_nM: float = param(
        1.0, "nM", "assumption: the injected agent's concentration (PAMP field, nM of its 500 kDa unit) at which "
        "half the leaked prekallikrein is activated on its surface; 0.1 % of the carrageenan paw's dose, so the "
        "paw's kinins follow its leak while carrageenan lasts (Inflammation 1983 7:121, V for activation; U for "
        "the constant)", low=1e-9)  # fmt: skip


class Kinins:
    """The kinin source of one compartment.

    Parameters
    ----------
    comp : Compartment
        Its fields and its :class:`~neuroagents.swelling.Swelling` (built before this).
    params : KininParams

    Attributes
    ----------
    produced_molecules : 0-d array
        Bradykinin molecules formed so far (on the backend: no host sync per step).
    """

    def __init__(self, comp, params: KininParams):
        self.comp = comp
        self.params = params
        self.produced_molecules = comp.model.xp.zeros((), dtype=comp.model.xp.float64)

    def secrete(self, dt_min: float, exudation=None) -> None:
        """Add the step's bradykinin source, ``(V,)`` over the interstitial voxels, from the exudation now
        (``exudation``: the swelling's drive this step when the caller has it, else computed here)."""
        comp = self.comp
        env, sw = comp.env, comp.swelling
        if "bradykinin" not in env.names or "bradykinin" in comp.knockouts.mediators or sw.voxels.size == 0:
            return
        if "PAMP" not in env.names:  # no agent can be injected: no contact surface
            return
        activation = sw.hill("PAMP", self.params.contact_half_nM)  # A, (V,)
        e = sw.drive() if exudation is None else exudation
        rate = self.params.bradykinin_nM_per_min * activation * e**2
        added = add_tissue_source(env, "bradykinin", sw.voxels, rate, dt_min)
        self.produced_molecules = self.produced_molecules + added


def b2_left(left, occupancy, tachyphylaxis_min: float, recovery_min: float, dt_min: float, xp):
    """B2 receptors left after ``dt_min`` of tachyphylaxis, exact for the ``occupancy`` held over the step.

    ``dB/dt = (1 − B)/τ_rec − occ B/τ_tach``: receptors are lost while bradykinin occupies them and come back when it
    is gone. One rule for every cell that reads bradykinin through B2 (nociceptors, ``pain/nociceptor.py``; the
    venular endothelium, ``swelling.py``), each with its own time constants.

    Parameters
    ----------
    left : ndarray
        Receptors left now, 0..1.
    occupancy : ndarray
        Bradykinin's occupancy of the receptors before tachyphylaxis, 0..1, the shape of ``left``.
    tachyphylaxis_min, recovery_min : float
        Time to lose them at full occupancy and to get them back, min.
    dt_min : float
        Step, min.
    xp : module
        The array module.

    Returns
    -------
    ndarray
        Receptors left after the step, the shape of ``left``.

    Examples
    --------
    >>> import numpy as np
    >>> round(float(b2_left(np.ones(1), np.ones(1), 60.0, 1e12, 60.0, np)[0]), 6)  # 1/e after τ_tach, fully occupied
    0.367879
    """
    lam = 1.0 / recovery_min + occupancy / tachyphylaxis_min
    b_inf = 1.0 / recovery_min / lam
    return b_inf + (left - b_inf) * xp.exp(-lam * dt_min)


def build_kinins(comp, overrides: Mapping | None, where: str = "kinins") -> Kinins:
    """A :class:`Kinins` for ``comp`` with :class:`KininParams` ``overrides`` (validated; errors name ``where``)."""
    return Kinins(comp, build_params(KininParams, overrides, where))
