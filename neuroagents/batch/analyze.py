"""Sensitivity of chosen readouts to a sweep's parameters: Sobol or Morris indices (SALib), and a figure.

For each readout (a time-series column, e.g. ``withdrawal_threshold_g``) every run gives one number — its value
at the end (``at = "end"``), its mean over time (``"mean"``), or its value at a time in minutes — and the
replicates of each design point are averaged, so the indices describe the mean response (the spread between
replicates is in the results, not in the indices).

* a ``sobol`` design gives first-order (``S1``) and total (``ST``) Sobol indices with bootstrap 95% confidence
  half-widths (SALib ``sobol.analyze``, Saltelli 2010 / Jansen estimators);
* a ``morris`` design gives ``mu_star`` (mean absolute elementary effect: importance), ``sigma`` (its spread:
  interactions or non-linearity) and ``mu`` (SALib ``morris.analyze``).

Indices are computed in the sampling space: for a log-scale parameter, per unit of log10.
Writes ``SWEEP_DIR/analysis/indices.csv`` (tidy: readout, parameter, index, value, conf) and
``SWEEP_DIR/analysis/sensitivity.png``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroagents.batch.design import build_design, salib_problem
from neuroagents.batch.spec import Parameter, SweepSpec
from neuroagents.batch.store import SweepStore
from neuroagents.errors import ConfigError

__all__ = ["Analysis", "analyze_sweep", "readout_values", "spec_from_record"]


@dataclass
class Analysis:
    """What :func:`analyze_sweep` computed and wrote.

    Attributes
    ----------
    indices : pandas.DataFrame
        ``readout, parameter, index, value, conf`` (conf: 95% confidence half-width; NaN when not estimated).
    method : {"sobol", "morris"}
    csv, png : Path
    notes : list of str
    """

    indices: object
    method: str
    csv: Path
    png: Path
    notes: list


def spec_from_record(record: dict, where: str) -> SweepSpec:
    """The :class:`SweepSpec` kept in a sweep directory's ``sweep.json``."""
    d = dict(record["spec"])
    d["parameters"] = tuple(Parameter(**{**p, "values": tuple(p["values"]) if "values" in p else None})
                            for p in d["parameters"])  # fmt: skip
    for k in ("set", "readouts"):
        d[k] = tuple(d[k])
    d["seeds"] = tuple(d["seeds"]) if d.get("seeds") is not None else None
    return SweepSpec(where=where, **d)


def readout_values(results, readouts, at="end"):
    """One row per run: ``run_id, point, replicate`` and each readout at ``at`` (pandas).

    Parameters
    ----------
    results : pandas.DataFrame
        :meth:`SweepStore.results`.
    readouts : sequence of str
    at : "end", "mean" or float
        The last recorded value, the mean over recorded times, or the last value at or before this time (min).
    """
    missing = [r for r in readouts if r not in results.columns]
    if missing:
        from neuroagents.scenario.schema import did_you_mean

        numeric = [c for c in results.columns if c not in ("run_id", "point", "replicate", "seed", "time_min")]
        raise ConfigError("readout", missing[0], f"a time-series column{did_you_mean(missing[0], numeric)}, e.g. "
                          f"{', '.join(numeric[:6])} ...")  # fmt: skip
    keys = ["run_id", "point", "replicate"]
    if at == "mean":
        return results.groupby(keys, as_index=False)[list(readouts)].mean()
    table = results if at == "end" else results[results["time_min"] <= float(at) + 1e-9]
    if table.empty:
        raise ConfigError("at", at, f"a time at or after the first record ({results['time_min'].min():g} min)")
    last = table.sort_values("time_min", kind="stable").groupby(keys, as_index=False).tail(1)
    return last[keys + list(readouts)].sort_values("run_id", ignore_index=True)


def analyze_sweep(sweep_dir, *, readouts=None, at=None, seed: int = 0) -> Analysis:
    """Sobol or Morris indices (by the sweep's design) of ``readouts`` at ``at``; writes a CSV and a figure.

    Parameters
    ----------
    sweep_dir : str or Path
    readouts : sequence of str, optional
        Default: the sweep file's ``[analysis] readouts``.
    at : "end", "mean" or float, optional
        Default: the sweep file's ``[analysis] at``.
    seed : int
        Seed of the bootstrap confidence intervals.

    Raises
    ------
    ConfigError
        When the directory is not a finished Sobol or Morris sweep, or a readout is not in the results.
    """
    import pandas as pd

    store = SweepStore(sweep_dir)
    if not (store.path / "sweep.json").is_file():
        raise ConfigError("analyze", str(store.path), "a sweep directory (with sweep.json), as 'neuroagents sweep' "
                          "writes")  # fmt: skip
    spec = spec_from_record(store.record(), str(store.path / "sweep.json"))
    if spec.method not in ("sobol", "morris"):
        raise ConfigError("analyze", str(store.path), f"a sweep with design method 'sobol' or 'morris' (this one is "
                          f"{spec.method!r}); read its results with pandas.read_parquet('{store.results_dir}')")
    readouts = list(readouts or spec.readouts)
    at = spec.at if at is None else at
    design = build_design(spec, base_seed=store.record()["base_seed"])
    values = readout_values(store.results(), readouts, at) if store.finished() else None
    n_points = len(design.points)
    have = set(values["point"]) if values is not None else set()
    missing = [p for p in range(n_points) if p not in have]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
        raise ConfigError("analyze", str(store.path), f"a sweep with every design point finished: {len(missing)} of "
                          f"{n_points} points have no finished run (points {shown}); run the sweep again to "
                          "finish them")  # fmt: skip
    means = values.groupby("point")[readouts].mean().sort_index()
    problem = salib_problem(spec)
    rows, notes = [], []
    for readout in readouts:  # over readouts (a handful)
        y = means[readout].to_numpy(dtype=float)
        if not np.isfinite(y).all():
            raise ConfigError("readout", readout, "a readout with finite values in every run (NaN or inf here)")
        if np.ptp(y) == 0:
            notes.append(f"{readout} is the same at every point ({y[0]:.6g}): every index is 0")
            names = ("S1", "ST") if spec.method == "sobol" else ("mu_star", "sigma", "mu")
            rows += [(readout, k, n, 0.0, float("nan")) for k in spec.keys for n in names]
            continue
        if spec.method == "sobol":
            from SALib.analyze import sobol

            res = sobol.analyze(problem, y, calc_second_order=False, seed=seed)
            for j, k in enumerate(spec.keys):  # over parameters
                rows.append((readout, k, "S1", float(res["S1"][j]), float(res["S1_conf"][j])))
                rows.append((readout, k, "ST", float(res["ST"][j]), float(res["ST_conf"][j])))
        else:
            from SALib.analyze import morris

            res = morris.analyze(problem, design.X, y, num_levels=spec.levels, seed=seed)
            for j, k in enumerate(spec.keys):  # over parameters
                rows.append((readout, k, "mu_star", float(res["mu_star"][j]), float(res["mu_star_conf"][j])))
                rows.append((readout, k, "sigma", float(res["sigma"][j]), float("nan")))
                rows.append((readout, k, "mu", float(res["mu"][j]), float("nan")))
    indices = pd.DataFrame(rows, columns=["readout", "parameter", "index", "value", "conf"])
    out = store.path / "analysis"
    out.mkdir(exist_ok=True)
    from neuroagents.recording import atomic_write

    with atomic_write(out / "indices.csv") as tmp:
        indices.to_csv(tmp, index=False)
    with atomic_write(out / "sensitivity.png") as tmp:
        _plot(indices, spec, tmp, at)
    return Analysis(indices, spec.method, out / "indices.csv", out / "sensitivity.png", notes)


def _plot(indices, spec: SweepSpec, path, at) -> None:
    """One panel per readout: S1 and ST bars with confidence (Sobol), or mu_star against sigma (Morris)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    readouts = list(dict.fromkeys(indices["readout"]))
    fig = Figure(figsize=(5 * len(readouts), 4.2), layout="constrained")
    FigureCanvasAgg(fig)
    axes = np.atleast_1d(fig.subplots(1, len(readouts)))
    keys = spec.keys
    short = [k.split(".")[-1] for k in keys]
    for ax, readout in zip(axes, readouts, strict=True):  # over readouts
        t = indices[indices["readout"] == readout].set_index(["parameter", "index"])
        if spec.method == "sobol":
            x = np.arange(len(keys))
            for off, name in ((-0.2, "S1"), (0.2, "ST")):
                ax.bar(x + off, [t.loc[(k, name), "value"] for k in keys], 0.4, label=name,
                       yerr=[np.nan_to_num(t.loc[(k, name), "conf"]) for k in keys], capsize=3)  # fmt: skip
            ax.set_xticks(x, short, rotation=30, ha="right")
            ax.set_ylabel("Sobol index")
            ax.legend(fontsize=8)
        else:
            ms = [t.loc[(k, "mu_star"), "value"] for k in keys]
            sg = [t.loc[(k, "sigma"), "value"] for k in keys]
            ax.scatter(ms, sg)
            for xi, yi, label in zip(ms, sg, short, strict=True):  # over parameters
                ax.annotate(label, (xi, yi), fontsize=8, xytext=(3, 3), textcoords="offset points")
            ax.set_xlabel("mu* (importance)")
            ax.set_ylabel("sigma (interactions, non-linearity)")
        ax.set_title(f"{readout} ({at})", fontsize=10)
    fig.suptitle(f"sweep {spec.name}: {spec.method} indices", fontsize=11)
    fig.savefig(path, dpi=90, format="png")
