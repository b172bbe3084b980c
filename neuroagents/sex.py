"""Sex as a scenario parameter: where the literature reports that female and male rodents differ.

The best-established difference in neuro-immune pain is *which* immune cell
carries mechanical hypersensitivity after nerve injury: microglia (P2X4 ->
p38 -> BDNF) in male mice, T cells in female mice, with similar pain in both
(Sorge 2015 Nat Neurosci 18:1081, V; Mapplebeck 2018 Pain 159:1752, U), and
both converging on the loss of spinal KCC2 (Mapplebeck 2019 Cell Rep 28:590).
Minocycline and microglial inhibitors reverse it in males, not in females; in
females without T cells (nude, Rag1-/-) it is microglial again (Sorge 2015).
The model expresses that as mechanisms whose female values differ (``"male"``
is the reference the other numbers were calibrated against):

* **Tregs hold female microglia back** (Kuhn 2021 eLife 10:e69056: meningeal
  Tregs; Treg-deficient females respond to CSF1 as males):
  ``microglia.treg_restraint`` takes that fraction off the release (BDNF,
  TNF, IL-1β) of reactive microglia while the animal has T cells (lifted by
  a T-cell knockout); they still turn reactive and proliferate;
* **female T cells reach the spinal maintenance without microglia**: the
  dorsal-horn T cells are restimulated by the meninges' own antigen-presenting
  cells (``t_cell.meningeal_restimulation``), and their IFN-γ switches the
  astrocytes on (``pain.astro_ifng_induction``), which then keep KCC2 down as
  microglial IL-1β/TNF make them do in males (both assumptions, the direction
  from Sorge 2015 and Mapplebeck 2019);
* **more T cells, more IFN-γ**: infiltration × 3 and Th1 IFN-γ × 3
  (assumptions: the direction from Sorge 2015; females mount larger T-cell
  responses with more Th1 cytokine, Klein & Flanagan 2016 Nat Rev Immunol
  16:626, U).

:data:`SEX_VALUES` replace a parameter's default (a value a scenario sets
wins); :data:`SEX_MULTIPLIERS` scale the value, whether the default or one a
scenario sets (scenarios are calibrated on males, as most of the literature).
What they give is in docs/validation.md, *Sex* (case ``sex``).

Examples
--------
>>> sex_adjusted({}, "female")["microglia"]["treg_restraint"]
0.95
>>> sex_adjusted({"microglia": {"treg_restraint": 0.5}}, "female")["microglia"]["treg_restraint"]
0.5
>>> sex_adjusted({}, "female")["t_cell"]["infiltration_per_min"] / CELL_TYPES["t_cell"].Params().infiltration_per_min
3.0
>>> sex_adjusted({}, "male")
{}
>>> sex_adjusted_pain({}, "female")["astro_ifng_induction"]
1.0
>>> sex_adjusted_pain(None, "male")
{}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from neuroagents.registry import CELL_TYPES

__all__ = ["SEXES", "SEX_MULTIPLIERS", "SEX_PAIN_VALUES", "SEX_VALUES", "sex_adjusted", "sex_adjusted_pain"]

SEXES = ("male", "female")
SEX_VALUES: dict[str, dict[str, dict[str, float]]] = {
    "female": {
        # assumption, calibrated: female SNI pain within 1.5x with and without minocycline (Sorge 2015)
        "microglia": {"treg_restraint": 0.95},
        # assumption: female dorsal-horn T cells make cytokine without reactive microglia (Sorge 2015)
        "t_cell": {"meningeal_restimulation": 1.0},
    },
}
"""Cell parameters set by sex, ``{sex: {cell type: {name: value}}}`` (see the module docstring for sources)."""
SEX_MULTIPLIERS: dict[str, dict[str, dict[str, float]]] = {
    "female": {
        # assumption: direction from Sorge 2015 (T cells carry female pain); females mount larger T-cell responses
        # with more Th1 cytokine (Klein & Flanagan 2016 Nat Rev Immunol 16:626, U): 3 x 5 = 15 IFN-γ molecules/cell/s,
        # inside the 4-20 of polarized Th1 cultures (cells/t_cell.py)
        "t_cell": {"infiltration_per_min": 3.0, "ifng_th1_molecules_per_s": 3.0},
    },
}
"""Cell parameters scaled by sex, ``{sex: {cell type: {name: factor}}}``."""
SEX_PAIN_VALUES: dict[str, dict[str, float]] = {
    "female": {"astro_ifng_induction": 1.0},  # assumption: IFN-γ as strong a trigger as microglial IL-1β/TNF
}
"""Pain (dorsal-horn) parameters set by sex, ``{sex: {name: value}}``."""


def sex_adjusted(cell_params: Mapping, sex: str) -> dict:
    """``cell_params`` with the sex values (where not set) and multipliers (on the default or set value) applied."""
    out = {k: dict(v) for k, v in cell_params.items()}
    for kind, values in SEX_VALUES.get(sex, {}).items():
        table = out.setdefault(kind, {})
        for key, value in values.items():
            table.setdefault(key, value)
    for kind, factors in SEX_MULTIPLIERS.get(sex, {}).items():
        defaults = {f.name: f.default for f in dataclasses.fields(CELL_TYPES[kind].Params)}
        for key, factor in factors.items():
            table = out.setdefault(kind, {})
            table[key] = table.get(key, defaults[key]) * factor
    return out


def sex_adjusted_pain(pain_params: Mapping | None, sex: str) -> dict:
    """``pain_params`` (a mapping of :class:`~neuroagents.pain.PainParams` names) with the sex values where not set."""
    out = dict(pain_params or {})
    for key, value in SEX_PAIN_VALUES.get(sex, {}).items():
        out.setdefault(key, value)
    return out
