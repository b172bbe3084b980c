"""Tissue swelling: fluid leaked from the venules plus the volume of the immune cells that came in.

The swelling of an inflamed paw or joint (plethysmometer volume, caliper thickness, the swelling part of an
arthritis score) is two things: plasma that leaks through gaps the mediators open between the endothelial cells of
post-capillary venules, the leukocytes that have entered the tissue, and the new tissue a lasting leak leaves
behind. The fluid follows the mediators within hours; the cells last as long as the infiltrate; the new tissue
lasts weeks: plasma fibrinogen that leaks out clots into a fibrin gel, which fibroblasts and new vessels turn into
granulation tissue (Dvorak 1986 N Engl J Med 315:1650, V), which is why a CFA paw stays swollen after its pain is
gone (J Pain 2020 21:988; ``docs/validation.md``). The swelling is a readout: nothing in the model reads it back.
The leak's drive is read, by the kinins (``kinins.py``: leaked plasma brings the kininogen), whose bradykinin
opens gaps in turn.

Per compartment, from its interstitial voxels:

* **permeability** ``P`` in [0, 1] per voxel, independent action of the mediators that open endothelial gaps::

      P = 1 − Π_i (1 − e_i H_i),   H_i = f_i c_i / (f_i c_i + K_i) (1 − b_i)

  histamine (H1) and serotonin (Majno & Palade 1961 J Biophys Biochem Cytol 11:571, V), substance P from the
  nociceptors (NK1, neurogenic plasma extravasation: Lembeck & Holzer 1979 Naunyn Schmiedebergs Arch Pharmacol
  310:175, V), TNF and IL-1β (endothelial activation over hours, U for size), and bradykinin (endothelial B2: a B2
  antagonist lowers the carrageenan oedema, Buritova 1997, V) times the B2 receptors the endothelium has left,
  ``B`` per voxel; ``f_i`` the free fraction (neutralizing antibodies), ``b_i`` the receptor's blockade (TNFR1,
  IL1R1, B2);
* **endothelial B2** ``B`` in [0, 1] per voxel, lost to tachyphylaxis while bradykinin occupies it and coming
  back slowly (exact over a step for the occupancy held)::

      dB/dt = (1 − B)/τ_rec − occ B/τ_tach,   occ = c_BK/(c_BK + K_BK)

  The leak brings the plasma kininogen the kinins are cut from (``kinins.py``, where an injected agent activates
  prekallikrein), and bradykinin opens more gaps: the kinin phase feeds itself once the amines have started a
  leak, and ends as the endothelium's B2 receptors
  tire. That is what makes the carrageenan oedema rise within the first hour and level off by 3-5 h (Di Rosa 1971
  J Pathol 104:15, V: amines, then kinins, then prostaglandins), and why a B2 antagonist lowers it by 25-41 %
  (Buritova 1997 Eur J Pharmacol 320:73, V; ``docs/validation.md``, *Kinins*);
* **flow** ``F = 1 + g_PGE2 H_PGE2 + g_CGRP H_CGRP``: vasodilators do not open gaps but potentiate the leak the
  others cause (PGE2: Williams & Morley 1973 Nature 246:215, V; CGRP: Brain & Williams 1985 Br J Pharmacol
  86:855, V);
* **fluid** ``V`` (extravasated volume over the tissue volume): ``dV/dt = k β ⟨P F⟩ − V / τ``, lymph draining it
  with time constant ``τ``; ``⟨·⟩`` the mean over interstitial voxels, held over a step (exact update); ``β`` the
  barrier: 1 in skin, joint and the fenestrated DRG, ``spinal_barrier`` in a dorsal-horn compartment (the
  blood-spinal cord barrier);
* **cells**: the volume of the compartment's immune cells (macrophages, T cells, mast cells; each type's
  ``cell_volume_um3``) above what it held when the model was built, over the tissue volume (interstitial voxels ×
  voxel volume);
* **matrix** ``M`` (new tissue over the tissue volume): ``dM/dt = k_M V − M / τ_M``, laid down in proportion to
  the leaked fluid and remodelled over weeks; exact over a step for the fluid's exact path;
* **swelling** = ``100 (V + M + cells)`` per cent of the tissue's volume.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0)
>>> sw = m.compartments["tissue"].swelling
>>> m.step(); round(sw.percent(), 6)                   # a resting tissue: no leak, no infiltrate
0.0
>>> m.env.field("histamine")[...] = 1000.0               # 1 µM histamine everywhere (K = 1 µM: P = 1/2)
>>> for _ in range(12): m.step()
>>> sw.percent() > 0
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from neuroagents.kinins import b2_left
from neuroagents.params import build_params, param

__all__ = ["IMMUNE_CELL_TYPES", "Swelling", "SwellingParams", "build_swelling"]

IMMUNE_CELL_TYPES = ("macrophage", "t_cell", "mast_cell")
"""Cell types whose number in a compartment adds to its volume (neurons and microglia do not come and go)."""


@dataclass(frozen=True)
class SwellingParams:
    """Numbers of the swelling readout (see the module docstring)."""

    leak_per_min: float = param(
        1.3e-2, "1/min", "calibrated: the carrageenan paw swells by about half its volume at 3-5 h (rat paw "
        "volume, Winter 1962 Proc Soc Exp Biol Med 111:544, V for the time course, U for the size) - "
        "fractional fluid volume per minute at full permeability and no vasodilator")  # fmt: skip
    spinal_barrier: float = param(
        0.05, "1", "assumption: the fraction of the leak that crosses the blood-spinal cord barrier of a dorsal-horn "
        "compartment, relative to skin or a fenestrated DRG: its endothelium is sealed by tight junctions and "
        "restricts plasma proteins (Bartanusz 2011 Ann Neurol 70:194, V for the barrier), though nerve injury opens "
        "it to albumin (Beggs 2010 Mol Pain 6:74; Echeverry 2011 J Neurosci 31:10819, V for direction); DRG vessels "
        "are fenestrated and leak albumin (Jimenez-Andrade 2008 Mol Pain 4:10, V), so the DRG takes the whole leak. "
        "At 1 the SNI dorsal horn's cytokines and PGE2 swelled it by 79 % (U for the value)", low=0.0, high=1.0)
    drainage_min: float = param(
        60.0, "min", "assumption, calibrated: lymph clears interstitial fluid within hours, so the oedema follows its "
        "mediators with about an hour's lag (the carrageenan oedema levels off by 3-5 h and falls within a day of "
        "its peak, Winter 1962, V for the time course, U for the constant)", low=1e-3)  # fmt: skip
    matrix_per_fluid_day: float = param(
        0.07, "1/day", "assumption, calibrated: new tissue (fibrin, then granulation tissue) laid down per day per "
        "unit of leaked fluid; a lasting leak leaves a lasting swelling (the CFA paw still swollen on day 28 after "
        "its pain is gone, J Pain 2020 21:988, V), a carrageenan day almost none", low=0.0)  # fmt: skip
    matrix_turnover_days: float = param(
        56.0, "day", "assumption: granulation tissue is remodelled and resorbed over weeks (U)", low=1e-3)
    histamine_ec50_nM: float = param(1000.0, "nM", "assumption: H1 on venular endothelium, µM range (U)", low=1e-9)
    histamine_efficacy: float = param(1.0, "1", "assumption: histamine opens venular gaps (Majno & Palade 1961, V)",
                                      high=1.0)  # fmt: skip
    serotonin_ec50_nM: float = param(100.0, "nM", "assumption: as the nociceptors' 5-HT receptors (U)", low=1e-9)
    serotonin_efficacy: float = param(
        1.0, "1", "assumption: in rodents 5-HT is a main permeability amine (Majno & Palade 1961, V)", high=1.0)
    sp_ec50_nM: float = param(
        10.0, "nM", "assumption: above NK1 binding (sub-nM): skin leaks at injected, not tonic, substance P; 1 nM "
        "gave a non-inflamed SNI paw 14 % swelling from its afferents' tonic SP (U)", low=1e-9)
    sp_efficacy: float = param(
        1.0, "1", "assumption: neurogenic plasma extravasation through NK1 (Lembeck & Holzer 1979, V)", high=1.0)
    tnf_half_nM: float = param(0.06, "nM", "assumption: as the stroma's TNF response (~1 ng/mL, U)", low=1e-9)
    tnf_efficacy: float = param(0.5, "1", "assumption: TNF raises venular permeability more slowly and less than "
                                          "the amines (U)", high=1.0)  # fmt: skip
    il1b_half_nM: float = param(0.02, "nM", "assumption: as the stroma's IL-1β response (U)", low=1e-9)
    il1b_efficacy: float = param(0.5, "1", "assumption: as TNF (U)", high=1.0)
    pge2_ec50_nM: float = param(10.0, "nM", "assumption: EP2/EP4 on vascular smooth muscle, as on nociceptors (U)",
                                low=1e-9)  # fmt: skip
    pge2_potentiation: float = param(
        2.0, "1", "assumption: PGE2 potentiates the oedema of histamine and bradykinin several-fold (Williams & "
        "Morley 1973 Nature 246:215, V for direction)")  # fmt: skip
    cgrp_ec50_nM: float = param(1.0, "nM", "assumption: CGRP receptors, nM range (U)", low=1e-9)
    cgrp_potentiation: float = param(
        1.0, "1", "assumption: CGRP potentiates oedema by vasodilation (Brain & Williams 1985 Br J Pharmacol 86:855, "
        "V for direction)")  # fmt: skip
    bradykinin_ec50_nM: float = param(
        1.0, "nM", "assumption: B2 on venular endothelium, as on the nociceptors (U)", low=1e-9)
    bradykinin_efficacy: float = param(
        0.8, "1", "assumption, calibrated: bradykinin opens venular gaps through endothelial B2; a B2 antagonist "
        "lowers the carrageenan oedema by 25-41 % (Buritova 1997 Eur J Pharmacol 320:73, V)",
        high=1.0)  # fmt: skip
    b2_tachyphylaxis_min: float = param(
        60.0, "min", "assumption: endothelial B2 receptors tire of lasting bradykinin (B2 is internalized within "
        "minutes of binding; the permeability response to repeated bradykinin wanes; U for the time): the time to "
        "lose them at full occupancy", low=1e-3)  # fmt: skip
    b2_recovery_min: float = param(
        1440.0, "min", "assumption, calibrated: the endothelium's B2 receptors, internalized and down-regulated by a "
        "strong kinin phase, come back over a day (U), so the kinins' self-feeding leak does not keep a resolving "
        "paw leaking (the carrageenan paw mostly dry and its threshold back by 48 h, Winter 1962, V)", low=1e-3)


_OPENERS = (  # mediator, receptor whose blockade counts, K attribute, efficacy attribute
    ("histamine", "H1", "histamine_ec50_nM", "histamine_efficacy"),
    ("serotonin", "5HT2A", "serotonin_ec50_nM", "serotonin_efficacy"),
    ("SP", "NK1", "sp_ec50_nM", "sp_efficacy"),
    ("TNF", "TNFR1", "tnf_half_nM", "tnf_efficacy"),
    ("IL1B", "IL1R1", "il1b_half_nM", "il1b_efficacy"),
    ("bradykinin", "B2", "bradykinin_ec50_nM", "bradykinin_efficacy"),  # times the B2 left (tachyphylaxis)
)
_DILATORS = (("PGE2", "pge2_ec50_nM", "pge2_potentiation"), ("CGRP", "cgrp_ec50_nM", "cgrp_potentiation"))


class Swelling:
    """The swelling of one compartment (fluid state and infiltrate; see the module docstring).

    Parameters
    ----------
    comp : Compartment
        Its fields, interstitium, cells, receptor blockade and neutralization.
    params : SwellingParams

    Attributes
    ----------
    fluid : 0-d array
        ``V``, extravasated fluid over the tissue volume (on the backend: no host sync per step).
    matrix : 0-d array
        ``M``, new tissue (fibrin, granulation tissue) over the tissue volume.
    baseline_cell_um3 : float
        Immune-cell volume when the readout was built, µm³.
    """

    matrix = 0.0  # a state saved before the matrix existed starts without one
    b2 = None  # a state saved before the endothelial B2 receptors existed: all of them on the next step

    def __init__(self, comp, params: SwellingParams):
        self.comp = comp
        self.params = params
        self.voxels = comp.interstitial_voxels_within(None)
        xp = comp.model.xp
        self.fluid = xp.zeros((), dtype=xp.float64)
        self.matrix = xp.zeros((), dtype=xp.float64)
        self.tissue_um3 = float(self.voxels.size) * float(comp.env.grid.voxel_volume_um3)
        self.baseline_cell_um3 = self.cell_um3()

    def hill(self, name: str, k_nM: float):
        """``c/(c + K)`` of ``name``'s free concentration (after neutralizing antibodies) per interstitial voxel,
        ``(V,)``: what the venular endothelium, and the kinins' contact activation (``kinins.py``), read."""
        comp = self.comp
        env, xp = comp.env, comp.model.xp
        c = xp.maximum(env.fields.reshape(len(env.names), -1)[env.index(name), self.voxels], 0.0)
        c = c * comp.free_fraction(name)
        return c / (c + k_nM)

    def endothelial_b2(self):
        """B2 receptors of the venular endothelium not lost to tachyphylaxis, 0..1 per interstitial voxel, ``(V,)``."""
        if self.b2 is None or self.b2.shape[0] != self.voxels.size:
            self.b2 = self.comp.model.xp.ones(int(self.voxels.size), dtype=self.comp.model.xp.float64)
        return self.b2

    def _b2_occupancy(self):
        """Bradykinin's occupancy of the endothelial B2 receptors before tachyphylaxis, ``(V,)`` (a blocked receptor
        is not occupied); None without the mediator."""
        if "bradykinin" not in self.comp.env.names:
            return None
        blocked = self.comp.inhibition.get("B2", 0.0)
        return self.hill("bradykinin", self.params.bradykinin_ec50_nM) * (1.0 - blocked)

    def _tire_b2(self, dt_min: float, occ) -> None:
        """Advance the endothelial B2 receptors over ``dt_min`` (exact for the occupancy ``occ`` held over the step)::

            db/dt = (1 − b)/τ_rec − occ b/τ_tach,   occ = c/(c + K) the bradykinin occupancy before tachyphylaxis
        """
        p, b = self.params, self.endothelial_b2()
        if occ is not None:
            self.b2 = b2_left(b, occ, p.b2_tachyphylaxis_min, p.b2_recovery_min, dt_min, self.comp.model.xp)

    def drive(self, b2_occupancy=None):
        """``P F`` per interstitial voxel now, ``(V,)``: permeability times the vasodilators' potentiation
        (``b2_occupancy``: :meth:`_b2_occupancy` when the caller has it)."""
        comp, p = self.comp, self.params
        xp, names = comp.model.xp, comp.env.names
        if self._fused():  # one compiled pass over the voxels, the same numbers (swelling_kernel.py)
            return self._drive_fused(b2_occupancy)
        closed = xp.ones(int(self.voxels.size), dtype=xp.float64)  # 1 − P, built up per mediator
        for name, receptor, k_attr, e_attr in _OPENERS:  # over six mediators
            if name not in names:
                continue
            if name == "bradykinin":  # times the receptors left after tachyphylaxis
                occ = self._b2_occupancy() if b2_occupancy is None else b2_occupancy
                h = occ * self.endothelial_b2()
            elif comp.env.is_zero(name):  # its term is exactly 1 − e·0 = 1: the same numbers without it
                continue
            else:
                h = self.hill(name, getattr(p, k_attr)) * (1.0 - comp.inhibition.get(receptor, 0.0))
            closed = closed * (1.0 - getattr(p, e_attr) * h)
        flow = 1.0
        for name, k_attr, g_attr in _DILATORS:  # over two vasodilators
            if name in names and not comp.env.is_zero(name):  # a zero field adds exactly 0
                flow = flow + getattr(p, g_attr) * self.hill(name, getattr(p, k_attr))
        return (1.0 - closed) * flow

    def _fused(self) -> bool:
        """Whether :meth:`drive` runs :func:`~neuroagents.swelling_kernel.drive_kernel`: where the cells' fused
        kernels run (NumPy, float64 fields) and every blockade it reads is one number."""
        comp = self.comp
        if getattr(comp.model, "cell_kernels", "reference") != "numba" or comp.env.fields.dtype != np.float64:
            return False
        return all(np.ndim(v) == 0 for v in comp.inhibition.values())

    def _kernel_tables(self) -> tuple:
        """The small arrays of :func:`~neuroagents.swelling_kernel.drive_kernel` now: ``(open_rows, open_free, open_k,
        open_block, open_eff, brady_eff, dil_rows, dil_free, dil_k, dil_gain)`` (``brady_eff`` < 0 without
        bradykinin on the grid)."""
        rows, k, eff, brady_eff, d_rows, d_k, d_gain = self._kernel_shared_tables()
        free, block, d_free = self._kernel_run_numbers()
        f64 = np.float64
        return (rows, np.array(free, f64), k, np.array(block, f64), eff, brady_eff, d_rows, np.array(d_free, f64), d_k,
                d_gain)  # fmt: skip

    def _kernel_shared_tables(self) -> tuple:
        """What of :meth:`_kernel_tables` follows from the parameters and the grid (the same in every run of a lockstep
        batch): ``(open_rows, open_k, open_eff, brady_eff, dil_rows, dil_k, dil_gain)``."""
        p, env = self.params, self.comp.env
        rows, k, eff = [], [], []
        brady_eff = -1.0
        for name, _, k_attr, e_attr in _OPENERS:  # over six mediators
            if name not in env.names:
                continue
            if name == "bradykinin":
                brady_eff = float(getattr(p, e_attr))
                continue
            rows.append(env.index(name))
            k.append(getattr(p, k_attr))
            eff.append(getattr(p, e_attr))
        d_rows, d_k, d_gain = [], [], []
        for name, k_attr, g_attr in _DILATORS:  # over two vasodilators
            if name in env.names:
                d_rows.append(env.index(name))
                d_k.append(getattr(p, k_attr))
                d_gain.append(getattr(p, g_attr))
        f64 = np.float64
        return (np.array(rows, dtype=np.int64), np.array(k, f64), np.array(eff, f64), brady_eff,
                np.array(d_rows, dtype=np.int64), np.array(d_k, f64), np.array(d_gain, f64))  # fmt: skip

    def _kernel_run_numbers(self) -> tuple[list, list, list]:
        """What of :meth:`_kernel_tables` is this run's own (drugs): the openers' free fractions and blockades, and
        the vasodilators' free fractions, as lists in the tables' order."""
        comp = self.comp
        names = comp.env.names
        free, block, d_free = [], [], []
        for name, receptor, _, _ in _OPENERS:  # over six mediators
            if name in names and name != "bradykinin":
                free.append(comp.free_fraction(name))
                block.append(comp.inhibition.get(receptor, 0.0))
        for name, _, _ in _DILATORS:  # over two vasodilators
            if name in names:
                d_free.append(comp.free_fraction(name))
        return free, block, d_free

    def _drive_fused(self, b2_occupancy=None):
        from neuroagents.swelling_kernel import drive_kernel

        env = self.comp.env
        t = self._kernel_tables()
        brady_h = np.zeros(1)
        if t[5] >= 0.0:  # bradykinin on the grid: the reference's array, as the tachyphylaxis reads the occupancy
            occ = self._b2_occupancy() if b2_occupancy is None else b2_occupancy
            brady_h = occ * self.endothelial_b2()
        out = np.empty(int(self.voxels.size))
        drive_kernel(env.fields.reshape(len(env.names), -1), self.voxels, *t[:5], t[5], brady_h, *t[6:], out)
        return out

    def update(self, dt_min: float):
        """Advance fluid and matrix over ``dt_min`` with the drive held at its value now (exact for a constant
        drive: the fluid relaxes to ``V∞``, the matrix integrates the fluid's exact path).

        Returns
        -------
        ndarray of shape (V,) or None
            The drive ``P F`` per interstitial voxel it used (the kinins read it), None without interstitium.
        """
        p, xp = self.params, self.comp.model.xp
        if self.voxels.size == 0:
            return None
        occ = self._b2_occupancy()
        drive = self.drive(occ)
        self._tire_b2(dt_min, occ)
        leak = p.leak_per_min * (p.spinal_barrier if self.comp.kind == "dorsal_horn" else 1.0)
        target = leak * p.drainage_min * xp.mean(drive)
        tau_v, tau_m = p.drainage_min, p.matrix_turnover_days * 1440.0
        k = p.matrix_per_fluid_day / 1440.0
        a, b = math.exp(-dt_min / tau_v), math.exp(-dt_min / tau_m)
        # dM/dt = k V − M/τ_m with V(t) = V∞ + (V0 − V∞) e^{−t/τ_v}: exact for a held drive
        if abs(tau_v - tau_m) > 1e-12:
            gap = tau_v * tau_m / (tau_m - tau_v) * (b - a)  # ∫ e^{−s/τ_v} e^{−(dt−s)/τ_m} ds over the step
        else:
            gap = dt_min * a
        self.matrix = self.matrix * b + k * (target * tau_m * (1.0 - b) + (self.fluid - target) * gap)
        self.fluid = target + (self.fluid - target) * a
        return drive

    def cell_um3(self) -> float:
        """Volume of the compartment's immune cells now, µm³ (cell counts are host integers: no sync)."""
        total = 0.0
        for kind in IMMUNE_CELL_TYPES:  # over three cell types
            ct = self.comp.cell_types.get(kind)
            if ct is not None:
                total += ct.n * float(ct.params.cell_volume_um3)
        return total

    def percent(self) -> float:
        """Swelling now, per cent of the tissue's volume (a host number: for recording)."""
        if self.tissue_um3 <= 0:
            return 0.0
        cells = (self.cell_um3() - self.baseline_cell_um3) / self.tissue_um3
        fluid = float(self.comp.model.backend.to_host(self.fluid + self.matrix))
        return 100.0 * (fluid + max(cells, 0.0))


def build_swelling(comp, overrides: Mapping | None, where: str = "swelling") -> Swelling:
    """A :class:`Swelling` for ``comp`` with :class:`SwellingParams` ``overrides`` (validated; errors name
    ``where``)."""
    return Swelling(comp, build_params(SwellingParams, overrides, where))
