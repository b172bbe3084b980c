"""A trial's endpoints per subject, its arms summarized, each arm compared with the control, and two figures.

Per subject and endpoint (from the subject's time series; a value "at" a time is the last record at or before it):

* ``baseline`` and ``visit`` values of the readout, and ``change = visit - baseline``;
* ``improvement``: the change as a fraction of the baseline, signed so that improving is positive
  (``better = "higher"``: ``(visit - baseline) / |baseline|``; ``"lower"``: ``(baseline - visit) / |baseline|``);
* ``responder_<p>``: whether the improvement reaches each threshold ``p`` (30 % and 50 % by default, the
  moderate and substantial improvements of IMMPACT: Dworkin 2008 J Pain 9:105);
* ``time_to_response_min``: the first record after the baseline, up to the visit, at which the improvement reaches
  the first threshold, minutes after the baseline (NaN: no response by the visit, censored there).

Each arm against the control, per endpoint: the difference of the mean changes and of the responder rates, each
with a percentile bootstrap confidence interval (subjects resampled within each arm, ``[trial] bootstrap``
resamples from the trial's seed: Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13), and
Welch's t-test of the changes (``scipy.stats.ttest_ind``, unequal variances); and a mixed model of the
repeated visits, adjusted for the baseline (:mod:`neuroagents.trial.mixed`). The same seed gives the same tables.
"""

from __future__ import annotations

import zlib

import numpy as np

from neuroagents.trial.spec import Endpoint, TrialSpec

__all__ = ["arm_summary", "compare_arms", "draw_forest", "draw_time_courses", "endpoint_values",
           "responder_column"]  # fmt: skip


def responder_column(endpoint: str, threshold: float) -> str:
    """The column saying whether a subject reached ``threshold`` on ``endpoint``.

    Examples
    --------
    >>> responder_column("threshold_day21", 0.3)
    'threshold_day21.responder_30'
    """
    return f"{endpoint}.responder_{round(threshold * 100):d}"


def _value_at(series, t: float) -> float:
    """The last value of ``series`` (indexed by time, sorted) at or before ``t`` (NaN before the first record)."""
    times = series.index.to_numpy()
    i = np.searchsorted(times, t + 1e-9, side="right") - 1
    return float(series.iloc[i]) if i >= 0 else float("nan")


def endpoint_values(results, e: Endpoint, thresholds) -> object:
    """One row per run of ``results`` (time series with ``run_id`` and ``time_min``): the endpoint's columns."""
    import pandas as pd

    rows = []
    for run_id, g in results.groupby("run_id", sort=True):  # over subjects: a few hundred, a few dozen records each
        s = g.set_index("time_min")[e.readout].sort_index()
        b, v = _value_at(s, e.baseline_min), _value_at(s, e.visit_min)
        sign = 1.0 if e.better == "higher" else -1.0
        scale = abs(b) if b != 0 else float("nan")
        after = s[(s.index > e.baseline_min) & (s.index <= e.visit_min + 1e-9)]
        gains = sign * (after.to_numpy() - b) / scale
        hit = np.flatnonzero(gains >= thresholds[0])
        row = {"run_id": run_id, f"{e.name}.baseline": b, f"{e.name}.visit": v, f"{e.name}.change": v - b,
               f"{e.name}.improvement": sign * (v - b) / scale,
               f"{e.name}.time_to_response_min": float(after.index[hit[0]] - e.baseline_min) if hit.size else np.nan}
        for p in thresholds:  # over responder thresholds
            row[responder_column(e.name, p)] = bool(sign * (v - b) / scale >= p)
        rows.append(row)
    return pd.DataFrame(rows)


def arm_summary(subjects, spec: TrialSpec):
    """One row per arm and endpoint: n, females, means and SDs of baseline, visit and change, responder rates."""
    import pandas as pd

    rows = []
    for e in spec.endpoints:  # over endpoints
        for arm in spec.arm_names:  # over arms
            g = subjects[subjects["arm"] == arm]
            row = {"endpoint": e.name, "arm": arm, "n": len(g), "female": int((g["sex"] == "female").sum()),
                   "baseline_mean": g[f"{e.name}.baseline"].mean(), "visit_mean": g[f"{e.name}.visit"].mean(),
                   "change_mean": g[f"{e.name}.change"].mean(), "change_sd": g[f"{e.name}.change"].std(ddof=1),
                   "time_to_response_min_median": g[f"{e.name}.time_to_response_min"].median()}  # fmt: skip
            for p in spec.thresholds:  # over responder thresholds
                row[f"responders_{round(p * 100):d}"] = g[responder_column(e.name, p)].mean()
            rows.append(row)
    return pd.DataFrame(rows)


def _boot_ci(x: np.ndarray, y: np.ndarray, rng, n: int, level: float) -> tuple[float, float]:
    """Percentile bootstrap interval of ``mean(x) - mean(y)``, resampling each group within itself (NaN when a
    group is empty)."""
    if x.size == 0 or y.size == 0:
        return float("nan"), float("nan")
    mx = x[rng.integers(0, x.size, size=(n, x.size))].mean(axis=1)
    my = y[rng.integers(0, y.size, size=(n, y.size))].mean(axis=1)
    lo, hi = np.quantile(mx - my, [(1 - level) / 2, (1 + level) / 2])
    return float(lo), float(hi)


def compare_arms(subjects, spec: TrialSpec, results=None):
    """Each arm against the control, per endpoint: differences with bootstrap intervals and Welch's p-value, and,
    given the time series, the mixed model's estimate (:mod:`neuroagents.trial.mixed`).

    Parameters
    ----------
    subjects : pandas.DataFrame
        One row per subject with its endpoint columns.
    spec : TrialSpec
    results : pandas.DataFrame, optional
        The subjects' time series (``run_id``, ``time_min``, readouts): adds the ``change_mixed`` rows.

    Returns
    -------
    pandas.DataFrame
        ``endpoint, arm, measure, difference, ci_low, ci_high, p_value, note`` with ``measure`` = ``"change"`` (mean
        change, the readout's unit), ``"change_mixed"`` (the mixed model's baseline-adjusted difference at the
        visit, Wald interval and p-value) or ``"responders_30"``, ... (rates, fractions); ``p_value`` for the
        changes only; ``note`` says why a mixed model is missing or did not converge.
    """
    import pandas as pd
    from scipy import stats

    from neuroagents.trial.mixed import arm_effects_at_visit

    rng = np.random.default_rng(np.random.SeedSequence([spec.seed, zlib.crc32(b"bootstrap")]))
    control = subjects[subjects["arm"] == spec.control]
    arm_of = dict(zip(subjects["run_id"], subjects["arm"], strict=True))
    rows = []
    for e in spec.endpoints:  # over endpoints
        mixed = {} if results is None else arm_effects_at_visit(results, arm_of, e.readout, e.baseline_min,
                                                                e.visit_min, spec.control, spec.confidence)  # fmt: skip
        for arm in spec.arm_names:  # over the arms compared with the control
            if arm == spec.control:
                continue
            g = subjects[subjects["arm"] == arm]
            x, y = g[f"{e.name}.change"].to_numpy(float), control[f"{e.name}.change"].to_numpy(float)
            x, y = x[np.isfinite(x)], y[np.isfinite(y)]
            lo, hi = _boot_ci(x, y, rng, spec.bootstrap, spec.confidence)
            p = float(stats.ttest_ind(x, y, equal_var=False).pvalue) if min(x.size, y.size) >= 2 else float("nan")
            diff = x.mean() - y.mean() if x.size and y.size else float("nan")
            rows.append({"endpoint": e.name, "arm": arm, "measure": "change", "difference": diff,
                         "ci_low": lo, "ci_high": hi, "p_value": p, "note": ""})  # fmt: skip
            if results is not None:
                m = mixed.get(arm, {"difference": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan,
                                    "note": "no subject of this arm finished"})  # fmt: skip
                rows.append({"endpoint": e.name, "arm": arm, "measure": "change_mixed", **m})
            for t in spec.thresholds:  # over responder thresholds
                col = responder_column(e.name, t)
                rx, ry = g[col].to_numpy(float), control[col].to_numpy(float)
                lo, hi = _boot_ci(rx, ry, rng, spec.bootstrap, spec.confidence)
                diff = rx.mean() - ry.mean() if rx.size and ry.size else float("nan")
                rows.append({"endpoint": e.name, "arm": arm, "measure": f"responders_{round(t * 100):d}",
                             "difference": diff, "ci_low": lo, "ci_high": hi, "p_value": np.nan, "note": ""})
    return pd.DataFrame(rows)


def draw_forest(comparisons, spec: TrialSpec, path) -> None:
    """Forest plot: each arm's difference from the control with its interval, one panel per endpoint."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    change = comparisons[comparisons["measure"] == "change"]
    mixed = comparisons[comparisons["measure"] == "change_mixed"]
    n_arms = max(1, len(spec.arms) - 1)
    fig = Figure(figsize=(6.5, 0.6 + len(spec.endpoints) * (1.1 + 0.45 * n_arms)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(spec.endpoints), 1, squeeze=False)[:, 0]
    for ax, e in zip(axes, spec.endpoints, strict=True):  # over endpoints
        rows = change[change["endpoint"] == e.name].reset_index(drop=True)
        ys = np.arange(len(rows))[::-1].astype(float)
        m = mixed[mixed["endpoint"] == e.name].set_index("arm").reindex(rows["arm"])
        both = bool(m["difference"].notna().any())
        up = 0.15 if both else 0.0
        ax.errorbar(rows["difference"], ys + up, xerr=[rows["difference"] - rows["ci_low"], rows["ci_high"] -
                    rows["difference"]], fmt="o", color="k", capsize=3, label="mean change, bootstrap")  # fmt: skip
        if both:
            ax.errorbar(m["difference"], ys - up, xerr=[m["difference"] - m["ci_low"], m["ci_high"] -
                        m["difference"]], fmt="s", mfc="white", color="C0", capsize=3,
                        label="mixed model, Wald")  # fmt: skip
        ax.set_ylim(-0.6, len(rows) - 0.4)
        ax.axvline(0.0, color="0.5", lw=0.8, ls="--")
        ax.set_yticks(ys, rows["arm"])
        ax.set_title(f"{e.name}: change of {e.readout} ({e.baseline_min:g} -> {e.visit_min:g} min), "
                     f"arm - {spec.control}, {spec.confidence:.0%} CI", fontsize=8)  # fmt: skip
        ax.set_xlabel(f"difference of mean change ({'higher' if e.better == 'higher' else 'lower'} is better)",
                      fontsize=8)  # fmt: skip
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=2, fontsize=7, frameon=False)
    fig.tight_layout(rect=(0, 0.25 / fig.get_figheight(), 1, 1))
    fig.savefig(path, dpi=120, format="png")


def draw_time_courses(results, subjects, spec: TrialSpec, path) -> None:
    """Each endpoint's readout over time, per arm: the mean over subjects and its ``confidence`` band."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from scipy import stats

    readouts = list(dict.fromkeys(e.readout for e in spec.endpoints))
    fig = Figure(figsize=(6.5, 2.6 * len(readouts)))
    FigureCanvasAgg(fig)
    axes = fig.subplots(len(readouts), 1, squeeze=False)[:, 0]
    arm_of = dict(zip(subjects["run_id"], subjects["arm"], strict=True))
    table = results.assign(arm=results["run_id"].map(arm_of))
    unit, per = ("day", 1440.0) if results["time_min"].max() > 2 * 1440.0 else ("h", 60.0)
    for ax, r in zip(axes, readouts, strict=True):  # over readouts
        for arm in spec.arm_names:  # over arms
            g = table[table["arm"] == arm].groupby("time_min")[r]
            mean, sd, n = g.mean(), g.std(ddof=1), g.count()
            half = stats.t.ppf((1 + spec.confidence) / 2, np.maximum(n - 1, 1)) * sd / np.sqrt(n)
            x = mean.index.to_numpy() / per
            ax.plot(x, mean.to_numpy(), label=f"{arm} (n={int(n.max())})")
            ax.fill_between(x, (mean - half).to_numpy(), (mean + half).to_numpy(), alpha=0.25)
        for e in spec.endpoints:  # over endpoints reading this readout: mark their visits
            if e.readout == r:
                for t in (e.baseline_min, e.visit_min):  # over the two visits
                    ax.axvline(t / per, color="0.6", lw=0.6, ls=":")
        ax.set_ylabel(r)
        ax.set_xlabel(unit)
        ax.legend(fontsize=7)
    axes[0].set_title(f"trial {spec.name}: mean per arm, {spec.confidence:.0%} band", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120, format="png")
