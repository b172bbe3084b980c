"""Macrophages: resident and monocyte-derived, polarizing between M0, M1 and M2.

Rules
-----
* **Polarization** (rates per cell, sampled each step): the pro-inflammatory
  drive ``P = 1 − (1 − NF-κB)(1 − STAT1 S)(1 − STAT5)(1 − h(miR-21 load))``
  (TNF, IFN-γ, GM-CSF and exosomal miR-21 from injured neurons, Simeoli 2017
  Nat Commun 8:1778). IFN-γ primes but does not by itself make a classically
  activated macrophage: it needs a second, innate signal, TNF or a TLR ligand
  (Mosser & Edwards 2008 Nat Rev Immunol 8:958; Hu & Ivashkiv 2009 Immunity
  31:539, V), ``S = 1 − (1 − NF-κB)(1 − θ_TLR4)(1 − h(miR-21))`` (miR-21 acts
  through TLR7/8, Simeoli 2017; ``θ_TLR4`` is the receptor's occupancy, which
  tolerance does not lower). The anti-inflammatory drive
  ``A = 1 − (1 − STAT6)(1 − STAT3)(1 − E)`` (IL-4/IL-13, IL-10 — macrophages
  here read IL-10 as their STAT3 input — and tolerance ``E``, below). M0 -> M1
  at ``k_pol P (1 − A)``; M0 -> M2 at ``k_pol A (1 − P)``; M1 <-> M2 at
  ``k_repol`` times the opposing drive; back to M0 at ``k_rev (1 − P)(1 − A)``.
* **Tolerance** (endotoxin/TLR tolerance): engaging TLR4 builds a per-cell
  refractory state ``T`` (IRAK-M, A20, silenced chromatin at tolerizable
  genes), ``dT/dt = θ_TLR4 (1 − T)/τ_on − T/τ_off``. It cuts the signal of TLR4
  and, as cross-tolerance, of IL-1R1 and TNFR1 by ``1 − t_max T`` (Cavaillon &
  Adib-Conquy 2006 Crit Care 10:233, V), and the release of the tolerizable
  products TNF, IL-1β, IL-6, CCL2 and PGE2 (COX-2) by ``1 − t_max T (1 − R)``
  (Biswas & Lopez-Collazo 2009 Trends Immunol 30:475). IFN-γ and GM-CSF undo
  the second cut, ``R = 1 − (1 − STAT1)(1 − STAT5)``: they prevent and reverse
  tolerance at the level of transcription, not of proximal TLR signalling
  (Adib-Conquy & Cavaillon 2002 J Biol Chem 277:27927; Chen & Ivashkiv 2010
  PNAS 107:19438, V), and a JAK inhibitor undoes their rescue (Qiao 2013
  Immunity 39:454, V). The tolerant program ``E = t_max T (1 − R)`` is M2-like
  (Pena 2011 J Immunol 186:7243, V) and joins the anti-inflammatory drive. A
  transient agonist thus switches its own response off, and the TNF/IL-1β loop
  of M1 cells with it; a lasting one stays inflammatory only where IFN-γ or
  GM-CSF (JAK-STAT) keep the cells responsive. Strong NF-κB from any receptor
  induces it too, through its own feedback genes (A20, IRAK-M; Wertz 2004
  Nature 430:694; Boone 2004 Nat Immunol 5:1052; TNF-induced cross-tolerance,
  Park 2011 Nat Immunol 12:607): the inducer is
  ``u = θ_TLR4 + w N (1 − θ_TLR4)``, ``N`` the NF-κB activity above
  ``tolerance_nfkb_threshold``, rescaled. So a sterile TNF/IL-1β loop of M1
  cells runs down once what started it (miR-21 from injured neurons) is gone,
  while miR-21 (TLR7/8, which this tolerance does not cut) keeps it going.
* **Secretion** by state: M1 releases TNF, IL-1β, IL-6, CCL2 and PGE2 (COX-2),
  scaled by ``1 − E``; M2 releases IL-10; M0 a little TNF. Activated cells
  (M1, more M2) release opioid peptides (β-endorphin, Met-enkephalin), which
  act on the nociceptors' peripheral μ receptors (``pain/nociceptor.py``;
  Rittner 2001 Anesthesiology 95:500; Pannell 2016 J Neuroinflammation 13:262). Every macrophage
  takes up miR-21 exosomes and keeps the load.
  Drives count only above a threshold (``polarization_drive_threshold``),
  so trace background TNF leaves a resting tissue at rest.
* **Movement**: random walk up CCL2; activated (M1/M2) cells slow down.
  Recruited cells die or leave at ``death_per_min``; resident ones self-renew.
* **Recruitment**: monocytes leave the vessels next to CCL2 and enter as M0.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neuroagents.cells import motility
from neuroagents.cells.base import CellType, hill
from neuroagents.params import param

__all__ = ["Macrophage", "MacrophageParams"]

_CAL = "(M: calibrate to tissue concentrations, docs/references.md)"
TOLERIZED_RECEPTORS = ("TLR4", "IL1R1", "TNFR1")
"""Receptors whose NF-κB/p38 signal tolerance cuts (MyD88/IRAK for TLR4 and IL-1R1; A20 for TNFR1)."""


@dataclass(frozen=True)
class MacrophageParams:
    speed_um_per_min: float = param(4.0, "µm/min", "PhysiCell macrophage (M); in vivo 0.8-1.6 (Neupane 2020, V)")
    activated_speed_um_per_min: float = param(0.4, "µm/min", "PhysiCell activated macrophage (M)")
    persistence_min: float = param(5.0, "min", "PhysiCell macrophage (M)", low=1e-6)
    chemotaxis_bias: float = param(0.7, "1", "PhysiCell macrophage (M)", high=1.0)
    death_per_min: float = param(2.1e-4, "1/min", "PhysiCell macrophage (M); recruited cells only")
    resident_death_per_min: float = param(
        0.0, "1/min", "assumption: resident macrophages self-renew locally (Hashimoto 2013 Immunity)"
    )
    cell_volume_um3: float = param(4990.0, "µm³", "assumption: ~21 µm diameter")
    polarization_per_min: float = param(1 / 120, "1/min", "assumption: M1/M2 markers within hours; calibrate")
    repolarization_per_min: float = param(1 / 720, "1/min", "assumption: repolarization over ~half a day")
    reversion_per_min: float = param(1 / 1440, "1/min", "assumption: back to M0 over ~a day without drive")
    polarization_drive_threshold: float = param(
        0.5, "1", "assumption: a resting tissue's trace TNF does not polarize (healthy TNF < 8 pg/mL)", high=0.99
    )
    mir21_uptake_per_min: float = param(0.05, "1/min", "assumption; Simeoli 2017 shows uptake, not its rate")
    mir21_half_effect_vesicles: float = param(200.0, "vesicles/cell", "assumption", low=1e-9)
    mir21_loss_per_min: float = param(1 / 1440, "1/min", "assumption: miR-21 load fades over ~a day")
    tnf_m1_molecules_per_s: float = param(1.0, "molecules/cell/s", f"between nlisim 5.4 and GranSim 0.21 {_CAL}")
    tnf_m0_molecules_per_s: float = param(
        0.025, "molecules/cell/s", "assumption: resting macrophages release little (40x below M1); 0.05 let "
        "crowded resting cells beside injured neurons tip themselves into M1 through their own TNF (issue 19)")
    il1b_m1_molecules_per_s: float = param(1.0, "molecules/cell/s", f"assumption: TNF-like {_CAL}")
    il6_m1_molecules_per_s: float = param(2.4, "molecules/cell/s", f"nlisim (M) {_CAL}")
    ccl2_m1_molecules_per_s: float = param(2.9, "molecules/cell/s", f"nlisim (M) {_CAL}")
    pge2_m1_molecules_per_s: float = param(10.0, "molecules/cell/s", "assumption: COX-2 product; calibrate")
    il10_m2_molecules_per_s: float = param(0.12, "molecules/cell/s", "0.08-0.16 (M, docs/references.md)")
    opioid_m1_molecules_per_s: float = param(
        10.0, "molecules/cell/s", "assumption: monocytes/macrophages carry most of the opioid peptide of an inflamed "
        "paw from day 4 (Rittner 2001 Anesthesiology 95:500, V for the cells, U for the rate); set so that blocking "
        "the peptides deepens CFA hyperalgesia by about a fifth (docs/validation.md) and leaves arthritis painful")
    opioid_m2_molecules_per_s: float = param(
        20.0, "molecules/cell/s", "assumption: 2x M1; M2 macrophages hold more opioid peptide and relieve pain "
        "through it (Pannell 2016 J Neuroinflammation 13:262, V for direction)")
    tolerance_on_min: float = param(
        360.0, "min", "assumption: LPS tolerance is set within hours of a first exposure (Biswas & Lopez-Collazo "
        "2009 Trends Immunol 30:475, U for the time); at full TLR4 occupancy", low=1e-6)
    tolerance_off_min: float = param(
        4320.0, "min", "assumption: tolerance wanes over days without TLR engagement (U)", low=1e-6)
    tolerance_nfkb_weight: float = param(
        1.0, "1", "assumption: strong NF-κB activity from any receptor (TNFR1, IL-1R1) induces the same refractory "
        "state as TLR4 engagement, through its own target genes A20 and IRAK-M (Wertz 2004 Nature 430:694; Boone "
        "2004 Nat Immunol 5:1052; TNF-induced cross-tolerance, Park 2011 Nat Immunol 12:607, V for direction); "
        "1: as TLR4 engagement (calibrated: a nerve crush resolves within 8 weeks, docs/validation.md); 0: TLR "
        "engagement only", high=1.0)
    tolerance_nfkb_threshold: float = param(
        0.2, "1", "assumption: the NF-κB activity above which its feedback genes build tolerance (a resting tissue's "
        "trace NF-κB does not)", high=0.99)
    tolerance_max: float = param(
        0.9, "1", "assumption: tolerant cells make ~10x less TNF on re-challenge (direction Biswas & Lopez-Collazo "
        "2009, V)", high=1.0)
    recruitment_per_min: float = param(2e-3, "cells/vessel voxel/min", "assumption: at saturating CCL2; calibrate")
    recruitment_half_ccl2_nM: float = param(0.05, "nM", "assumption: CCR2 responds at sub-nM CCL2", low=1e-12)


class Macrophage(CellType):
    """Macrophages and monocytes (see module docstring)."""

    kind = "macrophage"
    states = ("M0", "M1", "M2")
    events = ("none", "born", "recruited", "to_M1", "to_M2", "to_M0", "died")
    Params = MacrophageParams
    receptors = ("TNFR1", "IL1R1", "IFNGR", "CSF2R", "IL10R", "IL4R", "IL13R", "TLR4")
    columns: ClassVar[dict] = {
        "recruited": np.int8, "mir21_vesicles": np.float64, "tolerance": np.float64, "tlr4": np.float64,
    }  # fmt: skip
    chemoattractant = "CCL2"

    def tolerant_program(self):
        """``E = t_max T (1 − R)`` in [0, 1], ``(n,)``: how much tolerance silences the tolerizable genes."""
        pop = self.pop
        restored = 1.0 - (1.0 - pop["STAT1"]) * (1.0 - pop["STAT5"])  # IFN-γ, GM-CSF (last step's activity)
        return self.params.tolerance_max * pop["tolerance"] * (1.0 - restored)

    def receptor_inhibition(self):
        """The compartment's inhibition with TLR4, IL-1R1 and TNFR1 also cut by each cell's tolerance, ``(n,)``."""
        xp, inhibition = self.xp, dict(self.model.inhibition)
        gate = 1.0 - self.params.tolerance_max * self.pop["tolerance"]  # proximal signalling: not rescued by IFN-γ
        for r in TOLERIZED_RECEPTORS:  # over three receptors: a per-cell blockade joins the drugs' one
            inhibition[r] = 1.0 - (1.0 - xp.asarray(inhibition.get(r, 0.0))) * gate
        return inhibition

    def sense(self, dt_min: float) -> dict | None:
        """Pathway activity (as every cell type, tolerance cutting three receptors); then tolerance evolves."""
        if self.fused is not None and self.fused.sense is not None and self.fused.sense(self, dt_min):
            return None  # the fused kernel did it (neuroagents.cells.kernels.macrophage)
        conc = super().sense(dt_min)
        if conc is None:
            return None
        xp, p, pop = self.xp, self.params, self.pop
        # TLR engagement (before tolerance, after drugs that block the receptor) induces tolerance; exact update
        blocked = xp.asarray(self.model.inhibition.get("TLR4", 0.0))
        tlr = self.signaling.occupancy(conc, self.n)["TLR4"] * (1.0 - blocked)
        pop["tlr4"] = tlr  # TLR engagement: the innate second signal IFN-γ needs (raw_drives)
        k_on = self.tolerance_inducer(tlr) / p.tolerance_on_min
        lam = k_on + 1.0 / p.tolerance_off_min
        t_inf = k_on / lam
        pop["tolerance"] = t_inf + (pop["tolerance"] - t_inf) * xp.exp(-lam * dt_min)
        return conc

    def tolerance_inducer(self, tlr):
        """What builds tolerance, ``(n,)`` in [0, 1]: TLR4 engagement, and strong NF-κB through A20/IRAK-M.

        ``u = θ_TLR4 + w N (1 − θ_TLR4)``, ``N = clip((NF-κB − θ) / (1 − θ), 0, 1)`` with θ
        ``tolerance_nfkb_threshold``: a resting tissue's trace NF-κB does not tolerize.
        """
        w = self.params.tolerance_nfkb_weight
        if w == 0.0:
            return tlr
        theta = self.params.tolerance_nfkb_threshold
        strong = self.xp.clip((self.pop["NFKB"] - theta) / (1.0 - theta), 0.0, 1.0)
        return tlr + w * strong * (1.0 - tlr)

    def raw_drives(self):
        """Pro- and anti-inflammatory signal in [0, 1] before the threshold, each ``(n,)``."""
        pop, p = self.pop, self.params
        mir = hill(pop["mir21_vesicles"], p.mir21_half_effect_vesicles, 1.0, self.xp)
        mir = mir * (1.0 - self.model.mirna_block.get("miR21", 0.0))  # antagomir-21
        second = 1.0 - (1.0 - pop["NFKB"]) * (1.0 - pop["tlr4"]) * (1.0 - mir)  # TNF/IL-1β, TLR4, miR-21 -> TLR8
        primed = pop["STAT1"] * second  # IFN-γ primes; it needs an innate second signal to polarize
        pro = 1.0 - (1.0 - pop["NFKB"]) * (1.0 - primed) * (1.0 - pop["STAT5"]) * (1.0 - mir)
        anti = 1.0 - (1.0 - pop["STAT6"]) * (1.0 - pop["STAT3"]) * (1.0 - self.tolerant_program())
        return pro, anti

    def drives(self):
        """Drives in [0, 1]: the signal above ``polarization_drive_threshold``, rescaled.

        ``D = clip((S − θ) / (1 − θ), 0, 1)``: weak background signal does not
        polarize (without it, trace TNF in a resting tissue tipped it into a
        self-sustaining M1 runaway), full signal still gives full drive.
        """
        theta = self.params.polarization_drive_threshold
        pro, anti = self.raw_drives()
        xp = self.xp
        return xp.clip((pro - theta) / (1.0 - theta), 0.0, 1.0), xp.clip((anti - theta) / (1.0 - theta), 0.0, 1.0)

    def decide(self, dt_min: float) -> None:
        if self.fused is not None and self.fused.decide is not None and self.fused.decide(self, dt_min):
            return  # the fused kernel did it (neuroagents.cells.kernels.macrophage)
        super().decide(dt_min)
        if self.n == 0:
            return
        xp, p, pop, rng = self.xp, self.params, self.pop, self.model.rng
        # miR-21 taken up during the step (the field loses the same through uptake in secrete)
        mir = self.local(["miR21"]).get("miR21")
        if mir is not None:
            from neuroagents.units import MOLECULES_PER_NM_UM3

            gained = p.mir21_uptake_per_min * mir * p.cell_volume_um3 * MOLECULES_PER_NM_UM3 * dt_min
            pop["mir21_vesicles"] = pop["mir21_vesicles"] * np.exp(-p.mir21_loss_per_min * dt_min) + gained
        pro, anti = self.drives()
        state = pop["state"]
        m0, m1, m2 = (state == 0), (state == 1), (state == 2)
        u = rng.random(self.n)
        rate_to_m1 = xp.where(m0, p.polarization_per_min * pro * (1 - anti), 0.0) + xp.where(
            m2, p.repolarization_per_min * pro, 0.0
        )
        rate_to_m2 = xp.where(m0, p.polarization_per_min * anti * (1 - pro), 0.0) + xp.where(
            m1, p.repolarization_per_min * anti, 0.0
        )
        rate_to_m0 = xp.where(~m0, p.reversion_per_min * (1 - pro) * (1 - anti), 0.0)
        total = rate_to_m1 + rate_to_m2 + rate_to_m0
        happens = u < 1.0 - xp.exp(-total * dt_min)
        # which transition: split the unit interval in proportion to the rates
        v = rng.random(self.n) * xp.maximum(total, 1e-300)
        to_m1 = happens & (v < rate_to_m1)
        to_m2 = happens & ~to_m1 & (v < rate_to_m1 + rate_to_m2)
        to_m0 = happens & ~to_m1 & ~to_m2
        state[...] = xp.where(to_m1, 1, xp.where(to_m2, 2, xp.where(to_m0, 0, state)))  # no mask: no host sync
        self.mark(to_m1, "to_M1")
        self.mark(to_m2, "to_M2")
        self.mark(to_m0, "to_M0")

    def secrete(self) -> None:
        if self.fused is not None and self.fused.secrete is not None and self.fused.secrete(self):
            return  # the fused kernel did it (neuroagents.cells.kernels.macrophage)
        p, state = self.params, self.pop["state"]
        m1 = (state == 1).astype(np.float64)
        m1_tol = m1 * (1.0 - self.tolerant_program())  # tolerizable products (TNF, IL-1β, IL-6, CCL2, COX-2)
        per_s = 60.0  # molecules/s -> molecules/min
        self.export("TNF", per_s * (m1_tol * p.tnf_m1_molecules_per_s + (state == 0) * p.tnf_m0_molecules_per_s))
        self.export("IL1B", per_s * m1_tol * p.il1b_m1_molecules_per_s)
        self.export("IL6", per_s * m1_tol * p.il6_m1_molecules_per_s)
        self.export("CCL2", per_s * m1_tol * p.ccl2_m1_molecules_per_s)
        cox = 1.0 - self.model.enzyme_inhibition.get("COX2", 0.0)  # NSAIDs, glucocorticoids
        self.export("PGE2", per_s * m1_tol * p.pge2_m1_molecules_per_s * cox)
        self.export("IL10", per_s * (state == 2) * p.il10_m2_molecules_per_s)
        self.export("opioid", per_s * ((state == 1) * p.opioid_m1_molecules_per_s
                                       + (state == 2) * p.opioid_m2_molecules_per_s))  # fmt: skip
        self.uptake("miR21", p.mir21_uptake_per_min)

    def move(self, dt_min: float) -> None:
        p = self.params
        if self.n:
            speed = self.xp.where(self.pop["state"] == 0, p.speed_um_per_min, p.activated_speed_um_per_min)
            self.walk(dt_min, speed)
            rate = self.xp.where(self.pop["recruited"] == 1, p.death_per_min, p.resident_death_per_min)
            gone = motility.event_mask(self.model.rng, self.n, rate, dt_min, self.xp)
            self.count_event("died", self.pop.remove(gone))  # remove counts them (the deaths' one sync)
        self.recruit(dt_min)

    def recruit(self, dt_min: float) -> None:
        """Monocytes leave vessel voxels in proportion to the CCL2 beside them."""
        m = self.model
        if "CCL2" not in m.env.names or m.vessel_voxels.size == 0:
            return
        xp = self.xp
        beside, weight = m.beside_vessels(m.env.field("CCL2"))
        w = hill(weight, self.params.recruitment_half_ccl2_nM, 1.0, xp)
        where = motility.recruit_at(w, m.rng, self.params.recruitment_per_min, dt_min, xp)
        if where.size == 0:
            return
        voxels = beside[where]
        pos = m.voxel_centres(voxels)
        ids = self.add_cells(pos, "M0", recruited=1)
        if ids.size == 0:  # a knocked-out cell type
            return
        self.mark(self.pop["id"] >= ids[0], "recruited")
