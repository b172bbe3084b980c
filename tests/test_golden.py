"""Golden one-day time series: every built-in scenario, run for one simulated day on NumPy, equals its stored copy
bit for bit.

This is the safety net of refactors (the model class, the observers, the registries): a change that is meant to
change no result must leave every stored series identical — same columns, same dtypes, same bits
(``np.array_equal``). Each scenario runs through :func:`~neuroagents.scenario.runner.run_scenario` (its own seed,
its own recording schedule, the runner's final record) with ``scenario.duration_min = 1440`` (one day: ``DAY_MIN``),
no field snapshots and the NumPy backend. The stored copies are ``tests/data/golden/<scenario>.npz``: the columns of
the time series stacked by dtype (``block_float64``, ``block_int64``), with ``__columns__`` (their order) and
``__dtypes__`` (each one's dtype).

Regenerating
------------
When a change is *meant* to change results (new biology, a new parameter value, a fixed bug), regenerate with
one command from the repository root::

    python tests/test_golden.py --write            # every built-in scenario
    python tests/test_golden.py --write sni cfa    # only these

(with ``PYTHONPATH=.`` where the package is installed from another checkout). The commit that regenerates the
data must say which science changed and why the series moved (e.g. "golden data: IL-6 half-life from Smith 2020
changes every mean_IL6 column"); a refactor never regenerates them. ``python tests/test_golden.py`` without
``--write`` compares and names the first differing column of each scenario.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

DAY_MIN = 1440.0
"""One simulated day, min: long enough for injury, dosing and recruitment to act; short enough for the suite."""
GOLDEN_DIR = Path(__file__).resolve().parent / "data" / "golden"
COLUMNS_KEY, DTYPES_KEY = "__columns__", "__dtypes__"


def scenario_names() -> list[str]:
    """Built-in scenarios (what ``neuroagents scenarios`` lists)."""
    from neuroagents.scenario import builtin_scenarios

    return sorted(builtin_scenarios())


def one_day(name: str) -> pd.DataFrame:
    """The time series of ``name`` run for :data:`DAY_MIN` on NumPy through the scenario runner."""
    from neuroagents.scenario import load_scenario
    from neuroagents.scenario.runner import run_scenario

    scenario = load_scenario(name, overrides=[f"scenario.duration_min={DAY_MIN:g}"])
    with tempfile.TemporaryDirectory(prefix=f"golden-{name}-") as tmp:
        result = run_scenario(scenario, Path(tmp) / "out", backend="numpy", progress=False, snapshot_every_min=None)
    return result.table


def write_golden(name: str) -> Path:
    """Run ``name`` and store its series (one array per column)."""
    table = one_day(name)
    GOLDEN_DIR.mkdir(parents=True, exist_ok=True)
    dtypes = [str(table[c].dtype) for c in table.columns]
    blocks = {f"block_{d}": np.stack([table[c].to_numpy() for c in table.columns if str(table[c].dtype) == d])
              for d in sorted(set(dtypes))}  # fmt: skip
    path = GOLDEN_DIR / f"{name}.npz"
    np.savez_compressed(path, **{COLUMNS_KEY: np.array(list(table.columns)), DTYPES_KEY: np.array(dtypes)}, **blocks)
    return path


def load_golden(name: str) -> tuple[list[str], dict[str, np.ndarray]]:
    """The stored column names (in order) and columns of ``name``."""
    with np.load(GOLDEN_DIR / f"{name}.npz") as stored:
        columns, dtypes = stored[COLUMNS_KEY].tolist(), stored[DTYPES_KEY].tolist()
        blocks = {d: iter(stored[f"block_{d}"]) for d in set(dtypes)}
        return columns, {c: next(blocks[d]) for c, d in zip(columns, dtypes, strict=True)}


def differences(name: str, table: pd.DataFrame) -> list[str]:
    """How ``table`` differs from the stored series of ``name`` (empty when identical bit for bit)."""
    columns, data = load_golden(name)
    if list(table.columns) != columns:
        gone, new = sorted(set(columns) - set(table.columns)), sorted(set(table.columns) - set(columns))
        return [f"columns differ: missing {gone[:5]}, new {new[:5]}, or reordered"]
    out = []
    for c in columns:  # over columns (a hundred or so)
        now, was = table[c].to_numpy(), data[c]
        if now.dtype != was.dtype:
            out.append(f"{c}: dtype {now.dtype}, stored {was.dtype}")
        elif now.shape != was.shape:
            out.append(f"{c}: {now.shape[0]} rows, stored {was.shape[0]}")
        elif not np.array_equal(now, was, equal_nan=now.dtype.kind == "f"):
            wrong = now != was
            if now.dtype.kind == "f":
                wrong &= ~(np.isnan(now) & np.isnan(was))
            i = int(np.flatnonzero(wrong)[0])
            out.append(f"{c}: first differs at row {i} (t = {table['time_min'].iloc[i]:g} min): {now[i]!r}, "
                       f"stored {was[i]!r}")  # fmt: skip
    return out


@pytest.mark.parametrize("name", scenario_names())
def test_one_day_equals_the_golden_series_bit_for_bit(name):
    missing = f"no golden data for {name}: python tests/test_golden.py --write {name}"
    assert (GOLDEN_DIR / f"{name}.npz").is_file(), missing
    table = one_day(name)
    assert len(table) >= 3 and table["time_min"].iloc[-1] == DAY_MIN  # the day ran to its end
    diff = differences(name, table)
    assert not diff, (f"{name}: {len(diff)} columns differ from tests/data/golden/{name}.npz; first: "
                      f"{diff[:3]}. If the science changed on purpose, regenerate and say which (module docstring).")


def test_every_golden_file_belongs_to_a_scenario():
    stale = sorted(p.stem for p in GOLDEN_DIR.glob("*.npz") if p.stem not in scenario_names())
    assert not stale, f"golden data of scenarios that are gone: {stale}"


def test_the_comparison_can_fail():
    name = "healthy"
    columns, data = load_golden(name)
    table = pd.DataFrame(data, columns=columns)
    assert differences(name, table) == []
    moved = table.copy()
    col = next(c for c in table.columns if c.startswith("mean_TNF"))
    moved.loc[len(moved) - 1, col] = np.nextafter(moved[col].iloc[-1], np.inf)  # one ulp, in the last row
    assert differences(name, moved) and differences(name, moved)[0].startswith(f"{col}: first differs at row")
    assert differences(name, table.astype({col: "float32"}))[0] == f"{col}: dtype float32, stored float64"


def main(argv: list[str]) -> int:
    """``--write [NAME ...]`` regenerates; without ``--write``, compares and prints the differences."""
    write = "--write" in argv
    names = [a for a in argv if a != "--write"] or scenario_names()
    unknown = sorted(set(names) - set(scenario_names()))
    if unknown:
        print(f"unknown scenarios {unknown}; built-in: {scenario_names()}", file=sys.stderr)
        return 2
    failed = 0
    for name in names:  # over scenarios
        if write:
            print(f"wrote {write_golden(name)}")
            continue
        diff = differences(name, one_day(name))
        failed += bool(diff)
        print(f"{name}: " + ("identical" if not diff else f"{len(diff)} columns differ, e.g. {diff[:2]}"))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
