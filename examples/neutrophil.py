"""An example cell type in one module: neutrophils, recruited by TNF, crawling up it, releasing elastase.

Adding a cell type to neuroagents is this module plus one registry line (``neuroagents.registry.CELL_TYPES``)::

    from neuroagents.registry import CELL_TYPES
    CELL_TYPES.register("neutrophil", "neutrophil:Neutrophil")   # or the class itself

(or a line in ``CELL_TYPES`` itself, for a type that ships with the package). After that a model places
neutrophils like any built-in type, e.g. ``compartments=[{"name": "paw", ..., "cells": {"neutrophil": 20}}]``,
steps them through the same phases (sense, decide, secrete, move), counts them in the time series
(``n_neutrophil_active``) and accepts ``cell_params={"neutrophil": {...}}`` overrides; interventions can deplete
or knock them out by name. The type uses only what its compartment declares
(:class:`neuroagents.cells.host.CellHost`); ``tests/test_seams.py`` runs it.

Rules (a sketch, not calibrated: every number is an ``assumption``)
-----------------------------------------------------------------
* **Recruitment** from the vessel voxels next to TNF (TNF induces the endothelial adhesion molecules neutrophils
  need to leave the blood), at most ``recruitment_per_min`` per vessel voxel.
* **Movement**: a fast persistent walk up the TNF gradient.
* **Secretion**: neutrophil elastase, more from cells whose NF-κB (TNFR1) is active.
* **Death**: short-lived in tissue (apoptosis within hours).

Run it::

    python examples/neutrophil.py   # 2 simulated hours of a small paw given TNF, with and without neutrophils
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from neuroagents.cells import motility
from neuroagents.cells.base import CellType, MotileParams, hill
from neuroagents.params import param

__all__ = ["Neutrophil", "NeutrophilParams"]


@dataclass(frozen=True)
class NeutrophilParams(MotileParams):
    speed_um_per_min: float = param(10.0, "µm/min", "assumption: neutrophils crawl faster than macrophages")
    persistence_min: float = param(2.0, "min", "assumption", low=1e-6)
    chemotaxis_bias: float = param(0.5, "1", "assumption", high=1.0)
    death_per_min: float = param(1.0e-3, "1/min", "assumption: tissue lifetime of hours (t1/2 ~12 h)")
    cell_volume_um3: float = param(300.0, "µm³", "assumption: ~8 µm diameter", low=1.0)
    recruitment_per_min: float = param(0.05, "1/min per vessel voxel", "assumption")
    recruitment_half_tnf_nM: float = param(0.05, "nM", "assumption", low=1e-12)
    elastase_molecules_per_s: float = param(1.0, "molecules/cell/s", "assumption")


class Neutrophil(CellType):
    """Neutrophils (see module docstring)."""

    kind = "neutrophil"
    states = ("active",)
    events = ("none", "born", "recruited")
    Params = NeutrophilParams
    receptors = ("TNFR1",)
    chemoattractant: ClassVar[str | None] = "TNF"

    def secrete(self) -> None:
        p = self.params
        self.export("elastase", 60.0 * p.elastase_molecules_per_s * (1.0 + self.pop["NFKB"]))

    def move(self, dt_min: float) -> None:
        super().move(dt_min)  # walk up TNF, and die at death_per_min
        host = self.model
        if "TNF" not in host.env.names or host.vessel_voxels.size == 0:
            return
        beside, level = host.beside_vessels(host.env.field("TNF"))
        w = hill(level, self.params.recruitment_half_tnf_nM, 1.0, self.xp)
        where = motility.recruit_at(w, host.rng, self.params.recruitment_per_min, dt_min, self.xp)
        if where.size:
            ids = self.add_cells(host.voxel_centres(beside[where]))
            if ids.size:
                self.mark(self.pop["id"] >= ids[0], "recruited")


def _demo() -> None:
    from neuroagents.model import NeuroImmuneModel
    from neuroagents.registry import CELL_TYPES

    CELL_TYPES.register("neutrophil", Neutrophil)
    paw = {"name": "paw", "kind": "periphery", "width_um": 400, "height_um": 400,
           "cells": {"macrophage": 20, "neutrophil": 10}}  # fmt: skip
    for n in (10, 0):
        m = NeuroImmuneModel(seed=1, compartments=[{**paw, "cells": {**paw["cells"], "neutrophil": n}}],
                             injections=[{"mediator": "TNF", "compartment": "paw", "dose_nM": 1.0}])  # fmt: skip
        for _ in range(120):  # over steps
            m.step()
        row = m.timeseries().iloc[-1]
        print(f"{n:>2} neutrophils at t = 0: {int(row['n_neutrophil_active'])} after 2 h; mean elastase "
              f"{row['mean_elastase_nM_interstitium']:.3g} nM")  # fmt: skip


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    _demo()
