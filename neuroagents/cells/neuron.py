"""Sensory (DRG) neurons: somata with a peripheral terminal, intact or injured.

Rules
-----
* **Injury** (nerve injury in a scenario, or the model's ``injured_fraction``
  at ``injury_time_min``): a random fraction of neurons becomes injured.
* **Injured neurons release** CCL2 (White 2005 PNAS), CSF1 (Guan 2016 Nat
  Neurosci), CX3CL1, ATP, and exosomes carrying miR-21 (Simeoli 2017 Nat
  Commun 8:1778) at their soma.
* **Activity-dependent release**: substance P and CGRP from the peripheral
  terminal, in proportion to the neuron's firing rate (``firing_hz``).
* **Axons** (:mod:`neuroagents.axons`): in a model with compartments the somata
  sit in the DRG, the peripheral terminal in the paw or joint and the central
  terminal in the dorsal horn. Injured neurons ship CSF1 (Guan 2016), CCL2
  (Thacker 2009 Eur J Pain, U) and ATP release to their central terminals, and
  every spike releases SP and CGRP at both ends.
* **Regeneration** (crush, not transection): an injured neuron whose axon can
  regrow is intact again after ``regeneration_delay_min`` plus an exponential
  wait of mean ``1 / regeneration_per_min``; it stops its ectopic discharge
  and its injury release. After a sciatic crush in the mouse, axons regrow at
  about 1-3 mm/day and reinnervate the paw within 2-4 weeks, and mechanical
  hypersensitivity resolves with it (Savastano 2014 J Neurosci Methods
  227:166; Bridge 1994 J Neurosci Res 39:1, U); after transection with a
  ligated stump (SNI) they do not (rate 0, the default).
* **Injury programme**: after injury, the injured-neuron release ramps up as
  ``1 − exp(−t/τ)`` (de novo expression: CSF1 is induced in injured DRG
  neurons within a day, Guan 2016; ``τ = 0`` releases at once).

The seam for the pain model: :class:`IntrinsicActivity` sets ``firing_hz``
from injury alone (baseline plus ectopic firing). The pain module replaces it
with nociceptor sensitization and dorsal-horn processing; it reads the
neurons' columns and the fields and writes ``firing_hz`` and its readouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neuroagents.cells import motility
from neuroagents.cells.base import CellType
from neuroagents.params import param

__all__ = ["IntrinsicActivity", "Neuron", "NeuronParams"]


@dataclass(frozen=True)
class NeuronParams:
    cell_volume_um3: float = param(14137.0, "µm³", "assumption: 30 µm soma (small DRG neurons 20-30 µm)")
    terminal_distance_um: float = param(200.0, "µm", "assumption: where the peripheral terminal sits in the patch")
    baseline_hz: float = param(0.1, "Hz", "assumption: nociceptors are nearly silent at rest")
    ectopic_hz: float = param(2.0, "Hz", "assumption: ectopic discharge of injured afferents, order 1-10 Hz (U)")
    ccl2_injured_molecules_per_s: float = param(2.9, "molecules/cell/s", "assumption: macrophage-like rate (M)")
    csf1_injured_molecules_per_s: float = param(1.0, "molecules/cell/s", "assumption; calibrate")
    cx3cl1_injured_molecules_per_s: float = param(1.0, "molecules/cell/s", "assumption; calibrate")
    atp_injured_molecules_per_s: float = param(1000.0, "molecules/cell/s", "assumption; calibrate")
    mir21_injured_vesicles_per_s: float = param(0.05, "vesicles/cell/s", "assumption; Simeoli 2017 (direction, V)")
    sp_molecules_per_spike: float = param(100.0, "molecules/spike", "assumption; calibrate")
    cgrp_molecules_per_spike: float = param(100.0, "molecules/spike", "assumption; calibrate")
    injury_program_tau_min: float = param(0.0, "min", "assumption: 0 = at once; ~1 day for de novo CSF1 (Guan 2016)")
    regeneration_per_min: float = param(
        0.0, "1/min", "0 = never (transection with a ligated stump, SNI: Decosterd & Woolf 2000); a crush sets it "
        "(nerve_crush.toml)")
    regeneration_delay_min: float = param(
        0.0, "min", "assumption: the least time from injury to reinnervation (axon growth over the nerve's length)")
    central_release_fraction: float = param(
        1.0, "1", "assumption: central release per model neuron relative to its soma; > 1 when each model neuron "
        "stands for many afferents converging on the dorsal horn (Guan 2016, direction)"
    )


class Neuron(CellType):
    """Sensory neurons (see module docstring). They do not move."""

    kind = "neuron"
    states = ("intact", "injured")
    events = ("none", "born", "injured", "regenerated")
    Params = NeuronParams
    columns: ClassVar[dict] = {"firing_hz": np.float64, "excitability": np.float64, "terminal_voxel": np.int64,
                               "central_voxel": np.int64, "injured_min": np.float64}  # fmt: skip

    def seed_cells(self, n: int):
        m = self.model
        ids = self.add_cells(m.random_interstitial_positions(n), excitability=1.0, central_voxel=-1)
        xp = self.xp
        axons = m.axons
        if axons is not None and axons.periphery is not m:  # the terminal sits in another compartment
            self.pop["terminal_voxel"][-n:] = axons.periphery.random_interstitial_voxels(n)
        else:  # the peripheral terminal: a fixed offset in a random direction, kept inside the grid
            d = m.rng.standard_normal((n, m.grid.ndim))
            d = d / xp.maximum(xp.sqrt((d * d).sum(axis=1, keepdims=True)), 1e-12)
            term = self.pop.position_um[-n:] + d * self.params.terminal_distance_um
            hi = xp.asarray(m.grid.extent_um) - 1e-6
            term = xp.clip(term, 0.0, hi)
            self.pop["terminal_voxel"][-n:] = m.grid.voxel_of(term, xp)
        if axons is not None and axons.spinal is not None:
            self.pop["central_voxel"][-n:] = axons.spinal.random_interstitial_voxels(n)
        return ids

    def injure(self, fraction: float) -> None:
        """Injure a random ``fraction`` of the intact neurons."""
        if self.n == 0:
            return
        hit = (self.model.rng.random(self.n) < fraction) & (self.pop["state"] == 0)
        self.pop["state"] = self.xp.where(hit, 1, self.pop["state"])
        self.pop["injured_min"] = self.xp.where(hit, self.model.time_min, self.pop["injured_min"])
        self.mark(hit, "injured")

    def injury_program(self):
        """How far each neuron's injury response has come, in [0, 1] (0 for intact neurons), ``(n,)``."""
        injured = self.pop["state"] == 1
        tau = self.params.injury_program_tau_min
        if tau <= 0:
            return injured.astype(np.float64)
        since = self.xp.maximum(self.model.time_min - self.pop["injured_min"], 0.0)
        return injured * (1.0 - self.xp.exp(-since / tau))

    def decide(self, dt_min: float) -> None:
        """Age; injured neurons whose axons can regrow become intact again (no random draw when they cannot)."""
        super().decide(dt_min)
        p = self.params
        if p.regeneration_per_min <= 0.0 or self.n == 0:
            return
        pop = self.pop
        ready = (pop["state"] == 1) & (self.model.time_min - pop["injured_min"] >= p.regeneration_delay_min)
        heal = ready & motility.event_mask(self.model.rng, self.n, p.regeneration_per_min, dt_min, self.xp)
        pop["state"] = self.xp.where(heal, 0, pop["state"])
        self.mark(heal, "regenerated")

    def move(self, dt_min: float) -> None:
        """Neurons stay where they are."""

    def secrete(self) -> None:
        p = self.params
        injured = self.injury_program() * 60.0  # per s -> per min
        self.export("CCL2", injured * p.ccl2_injured_molecules_per_s)
        self.export("CSF1", injured * p.csf1_injured_molecules_per_s)
        self.export("CX3CL1", injured * p.cx3cl1_injured_molecules_per_s)
        self.export("ATP", injured * p.atp_injured_molecules_per_s)
        self.export("miR21", injured * p.mir21_injured_vesicles_per_s)
        spikes_per_min = self.pop["firing_hz"] * 60.0
        axons = self.model.axons
        terminal_env = axons.periphery.env if axons is not None else None
        self.export("SP", spikes_per_min * p.sp_molecules_per_spike, voxel=self.pop["terminal_voxel"], env=terminal_env)
        self.export("CGRP", spikes_per_min * p.cgrp_molecules_per_spike, voxel=self.pop["terminal_voxel"],
                    env=terminal_env)  # fmt: skip
        if axons is None or axons.spinal is None:
            return
        central, env = self.pop["central_voxel"], axons.spinal.env
        ship = injured * p.central_release_fraction
        self.export("CSF1", ship * p.csf1_injured_molecules_per_s, voxel=central, env=env)
        self.export("CCL2", ship * p.ccl2_injured_molecules_per_s, voxel=central, env=env)
        self.export("ATP", ship * p.atp_injured_molecules_per_s, voxel=central, env=env)
        self.export("SP", spikes_per_min * p.sp_molecules_per_spike, voxel=central, env=env)
        self.export("CGRP", spikes_per_min * p.cgrp_molecules_per_spike, voxel=central, env=env)


class IntrinsicActivity:
    """Default pain seam: firing from injury alone (no sensitization yet).

    ``firing_hz = excitability * (baseline_hz + injured * ectopic_hz)``.
    """

    def update(self, model, dt_min: float) -> None:
        neurons = model.cell_types["neuron"]
        if neurons.n == 0:
            return
        p = neurons.params
        pop = neurons.pop
        pop["firing_hz"] = pop["excitability"] * (p.baseline_hz + (pop["state"] == 1) * p.ectopic_hz)

    def readouts(self, model) -> dict[str, float]:
        """Mean firing of the neurons, Hz (what the pain model will extend)."""
        neurons = model.cell_types["neuron"]
        mean = float(neurons.pop["firing_hz"].mean()) if neurons.n else 0.0
        return {"neuron_mean_firing_hz": mean}
