"""A mixed model of a trial's repeated measures: each arm's difference from the control at the visit.

The bootstrap of :mod:`neuroagents.trial.analysis` compares one change per subject. Trials with repeated visits
are usually analysed with a mixed model of all post-baseline visits instead (a mixed model for repeated measures,
MMRM: Mallinckrodt 2008 Drug Inf J 42:303), which uses every visit and adjusts for the baseline. Here, per
endpoint:

* the visits are :data:`REPEATED_VISITS` times evenly spaced after the baseline, the last one the endpoint's visit;
  a subject's value at a visit is its last record at or before it, and its change is that value minus its
  baseline;
* the model is ``change ~ C(arm) * C(visit) + baseline`` with a random intercept per subject (``statsmodels``
  ``MixedLM``, REML), the control arm and the last visit the reference levels, so each arm's main effect is its
  baseline-adjusted difference from the control at the endpoint's visit;
* the interval is the Wald interval at the trial's ``confidence``, the p-value the Wald test's.

A random intercept stands in for MMRM's unstructured covariance between visits (an exchangeable correlation): a
simplification. The fit is deterministic (no random draws), so the same trial gives the same rows.

Examples
--------
>>> import numpy as np, pandas as pd
>>> rng = np.random.default_rng(0)
>>> rows = [{"run_id": f"s{i}", "arm": ["placebo", "drug"][i % 2], "time_min": t,
...          "y": 1.0 + 0.5 * (i % 2) * t / 60 + rng.normal(0, 0.1)} for i in range(40) for t in range(0, 61, 10)]
>>> results = pd.DataFrame(rows)
>>> fit = arm_effects_at_visit(results, results.groupby("run_id")["arm"].first(), "y", 0.0, 60.0, "placebo")
>>> round(fit["drug"]["difference"], 1)
0.5
"""

from __future__ import annotations

import warnings

import numpy as np

__all__ = ["REPEATED_VISITS", "arm_effects_at_visit", "repeated_visits"]

REPEATED_VISITS = 6
"""Post-baseline visits the mixed model uses (evenly spaced, the last at the endpoint's visit)."""


def repeated_visits(baseline_min: float, visit_min: float, n: int = REPEATED_VISITS) -> np.ndarray:
    """The ``n`` visit times after ``baseline_min``, evenly spaced, the last at ``visit_min`` (min), shape (n,)."""
    return baseline_min + (visit_min - baseline_min) * np.arange(1, n + 1) / n


def _long_table(results, arm_of, readout: str, baseline_min: float, visit_min: float):
    """One row per subject and visit: ``subject, arm, visit, baseline, change`` (pandas), from each subject's last
    record at or before each time."""
    import pandas as pd

    times = np.concatenate([[baseline_min], repeated_visits(baseline_min, visit_min)])
    rows = []
    for run_id, g in results.groupby("run_id", sort=True):  # over subjects: a few hundred
        s = g.sort_values("time_min")
        at = np.searchsorted(s["time_min"].to_numpy(), times + 1e-9, side="right") - 1
        if at[0] < 0:
            continue  # no record at the baseline
        values = s[readout].to_numpy(float)[at]
        for j in range(1, times.size):  # over visits (a handful)
            rows.append((run_id, arm_of[run_id], j, values[0], values[j] - values[0]))
    return pd.DataFrame(rows, columns=["subject", "arm", "visit", "baseline", "change"])


def arm_effects_at_visit(results, arm_of, readout: str, baseline_min: float, visit_min: float, control: str,
                         confidence: float = 0.95) -> dict[str, dict[str, float]]:  # fmt: skip
    """Each arm's baseline-adjusted difference from ``control`` in the change at ``visit_min`` (see the module).

    Parameters
    ----------
    results : pandas.DataFrame
        Time series: ``run_id``, ``time_min`` and ``readout``.
    arm_of : mapping or pandas.Series
        ``run_id -> arm``.
    readout : str
    baseline_min, visit_min : float
        The endpoint's baseline and visit, min.
    control : str
        The reference arm.
    confidence : float
        Level of the Wald intervals.

    Returns
    -------
    dict
        ``{arm: {"difference", "ci_low", "ci_high", "p_value"}}`` for each arm but the control (the readout's
        unit); NaN where the model cannot be fitted (a readout that does not vary, too few subjects), with the
        reason under ``"note"``.
    """
    import pandas as pd
    import statsmodels.formula.api as smf
    from scipy import stats
    from statsmodels.tools.sm_exceptions import ConvergenceWarning

    table = _long_table(results, dict(arm_of), readout, baseline_min, visit_min)
    arms = [a for a in pd.unique(table["arm"]) if a != control]
    nan = {"difference": np.nan, "ci_low": np.nan, "ci_high": np.nan, "p_value": np.nan}
    if table.empty or control not in set(table["arm"]) or not np.isfinite(table["change"]).all() \
            or table["change"].std() == 0.0:  # fmt: skip
        return {a: {**nan, "note": "no variation to model"} for a in arms}
    formula = (f"change ~ C(arm, Treatment({control!r})) * C(visit, Treatment({REPEATED_VISITS})) + baseline")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            fit = smf.mixedlm(formula, table, groups=table["subject"]).fit(reml=True)
        except (np.linalg.LinAlgError, ValueError) as exc:
            return {a: {**nan, "note": f"not fitted: {exc}"} for a in arms}
    note = "; ".join(sorted({str(w.message).splitlines()[0] for w in caught
                             if issubclass(w.category, ConvergenceWarning)}))  # fmt: skip
    z = stats.norm.ppf((1 + confidence) / 2)
    out = {}
    for a in arms:  # over the arms compared with the control
        name = f"C(arm, Treatment({control!r}))[T.{a}]"
        est, se = float(fit.fe_params[name]), float(fit.bse_fe[name])
        out[a] = {"difference": est, "ci_low": est - z * se, "ci_high": est + z * se,
                  "p_value": float(2 * stats.norm.sf(abs(est / se))) if se > 0 else np.nan, "note": note}
    return out
