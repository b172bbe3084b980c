"""CuPy against NumPy on every built-in scenario, by distribution (issue 14, item 4).

The backends draw different random numbers (NumPy's PCG64, CuPy's own generator), so a CuPy run is never the NumPy
run of the same seed: what must agree is the *distribution* of what a run records. Each built-in scenario runs for
one simulated day (:data:`DAY_MIN`) on :data:`N_NUMPY` NumPy seeds and :data:`N_CUPY` CuPy seeds, and every column
of the last record (cell counts per state and compartment, mean concentrations, pain readouts) is compared by
:func:`parity_problems`:

* a column that is the same in every run of both arms (a readout no random draw reaches, or a mediator nobody
  makes) must have the same value on both (relative 1e-6): "TNF from nowhere" fails here;
* otherwise the two means must differ by less than ``K_SPREAD`` pooled standard errors plus ``REL_FLOOR`` of the
  larger mean (a two-sample t-like bound, wide because the samples are small and the columns many).

The comparison itself is tested on NumPy against NumPy with other seeds (it must pass) and against a NumPy run
with one thing broken (it must fail), so the GPU tests check something that can fail.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neuroagents.model import NeuroImmuneModel

DAY_MIN = 1440.0
"""One simulated day, min (as the golden series)."""
N_NUMPY, N_CUPY = 5, 3
"""Replicates (seeds 1, 2, ...) per scenario on each backend."""
K_SPREAD = 6.0
"""Pooled standard errors allowed between the means (with 5 + 3 runs, |t| > 6 by chance has p < 0.001)."""
REL_FLOOR = 0.05
"""Relative difference of the means always allowed (round-off, a rare event's weight in a small sample)."""
ABS_FLOOR = 1e-12
"""Absolute difference always allowed (concentrations at round-off, nM)."""


def scenario_names() -> list[str]:
    from neuroagents.scenario import builtin_scenarios

    return sorted(builtin_scenarios())


def last_record(name: str, *, backend: str, seed: int, overrides=(), days: float = 1.0) -> pd.Series:
    """The last record of scenario ``name`` run for ``days`` on ``backend`` with ``seed`` (``overrides``: keys)."""
    from neuroagents.scenario import load_scenario

    model = NeuroImmuneModel.from_scenario(load_scenario(name, overrides=list(overrides)), backend=backend, seed=seed)
    while model.time_min < days * DAY_MIN - 1e-9:  # over steps
        model.step()
    table = model.timeseries()
    return table.iloc[-1]


def replicates(name: str, *, backend: str, n: int, overrides=(), days: float = 1.0) -> pd.DataFrame:
    """:func:`last_record` of seeds 1..n, one row each."""
    rows = [last_record(name, backend=backend, seed=s, overrides=overrides, days=days) for s in range(1, n + 1)]
    return pd.DataFrame(rows).reset_index(drop=True)


def parity_problems(ref: pd.DataFrame, other: pd.DataFrame) -> list[str]:
    """Columns whose replicates (rows) in ``other`` do not follow the distribution of those in ``ref``.

    Parameters
    ----------
    ref, other : DataFrame of shape (n_runs, n_columns)
        The last record of each run (at least 2 runs each), numeric columns.

    Returns
    -------
    list of str
        One line per column that disagrees (empty when all agree), with both means and spreads.
    """
    problems = []
    if list(ref.columns) != list(other.columns):
        missing = sorted(set(ref.columns) ^ set(other.columns))
        return [f"columns differ: {missing or 'order'}"]
    na, nb = len(ref), len(other)
    if na < 2 or nb < 2:
        raise ValueError(f"need at least 2 runs per arm, got {na} and {nb}")
    for col in ref.columns:  # over recorded columns
        a, b = ref[col].to_numpy(np.float64), other[col].to_numpy(np.float64)
        if not (np.isfinite(a).all() and np.isfinite(b).all()):
            problems.append(f"{col}: not finite (ref {a.tolist()}, other {b.tolist()})")
            continue
        ma, mb = a.mean(), b.mean()
        scale = max(abs(ma), abs(mb))
        if np.ptp(a) == 0 and np.ptp(b) == 0:  # the same in every run: no randomness reaches it
            if abs(ma - mb) > 1e-6 * scale + ABS_FLOOR:
                problems.append(f"{col}: {mb:.6g} in every run, {ma:.6g} in every reference run")
            continue
        pooled = math.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / (na + nb - 2))
        bound = K_SPREAD * pooled * math.sqrt(1 / na + 1 / nb) + REL_FLOOR * scale + ABS_FLOOR
        if abs(ma - mb) > bound:
            problems.append(
                f"{col}: mean {mb:.6g} (sd {b.std(ddof=1):.3g}, n {nb}) against {ma:.6g} "
                f"(sd {a.std(ddof=1):.3g}, n {na}); allowed difference {bound:.3g}"
            )
    return problems


# --- the comparison can pass and fail ------------------------------------------------------------------------


def test_parity_passes_samples_of_one_distribution_and_fails_shifted_ones():
    rng = np.random.default_rng(0)
    cols = {"count": lambda n: rng.poisson(40, n), "mean_nM": lambda n: rng.lognormal(-3, 0.3, n)}
    ref = pd.DataFrame({c: f(N_NUMPY) for c, f in cols.items()} | {"fixed": 2.5, "zero": 0.0})
    same = pd.DataFrame({c: f(N_CUPY) for c, f in cols.items()} | {"fixed": 2.5, "zero": 0.0})
    assert parity_problems(ref, same) == []
    shifted = same.assign(count=same["count"] + 60)
    assert [p.split(":")[0] for p in parity_problems(ref, shifted)] == ["count"]
    from_nowhere = same.assign(zero=[0.0, 3e-3, 0.0])  # "TNF from nowhere" in one run
    assert [p.split(":")[0] for p in parity_problems(ref, from_nowhere)] == []  # one run in three: not enough ...
    from_nowhere = same.assign(zero=4e-3)  # ... every run: caught
    assert [p.split(":")[0] for p in parity_problems(ref, from_nowhere)] == ["zero"]
    moved = same.assign(fixed=2.6)
    assert [p.split(":")[0] for p in parity_problems(ref, moved)] == ["fixed"]
    assert "not finite" in parity_problems(ref, same.assign(mean_nM=np.nan))[0]
    assert "columns differ" in parity_problems(ref, same.drop(columns="zero"))[0]


@pytest.mark.slow
def test_parity_of_numpy_with_itself_on_other_seeds_and_not_with_a_broken_run():
    """sni for one day: NumPy seeds 1-5 against NumPy seeds 6-8 agree column by column (different streams, as
    CuPy's are); seeds 1-3 with the injured neurons' CCL2 switched off do not (as a device path that
    drops a source would)."""
    ref = replicates("sni", backend="numpy", n=N_NUMPY)
    assert len(ref.columns) > 100 and ref["mean_CCL2_nM_drg"].min() > 0
    assert (ref.std() > 0).sum() > 10  # many columns do vary between seeds
    other = pd.DataFrame([last_record("sni", backend="numpy", seed=s) for s in range(6, 6 + N_CUPY)]).reset_index(
        drop=True
    )
    assert parity_problems(ref, other) == []
    broken = replicates("sni", backend="numpy", n=N_CUPY, overrides=["cells.neuron.ccl2_injured_molecules_per_s=0"])
    assert any(p.startswith("mean_CCL2_nM_drg") for p in parity_problems(ref, broken))


def test_every_built_in_scenario_has_a_parity_test():
    names = scenario_names()
    assert len(names) >= 18 and "sni" in names and "healthy" in names


# --- on a GPU --------------------------------------------------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.parametrize("name", scenario_names())
def test_cupy_follows_the_numpy_distribution_for_one_day(name):
    ref = replicates(name, backend="numpy", n=N_NUMPY)
    dev = replicates(name, backend="cupy", n=N_CUPY)
    problems = parity_problems(ref, dev)
    assert not problems, f"{name}: " + "; ".join(problems)
