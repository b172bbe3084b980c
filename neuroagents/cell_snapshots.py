"""Per-cell snapshots: every living cell's place, state and pathway activities, on the snapshot schedule.

A run writes them to ``cells.parquet`` (one row per cell per snapshot, long format), next to the time series
(totals) and the field snapshots (``fields.zarr``). Columns:

=================  ========  ===================================================================================
``time_min``       float64   simulated time of the snapshot, min
``compartment``    str       ``tissue`` for a single patch, else ``paw``, ``drg``, ``dorsal_horn``, ...
``type``           str       cell type (``macrophage``, ...; :data:`neuroagents.registry.CELL_TYPES`)
``id``             int64     the cell's id, unique within its type across compartments and over the run
``x_um``, ``y_um`` float64   position, µm (``z_um`` too in a 3D tissue)
``state``          str       the type's state (``M1``, ``reactive``, ``injured``, ...)
``STAT1`` ...      float64   pathway activities, 0..1 (``STAT1``, ``STAT3``, ``STAT5``, ``STAT6``, ``NFKB``,
                             ``P38``: :data:`neuroagents.registry.DRUG_TARGETS` ``["pathway"]``)
=================  ========  ===================================================================================

Read it with ``pandas.read_parquet("runs/x/cells.parquet")``; e.g. the microglia of the dorsal horn on day 7:
``df.query("type == 'microglia' and compartment == 'dorsal_horn' and time_min == 10080")``.

Examples
--------
>>> from neuroagents.model import NeuroImmuneModel
>>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=3, n_neurons=1)
>>> t = cell_table(m)
>>> t.groupby("type").size().to_dict()
{'macrophage': 3, 'mast_cell': 2, 'neuron': 1}
>>> list(t.columns[:8])
['time_min', 'compartment', 'type', 'id', 'x_um', 'y_um', 'state', 'STAT1']
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from neuroagents.recording import SnapshotSchedule
from neuroagents.registry import DRUG_TARGETS

__all__ = ["CELLS_FILE", "CellSnapshots", "cell_table"]

CELLS_FILE = "cells.parquet"
PATHWAYS = DRUG_TARGETS["pathway"]
_AXES = ("x_um", "y_um", "z_um")


def cell_table(model) -> pd.DataFrame:
    """Every living cell of ``model`` now, one row each (columns in the module docstring)."""
    ndim = next(iter(model.compartments.values())).grid.ndim
    host = model.backend.to_host
    parts = []
    for comp_name, comp in model.compartments.items():  # over compartments
        for kind, ct in comp.cell_types.items():  # over cell types: one gather of each column
            if ct.n == 0:
                continue
            pos = host(ct.pop.position_um)
            states = np.asarray(ct.states, dtype=object)[host(ct.pop["state"]).astype(np.int64)]
            part = {"time_min": np.full(ct.n, float(model.time_min)), "compartment": comp_name, "type": kind,
                    "id": host(ct.pop.ids).astype(np.int64)}  # fmt: skip
            part.update({_AXES[a]: pos[:, a].astype(np.float64) for a in range(ndim)})
            part["state"] = states
            part.update({p: host(ct.pop[p]).astype(np.float64) for p in PATHWAYS})
            parts.append(pd.DataFrame(part))
    if not parts:
        return _empty(ndim)
    return pd.concat(parts, ignore_index=True)


def _empty(ndim: int) -> pd.DataFrame:
    cols = {"time_min": "float64", "compartment": "object", "type": "object", "id": "int64",
            **dict.fromkeys(_AXES[:ndim], "float64"), "state": "object", **dict.fromkeys(PATHWAYS, "float64")}
    return pd.DataFrame({k: pd.Series(dtype=v) for k, v in cols.items()})


@dataclass
class CellSnapshots:
    """Per-cell snapshots of a run on a schedule (at t = 0, every ``every_min``, at the end): an observer.

    The rows stay in memory (a few MB for a month of a tissue sample) and travel with the run's checkpoint, so
    a resumed run's ``cells.parquet`` equals an uninterrupted one's.

    Examples
    --------
    >>> from neuroagents.model import NeuroImmuneModel
    >>> m = NeuroImmuneModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=3, n_neurons=1)
    >>> cells = CellSnapshots(SnapshotSchedule(2.0))
    >>> cells.start(m)
    >>> for _ in range(3):
    ...     m.step(); cells.after_step(m)
    >>> cells.finish(m)
    >>> sorted(set(cells.table()["time_min"]))
    [0.0, 2.0, 3.0]
    """

    schedule: SnapshotSchedule
    frames: list = field(default_factory=list)

    def start(self, model) -> None:
        """Take the first snapshot, if due (t = 0 of a new run; nothing at a resumed run's checkpoint)."""
        self.after_step(model)

    def after_step(self, model) -> None:
        """Take a snapshot if one is due."""
        if self.schedule.due(model.time_min):
            self.write(model)

    def finish(self, model, outcome: str = "completed") -> None:
        """The final state of a completed run, unless already taken."""
        if outcome == "completed" and self.schedule.last_min != model.time_min:
            self.write(model)

    def write(self, model) -> None:
        """Take a snapshot now."""
        self.frames.append(cell_table(model))
        self.schedule.taken(model.time_min)

    def table(self) -> pd.DataFrame:
        """Every snapshot so far, in time order."""
        frames = [f for f in self.frames if len(f)]
        if not frames:
            return self.frames[0] if self.frames else _empty(2)
        return pd.concat(frames, ignore_index=True)

    def state(self) -> dict:
        """Plain data for a checkpoint (columns as NumPy arrays, text as fixed-width unicode: no pandas objects)."""
        s = self.schedule
        frames = [{c: (f[c].to_numpy().astype(str) if f[c].dtype == object else f[c].to_numpy()) for c in f.columns}
                  for f in self.frames]  # fmt: skip
        return {"every_min": s.every_min, "next_min": s.next_min, "count": s.count, "last_min": s.last_min,
                "frames": frames}  # fmt: skip

    @classmethod
    def from_state(cls, state: dict) -> CellSnapshots:
        sched = SnapshotSchedule(state["every_min"], state["next_min"], state["count"], state["last_min"])
        frames = [pd.DataFrame({c: (a.astype(object) if a.dtype.kind == "U" else a) for c, a in f.items()})
                  for f in state["frames"]]  # fmt: skip
        return cls(sched, frames)
