"""Microglia: surveillant or reactive; the soma stays, processes sample a radius.

Rules
-----
* **Sensing** through processes: ligand concentrations averaged over the
  voxel and its neighbours within ``process_radius_voxels``.
* **Activation**: CX3CL1 (CX3CR1), CSF1 (CSF1R, Guan 2016 Nat Neurosci) and
  ATP (P2X4, Tsuda 2003 Nature; Trang 2009) drive p38 MAPK (``P38``
  activity). Surveillant -> reactive at ``activation_per_min`` while p38 >=
  ``p38_on``; reactive -> surveillant at ``deactivation_per_min`` while p38 <
  ``p38_off`` (hysteresis). Microglia inhibitors (minocycline) act on ``P38``.
* **Restraint by regulatory T cells** (females): meningeal Tregs hold female
  microglia back, so intrathecal CSF1 causes pain and an inflammatory
  transcriptional response in male microglia only, and Treg-deficient females
  respond as males (Kuhn 2021 eLife 10:e69056). Female microglia still turn
  reactive and proliferate after nerve injury (Sorge 2015 Nat Neurosci
  18:1081, U) but are not needed for the pain: ``treg_restraint`` (0 in males;
  neuroagents/sex.py) takes that fraction off the release of reactive cells
  while the animal has T cells.
* **IFN-γ** from T cells that reach the dorsal horn acts on microglial IFN-γ
  receptors (JAK1/JAK2): it drives their activation and P2X4 (Tsuda 2009 PNAS
  106:8032: IFNGR-deficient mice have less microglial activation and less
  allodynia after nerve injury, and intrathecal IFN-γ activates microglia and
  causes allodynia; Costigan 2009 J Neurosci 29:14415: T-cell IFN-γ). Here the
  receptor feeds the same p38 activity as the other activating receptors, so
  JAK inhibitors in the CSF and an ``IFNGR`` knockout reach it.
* **Release** by reactive cells, in proportion to p38: BDNF (Coull 2005
  Nature), TNF and IL-1β.
* **Proliferation**: reactive microglia divide locally (microgliosis after
  nerve injury comes from local proliferation, not monocytes: Gu 2016).
* **Self-renewal**: microglia are a self-renewing population whose density
  stays constant in health, deaths balanced by the division of resident cells
  (Askew 2017 Cell Rep 18:391), and a depleted population grows back to its
  density within about a week, from the cells left (Elmore 2014 Neuron 82:380;
  Huang 2018 Nat Neurosci 21:530). Surveillant cells divide at
  ``death + renewal (1 - n/n_0)`` (not below 0), ``n_0`` the seeded number:
  deaths are replaced at the resting density, a deficit refills, and an excess
  left by microgliosis is not renewed and dies away.
* Somata do not move (Nimmerjahn 2005).
"""

from __future__ import annotations

from dataclasses import dataclass

from neuroagents.cells import motility
from neuroagents.cells.base import CellType
from neuroagents.cells.signaling import RECEPTORS, Receptor
from neuroagents.params import param

__all__ = ["MICROGLIAL_IFNGR", "Microglia", "MicrogliaParams"]

MICROGLIAL_IFNGR = Receptor(
    "IFNGR", "IFNG", RECEPTORS["IFNGR"].kd_nM, 1.0, RECEPTORS["IFNGR"].kinases, ("STAT1", "P38"),
    "IFNGR on microglia: JAK1/JAK2 -> STAT1 and activation via P2X4/Lyn -> p38 (Tsuda 2009 PNAS 106:8032, V for "
    "direction; Kd as cells/signaling.py)",
)
"""The IFN-γ receptor as microglia read it: its signal also activates them (p38), not only STAT1."""


@dataclass(frozen=True)
class MicrogliaParams:
    cell_volume_um3: float = param(1000.0, "µm³", "assumption: small soma")
    process_radius_voxels: int = param(2, "voxels", "assumption: processes reach ~40 µm (Nimmerjahn 2005)",
                                       high=10, integer=True)  # fmt: skip
    p38_on: float = param(0.5, "1", "assumption", high=1.0)
    p38_off: float = param(0.2, "1", "assumption", high=1.0)
    activation_per_min: float = param(1 / 60, "1/min", "assumption: reactive morphology within hours")
    deactivation_per_min: float = param(1 / 1440, "1/min", "assumption: ~a day")
    division_per_min: float = param(1 / 2880, "1/min", "assumption: proliferation peaks days 2-3 (Gu 2016)")
    death_per_min: float = param(
        1 / 43200, "1/min", "assumption: ~30 days; self-renewal replaces the deaths at the resting density (Askew "
        "2017 Cell Rep 18:391), so this sets the turnover, not the density (in vivo turnover is slower: median "
        "lifetime of cortical microglia ~15 months, Fuger 2017 Nat Neurosci 20:1371)"
    )
    renewal_per_min: float = param(
        1 / 2160, "1/min", "assumption, calibrated: a depleted population refills from ~10 % to ~90 % of its "
        "density in about a week (logistic, 4.4 / rate = 6.6 days; Elmore 2014 Neuron 82:380; Huang 2018 Nat "
        "Neurosci 21:530)"
    )
    max_fold: float = param(
        3.0, "1", "logistic ceiling on proliferation, x the seeded number: dorsal-horn microgliosis after nerve "
        "injury is a few-fold (Gu 2016, U)", low=1.0
    )
    bdnf_molecules_per_s: float = param(0.5, "molecules/cell/s", "assumption; calibrate")
    tnf_molecules_per_s: float = param(0.5, "molecules/cell/s", "assumption; calibrate")
    il1b_molecules_per_s: float = param(0.5, "molecules/cell/s", "assumption; calibrate")
    treg_restraint: float = param(
        0.0, "1", "fraction of the reactive microglia's release (BDNF, TNF, IL-1β) held back by meningeal regulatory "
        "T cells while the animal has T cells: 0 in males, the reference; the female value is in neuroagents/sex.py "
        "(Kuhn 2021 eLife 10:e69056: Tregs hold female microglia back; Treg-deficient females respond as males)",
        high=1.0,
    )


class Microglia(CellType):
    """Spinal microglia (see module docstring)."""

    kind = "microglia"
    states = ("surveillant", "reactive")
    events = ("none", "born", "activated", "deactivated", "divided", "died")
    Params = MicrogliaParams
    receptors = ("CX3CR1", "CSF1R", "P2X4", MICROGLIAL_IFNGR)

    def sensed(self) -> dict:
        """Ligands averaged over the processes' reach (``process_radius_voxels``), nM, ``(n,)`` each."""
        return self.local_mean(self.signaling.ligands, int(self.params.process_radius_voxels))

    def decide(self, dt_min: float) -> None:
        super().decide(dt_min)
        if self.n == 0:
            return
        pop, p, rng, xp = self.pop, self.params, self.model.rng, self.xp
        p38 = pop["P38"]
        surv, reac = pop["state"] == 0, pop["state"] == 1
        on = surv & (p38 >= p.p38_on) & motility.event_mask(rng, self.n, p.activation_per_min, dt_min, xp)
        off = reac & (p38 < p.p38_off) & motility.event_mask(rng, self.n, p.deactivation_per_min, dt_min, xp)
        pop["state"] = xp.where(on, 1, xp.where(off, 0, pop["state"]))
        self.mark(on, "activated")
        self.mark(off, "deactivated")

    def restrained(self) -> bool:
        """Whether meningeal Tregs hold these microglia back: ``treg_restraint`` > 0 and the animal has T cells.

        Meningeal Tregs restrain the microglia of female mice (Kuhn 2021 eLife 10:e69056): a resident pool, there
        before any injury, so the restraint is a constant of the animal, lifted where T cells are knocked out
        (Rag1-/-, nude: no Tregs).
        """
        return self.params.treg_restraint > 0.0 and "t_cell" not in self.model.knockouts.cell_types

    def secrete(self) -> None:
        p = self.params
        drive = (self.pop["state"] == 1) * self.pop["P38"] * 60.0
        if self.restrained():  # Tregs (females): reactive microglia release less of each
            drive = drive * (1.0 - p.treg_restraint)
        self.export("BDNF", drive * p.bdnf_molecules_per_s)
        self.export("TNF", drive * p.tnf_molecules_per_s)
        self.export("IL1B", drive * p.il1b_molecules_per_s)

    def division_rates(self):
        """Per-cell division rate, 1/min, ``(n,)``: reactive cells proliferate up to ``max_fold`` × the seeded
        number (logistic), surveillant ones renew it (see the module docstring)."""
        p = self.params
        n0 = max(self.seeded, 1)
        room = max(0.0, 1.0 - self.n / (p.max_fold * n0))  # logistic: proliferation slows, stops
        renew = max(0.0, p.death_per_min + p.renewal_per_min * (1.0 - self.n / n0))
        return self.xp.where(self.pop["state"] == 1, p.division_per_min * room, renew)

    def move(self, dt_min: float) -> None:
        """Somata stay; reactive cells divide next to themselves, surveillant ones renew the resting density, old
        ones die."""
        if self.n == 0:
            return
        m, p, xp = self.model, self.params, self.xp
        dies = motility.event_mask(m.rng, self.n, p.death_per_min, dt_min, xp)
        rate = self.division_rates()
        divides = motility.event_mask(m.rng, self.n, rate, dt_min, xp) & ~dies
        if bool(divides.any()):
            parents = self.pop.position_um[divides]
            k = parents.shape[0]
            offset = motility.random_unit_vectors(m.rng, k, m.grid.ndim, xp) * m.grid.spacing_um[0]
            child, ok = motility.step_positions(parents, offset, 1.0, 1.0, m.grid, m.allowed, xp)
            child = child[ok]
            done = divides.copy()
            done[divides] = ok  # a daughter refused at the edge or a vessel is no division
            self.mark(done, "divided")
            if child.shape[0]:
                state = self.pop["state"][divides][ok]  # a daughter takes its parent's state
                self.add_cells(child, "reactive", P38=self.pop["P38"][divides][ok])
                self.pop["state"][-child.shape[0]:] = state
                dies = xp.concatenate([dies, xp.zeros(child.shape[0], dtype=bool)])
        self.count_event("died", self.pop.remove(dies))  # remove counts them (the deaths' one sync)
