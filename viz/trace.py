"""The readouts the page shows, taken at every frame, whatever the scenario's recording interval.

A scenario records every ``record_every_min`` (12 h for ``sni``): plotting only those records, a chart gains a
point every few seconds of play and a drug given now shows nothing until the next one. :class:`LiveTrace` asks
the model's public readouts at each frame instead (the pain readouts through ``model.pain.readouts(model)``,
about 1-2 ms; a census of each compartment), for display and export. It does not touch the model's own
records (``model.timeseries()``), which stay what a headless run writes.

Columns: ``time_min``, every pain readout (``pain_evoked_hz``, ``withdrawal_threshold_interp_g``, ...), and
cell counts ``n_<type>_<state>`` (all compartments) plus ``n_<type>_<state>_<compartment>`` when the model has
several compartments.

Examples
--------
>>> from viz.live import LiveModel
>>> m = LiveModel(seed=1, width_um=200, height_um=200, n_mast_cells=2, n_macrophages=4, n_neurons=2)
>>> tr = LiveTrace()
>>> _ = tr.take(m); m.step(); _ = tr.take(m); _ = tr.take(m)  # the same time twice: kept once
>>> len(tr), tr.last["time_min"], tr.last["n_macrophage_M0"]
(2, 1.0, 4)
>>> "pain_evoked_hz" in tr.frame().columns, tr.arrays(max_points=1)["time_min"].tolist()
(True, [0.0, 1.0])
"""

from __future__ import annotations

import numpy as np

__all__ = ["LiveTrace", "compartment_counts"]


def compartment_counts(model) -> dict[str, float]:
    """Cells per type and state, ``n_<type>_<state>`` over all compartments and, with several compartments,
    ``n_<type>_<state>_<compartment>`` for each."""
    out: dict[str, float] = {}
    comps = getattr(model, "compartments", None) or {}
    several = len(comps) > 1
    for name, comp in comps.items():  # over a few compartments
        for kind, ct in comp.cell_types.items():  # over cell types
            for state, n in ct.census().items():  # over a few states
                out[f"n_{kind}_{state}"] = out.get(f"n_{kind}_{state}", 0) + n
                if several:
                    out[f"n_{kind}_{state}_{name}"] = n
    return out


class LiveTrace:
    """Readouts at every frame: growing columns, thinned (every other old row dropped) past ``max_rows``.

    Parameters
    ----------
    max_rows : int
        Rows kept; past it, the older half is thinned to every other row, so a long run keeps its whole course.
    """

    def __init__(self, max_rows: int = 20_000):
        self.max_rows = int(max_rows)
        self.columns: dict[str, list[float]] = {}
        self.last: dict[str, float] = {}
        """The latest row (``{}`` before the first)."""

    def __len__(self) -> int:
        return len(self.columns.get("time_min", ()))

    def take(self, model) -> dict[str, float]:
        """Read the model now (hold its lock) and append a row, unless this time is already the last row."""
        t = float(model.time_min)
        if self.last and self.last["time_min"] == t:
            return self.last
        row = {"time_min": t, **model.pain.readouts(model), **compartment_counts(model)}
        n = len(self)
        for key, value in row.items():  # over a few dozen readouts
            self.columns.setdefault(key, [np.nan] * n).append(float(value))
        for col in self.columns.values():  # a readout that is gone (rare): NaN
            if len(col) == n:
                col.append(np.nan)
        self.last = row
        if n + 1 > self.max_rows:
            half = (n + 1) // 2
            for key, col in self.columns.items():  # over columns
                self.columns[key] = col[:half:2] + col[half:]
        return row

    def arrays(self, max_points: int | None = None) -> dict[str, np.ndarray]:
        """The columns as float arrays, thinned evenly to about ``max_points`` rows (always keeping the last)."""
        n = len(self)
        if max_points is None or n <= max_points:
            return {k: np.asarray(v, dtype=float) for k, v in self.columns.items()}
        idx = np.unique(np.r_[np.linspace(0, n - 1, max_points).astype(np.int64), n - 1])
        return {k: np.asarray([v[i] for i in idx.tolist()], dtype=float) for k, v in self.columns.items()}

    def frame(self):
        """The trace as a pandas DataFrame, one row per frame."""
        import pandas as pd

        return pd.DataFrame(self.arrays())
