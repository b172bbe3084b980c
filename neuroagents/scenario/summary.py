"""The summary figure of a scenario run: pain readouts and cell counts over time.

Drawn with matplotlib's object API on an Agg canvas, so no global backend is
set (pyplot is never imported).
"""

from __future__ import annotations

__all__ = ["PAIN_PANELS", "compartment_names", "count_columns", "plot_summary"]

PAIN_PANELS = (
    ("withdrawal threshold (von Frey, g)", ("withdrawal_threshold_g",)),
    ("pain signal (projection neurons, Hz)", ("pain_ongoing_hz", "pain_evoked_hz")),
    ("heat withdrawal latency (s)", ("heat_latency_s",)),
)
"""Panels of pain readouts: a title and the time-series columns drawn in it."""


def compartment_names(columns) -> list[str]:
    """The compartments of a time series, from its ``mean_<mediator>_nM_<compartment>`` columns.

    Examples
    --------
    >>> compartment_names(["time_min", "mean_TNF_nM_paw", "mean_IL6_nM_paw", "mean_TNF_nM_drg"])
    ['drg', 'paw']
    """
    return sorted({str(c).split("_nM_", 1)[1] for c in columns if str(c).startswith("mean_") and "_nM_" in str(c)})


def count_columns(columns) -> dict[str, list[str]]:
    """``{cell type: [n_<type>_<state> columns]}``: the totals over all compartments, never the per-compartment
    ``n_<type>_<state>_<compartment>`` columns beside them (types from the model, so that states may hold '_').

    Examples
    --------
    >>> count_columns(["n_macrophage_M1", "n_macrophage_M1_paw", "n_macrophage_M1_drg", "mean_TNF_nM_paw",
    ...                "mean_TNF_nM_drg", "n_neuron_intact"])
    {'macrophage': ['n_macrophage_M1'], 'neuron': ['n_neuron_intact']}
    """
    from neuroagents.registry import CELL_TYPES

    kinds = sorted(CELL_TYPES, key=len, reverse=True)
    names = {str(c) for c in columns}
    suffixes = [f"_{c}" for c in compartment_names(columns)]
    out: dict[str, list[str]] = {}
    for c in columns:  # over table columns
        kind = next((k for k in kinds if str(c).startswith(f"n_{k}_")), None)
        per_compartment = any(str(c).endswith(s) and str(c)[: -len(s)] in names for s in suffixes)
        if kind is not None and not per_compartment:
            out.setdefault(kind, []).append(c)
    return out


def _time_axis(minutes):
    span = float(minutes.max()) if len(minutes) else 0.0
    if span > 2880:
        return minutes / 1440.0, "time (days)"
    if span > 120:
        return minutes / 60.0, "time (h)"
    return minutes, "time (min)"


def plot_summary(table, png_path, *, title: str = "", bands=None):
    """Save a 2 x 3 grid: pain readouts, cells per type, cells per state.

    Parameters
    ----------
    table : pandas.DataFrame
        :meth:`NeuroImmuneModel.timeseries`: ``time_min``, ``n_<type>_<state>`` and pain readout columns.
    png_path : str or Path
    title : str
    bands : (DataFrame, DataFrame, str), optional
        Lower and upper bounds of the pain readouts at the same times as ``table``, and what they are
        (replicates' quantiles, a credible band): drawn shaded around each pain line.

    Returns
    -------
    matplotlib.figure.Figure
        The figure saved (its lines hold the numbers drawn).
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 8), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(2, 3).ravel()
    t, xlabel = _time_axis(table["time_min"].to_numpy(dtype=float) if "time_min" in table else [])
    style = {"marker": "o", "ms": 3} if len(table) < 20 else {}
    for ax, (name, columns) in zip(axes, PAIN_PANELS, strict=False):  # over pain panels
        drawn = [c for c in columns if c in table]
        for c in drawn:  # over readouts
            line = ax.plot(t, table[c].to_numpy(dtype=float), label=c, **style)[0]
            if bands is not None and c in bands[0] and c in bands[1]:
                ax.fill_between(t, bands[0][c].to_numpy(dtype=float), bands[1][c].to_numpy(dtype=float),
                                color=line.get_color(), alpha=0.2, lw=0)  # fmt: skip
        if bands is not None and drawn:
            ax.text(0.01, 0.01, f"shaded: {bands[2]}", fontsize=7, transform=ax.transAxes, va="bottom")
        if not drawn:
            ax.text(0.5, 0.5, "not recorded", ha="center", va="center", transform=ax.transAxes)
        if len(drawn) > 1:
            ax.legend(fontsize=8)
        ax.set_title(name, fontsize=10)
        ax.set_xlabel(xlabel)

    by_type = count_columns(table.columns)
    ax = axes[3]
    for kind, columns in by_type.items():  # over cell types
        ax.plot(t, table[columns].sum(axis=1).to_numpy(dtype=float), label=kind, **style)
    ax.set_title("cells per type", fontsize=10)
    for kind, ax in (("macrophage", axes[4]), (None, axes[5])):
        columns = by_type.get(kind, []) if kind else [c for k, cs in by_type.items() if k != "macrophage" for c in cs]
        columns = [c for c in columns if table[c].max() > 0]
        for c in columns:  # over states
            ax.plot(t, table[c].to_numpy(dtype=float), label=c[2:], **style)
        ax.set_title(f"{kind} states" if kind else "other cells by state", fontsize=10)
        if not columns:
            ax.text(0.5, 0.5, "none", ha="center", va="center", transform=ax.transAxes)
    for ax in axes[3:]:
        ax.set_xlabel(xlabel)
        ax.set_ylabel("cells")
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7, ncols=2)
    if title:
        fig.suptitle(title, fontsize=12)
    fig.savefig(png_path, dpi=90, format="png")
    return fig
