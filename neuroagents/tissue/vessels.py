"""How fast blood vessels clear a mediator from the tissue: permeability-limited exchange, by molecular size.

A compartment's vessels are rows of voxels (``compartment.py``). Blood does not hold the tissue next to them at
the plasma concentration (a perfect sink, which a 20-µm voxel row every few hundred µm turns into a wall that
drains every mediator at the rate diffusion brings it): solutes cross the capillary wall at a rate set by its
permeability-surface product ``PS`` (Crone 1963; Renkin 1959), which falls steeply with molecular size. Small
hydrophilic solutes (< 1 kDa: PGE2, ATP, histamine) leave muscle and skin capillaries at ``PS/V`` of a few mL per
min per 100 g of tissue, ~0.05 /min (Crone & Levitt 1984, Handbook of Physiology, section 2, vol. IV, ch. 10);
proteins above ~16 kDa leave an interstitium mainly through lymph, with absorption half-lives of hours
(Supersaxo, Hein & Steffen 1990 Pharm Res 7:167: subcutaneous uptake by size), ~0.002 /min at 20 kDa and above.
Between the two the rate is interpolated on log-log axes (assumption: a smooth pore-size cut-off).

The tissue-average rate is put into the vessel voxels only, so the clearance happens where the vessels are and
recruitment still reads the level beside them: ``k_vessel = k_tissue × (all voxels / vessel voxels)``. The
exchange is ``dc/dt = −k_vessel (c − c_plasma)`` in those voxels: a first-order sink (and, for a plasma level
above zero, a source), which the diffusion solvers take inside their line solves (``docs/microenvironment.md``).
A mediator's own ``decay_per_min`` already holds what its source measured (often a plasma half-life): this is the
part the vessels add by being where they are.

>>> round(tissue_clearance_per_min(0.35), 3), round(tissue_clearance_per_min(17.3), 4)
(0.05, 0.0023)
"""

from __future__ import annotations

import math

__all__ = ["LARGE_KDA", "LARGE_PER_MIN", "SMALL_KDA", "SMALL_PER_MIN", "tissue_clearance_per_min"]

SMALL_KDA = 1.0
"""Up to this mass (kDa) a solute crosses the capillary wall as a small solute (Crone & Levitt 1984)."""
SMALL_PER_MIN = 0.05
"""``PS/V`` of small hydrophilic solutes, 1/min: a few mL/min/100 g (Crone & Levitt 1984, V for order)."""
LARGE_KDA = 20.0
"""From this mass (kDa) a protein leaves mainly through lymph (Supersaxo 1990: > 16 kDa)."""
LARGE_PER_MIN = 0.002
"""Interstitial clearance of a protein >= 20 kDa, 1/min: absorption t1/2 ~6 h (Supersaxo 1990, U for value)."""


def tissue_clearance_per_min(mass_kda: float) -> float:
    """Tissue-average clearance by the vessels of a mediator of mass ``mass_kda`` (kDa), 1/min.

    Parameters
    ----------
    mass_kda : float
        Molecular mass, kDa, > 0.

    Returns
    -------
    float
        ``SMALL_PER_MIN`` up to ``SMALL_KDA``, ``LARGE_PER_MIN`` from ``LARGE_KDA``, log-log interpolated between.
    """
    if mass_kda <= SMALL_KDA:
        return SMALL_PER_MIN
    if mass_kda >= LARGE_KDA:
        return LARGE_PER_MIN
    f = math.log(mass_kda / SMALL_KDA) / math.log(LARGE_KDA / SMALL_KDA)
    return math.exp((1 - f) * math.log(SMALL_PER_MIN) + f * math.log(LARGE_PER_MIN))
