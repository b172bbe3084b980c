"""Each built-in scenario end to end: wall time and simulated days per wall minute, with the backend that ran.

Target (issue #5): the 28-day spared-nerve-injury scenario in <= 10 min on a 2-core machine of this project's
kind, <= 30 s on an H100-class GPU. Run::

    python bench/scenario.py                 # every built-in scenario, NumPy
    python bench/scenario.py sni --backend cupy

Prints one row per scenario: steps, cell dt, simulated days, wall s, simulated days per wall minute.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import time

from neuroagents.scenario.loader import builtin_scenarios, load_scenario


def bench_one(name: str, backend: str) -> dict:
    s = load_scenario(name)
    t0 = time.perf_counter()
    model = s.build_model(backend=backend)
    built = time.perf_counter() - t0
    n = max(1, math.ceil(s.duration_min / model.cell_dt_min - 1e-9))
    t1 = time.perf_counter()
    for _ in range(n):  # over cell steps
        model.step()
    model.record()
    wall = time.perf_counter() - t1
    days = s.duration_min / 1440.0
    return {"scenario": name, "backend": model.backend.name, "steps": n, "cell_dt_min": model.cell_dt_min,
            "compartments": len(model.compartments), "sim_days": days, "build_s": built, "wall_s": wall,
            "days_per_wall_min": days / (wall / 60.0), "ms_per_step": 1e3 * wall / n}  # fmt: skip


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("names", nargs="*", help="scenarios (default: every built-in one)")
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy", "auto"))
    args = ap.parse_args(argv)
    names = args.names or sorted(builtin_scenarios())
    print(f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, NUMBA_NUM_THREADS="
          f"{os.environ.get('NUMBA_NUM_THREADS', 'default')}")  # fmt: skip
    print(f"{'scenario':28s} {'backend':7s} {'comp':>4s} {'steps':>7s} {'dt':>4s} {'days':>6s} {'wall s':>8s} "
          f"{'ms/step':>8s} {'days/min':>9s}")  # fmt: skip
    for name in names:  # over scenarios
        r = bench_one(name, args.backend)
        print(f"{r['scenario']:28s} {r['backend']:7s} {r['compartments']:4d} {r['steps']:7d} {r['cell_dt_min']:4g} "
              f"{r['sim_days']:6.2f} {r['wall_s']:8.1f} {r['ms_per_step']:8.2f} {r['days_per_wall_min']:9.1f}")


if __name__ == "__main__":
    main()
