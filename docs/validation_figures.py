"""Draw the figures of docs/validation.md from the model (``python docs/validation_figures.py [CASE ...]``, a few
minutes).

Every curve is a run of a built-in scenario (neuroagents/validation.py); nothing is drawn from stored numbers. With
``NEUROAGENTS_VALIDATION_DUMP=DIR`` the seed-1 runs that ``tests/test_validation.py`` kept in ``DIR`` (same variable)
are read instead of run again: the same runs, a few seconds instead of a quarter of an hour. The arms not kept run in
worker processes, all at once (``NEUROAGENTS_VALIDATION_WORKERS``; neuroagents/validation_pool.py).
"""

from __future__ import annotations

import functools
import hashlib
import os
import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pandas as pd

from neuroagents.validation import CASES, run
from neuroagents.validation_pool import RunPool, pool_workers

OUT = Path(__file__).parent / "img"


_POOL: RunPool | None = None
"""The arms to run, started in worker processes by the script (neuroagents/validation_pool.py)."""


def _kept(scenario: str, overrides: tuple[str, ...]) -> Path | None:
    """The validation tests' own seed-1 run of this arm, where they kept it (tests/test_validation.py names it so)."""
    kept = os.environ.get("NEUROAGENTS_VALIDATION_DUMP")
    path = kept and Path(kept) / f"{scenario}_1_{hashlib.sha1(repr(overrides).encode()).hexdigest()[:8]}.parquet"
    return path if path and path.exists() else None


@functools.cache  # arms shared by several cases (sni) run once
def _run(scenario: str, overrides: tuple[str, ...]):
    path = _kept(scenario, overrides)
    if path is not None:
        return pd.read_parquet(path)
    return _POOL.result(scenario, overrides) if _POOL is not None else run(scenario, overrides)


def figure(key: str) -> Path:
    case = CASES[key]
    runs = {label: _run(sc, ov) for label, (sc, ov) in case.arms.items()}
    extra = {"sni": "n_macrophage_M1_drg", "mir21": "n_macrophage_M1_drg",
             "minocycline_timing": "mean_BDNF_nM_dorsal_horn",
             "t_cells": "mean_IFNG_nM_dorsal_horn", "crush_vs_transection": "n_macrophage_M1_drg",
             "cfa_opioids": "mean_mu_opioid_receptors",
             "carrageenan_kinins": "mean_bradykinin_nM_paw",
             "cci": "heat_latency_s",
             "carrageenan_indomethacin": "mean_PGE2_nM_paw",
             "arthritis_anti_tnf": "swelling_pct_paw",
             "sex": "mean_BDNF_nM_dorsal_horn", "csf1_intrathecal": "mean_BDNF_nM_dorsal_horn",
             }.get(key, "n_macrophage_M1_paw")  # fmt: skip
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for label, t in runs.items():
        x = t["day"] if t["day"].max() > 3 else t["time_min"] / 60.0
        axes[0].plot(x, t[case.readout], label=label)
        axes[1].plot(x, t[extra], label=label)
    unit = "days" if next(iter(runs.values()))["day"].max() > 3 else "hours"
    if key == "carrageenan_indomethacin":  # the printed rows, scaled to the model's control maximum over 1-5 h
        data = Path(__file__).resolve().parents[1] / "validation" / "data"
        ctrl = next(iter(runs.values()))
        top = ctrl[ctrl["time_min"].between(60, 300)][case.readout].max()
        for name, marker in (("carrageenan_rat_ecam2012_108626.csv", "o"),
                             ("carrageenan_rat_ecam2012_108626_indomethacin.csv", "s")):  # fmt: skip
            pub = pd.read_csv(data / name)
            k = top / pd.read_csv(data / "carrageenan_rat_ecam2012_108626.csv")["mean"].max()
            axes[0].errorbar(pub["time_h"], pub["mean"] * k, yerr=pub["spread"] * k, fmt=marker, color="k",
                             ms=4, label="published (scaled)" if marker == "o" else "published, indomethacin")
        axes[0].set_xlim(0, 12)
        axes[1].set_xlim(0, 12)
    ylabel = {"swelling_pct_paw": "paw swelling (% of the tissue)"}.get(case.readout,
                                                                        "withdrawal threshold (g, interpolated)")
    title = "\n".join(textwrap.wrap(case.title, 56))
    axes[0].set(xlabel=f"time ({unit})", ylabel=ylabel, title=title)
    second = "cells" if extra.startswith("n_") else "mediator" if "_nM" in extra else ""
    axes[1].set(xlabel=f"time ({unit})", ylabel=extra.replace("_", " "), title=second)
    axes[0].legend(fontsize=8)
    note = textwrap.wrap(f"expected: {case.expectation} — {case.source}", 170)
    fig.suptitle("\n".join(note[:2] + (["…"] if len(note) > 2 else [])), fontsize=8)  # wrapped: none cut at the edges
    fig.tight_layout(rect=(0, 0, 1, 0.97 - 0.035 * min(len(note), 3)))
    OUT.mkdir(exist_ok=True)
    path = OUT / f"validation_{key}.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    for label, t in runs.items():  # the numbers docs/validation.md quotes
        spans = ((1, 7), (7, 28)) if t["day"].max() > 3 else ((0.1, 0.25), (2, 6))
        unit = "d" if t["day"].max() > 3 else "h"
        scale = 1.0 if unit == "d" else 24.0
        cols = (case.readout, extra)
        parts = [f"{c} {unit}{a:g}-{b:g}: {t.query(f'{a / scale} <= day <= {b / scale}')[c].mean():.4g}"
                 for c in cols for a, b in spans]  # fmt: skip
        print(f"  {key} | {label} | " + "; ".join(parts))
    return path


if __name__ == "__main__":
    import sys

    keys = sys.argv[1:] or list(CASES)  # python docs/validation_figures.py [CASE ...]
    _POOL = RunPool(pool_workers())  # every arm not kept starts at once, one worker per core
    _POOL.submit([(sc, ov, None) for key in keys for sc, ov in CASES[key].arms.values() if _kept(sc, ov) is None])
    try:
        for key in keys:
            print(figure(key))
    finally:
        _POOL.close()
