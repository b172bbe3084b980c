"""Each built-in scenario end to end: wall time and simulated days per wall minute, with the backend that ran.

Target (issue #5): the 28-day spared-nerve-injury scenario in <= 10 min on a 2-core machine of this project's
kind, <= 30 s on an H100-class GPU. Run::

    python bench/scenario.py                 # every built-in scenario, NumPy
    python bench/scenario.py sni --backend cupy
    python bench/scenario.py --quick         # every built-in scenario, 50 steps each: a few seconds

Prints one row per scenario: steps, cell dt, simulated days, wall s, simulated days per wall minute. Each run
is then checked: the model's clock reached the end of the steps run, the last recorded row is at that time
and no recorded number is NaN or infinite, and every compartment's fields are finite and non-negative. The
exit status is 1 when a check fails. ``--quick`` (:data:`QUICK_STEPS` steps of each scenario, the same code
paths and checks) is what the test suite runs (``tests/test_bench_quick.py``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np

from neuroagents.scenario.loader import builtin_scenarios, load_scenario

QUICK_STEPS = 50


def check_run(model, steps: int) -> list[str]:
    """What is wrong with a model after ``steps`` cell steps and a final record (empty when nothing is)."""
    problems = []
    end = steps * model.cell_dt_min
    if not math.isclose(model.time_min, end, rel_tol=1e-9, abs_tol=1e-9):
        problems.append(f"clock at {model.time_min:g} min after {steps} steps of {model.cell_dt_min:g} min")
    ts = model.timeseries()
    if len(ts) == 0 or not math.isclose(float(ts["time_min"].iloc[-1]), end, rel_tol=1e-9, abs_tol=1e-9):
        problems.append(f"last recorded row not at {end:g} min")
    values = ts.select_dtypes("number").to_numpy(dtype=float)
    if not np.isfinite(values).all():
        problems.append("NaN or infinite values in the recorded time series")
    for name, comp in model.compartments.items():  # over compartments
        fields = model.backend.to_host(comp.env.fields)
        if not np.isfinite(fields).all():
            problems.append(f"non-finite fields in compartment {name!r}")
        elif fields.min() < 0:
            problems.append(f"negative fields in compartment {name!r} (min {fields.min():.3g} nM)")
    return problems


def bench_one(name: str, backend: str, max_steps: int | None = None) -> dict:
    """Build scenario ``name`` and run it to its end (or ``max_steps`` cell steps); time, rate and checks."""
    s = load_scenario(name)
    t0 = time.perf_counter()
    model = s.build_model(backend=backend)
    built = time.perf_counter() - t0
    n = max(1, math.ceil(s.duration_min / model.cell_dt_min - 1e-9))
    if max_steps is not None:
        n = min(n, max_steps)
    t1 = time.perf_counter()
    for _ in range(n):  # over cell steps
        model.step()
    model.record()
    wall = time.perf_counter() - t1
    days = n * model.cell_dt_min / 1440.0
    return {"scenario": name, "backend": model.backend.name, "steps": n, "cell_dt_min": model.cell_dt_min,
            "compartments": len(model.compartments), "sim_days": days, "build_s": built, "wall_s": wall,
            "days_per_wall_min": days / (wall / 60.0), "ms_per_step": 1e3 * wall / n,
            "problems": check_run(model, n)}  # fmt: skip


def main(argv=None) -> int:
    """Run the scenarios; exit status 1 when a run fails its checks, 2 for an unknown scenario."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenarios (default: every built-in one)")
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy", "auto"))
    ap.add_argument("--quick", action="store_true", help=f"only the first {QUICK_STEPS} steps of each scenario")
    args = ap.parse_args(argv)
    known = sorted(builtin_scenarios())
    unknown = [n for n in args.names if n not in known and not os.path.exists(n)]  # a name or a scenario file
    if unknown:
        ap.error(f"unknown scenario {unknown[0]!r}: choose among {', '.join(known)}")
    names = args.names or known
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}" + (f"; --quick: {QUICK_STEPS} steps each" if args.quick
                                                                 else ""))  # fmt: skip
    print(f"{'scenario':28s} {'backend':7s} {'comp':>4s} {'steps':>7s} {'dt':>4s} {'days':>6s} {'wall s':>8s} "
          f"{'ms/step':>8s} {'days/min':>9s}  checks")  # fmt: skip
    failed = []
    for name in names:  # over scenarios
        r = bench_one(name, args.backend, QUICK_STEPS if args.quick else None)
        print(f"{r['scenario']:28s} {r['backend']:7s} {r['compartments']:4d} {r['steps']:7d} {r['cell_dt_min']:4g} "
              f"{r['sim_days']:6.2f} {r['wall_s']:8.1f} {r['ms_per_step']:8.2f} {r['days_per_wall_min']:9.1f}  "
              f"{'; '.join(r['problems']) or 'ok'}")  # fmt: skip
        if r["problems"]:
            failed.append(name)
    if failed:
        print(f"FAILED checks: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
