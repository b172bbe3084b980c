"""Receptor occupancy and intracellular pathway activity, shared by every cell type.

Each receptor binds one ligand with a dissociation constant ``Kd`` (nM) and a
Hill coefficient; its occupancy is ``θ = L^h / (L^h + Kd^h)``. A receptor
drives pathways through the kinases it needs, written as a requirement:

* ``("JAK1", ("JAK2", "TYK2"))`` — JAK1 **and** (JAK2 **or** TYK2);
* an inhibitor's fractional inhibition ``i_j`` of kinase ``j`` (0..1) turns an
  AND into a product of ``(1 − i_j)`` and an OR into ``1 − Π i_j``: a receptor
  that can use either of two JAKs is blocked only when both are.

The target activity of a pathway is the probabilistic OR of its receptors,
``1 − Π_R (1 − θ_R g_R)``, times ``(1 − i_pathway)`` for inhibitors that act
on the pathway itself (e.g. glucocorticoids on NF-κB). Activity relaxes to its
target with time constant ``tau_min`` (exact exponential update).

Wiring (docs/references.md, "Receptors, pathways, drug
targets", V): IL-6: JAK1 (+JAK2/TYK2) -> STAT3; IL-10: JAK1/TYK2 -> STAT3;
GM-CSF: JAK2 -> STAT5; IFN-γ: JAK1/JAK2 -> STAT1; IL-2/7/15: JAK1/JAK3 ->
STAT5; IL-4/IL-13: JAK1 with JAK3 or TYK2 -> STAT6; IL-23: JAK2/TYK2 -> STAT3.
TNF, IL-1β and IL-17A receptors are not JAK-coupled: NF-κB and p38 MAPK.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from neuroagents.errors import ConfigError
from neuroagents.registry import DRUG_TARGETS

__all__ = [
    "KINASES", "PATHWAYS", "RECEPTORS", "Receptor", "SignalingNetwork", "check_inhibition_keys", "receptor_gate",
    "scalar_gate",
]

KINASES = DRUG_TARGETS["kinase"]
PATHWAYS = DRUG_TARGETS["pathway"]


@dataclass(frozen=True)
class Receptor:
    """One receptor: its ligand, affinity, kinase requirement and pathways.

    Parameters
    ----------
    name : str
    ligand : str
        Mediator name whose concentration (nM) the receptor reads.
    kd_nM : float
        Dissociation constant, nM, > 0.
    hill : float
        Hill coefficient, > 0.
    kinases : tuple
        Requirement: each item is a kinase name (needed) or a tuple of names
        (any one suffices). Empty for receptors that are not JAK-coupled.
    pathways : tuple of str
        Pathways the receptor drives.
    source : str
        Citation for ``kd_nM`` and the wiring, or ``assumption``.
    """

    name: str
    ligand: str
    kd_nM: float
    hill: float
    kinases: tuple
    pathways: tuple[str, ...]
    source: str

    def __post_init__(self) -> None:
        where = f"receptor {self.name!r}"
        if self.name not in DRUG_TARGETS["receptor"]:
            raise ConfigError("name", self.name, f"a receptor of neuroagents.registry.DRUG_TARGETS: "
                              f"{list(DRUG_TARGETS['receptor'])}", where)  # fmt: skip
        if not (isinstance(self.kd_nM, (int, float)) and math.isfinite(self.kd_nM) and self.kd_nM > 0):
            raise ConfigError("kd_nM", self.kd_nM, "a finite number > 0 (nM)", where)
        if not (isinstance(self.hill, (int, float)) and math.isfinite(self.hill) and self.hill > 0):
            raise ConfigError("hill", self.hill, "a finite number > 0", where)
        for p in self.pathways:
            if p not in PATHWAYS:
                raise ConfigError("pathways", p, f"one of {list(PATHWAYS)}", where)
        for req in self.kinases:
            for k in req if isinstance(req, tuple) else (req,):
                if k not in KINASES:
                    raise ConfigError("kinases", k, f"one of {list(KINASES)}", where)


_GRANSIM = "GranSim (M: calibrate)"
_NLISIM = "nlisim (M: calibrate)"
_WIRING = "wiring: docs/references.md (V)"

RECEPTORS: dict[str, Receptor] = {
    r.name: r
    for r in [
        Receptor("TNFR1", "TNF", 0.019, 1.0, (), ("NFKB", "P38"), f"KD1 19 pM, {_GRANSIM}; {_WIRING}"),
        Receptor("IL1R1", "IL1B", 0.05, 1.0, (), ("NFKB", "P38"), f"Kd assumption; {_WIRING}"),
        Receptor("IL17RA", "IL17A", 0.5, 1.0, (), ("NFKB",), f"Kd assumption; {_WIRING}"),
        Receptor("IL6R", "IL6", 0.33, 1.0, ("JAK1", ("JAK2", "TYK2")), ("STAT3",), f"Kd 330 pM, {_NLISIM}; {_WIRING}"),
        Receptor("IL10R", "IL10", 0.14, 1.0, ("JAK1", "TYK2"), ("STAT3",), f"Kd 140 pM (M); {_WIRING}"),
        Receptor("CSF2R", "GMCSF", 0.1, 1.0, ("JAK2",), ("STAT5",), f"Kd assumption; {_WIRING}"),
        Receptor("IFNGR", "IFNG", 0.1, 1.0, ("JAK1", "JAK2"), ("STAT1",), f"Kd assumption; {_WIRING}"),
        Receptor("IL2RG", "IL2", 0.1, 1.0, ("JAK1", "JAK3"), ("STAT5",), f"Kd assumption; {_WIRING}"),
        Receptor("IL4R", "IL4", 0.1, 1.0, ("JAK1", ("JAK3", "TYK2")), ("STAT6",), f"Kd assumption; {_WIRING}"),
        Receptor("IL13R", "IL13", 0.1, 1.0, ("JAK1", "TYK2"), ("STAT6",), f"Kd assumption; {_WIRING}"),
        Receptor("IL23R", "IL23", 0.1, 1.0, ("JAK2", "TYK2"), ("STAT3",), f"Kd assumption; {_WIRING}"),
        Receptor("CX3CR1", "CX3CL1", 0.5, 1.0, (), ("P38",), "Kd assumption; microglial p38 (Zhuang 2007, U)"),
        Receptor("CSF1R", "CSF1", 0.5, 1.0, (), ("P38",), "Kd assumption; neuronal CSF1 -> microglia (Guan 2016)"),
        Receptor("TLR4", "PAMP", 2.0, 1.0, (), ("NFKB", "P38"),
                 "EC50 ~1 µg/mL carrageenan ≈ 2 nM of the 500 kDa unit (Bhattacharyya 2008, U); TLR4 -> NF-κB"),
        Receptor("P2X4", "ATP", 1000.0, 1.0, (), ("P38",), "EC50 ~1 µM (assumption); P2X4 -> p38 -> BDNF (Trang 2009)"),
    ]
}


def _kinase_gate(xp, requirement: tuple, inhibition: Mapping[str, object], shape):
    """Fraction of a receptor's signal that passes its kinases (1 = none inhibited)."""
    gate = xp.ones(shape)
    for req in requirement:  # over kinase requirements, not cells
        if isinstance(req, tuple):
            blocked = xp.ones(shape)
            for k in req:
                blocked = blocked * inhibition.get(k, 0.0)
            gate = gate * (1.0 - blocked)
        else:
            gate = gate * (1.0 - xp.asarray(inhibition.get(req, 0.0)))
    return gate


def scalar_gate(requirement: tuple, inhibition: Mapping[str, object]) -> float | None:
    """:func:`_kinase_gate` as one number where every inhibition it reads is a host number (the same float
    operations in the same order, so the same bits as over arrays), else None. On a device this saves its
    ``ones`` and products: a launch each (``bench/device_calls.py``); the fused CPU kernels' tables use it too."""
    values = [inhibition.get(k, 0.0) for req in requirement for k in (req if isinstance(req, tuple) else (req,))]
    if not all(isinstance(v, (int, float)) for v in values):
        return None
    gate = 1.0
    for req in requirement:  # over kinase requirements
        if isinstance(req, tuple):
            blocked = 1.0
            for k in req:
                blocked = blocked * inhibition.get(k, 0.0)
            gate = gate * (1.0 - blocked)
        else:
            gate = gate * (1.0 - inhibition.get(req, 0.0))
    return gate


def receptor_gate(receptor: str, inhibition: Mapping[str, object], n: int, xp=None):
    """Fraction of a receptor's signal that its kinases and any blockade of it let through, ``ndarray (n,)``.

    For rules that read a receptor without a whole :class:`SignalingNetwork` (e.g. T-cell subset choice):
    ``Π`` over its kinase requirements as in :func:`SignalingNetwork.target_activity`, times
    ``1 − blockade`` of the receptor itself.

    >>> float(receptor_gate("IL6R", {"JAK1": 0.5}, 1)[0]), float(receptor_gate("TNFR1", {"JAK1": 0.5}, 1)[0])
    (0.5, 1.0)
    """
    import numpy as np

    xp = xp or np
    r = _get_receptor(receptor)
    gate = _kinase_gate(xp, r.kinases, inhibition, (n,))
    return gate * (1.0 - xp.asarray(inhibition.get(r.name, 0.0)))


class SignalingNetwork:
    """Receptors of one cell type and the pathway activity they drive.

    Parameters
    ----------
    receptors : sequence of str or Receptor
        Which receptors the cell type expresses (names from :data:`RECEPTORS`).
    tau_min : float or Mapping[str, float]
        Relaxation time of pathway activity, min (assumption: 15 min, the
        order of STAT3 phosphorylation after IL-6; calibrate).
    xp : module
    """

    def __init__(self, receptors, tau_min: float | Mapping[str, float] = 15.0, *, xp=None):
        import numpy as np

        self.xp = xp or np
        self.receptors = tuple(r if isinstance(r, Receptor) else _get_receptor(r) for r in receptors)
        taus = tau_min if isinstance(tau_min, Mapping) else {p: tau_min for p in PATHWAYS}
        for p, t in taus.items():
            if p not in PATHWAYS:
                raise ConfigError(f"signaling.tau_min.{p}", t, f"keys among {list(PATHWAYS)}")
            if not (isinstance(t, (int, float)) and t > 0):
                raise ConfigError(f"signaling.tau_min.{p}", t, "a number of minutes > 0")
        self.tau_min = {p: float(taus.get(p, 15.0)) for p in PATHWAYS}

    @property
    def ligands(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.ligand for r in self.receptors))

    def occupancy(self, concentrations: Mapping[str, object], n: int) -> dict[str, object]:
        """Fraction of each receptor bound, ``{receptor: ndarray (n,)}``; absent ligands read 0."""
        xp = self.xp
        out = {}
        for r in self.receptors:  # over receptors
            c = concentrations.get(r.ligand)
            if c is None:
                out[r.name] = xp.zeros(n)
                continue
            c = xp.maximum(xp.asarray(c, dtype=xp.float64), 0.0)
            ch = c if r.hill == 1.0 else c**r.hill  # c**1.0 is c, bit for bit
            out[r.name] = ch / (ch + r.kd_nM**r.hill)
        return out

    def target_activity(
        self, concentrations: Mapping[str, object], n: int, inhibition: Mapping[str, object] | None = None
    ):
        """Steady-state pathway activity for the given ligands and inhibitors.

        Parameters
        ----------
        concentrations : Mapping[str, ndarray of shape (n,)]
            Ligand concentrations at each cell, nM.
        n : int
            Number of cells.
        inhibition : Mapping[str, float or ndarray of shape (n,)]
            Fractional inhibition (0..1) of kinases (``"JAK1"``), pathways
            (``"NFKB"``) or receptors (``"IL6R"``: blockade scales occupancy), e.g. from drugs.

        Returns
        -------
        dict[str, ndarray of shape (n,)]
            Activity in [0, 1] of every pathway in :data:`PATHWAYS`.
        """
        xp = self.xp
        inhibition = inhibition or {}
        check_inhibition_keys(inhibition)
        occ = self.occupancy(concentrations, n)
        for r in self.receptors:  # receptor blockade (e.g. tocilizumab on IL6R) scales occupancy
            if r.name in inhibition:
                occ[r.name] = occ[r.name] * (1.0 - xp.asarray(inhibition[r.name]))
        # Π (1 − signal) per pathway, started at the first receptor that drives it (1 × x is x, bit for bit)
        silent = {}
        for r in self.receptors:
            gate = scalar_gate(r.kinases, inhibition)
            signal = occ[r.name] * (_kinase_gate(xp, r.kinases, inhibition, (n,)) if gate is None else gate)
            keep = 1.0 - signal
            for p in r.pathways:
                silent[p] = silent[p] * keep if p in silent else keep
        out = {}
        for p in PATHWAYS:  # over pathways: an undriven one is 0; an uninhibited one is not multiplied by 1
            a = 1.0 - silent[p] if p in silent else xp.zeros(n)
            out[p] = a * (1.0 - xp.asarray(inhibition[p])) if p in inhibition else a
        return out

    def relax(self, activity: Mapping[str, object], target: Mapping[str, object], dt_min: float) -> dict:
        """Move activity toward its target: ``A + (T − A)(1 − exp(−dt/τ))``, exact for constant T."""
        return {
            p: activity[p] + (target[p] - activity[p]) * (1.0 - math.exp(-dt_min / self.tau_min[p])) for p in PATHWAYS
        }


def check_inhibition_keys(inhibition: Mapping[str, object]) -> None:
    """Raise a ConfigError for a key that is no kinase, pathway or receptor of this module."""
    for key, v in inhibition.items():
        if key not in KINASES and key not in PATHWAYS and key not in RECEPTORS:
            raise ConfigError(
                f"inhibition.{key}", v,
                f"a kinase or pathway among {list(KINASES + PATHWAYS)} or a receptor among {sorted(RECEPTORS)}",
            )  # fmt: skip


def _get_receptor(name: str) -> Receptor:
    try:
        return RECEPTORS[name]
    except KeyError:
        raise ConfigError("receptor", name, f"one of {sorted(RECEPTORS)}") from None
