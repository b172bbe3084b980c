"""What a model reports: its time series (one row per record), censuses, mean fields and one cell's record.

:class:`ModelReadouts` is a part of :class:`~neuroagents.model.NeuroImmuneModel` (a mixin). The time series is a
Mesa ``DataCollector`` whose reporters read the model's last :meth:`~ModelReadouts.snapshot` (one census and
one reduction per compartment per record, whatever the number of columns).
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from neuroagents.errors import ConfigError
from neuroagents.registry import CELL_TYPES

__all__ = ["ModelReadouts"]


def _reported(model, key: str) -> float:
    """A DataCollector reporter: one key of the model's last snapshot (a module-level function, so it pickles)."""
    return model._snapshot.get(key, float("nan"))


class ModelReadouts:
    """Recording and readouts of a :class:`~neuroagents.model.NeuroImmuneModel` (see module)."""

    def _record(self):
        for comp in self.compartments.values():  # over compartments: errors a device step could not raise
            comp.env.check_pending()
        self.events.flush()  # the step's events, deferred on the device (cells/events.py), cross here
        self._snapshot = self.snapshot()
        self.datacollector.collect(self)
        self._last_record_min = self.time_min
        self._next_record_min += self.record_every_min

    def record(self) -> None:
        """Record now, off schedule, unless this time is already recorded (e.g. at the end of a run)."""
        if getattr(self, "_last_record_min", None) != self.time_min:
            self._snapshot = self.snapshot()
            self.datacollector.collect(self)
            self._last_record_min = self.time_min

    def _trace_pain(self) -> None:
        """Append this step's row to the pain trace (after the pain update; see :mod:`neuroagents.pain.trace`).

        The thresholds are computed every ``trace_threshold_every_steps`` steps and at every step that records, so
        the trace and the time series can be compared at each record. A pain seam other than
        :class:`~neuroagents.pain.PainModel` (no dorsal-horn circuit) leaves the trace empty.
        """
        signals = getattr(self.pain, "trace_signals", None)
        if signals is None:  # a pain seam without the circuit (e.g. IntrinsicActivity, bench/cells.py): no trace
            return
        self._append_trace(signals(self, threshold=self._trace_threshold_now()))

    def _trace_threshold_now(self) -> bool:
        """Whether this step's trace row has the withdrawal thresholds (every ``trace_threshold_every_steps`` steps
        and every step that records)."""
        step = self._pain_trace.n + 1
        records = self.time_min + 1e-9 >= self._next_record_min  # as the record phase decides, next
        return records or step % int(self.pain.params.trace_threshold_every_steps) == 0

    def _append_trace(self, row: dict) -> None:
        """Append this step's row of signals (:func:`neuroagents.pain.trace.trace_signals`) to the trace."""
        buf = self._pain_trace
        buf.append((buf.n + 1, self.time_min, *(row[c] for c in buf.columns[2:])))

    def pain_trace(self) -> pd.DataFrame:
        """The pain trace: one row per cell step (``step``, ``time_min``, cheap pain signals; units in
        :data:`neuroagents.pain.trace.TRACE_COLUMNS` and ``docs/pain.md``)."""
        buf = self._pain_trace
        table = pd.DataFrame(buf.array().copy(), columns=list(buf.columns))
        table["step"] = table["step"].astype("int64")
        return table

    def counts(self) -> dict[str, dict[str, int]]:
        """Cells per type and state, over all compartments."""
        total: dict[str, dict[str, int]] = {}
        for comp in self.compartments.values():
            for kind, ct in comp.cell_types.items():
                census = ct.census()
                acc = total.setdefault(kind, dict.fromkeys(census, 0))
                for state, n in census.items():
                    acc[state] += n
        return total

    def mean_by_compartment(self) -> dict[str, np.ndarray]:
        """Mean concentration of each mediator (nM), ``{place: (M,)}``.

        One tissue patch: by region (``interstitium``, ``vessel``). Several compartments: the interstitium of
        each, by compartment name.
        """
        if len(self.compartments) == 1:
            return next(iter(self.compartments.values())).mean_by_region()
        return {name: comp.mean_by_region()["interstitium"] for name, comp in self.compartments.items()}

    def snapshot(self) -> dict:
        """Every recorded quantity now, as plain numbers (one census, one reduction per compartment)."""
        snap = {"time_min": self.time_min}
        for kind, counts in self.counts().items():
            for state, n in counts.items():
                snap[f"n_{kind}_{state}"] = n
        if len(self.compartments) > 1:
            for name, comp in self.compartments.items():
                for kind, ct in comp.cell_types.items():
                    for state, n in ct.census().items():
                        snap[f"n_{kind}_{state}_{name}"] = n
        means = self.mean_by_compartment()
        for comp, values in means.items():
            for i, name in enumerate(self.env.names):
                snap[f"mean_{name}_nM_{comp}"] = float(values[i])
        for name, comp in self.compartments.items():  # over compartments: leaked fluid and infiltrate
            snap[f"swelling_pct_{name}"] = comp.swelling.percent()
        snap.update(self.pain.readouts(self))
        return snap

    def _reporters(self) -> dict:
        return {k: partial(_reported, key=k) for k in self.snapshot()}

    def timeseries(self) -> pd.DataFrame:
        """One tidy row per recorded time (minutes), from the DataCollector."""
        return self.datacollector.get_model_vars_dataframe().reset_index(drop=True)

    def inspect(self, kind: str, cell_id: int, compartment: str | None = None) -> dict:
        """A readable record of one cell (see :meth:`CellType.inspect`), found in any compartment unless named."""
        if kind not in CELL_TYPES:
            raise ConfigError("kind", kind, f"one of {sorted(CELL_TYPES)}")
        if compartment is not None and compartment not in self.compartments:
            raise ConfigError("compartment", compartment, f"one of {sorted(self.compartments)}")
        names = [compartment] if compartment else list(self.compartments)
        for name in names:  # over compartments
            try:
                rec = self.compartments[name].cell_types[kind].inspect(cell_id)
            except ConfigError:
                continue
            rec["compartment"] = name
            return rec
        raise ConfigError("cell_id", cell_id, f"the id of a living {kind} (in {names})")
