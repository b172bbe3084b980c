"""T cells: infiltrate after days, as Th1, Th17 or Treg cells.

Rules
-----
* **Priming** is slow and lags: a model-level signal ``priming`` (0..1)
  follows the mean pro-inflammatory NF-κB activity of the macrophages of every
  compartment (the draining lymph node sees every inflamed site) through two
  first-order stages in series, antigen presentation and activation
  (``activation``) then clonal expansion (``priming``), each with time constant
  ``priming_min / 2``: a gamma-distributed delay, so effector T cells arrive
  after days, not from the first hour. T cells appear in the DRG and the dorsal
  horn about a week after nerve injury (Costigan 2009 J Neurosci 29:14415;
  Vicuña 2015 Nat Med; Cobos 2018 Cell Rep 22:1301, U). Where T cells
  were primed elsewhere beforehand (autoimmunity, immunization before an
  antigen-induced arthritis) ``systemic_priming`` is a floor under that target.
* **Infiltration** from vessel voxels at ``priming × h(CCL2 beside the
  vessel)`` times a maximal rate.
* **Resolution** ``r`` (``resolution``, 1 by default): ``r`` times as many
  model T cells infiltrate, each releasing ``1/r`` of every product: the same
  mean influx and release with less sampling noise. Where a loop's start
  hangs on the first few T cells of a small tissue sample (the CFA paw,
  docs/validation.md), it should not hang on the luck of one to three of
  them; a real paw holds thousands. T cells placed at the start are not
  scaled (a scenario gives ``r`` times as many). The census and the
  ``n_t_cell_*`` columns count model cells: ``r`` per T cell.
* **Subset** on entry, drawn with weights ``1 + g h(IFN-γ)`` (Th1),
  ``1 + g (h(IL-6) + h(IL-23))`` (Th17), ``1 + g h(IL-10)`` (Treg) from the
  entry voxel (assumption: a cytokine-biased lottery). Each ``h`` is what its
  receptor's JAKs let through (``receptor_gate``: IFN-γR JAK1+JAK2 -> STAT1,
  IL-6R JAK1 (+JAK2|TYK2) and IL-23R JAK2+TYK2 -> STAT3, IL-10R JAK1+TYK2):
  Th17 differentiation needs IL-6/IL-23 -> STAT3 (docs/references.md, V), so a
  JAK inhibitor evens the lottery out.
* **Secretion**: Th1 IFN-γ, Th17 IL-17A and GM-CSF (Th17 cells are a crucial
  source of GM-CSF in autoimmune inflammation: El-Behi 2011 Nat Immunol
  12:568, V), Treg IL-10; Th1 and Th17 release leukocyte elastase in the DRG
  (Vicuña 2015). Effector cytokine output needs the common-γ-chain cytokines'
  JAK1/JAK3 -> STAT5 signal (IL-2, IL-7, IL-15: ``IL2RG``), so JAK1/3
  inhibitors cut it: tofacitinib lowers IFN-γ and IL-17A production of CD4 T
  cells (Ghoreschi 2011 J Immunol 186:4234, V). And effector T cells in a
  tissue make cytokine only while they meet their antigen there, on activated
  antigen-presenting cells (in situ restimulation: effector CD4 T cells in
  granulomas release cytokine in proportion to local antigen presentation,
  Egen 2011 Immunity 34:807, V): output scales with the fraction of the compartment's macrophages and
  microglia that are activated (M1, reactive; MHC-II up), so T cells among
  resting macrophages stay quiet. Where the antigen is a depot's (CFA's
  mycobacteria, ``antigen_half_nM`` > 0) it goes as macrophages clear the
  depot: restimulation falls with the depot's agonist, and once too little is
  left the T-cell/macrophage loop that kept the tissue inflamed runs down.
* **Opioid peptides**: restimulated T cells of every subset release β-endorphin
  (Cabot 1997 J Clin Invest 100:142; Labuz 2009 J Clin Invest 119:278), read
  by the nociceptors' peripheral μ receptors (``pain/nociceptor.py``).
* **Movement**: near-random walk, slightly up CCL2; death/egress.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from neuroagents.cells import motility
from neuroagents.cells.base import CellType, hill
from neuroagents.cells.signaling import receptor_gate
from neuroagents.params import param

__all__ = ["TCell", "TCellParams"]


@dataclass(frozen=True)
class TCellParams:
    speed_um_per_min: float = param(7.0, "µm/min", "effector T cells in tissue ~5-10 (U); lymph node 18 (Textor 2011)")
    persistence_min: float = param(2.0, "min", "assumption: near-random walk (Textor 2011)", low=1e-6)
    chemotaxis_bias: float = param(0.2, "1", "assumption", high=1.0)
    death_per_min: float = param(2.8e-4, "1/min", "model value (M, docs/references.md)")
    cell_volume_um3: float = param(268.0, "µm³", "assumption: ~8 µm diameter lymphocyte")
    priming_min: float = param(4320.0, "min", "assumption: ~3 days to prime and expand", low=1e-6)
    infiltration_per_min: float = param(5e-4, "cells/vessel voxel/min", "assumption: at full priming; calibrate")
    infiltration_half_ccl2_nM: float = param(0.05, "nM", "assumption", low=1e-12)
    resolution: float = param(
        1.0, "1", "model T cells per T cell of the default sampling: r times as many infiltrate, each releasing 1/r "
        "of every product, so the mean influx and release stay and the noise of a few cells shrinks as 1/sqrt(r) "
        "(assumption: a numerical choice, not biology; cfa.toml sets 4 where the T-cell loop's start hung on one "
        "to three cells, docs/validation.md 'Seed robustness')", low=1e-3)
    subset_gain: float = param(4.0, "1", "assumption: cytokine bias of subset choice")
    cytokine_half_effect_nM: float = param(0.1, "nM", "assumption", low=1e-12)
    ifng_th1_molecules_per_s: float = param(
        5.0, "molecules/cell/s", "polarized Th1 cultures yield ~10-50 ng IFN-γ per 10^6 cells per day (U), i.e. "
        "4-20 molecules/cell/s; the low end (cells in tissue are not all restimulated at once, assumption)")
    il17a_th17_molecules_per_s: float = param(0.5, "molecules/cell/s", "assumption; calibrate")
    gmcsf_th17_molecules_per_s: float = param(
        0.5, "molecules/cell/s", "assumption: as IL-17A; Th17 cells make GM-CSF (El-Behi 2011 Nat Immunol 12:568, V)")
    systemic_priming: float = param(
        0.0, "1", "assumption: 0 = T cells are primed only by this tissue's macrophages (floor of the target)",
        high=1.0)
    antigen_in_tissue: float = param(
        0.0, "1", "assumption: 0 = the antigen is shown here only by activated antigen-presenting cells; 1 = it is "
        "deposited in the tissue (an immunization antigen or adjuvant depot) and every APC presents it, so effector "
        "T cells are restimulated whatever the APCs' state (floor of restimulation)", high=1.0)
    meningeal_restimulation: float = param(
        0.0, "1", "floor of restimulation in the dorsal horn from the antigen-presenting cells of the spinal meninges "
        "(border macrophages, dendritic cells), without reactive microglia: 0 in males, the reference; the female "
        "value is in neuroagents/sex.py (assumption: female nerve-injury pain needs T cells and not microglia, "
        "Sorge 2015 Nat Neurosci 18:1081; lymphocytes expand in the spinal meninges, Kuhn 2021 eLife 10:e69056)",
        high=1.0)
    antigen_half_nM: float = param(
        0.0, "nM", "0 = the T cells' antigen stays (an autoantigen in a joint); > 0: it goes with the depot's "
        "agonist, restimulation scaled by c/(c + K) with c the compartment's mean PAMP (heat-killed mycobacteria carry "
        "both the TLR agonists and the protein antigens, and macrophages clear both; assumption, calibrated on the "
        "CFA course in cfa.toml)", low=0.0)  # fmt: skip
    il10_treg_molecules_per_s: float = param(0.12, "molecules/cell/s", "assumption: macrophage-like (M)")
    elastase_molecules_per_s: float = param(1.0, "molecules/cell/s", "assumption; Vicuña 2015 (direction, V)")
    opioid_molecules_per_s: float = param(
        10.0, "molecules/cell/s", "assumption: as M1 macrophages; CD4+ T cells release β-endorphin in inflamed "
        "tissue and relieve pain through peripheral opioid receptors (Cabot 1997 J Clin Invest 100:142; Labuz 2009 "
        "J Clin Invest 119:278, V for direction, U for the rate)")


class TCell(CellType):
    """T cells (see module docstring)."""

    kind = "t_cell"
    states = ("Th1", "Th17", "Treg")
    events = ("none", "born", "infiltrated", "died")
    Params = TCellParams
    chemoattractant = "CCL2"

    def __init__(self, model, params=None):
        super().__init__(model, params)
        self.activation = self.params.systemic_priming  # lymph-node activation (first stage of the lag)
        self.priming = self.params.systemic_priming  # expanded effector output: primed beforehand, or not at all

    def seed_cells(self, n: int):
        pos = self.model.random_interstitial_positions(n)
        ids = self.add_cells(pos)
        self.pop["state"][-n:] = self.choose_subsets(self.pop["voxel"][-n:])
        return ids

    def choose_subsets(self, voxels):
        """Subset codes (0 Th1, 1 Th17, 2 Treg) for cells entering at ``voxels``."""
        xp, p, env = self.xp, self.params, self.model.env
        flat = env.fields.reshape(len(env.names), -1)
        inhibition = self.model.inhibition
        n = voxels.shape[0]

        def h(name, receptor):
            if name not in env.names:
                return 0.0
            signal = hill(flat[env.index(name)][voxels], p.cytokine_half_effect_nM, 1.0, xp)
            return signal * receptor_gate(receptor, inhibition, n, xp)  # JAK inhibitors, receptor blockade

        w = xp.stack(
            [
                1.0 + p.subset_gain * h("IFNG", "IFNGR") + 0.0 * voxels,
                1.0 + p.subset_gain * (h("IL6", "IL6R") + h("IL23", "IL23R")) + 0.0 * voxels,
                1.0 + p.subset_gain * h("IL10", "IL10R") + 0.0 * voxels,
            ],
            axis=1,
        )
        cum = xp.cumsum(w / w.sum(axis=1, keepdims=True), axis=1)
        u = self.model.rng.random(voxels.shape[0])[:, None]
        return (u > cum).sum(axis=1).astype(np.int8)

    def decide(self, dt_min: float) -> None:
        super().decide(dt_min)
        drive = self.xp.maximum(self.antigen_presentation(), self.params.systemic_priming)
        stage = 1.0 - math.exp(-2.0 * dt_min / self.params.priming_min)  # two stages of priming_min / 2 each
        self.priming += (self.activation - self.priming) * stage
        self.activation += (drive - self.activation) * stage

    def antigen_presentation(self) -> float:
        """Mean NF-κB activity of the macrophages of the whole animal, every compartment (0..1).

        Priming happens in the draining lymph node, which sees what every inflamed site sends, so T cells that
        enter a compartment without macrophages (the dorsal horn) are primed all the same.
        """
        pops = [c.cell_types.get("macrophage") for c in self.model.compartments.values()]
        pops = [m for m in pops if m is not None and m.n]
        n = sum(m.n for m in pops)
        return sum(m.pop["NFKB"].sum() for m in pops) / n if n else 0.0  # an array on a device: no host sync

    def restimulation(self) -> float:
        """How much effector T cells here meet their antigen (0..1): ``a₀ + (1 − a₀) f``.

        ``f``: macrophages in state M1 and reactive microglia over all macrophages and microglia here (0 without
        any); ``a₀``: ``antigen_in_tissue``, where a depot antigen is presented by every APC. When the T cells'
        antigen is the depot's and goes with it (``antigen_half_nM`` = K > 0), all of it is scaled by ``c/(c + K)``,
        c the mean PAMP here: no antigen left, no restimulation.
        """
        active = total = 0
        for kind, state in (("macrophage", 1), ("microglia", 1)):  # over two cell types
            apc = self.model.cell_types.get(kind)
            if apc is not None and apc.n:
                active += (apc.pop["state"] == state).sum()  # an array on a device: no host sync
                total += apc.n
        floor = self.params.antigen_in_tissue
        meninges = self.params.meningeal_restimulation
        if meninges > 0.0 and self.model.kind == "dorsal_horn":  # their APCs (sex.py: females)
            floor = 1.0 - (1.0 - floor) * (1.0 - meninges)
        out = floor + (1.0 - floor) * (active / total if total else 0.0)
        k = self.params.antigen_half_nM
        if k > 0.0:  # T cells primed against the depot's antigen: no antigen left, no restimulation
            env = self.model.env
            c = env.field("PAMP").mean() if "PAMP" in env.names else 0.0  # an array on a device: no host sync
            out = out * c / (c + k)
        return out

    def secrete(self) -> None:
        p, s = self.params, self.pop["state"]
        per_s = 60.0 / p.resolution  # molecules/s -> /min, over the cells each model T cell stands for
        gc = receptor_gate("IL2RG", self.model.inhibition, self.n, self.xp)  # γc JAK1/JAK3 -> STAT5 (Ghoreschi 2011)
        gc = gc * self.restimulation()
        self.export("IFNG", per_s * gc * (s == 0) * p.ifng_th1_molecules_per_s)
        self.export("IL17A", per_s * gc * (s == 1) * p.il17a_th17_molecules_per_s)
        self.export("GMCSF", per_s * gc * (s == 1) * p.gmcsf_th17_molecules_per_s)
        self.export("IL10", per_s * (s == 2) * p.il10_treg_molecules_per_s)
        self.export("elastase", per_s * (s != 2) * p.elastase_molecules_per_s)
        self.export("opioid", per_s * gc * p.opioid_molecules_per_s)  # effector release, like the cytokines

    def move(self, dt_min: float) -> None:
        super().move(dt_min)
        self.infiltrate(dt_min)

    def infiltrate(self, dt_min: float) -> None:
        """Primed T cells leave vessel voxels in proportion to the CCL2 beside them (births: a host sync)."""
        m = self.model
        if self.priming <= 0 or "CCL2" not in m.env.names or m.vessel_voxels.size == 0:
            return
        beside, level = m.beside_vessels(m.env.field("CCL2"))
        w = self.priming * hill(level, self.params.infiltration_half_ccl2_nM, 1.0, self.xp)
        where = motility.recruit_at(w, m.rng, self.params.infiltration_per_min * self.params.resolution, dt_min,
                                   self.xp)
        if where.size == 0:
            return
        voxels = beside[where]
        ids = self.add_cells(m.voxel_centres(voxels))
        if ids.size == 0:  # a knocked-out cell type
            return
        new = self.pop["id"] >= ids[0]
        self.pop["state"][new] = self.choose_subsets(voxels)
        self.mark(new, "infiltrated")
