"""Mast cells: sessile granule stores released in quanta.

Rules
-----
* **Trigger**: ``T = max(h(SP; K_SP), h(CGRP; K_CGRP), stimulus)`` — the
  neuropeptides released by nociceptor terminals (MRGPRX2/NK1R on mast cells)
  or an inflammatory stimulus set by a scenario (``model.mast_cell_stimulus``,
  0..1; e.g. compound 48/80 or carrageenan).
* **Degranulation**: a resting cell with ``T >= threshold`` and granules left
  releases a quantum — ``quantum_fraction`` of its store of histamine, TNF,
  NGF, 5-HT and tryptase — within the step, then is refractory for
  ``refractory_min``; the store refills linearly over ``refill_min``.
* **Constitutive** release of IL-6 and TNF, slower and continuous.
* Mast cells do not move (sessile; human skin 77-108 per mm², Janssens 2005).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neuroagents.cells.base import CellType, hill
from neuroagents.params import param

__all__ = ["GRANULE_CONTENT", "MastCell", "MastCellParams"]

GRANULE_CONTENT = ("histamine", "TNF", "NGF", "serotonin", "tryptase")


@dataclass(frozen=True)
class MastCellParams:
    cell_volume_um3: float = param(3054.0, "µm³", "assumption: ~18 µm diameter")
    trigger_threshold: float = param(0.5, "1", "assumption", high=1.0)
    sp_half_effect_nM: float = param(1.0, "nM", "assumption: MRGPRX2/NK1R act at ~µM SP in vitro; calibrate", low=1e-12)
    cgrp_half_effect_nM: float = param(10.0, "nM", "assumption; calibrate", low=1e-12)
    quantum_fraction: float = param(0.5, "1", "assumption: piecemeal vs anaphylactic degranulation", high=1.0)
    refractory_min: float = param(60.0, "min", "assumption; calibrate")
    refill_min: float = param(4320.0, "min", "assumption: regranulation over days (U)", low=1e-6)
    histamine_molecules: float = param(1.1e10, "molecules/cell", "~2 pg histamine per cell (human, 1-4 pg; U)")
    tnf_molecules: float = param(1.0e4, "molecules/cell", "assumption: preformed TNF store; calibrate")
    ngf_molecules: float = param(1.0e4, "molecules/cell", "assumption; calibrate")
    serotonin_molecules: float = param(1.0e9, "molecules/cell", "assumption: rodent mast cells store 5-HT")
    tryptase_molecules: float = param(8.9e7, "molecules/cell", "~20 pg tryptase per cell (10-35 pg, U)")
    il6_molecules_per_s: float = param(0.1, "molecules/cell/s", "assumption: slow constitutive release")
    tnf_molecules_per_s: float = param(0.05, "molecules/cell/s", "assumption: slow constitutive release")


class MastCell(CellType):
    """Mast cells (see module docstring)."""

    kind = "mast_cell"
    states = ("resting", "refractory")
    events = ("none", "born", "degranulated", "recovered")
    Params = MastCellParams
    columns: ClassVar[dict] = {"granules": np.float64, "refractory_until_min": np.float64, "released": np.float64}

    def seed_cells(self, n: int):
        return self.add_cells(self.model.random_interstitial_positions(n), granules=1.0)

    def trigger(self):
        """Degranulation trigger in [0, 1], ``(n,)``."""
        xp, p = self.xp, self.params
        loc = self.local(["SP", "CGRP", "PAMP"])
        t = xp.full(self.n, float(self.model.mast_cell_stimulus))
        if "PAMP" in loc:  # carrageenan and CFA degranulate mast cells (TLR4/TLR2; assumption: TLR4's EC50)
            t = xp.maximum(t, hill(loc["PAMP"], 2.0, 1.0, xp))
        if "SP" in loc:
            t = xp.maximum(t, hill(loc["SP"], p.sp_half_effect_nM, 1.0, xp))
        if "CGRP" in loc:
            t = xp.maximum(t, hill(loc["CGRP"], p.cgrp_half_effect_nM, 1.0, xp))
        return t

    def decide(self, dt_min: float) -> None:
        super().decide(dt_min)
        if self.n == 0:
            return
        pop, p, now = self.pop, self.params, self.model.time_min
        recovered = (pop["state"] == 1) & (pop["refractory_until_min"] <= now)
        pop["state"] = self.xp.where(recovered, 0, pop["state"])
        self.mark(recovered, "recovered")
        pop["granules"] = self.xp.minimum(pop["granules"] + dt_min / p.refill_min, 1.0)
        fire = (pop["state"] == 0) & (self.trigger() >= p.trigger_threshold) & (pop["granules"] > 0)
        pop["released"] = self.xp.where(fire, p.quantum_fraction * pop["granules"], 0.0)
        pop["granules"] = pop["granules"] - pop["released"]
        pop["state"] = self.xp.where(fire, 1, pop["state"])
        pop["refractory_until_min"] = self.xp.where(fire, now + p.refractory_min, pop["refractory_until_min"])
        self.mark(fire, "degranulated")

    def secrete(self) -> None:
        p, dt = self.params, self.model.cell_dt_min
        burst = self.pop["released"] / dt  # fraction of the store per minute, this step only
        for name in GRANULE_CONTENT:
            self.export(name, burst * getattr(p, f"{name.lower()}_molecules"))
        self.export("IL6", 60.0 * p.il6_molecules_per_s)
        self.export("TNF", 60.0 * p.tnf_molecules_per_s)

    def move(self, dt_min: float) -> None:
        """Mast cells are sessile."""
