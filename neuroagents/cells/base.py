"""What every cell type shares: a population, its receptors, and the phase methods.

A cell type is a class with class-level declarations (``kind``, ``states``,
``events``, ``Params``, ``receptors``, ``columns``) and vectorized phase
methods that the model calls in order (:data:`neuroagents.model.PHASES`):

``sense(dt)``   gather the mediators at each cell's voxel; pathway activity.
``decide(dt)``  state changes (polarization, degranulation, division, death).
``secrete()``   scatter release and uptake into the microenvironment.
``move(dt)``    random walk, chemotaxis, recruitment, egress.

Each method works on whole columns; none loops over cells.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from neuroagents.backend import fixed_bincount
from neuroagents.cells import motility
from neuroagents.cells.population import Population
from neuroagents.cells.signaling import PATHWAYS, SignalingNetwork
from neuroagents.params import build_params, param
from neuroagents.tissue.exchange import add_export, add_uptake

__all__ = ["CellType", "MotileParams"]


@dataclass(frozen=True)
class MotileParams:
    """Movement and turnover shared by motile types (override per type)."""

    speed_um_per_min: float = param(4.0, "µm/min", "PhysiCell macrophage (M)")
    persistence_min: float = param(5.0, "min", "PhysiCell macrophage (M)", low=1e-6)
    chemotaxis_bias: float = param(0.0, "1", "assumption", high=1.0)
    death_per_min: float = param(0.0, "1/min", "assumption")
    cell_volume_um3: float = param(2494.0, "µm³", "PhysiCell default cell volume (M)", low=1.0)


class CellType:
    """Base of the five kinds. Subclasses fill in the class attributes and rules.

    Parameters
    ----------
    model : CellHost
        The compartment the cells live in (:class:`~neuroagents.cells.host.CellHost`: ``env``, ``grid``,
        ``xp``, ``rng``, ``time_min``, ``inhibition``, ``allowed``, ...); a cell type uses no other name of it.
    params : Mapping, optional
        Overrides of :attr:`Params` fields, validated.
    """

    kind: ClassVar[str] = "cell"
    states: ClassVar[tuple[str, ...]] = ("default",)
    events: ClassVar[tuple[str, ...]] = ("none", "born")
    Params: ClassVar[type] = MotileParams
    receptors: ClassVar[tuple[str, ...]] = ()
    columns: ClassVar[dict] = {}
    chemoattractant: ClassVar[str | None] = None

    def __init__(self, model, params=None):
        self.model = model
        self.xp = model.xp
        self.params = build_params(self.Params, params, f"cells.{self.kind}")
        ndim = model.grid.ndim
        cols = {
            "state": np.int8,
            "voxel": np.int64,
            "direction": (np.float64, (ndim,)),
            "age_min": np.float64,
            "last_event": np.int8,
            "last_event_min": np.float64,
            **{p: np.float64 for p in PATHWAYS},
            **self.columns,
        }
        self.pop = Population(self.kind, ndim, cols, xp=self.xp)
        self.signaling = SignalingNetwork(self.receptors, xp=self.xp) if self.receptors else None
        self._event_counts = dict.fromkeys(self.events, 0)
        self.seeded = 0  # cells placed at the start (the model counts them; a reference for density limits)
        self.fused = None  # fused kernels of some phases (neuroagents.cells.kernels), set by the model

    # --- helpers -------------------------------------------------------------------------
    @property
    def n(self) -> int:
        return self.pop.n

    def state_code(self, name: str) -> int:
        return self.states.index(name)

    @property
    def event_counts(self) -> dict[str, int]:
        """How many cells each event has happened to so far (reading it sorts the model's deferred events in)."""
        self.model.events.flush()
        return self._event_counts

    def count_event(self, event: str, k: int) -> None:
        """Add ``k`` (a host number: births, deaths, transfers) to the count of ``event``."""
        self._event_counts[event] = self._event_counts.get(event, 0) + k

    def mark(self, mask, event: str) -> None:
        """Record ``event`` for the cells in ``mask``: latest-event columns, counts and the model's log.

        Nothing is asked of the device: the columns are set where ``mask`` holds (no-ops where it holds nowhere)
        and the count and ids go to the log deferred (:meth:`~neuroagents.cells.events.EventLog.defer`), sorted
        in when the model records or the log is read.
        """
        self.pop["last_event"] = self.xp.where(mask, self.events.index(event), self.pop["last_event"])
        self.pop["last_event_min"] = self.xp.where(mask, self.model.time_min, self.pop["last_event_min"])
        self.model.events.defer(self.model.time_min, self.kind, event, self.pop.ids, mask, self._event_counts)

    def add_cells(self, positions_um, state: str | None = None, **values):
        """Place new cells at ``positions_um`` (shape (k, ndim)); returns their ids (none for a knocked-out type)."""
        xp = self.xp
        if self.kind in self.model.knockouts.cell_types:
            return xp.zeros(0, dtype=xp.int64)
        positions_um = xp.asarray(positions_um, dtype=xp.float64)
        k = positions_um.shape[0]
        direction = motility.random_unit_vectors(self.model.rng, k, self.model.grid.ndim, xp)
        ids = self.pop.add(
            k,
            position_um=positions_um,
            voxel=self.model.grid.voxel_of(positions_um, xp),
            direction=direction,
            state=self.state_code(state or self.states[0]),
            last_event=self.events.index("born"),
            last_event_min=self.model.time_min,
            **values,
        )
        self.count_event("born", k)
        return ids

    def seed_cells(self, n: int):
        """Place ``n`` cells uniformly in the interstitium, in the first state."""
        return self.add_cells(self.model.random_interstitial_positions(n))

    def export(self, mediator: str, molecules_per_min, voxel=None, env=None) -> None:
        """Release ``molecules_per_min`` (per cell, or a scalar for all) into each cell's voxel.

        ``voxel`` and ``env`` re-point the release, e.g. to a neuron's terminal in another compartment.
        """
        env = self.model.env if env is None else env
        if mediator not in env.names or self.n == 0 or mediator in self.model.knockouts.mediators:
            return
        add_export(env, mediator, self.pop["voxel"] if voxel is None else voxel, molecules_per_min)

    def uptake(self, mediator: str, rate_per_min) -> None:
        """Take up ``rate_per_min`` × concentration from each cell's voxel (volume-weighted)."""
        if mediator not in self.model.env.names or self.n == 0:
            return
        add_uptake(self.model.env, mediator, self.pop["voxel"], rate_per_min, self.params.cell_volume_um3)

    def local_mean(self, names, radius_voxels: int):
        """Mean concentration over the cell's voxel and its axis neighbours up to ``radius_voxels`` away.

        A stand-in for processes that sample a neighbourhood (microglia): ``2 ndim r + 1`` points per cell.
        """
        grid = self.model.grid
        xp = self.xp
        vox = self.pop["voxel"]
        env = self.model.env
        names = [m for m in names if m in env.names]
        flat = env.fields.reshape(len(env.names), -1)
        neighbours = [vox]
        stride = 1
        for a in reversed(range(grid.ndim)):  # over axes
            coord = (vox // stride) % grid.shape[a]
            for d in range(1, radius_voxels + 1):  # over offsets
                for sign in (-1, 1):
                    c = xp.clip(coord + sign * d, 0, grid.shape[a] - 1)
                    neighbours.append(vox + (c - coord) * stride)
            stride *= grid.shape[a]
        out = {}
        for m in names:  # over mediators
            row = flat[env.index(m)]
            total = row[neighbours[0]].astype(xp.float64)
            for idx in neighbours[1:]:
                total += row[idx]
            out[m] = total * (self.model.free_fraction(m) / len(neighbours))
        return out

    def local(self, names=None):
        """Concentrations (nM) at each cell's voxel, ``{mediator: ndarray (n,)}`` (one gather per mediator)."""
        env = self.model.env
        names = [m for m in (names or env.names) if m in env.names]
        flat = env.fields.reshape(len(env.names), -1)
        vox = self.pop["voxel"]
        free = self.model.free_fraction
        return {m: flat[env.index(m)][vox] * free(m) if free(m) < 1.0 else flat[env.index(m)][vox] for m in names}

    def activity(self, pathway: str):
        return self.pop[pathway]

    # --- phases ---------------------------------------------------------------------------
    def sensed(self) -> dict:
        """Ligand concentrations each cell senses, ``{ligand: ndarray (n,)}``, nM: its own voxel's by default."""
        return self.local(self.signaling.ligands)

    def receptor_inhibition(self) -> Mapping:
        """Fractional inhibition of kinases, pathways and receptors these cells see: each a scalar, or an
        ``ndarray (n,)`` where it differs from cell to cell (the compartment's drug and knockout table by
        default)."""
        return self.model.inhibition

    def sense(self, dt_min: float) -> dict | None:
        """Pathway activity relaxes toward what the sensed ligands and the inhibition drive.

        Returns
        -------
        dict or None
            What :meth:`sensed` gave (for a subclass that reads it further); None without cells or receptors, or
            where a fused kernel (:mod:`neuroagents.cells.kernels`) did the work.
        """
        if self.signaling is None or self.n == 0:
            return None
        if self.fused is not None and self.fused.sense is not None and self.fused.sense(self, dt_min):
            return None  # the fused kernel did it (neuroagents.cells.kernels)
        conc = self.sensed()
        target = self.signaling.target_activity(conc, self.n, self.receptor_inhibition())
        current = {p: self.pop[p] for p in PATHWAYS}
        new = self.signaling.relax(current, target, dt_min)
        for p in PATHWAYS:
            self.pop[p] = new[p]
        return conc

    def decide(self, dt_min: float) -> None:
        """State changes; the base type ages its cells and nothing else."""
        self.pop["age_min"] += dt_min

    def secrete(self) -> None:
        """Release and uptake; none by default."""

    def move(self, dt_min: float) -> None:
        """Persistent random walk with chemotaxis, refused moves, turnover."""
        p = self.params
        if self.n and getattr(p, "speed_um_per_min", 0.0) > 0:
            self.walk(dt_min, p.speed_um_per_min)
        if self.n and getattr(p, "death_per_min", 0.0) > 0:
            gone = motility.event_mask(self.model.rng, self.n, p.death_per_min, dt_min, self.xp)
            self.count_event("died", self.pop.remove(gone))  # remove counts them (the deaths' one sync)

    def walk(self, dt_min: float, speed) -> None:
        """Turn, step, and refuse moves off the grid, out of compartment, or into a full voxel."""
        if self.n == 0:
            return  # nothing to draw for, and no stream key taken (the fused walk takes none either)
        if self.fused is not None and self.fused.walk is not None and self.fused.walk(self, dt_min, speed):
            return  # the fused kernel did it (neuroagents.cells.kernels)
        m = self.model
        pop = self.pop
        gradient = None
        if self.chemoattractant is not None and self.chemoattractant in m.env.names:
            gradient = motility.gradient_at(m.env.field(self.chemoattractant), m.grid, pop["voxel"], self.xp)
        pop["direction"] = motility.turn(
            pop["direction"], m.rng, dt_min, self.params.persistence_min, self.params.chemotaxis_bias, gradient, self.xp
        )
        new_pos, moved = motility.step_positions(
            pop.position_um, pop["direction"], speed, dt_min, m.grid, m.allowed, self.xp
        )
        new_vox = m.grid.voxel_of(new_pos, self.xp)
        changes_voxel = moved & (new_vox != pop["voxel"])
        stand = motility.enforce_crowding(
            pop["voxel"],
            new_vox,
            changes_voxel,
            m.crowding_limit,
            m.grid.n_voxels,
            m.rng,
            self.xp,
            background=m.occupancy_except(self),
            **({} if self.xp is np else {"key": m.stream_key(), "ids": pop["id"]}),  # the device's priorities
        )
        keep = stand | (moved & ~changes_voxel)
        pop["position_um"] = self.xp.where(keep[:, None], new_pos, pop.position_um)
        pop["voxel"] = self.xp.where(keep, new_vox, pop["voxel"])

    # --- readouts ---------------------------------------------------------------------------
    def census(self) -> dict[str, int]:
        """Number of cells in each state."""
        counts = fixed_bincount(self.xp, self.pop["state"].astype(self.xp.int64), len(self.states))
        counts = counts.get() if hasattr(counts, "get") else counts
        return {s: int(counts[i]) for i, s in enumerate(self.states)}

    def inspect(self, cell_id: int) -> dict:
        """A readable record of one cell: type, state, position, local mediators, latest event."""
        rec = self.pop.record(cell_id)
        row = self.pop.row_of(cell_id)
        env = self.model.env
        vox = int(rec["voxel"])
        local = {name: float(env.fields.reshape(len(env.names), -1)[i, vox]) for i, name in enumerate(env.names)}
        return {
            "kind": self.kind,
            "id": int(cell_id),
            "state": self.states[int(rec["state"])],
            "position_um": rec["position_um"],
            "age_min": rec["age_min"],
            "latest_event": self.events[int(rec["last_event"])],
            "latest_event_at_min": rec["last_event_min"],
            "recent_events": self.model.events.for_cell(self.kind, cell_id),
            "pathways": {p: rec[p] for p in PATHWAYS if self.signaling is not None},
            "local_nM": local,
            "columns": {k: v for k, v in rec.items() if k in self.columns},
            "row": row,
        }


def hill(x, k, n=1.0, xp=np):
    """``x^n / (x^n + k^n)`` for x >= 0 (0 at x = 0)."""
    x = xp.maximum(x, 0.0)
    xn = x**n
    return xn / (xn + k**n)


MOLECULES_PER_S_TO_PER_MIN = 60.0
LN2 = math.log(2.0)
