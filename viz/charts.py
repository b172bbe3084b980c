"""The readouts panel: pain signal, withdrawal threshold, cell counts and the spinal state, at every frame.

The charts draw the session's :class:`~viz.trace.LiveTrace` (a point per frame, so a drug given now shows at the
next frame whatever the scenario's recording interval), against time in days, with a dashed vertical marker for
every intervention and, dashed, a reference run kept earlier. Cell counts are those of the compartment on the
map, or the total over all compartments, labelled as such. The table can be downloaded (CSV or Parquet), with
the model's own records beside it.

Examples
--------
>>> t = {"time_min": [0.0, 1440.0], "n_macrophage_M0": [5, 3], "n_macrophage_M1": [0, 2],
...      "n_macrophage_M0_drg": [2, 1], "n_macrophage_M1_drg": [0, 1]}
>>> [(s.name, s.y.tolist()) for s in count_series(t, "macrophage", "drg")]
[('macrophage M0', [2.0, 1.0]), ('macrophage M1', [0.0, 1.0])]
>>> [(s.name, s.y.tolist()) for s in count_series(t, "all types", None, kinds=["macrophage", "neuron"])]
[('macrophage', [5.0, 5.0])]
"""

from __future__ import annotations

import io
import time
from collections import deque

import numpy as np
import solara

from viz.frames import LiveHTML
from viz.plots import PALETTE, Marker, Series, line_chart

__all__ = ["CHARTS", "MARKER_COLOURS", "ChartGrid", "Plots", "chart_svgs", "count_series", "markers", "readout_series"]

MARKER_COLOURS = {"drug": "#1565c0", "deplete": "#6a1b9a", "knockout": "#c62828", "injury": "#000000",
                  "transfer": "#2e7d32"}
CHARTS = (
    ("pain", "Pain signal (dorsal-horn output)", "spikes/s",
     (("pain_evoked_hz", "evoked (mean over the von Frey series)"), ("pain_ongoing_hz", "ongoing"))),
    ("threshold", "Withdrawal threshold (von Frey)", "g",
     (("withdrawal_threshold_interp_g", "threshold (interpolated)"), ("withdrawal_threshold_g", "filament"))),
    ("spinal", "Spinal cord (central sensitization)", "1",
     (("spinal_disinhibition", "disinhibition"), ("spinal_nmda_gain", "NMDA gain"), ("windup_ratio", "wind-up ratio"))),
)  # fmt: skip
"""The time-series charts: id, title, unit, and (column, label) pairs."""
MAX_POINTS = 600
"""Most points drawn per line (a long trace is thinned evenly, keeping the last point)."""
DAY_MIN = 1440.0


def markers(model) -> list[Marker]:
    """A marker (x in days) for each event the scenario schedules and each action taken on this run."""
    events = [*getattr(model, "scenario_events", []), *getattr(model, "actions", [])]
    return [Marker(a.time_min / DAY_MIN, a.label, MARKER_COLOURS.get(a.kind, "#444")) for a in events]


def _col(table, key) -> np.ndarray:
    return np.asarray(table[key], dtype=float)


def readout_series(table, columns, dash: bool = False) -> list[Series]:
    """One line per (column, label) the table (a mapping of columns) has, x in days."""
    t = _col(table, "time_min") / DAY_MIN
    return [Series(label, t, _col(table, col), PALETTE[i], dash, step=col == "withdrawal_threshold_g")
            for i, (col, label) in enumerate(columns) if col in table]  # fmt: skip


def count_series(table, counts: str, compartment: str | None, *, kinds=(), dash: bool = False) -> list[Series]:
    """Cell counts: of one type by state, or of each of ``kinds`` (``counts="all types"``), x in days.

    ``compartment`` names the compartment whose columns (``n_<type>_<state>_<compartment>``) are read; None reads
    the totals over all compartments (``n_<type>_<state>``).
    """
    t = _col(table, "time_min") / DAY_MIN
    suffix = f"_{compartment}" if compartment else ""
    cols = [c for c in table.keys() if c.startswith("n_")]

    def own(kind):  # the state columns of one type, in this compartment (or the totals)
        pre = f"n_{kind}_"
        out = []
        for c in cols:  # over a few dozen count columns
            if not c.startswith(pre) or not c.endswith(suffix):
                continue
            state = c[len(pre) : len(c) - len(suffix)] if suffix else c[len(pre) :]
            if state and "_" not in state:
                out.append((state, c))
        return out

    series = []
    if counts == "all types":
        for i, k in enumerate(k for k in kinds if own(k)):  # over cell types
            total = np.sum([_col(table, c) for _, c in own(k)], axis=0)
            series.append(Series(k, t, total, PALETTE[i % len(PALETTE)], dash))
    else:
        for i, (state, c) in enumerate(own(counts)):  # over states
            series.append(Series(f"{counts} {state}", t, _col(table, c), PALETTE[i % len(PALETTE)], dash))
    return series


def _export(model, fmt: str) -> bytes:
    with model.lock:
        table = model.trace.frame()
    buf = io.BytesIO()
    if fmt == "parquet":
        table.to_parquet(buf, index=False)
    else:
        table.to_csv(buf, index=False)
    return buf.getvalue()


def _recorded(model) -> bytes:
    with model.lock:
        table = model.timeseries()
    return table.to_csv(index=False).encode("utf-8")


def chart_svgs(model, where: str | None, several: bool, counts: str, reference) -> dict[str, str]:
    """The four charts as SVG strings, by id (``pain``, ``threshold``, ``counts``, ``spinal``)."""
    with model.lock:
        table = model.trace.arrays(MAX_POINTS)
        marks = markers(model)
        kinds = list(model.cell_types)
    rtable = reference["arrays"] if reference is not None else None
    svgs = {}
    for cid, title, unit, columns in CHARTS:  # over three charts
        series = readout_series(table, columns)
        if rtable is not None:
            series += readout_series(rtable, columns, dash=True)
        svgs[cid] = line_chart(series, title=title, y_label=unit, markers=marks, chart_id=cid)
    cseries = count_series(table, counts, where, kinds=kinds)
    if rtable is not None:
        cseries += count_series(rtable, counts, where, kinds=kinds, dash=True)
    place = f"in {where}" if where else ("all compartments (total)" if several else "")
    svgs["counts"] = line_chart(cseries, title=f"Cells: {counts.replace('_', ' ')} {place}".strip(),
                                y_label="cells", markers=marks, chart_id="counts")  # fmt: skip
    return svgs


@solara.component
def ChartGrid(model, sinks, where: str | None, several: bool, counts: str, reference, player, draw_ms: deque):
    """The four charts; each frame is pushed to them directly (:mod:`viz.frames`), not re-rendered."""
    last: dict = {}

    def compute(seq):
        if last.get("seq") != seq:
            t0 = time.perf_counter()
            last.update(seq=seq, svgs=chart_svgs(model, where, several, counts, reference))
            draw_ms.append(1e3 * (time.perf_counter() - t0))
        return last["svgs"]

    with solara.Div(style={"display": "grid", "grid-template-columns": "repeat(auto-fit, minmax(230px, 1fr))",
                           "gap": "4px 8px"}):  # fmt: skip
        for cid in ("pain", "threshold", "counts", "spinal"):  # four charts
            LiveHTML(sinks, f"chart-{cid}", lambda seq, cid=cid: compute(seq)[cid], player.seq, (f"na-plot-{cid}",))


@solara.component
def Plots(model, sinks, player, compartment: str | None, counts: solara.Reactive, total: solara.Reactive,
          reference: solara.Reactive, draw_ms: deque):  # fmt: skip
    """Pain signal, withdrawal threshold, cell counts and the spinal state over time, with intervention markers."""
    kinds = list(model.cell_types)
    several = len(getattr(model, "compartments", {}) or {}) > 1
    where = compartment if several and not total.value else None
    ref = reference.value
    with solara.Card(margin=0, classes=["na-plots"], style={"flex": "1.5 1 440px", "min-width": "0", "padding": "6px"}):
        with solara.Row(gap="8px", style={"align-items": "center", "flex-wrap": "wrap"}):
            solara.Select("Cell counts of", dense=True, value=counts.value, values=["all types", *kinds],
                          on_value=counts.set, style={"max-width": "170px"})  # fmt: skip
            if several:
                solara.Checkbox(label="all compartments (total)", value=total)
            if ref is not None:
                solara.Text(f"dashed: reference run ({ref['label']})", style={"font-size": "13px"},
                            classes=["na-reference-label"])  # fmt: skip
        ChartGrid(model, sinks, where, several, counts.value, ref, player, draw_ms)
        with solara.Row(gap="4px", style={"flex-wrap": "wrap", "align-items": "center"}):
            solara.Text("Download the readouts at every frame:", style={"font-size": "13px"})
            solara.FileDownload(lambda: _export(model, "csv"), filename="neuroagents-readouts.csv", label="CSV",
                                mime_type="text/csv")  # fmt: skip
            solara.FileDownload(lambda: _export(model, "parquet"), filename="neuroagents-readouts.parquet",
                                label="Parquet")  # fmt: skip
            solara.FileDownload(lambda: _recorded(model), filename="neuroagents-recorded.csv",
                                label="the model's records (CSV)", mime_type="text/csv")  # fmt: skip
