"""Stromal COX-2: PGE2 made by the resident tissue cells that IL-1β and TNF induce.

Much of the PGE2 of inflamed tissue is not made by leukocytes: IL-1β (and,
more weakly, TNF) induce COX-2 in resident stromal cells — synovial
fibroblasts (Crofford 1994 J Clin Invest 93:1095, V), epidermis and skeletal
muscle in the carrageenan paw (Nantel 1999 Br J Pharmacol 128:853, V: COX-2
and PGE2 rise in parallel), neurons and glia of the spinal cord (Samad 2001
Nature 410:471, V: IL-1β is the major inducer, a COX-2 inhibitor lowers PGE2
and mechanical hyperalgesia). In the carrageenan paw COX-2 expression peaks in
the early (1-6 h) phase with PGE2 (Guay 2004 J Biol Chem 279:24866, V). The
model has no fibroblasts as agents; the stroma is a property of every
interstitial voxel of every compartment, so it is one array per compartment:

* **drive** per voxel, from the free cytokine there and its receptor's
  blockade (neutralizing antibodies, IL-1R1/TNFR1 antagonists, knockouts)::

      h = 1 − (1 − (1 − b_IL1R1) H(f_IL1B c_IL1B; K_IL1B, n)) (1 − (1 − b_TNFR1) H(f_TNF c_TNF; K_TNF, n))

  with ``H`` the Hill function (independent action of the two cytokines);
* **induction** ``S`` in [0, 1] (COX-2 protein) follows it with a lag,
  ``dS/dt = (h − S) / τ``, solved exactly over a step;
* **release** into the voxel, zero order: ``q = k_max S (1 − i_COX2)`` nM/min,
  ``i_COX2`` the compartment's COX-2 inhibition by drugs (NSAIDs,
  glucocorticoids; :attr:`Compartment.enzyme_inhibition`).

Everything is vectorized over voxels; the source is written into the
Microenvironment's production row of PGE2 (as the cells' exports are) and the
molecules added are counted (:attr:`Stroma.produced_molecules`).

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=0, n_macrophages=0, n_neurons=0)
>>> stroma = m.compartments["tissue"].stroma
>>> m.step()
>>> float(stroma.produced_molecules)            # no cytokine, no PGE2
0.0
>>> m.env.field("IL1B")[...] = 0.05              # 50 pM IL-1β everywhere
>>> m.step()
>>> float(stroma.induction.max()) > 0
True
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from neuroagents.params import build_params, param
from neuroagents.tissue.exchange import add_tissue_source

__all__ = ["Stroma", "StromaParams", "build_stroma"]


@dataclass(frozen=True)
class StromaParams:
    """Numbers of the stromal COX-2 rule (see the module docstring)."""

    pge2_max_nM_per_min: float = param(
        400.0, "nM/min",
        "calibrated with il1b_half_nM and hill: carrageenan paw threshold toward -80% at 2.5 h (docs/references.md) "
        "while it still resolves by 48 h (higher rates leave it sensitized at 48 h); paw PGE2 then peaks at ~35 nM "
        "(mean), below the 42.5-92.9 ng/g (~120-260 nM) of a carrageenan "
        "abscess (Barbieri 1977 J Pharmacol Exp Ther 201:769, V); = 3-6e3 molecules/s per stromal cell at full "
        "induction with 5-10 cells per 8000 µm³ voxel (assumption)")  # fmt: skip
    il1b_half_nM: float = param(
        0.02, "nM",
        "assumption: half-maximal at ~0.35 ng/mL (20 pM; U), above the trace IL-1β of a resolving tissue; IL-1β "
        "induces COX-2 in synovial fibroblasts (Crofford 1994 J Clin Invest 93:1095, V)", low=1e-9)  # fmt: skip
    tnf_half_nM: float = param(
        0.06, "nM", "assumption: TNF is a weaker COX-2 inducer than IL-1β (~1 ng/mL; U)", low=1e-9)
    hill: float = param(3.0, "1", "assumption: switch-like induction; calibrated with the rate (2 leaves the "
                              "carrageenan paw sensitized at 48 h)", low=0.1, high=8.0)
    induction_min: float = param(
        30.0, "min",
        "assumption: COX-2 mRNA within 30-60 min, protein within hours of IL-1β (Crofford 1994, U for the time); "
        "paw COX-2 up in the 1-6 h phase (Guay 2004 J Biol Chem 279:24866, V)", low=1e-6)  # fmt: skip


class Stroma:
    """Stromal COX-2 of one compartment: induction state per interstitial voxel, PGE2 source.

    Parameters
    ----------
    comp : Compartment
        Its fields, interstitium, drug exposure and receptor blockade.
    params : StromaParams

    Attributes
    ----------
    voxels : ndarray of shape (V,), int64
        Flat indices of the interstitial voxels (on the backend).
    induction : ndarray of shape (V,)
        ``S``, COX-2 induction in [0, 1] per interstitial voxel.
    produced_molecules : float or 0-d array
        PGE2 molecules released so far (on the backend, to avoid a sync per step).
    """

    def __init__(self, comp, params: StromaParams):
        self.comp = comp
        self.params = params
        self.voxels = comp.interstitial_voxels_within(None)
        xp = comp.model.xp
        self.induction = xp.zeros(int(self.voxels.size), dtype=xp.float64)
        self.produced_molecules = xp.zeros((), dtype=xp.float64)

    def drive(self):
        """``h`` in [0, 1] per interstitial voxel, ``(V,)``, from IL-1β and TNF now."""
        comp, p = self.comp, self.params
        xp, env = comp.model.xp, comp.env
        flat = env.fields.reshape(len(env.names), -1)
        inhibition = comp.inhibition
        off = xp.ones(int(self.voxels.size), dtype=xp.float64)  # 1 − h, built up per cytokine
        for name, receptor, half in (("IL1B", "IL1R1", p.il1b_half_nM), ("TNF", "TNFR1", p.tnf_half_nM)):
            if name not in env.names or env.is_zero(name):  # over two cytokines; a zero field: occ = 0 exactly
                continue
            c = xp.maximum(flat[env.index(name), self.voxels], 0.0) * comp.free_fraction(name)
            cn = c**p.hill
            occ = cn / (cn + half**p.hill) * (1.0 - inhibition.get(receptor, 0.0))
            off = off * (1.0 - occ)
        return 1.0 - off

    def rate_nM_per_min(self):
        """PGE2 release per interstitial voxel now, nM/min, ``(V,)``."""
        cox = 1.0 - self.comp.enzyme_inhibition.get("COX2", 0.0)
        return self.params.pge2_max_nM_per_min * self.induction * cox

    def secrete(self, dt_min: float) -> None:
        """Advance the induction over ``dt_min`` and add the PGE2 source for the step to the environment."""
        comp = self.comp
        env, xp = comp.env, comp.model.xp
        target = self.drive()
        self.induction = target + (self.induction - target) * xp.exp(-dt_min / self.params.induction_min)
        if "PGE2" not in env.names or "PGE2" in comp.knockouts.mediators:
            return
        added = add_tissue_source(env, "PGE2", self.voxels, self.rate_nM_per_min(), dt_min)
        self.produced_molecules = self.produced_molecules + added


def build_stroma(comp, overrides: Mapping | None, where: str = "stroma") -> Stroma:
    """A :class:`Stroma` for ``comp`` with :class:`StromaParams` ``overrides`` (validated, errors name ``where``)."""
    return Stroma(comp, build_params(StromaParams, overrides, where))
