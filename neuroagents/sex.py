"""Sex as a scenario parameter: where the literature reports that female and male rodents differ.

The best-established difference in neuro-immune pain is *which* immune cell
carries mechanical hypersensitivity after nerve injury: microglia (P2X4 ->
p38 -> BDNF) in male mice, T cells in female mice, with similar pain in both
(Sorge 2015 Nat Neurosci 18:1081, V; Mapplebeck 2018 Pain 159:1752, U).
Minocycline and microglial inhibitors reverse it in males, not in females.
The model expresses that as multipliers on cell parameters for ``"female"``
(``"male"`` is the reference the other numbers were calibrated against):

* microglial BDNF release × 0.2 (assumption: "largely absent" in Sorge 2015);
* T-cell infiltration × 3 (assumption: direction from Sorge 2015).

The multipliers scale the parameter's value, whether the default or one a
scenario sets (scenarios are calibrated on males, as most of the literature).

What they give (docs/validation.md, *Sex*, case ``sex``): female and male
nerve-injury pain alike, and female pain without T cells relieved by
minocycline; what they do not give: female pain that minocycline spares.
In the model both sexes need the microglia, because the dorsal-horn T cells
are restimulated by reactive microglia and the microglia's IL-1β/TNF switch
the astrocytes on. Female microglia held back from the start (Kuhn 2021
eLife 10:e69056: meningeal Tregs) and a T-cell input to the spinal
maintenance (astrocytes, KCC2) that does not go through microglia are what
is missing.

Examples
--------
>>> sex_adjusted({}, "female")["microglia"]["bdnf_molecules_per_s"]
0.1
>>> sex_adjusted({"microglia": {"bdnf_molecules_per_s": 2.0}}, "female")["microglia"]["bdnf_molecules_per_s"]
0.4
>>> sex_adjusted({}, "male")
{}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from neuroagents.registry import CELL_TYPES

__all__ = ["SEXES", "SEX_MULTIPLIERS", "sex_adjusted"]

SEXES = ("male", "female")
SEX_MULTIPLIERS: dict[str, dict[str, dict[str, float]]] = {
    "female": {
        "microglia": {"bdnf_molecules_per_s": 0.2},
        "t_cell": {"infiltration_per_min": 3.0},
    },
}


def sex_adjusted(cell_params: Mapping, sex: str) -> dict:
    """``cell_params`` with the sex multipliers applied to each adjusted parameter's value (default or set)."""
    out = {k: dict(v) for k, v in cell_params.items()}
    for kind, factors in SEX_MULTIPLIERS.get(sex, {}).items():
        defaults = {f.name: f.default for f in dataclasses.fields(CELL_TYPES[kind].Params)}
        for key, factor in factors.items():
            table = out.setdefault(kind, {})
            table[key] = table.get(key, defaults[key]) * factor
    return out
