"""Sweep throughput: runs per second in this process against a local Dask cluster, on the same design.

``python bench/sweep.py [--workers 2] [--runs 16] [--minutes 120] [--quick]``

In one run:

1. the same sweep (a grid over the injured fraction and the macrophage speed of a small nerve-injury patch,
   ``--runs`` runs of ``--minutes`` simulated minutes) is run three ways, each into its own directory:

   * in this process with the default executor (numba at its default thread count),
   * in this process with numba on one thread (what one Dask worker does),
   * on a ``distributed.LocalCluster`` of ``--workers`` single-threaded worker processes; the cluster's start
     and the workers' first import of the model are timed apart from the runs;

2. it checks that the three give identical tables (the same seeds, the same results);
3. it prints runs per second, the speed-up over each in-process baseline and the parallel efficiency
   (speed-up / workers), with the backend and the machine, and a probe of how many cores are really free
   before and after (``workers`` processes running a pure-Python loop against one process running them in
   turn): on a shared machine the efficiency cannot exceed that figure / workers.

Wall-clock times (``time.perf_counter``) of whole sweeps, including writing each run's Parquet file: that is
the throughput a user sees. Run it on an otherwise idle machine; the load average is printed before and after.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from neuroagents.batch.executors import DaskExecutor, InProcessExecutor
from neuroagents.batch.spec import parse_sweep
from neuroagents.batch.store import SweepStore
from neuroagents.batch.sweep import run_sweep


def spec(runs: int, minutes: float):
    """A grid of about ``runs`` points (fractions x speeds), one replicate each."""
    n_speed = 2 if runs >= 4 else 1
    fractions = [round(0.9 * i / max(1, runs // n_speed - 1), 4) for i in range(max(1, runs // n_speed))]
    return parse_sweep({
        "sweep": {"name": "bench", "scenario": "nerve_injury", "backend": "numpy", "base_seed": 1,
                  "set": [f"scenario.duration_min={minutes}", "tissue.width_um=600", "tissue.height_um=600",
                          "cells.initial.mast_cell=20", "cells.initial.macrophage=60", "cells.initial.neuron=20"]},
        "design": {"method": "grid"},
        "parameters": [{"key": "injury.injured_fraction", "values": fractions},
                       {"key": "cells.macrophage.speed_um_per_min", "values": [1.0, 4.0][:n_speed]}],
    }, where="bench/sweep.py")  # fmt: skip


def timed(label, s, out, executor, workers):
    t0 = time.perf_counter()
    r = run_sweep(s, out, executor=executor, progress=False)
    wall = time.perf_counter() - t0
    if r.failed:
        raise SystemExit(f"{label}: {len(r.failed)} run(s) failed: {r.failed}")
    n = len(r.done)
    return {"executor": label, "workers": workers, "runs": n, "wall_s": wall, "runs_per_s": n / wall}


def _burn(n: int) -> float:
    """CPU seconds of a pure-Python loop (no memory traffic): a probe of how many cores are free."""
    t = time.perf_counter()
    s = 0
    for i in range(n):  # the probe's loop
        s += i * i
    return time.perf_counter() - t


def free_cores(workers: int, n: int = 5_000_000) -> float:
    """How much faster ``workers`` processes finish ``workers`` equal loops than one process does them in turn.

    ``workers`` on an idle machine with that many cores; less when other jobs hold cores (a shared machine).
    """
    import multiprocessing as mp

    one = _burn(n)
    with mp.get_context("spawn").Pool(workers) as pool:
        pool.map(_burn, [1000] * workers)  # start the processes
        t0 = time.perf_counter()
        pool.map(_burn, [n] * workers)
        wall = time.perf_counter() - t0
    return workers * one / wall


def _warm() -> None:
    """Import the model on a worker (what its first run would otherwise pay)."""
    import neuroagents.batch.executors
    import neuroagents.model  # noqa: F401


def main(argv=None) -> int:
    """Run the sweep three ways; exit status 1 when their tables differ or a run failed."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--runs", type=int, default=16)
    p.add_argument("--minutes", type=float, default=120.0, help="simulated minutes per run")
    p.add_argument("--quick", action="store_true", help="4 runs of 20 min, a shorter probe: the checks in seconds")
    args = p.parse_args(argv)
    if args.workers < 1 or args.runs < 1 or not args.minutes > 0:
        p.error(f"--workers {args.workers}, --runs {args.runs}, --minutes {args.minutes:g}: each must be > 0")
    probe_n = 5_000_000
    if args.quick:
        args.runs, args.minutes, probe_n = 4, 20.0, 1_000_000
    s = spec(args.runs, args.minutes)
    tmp = Path(tempfile.mkdtemp(prefix="bench-sweep-"))
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} logical CPUs, "
          f"{platform.system()} {platform.release()}; python {platform.python_version()}; backend numpy (CPU)")
    print(f"load average before: {os.getloadavg()[0]:.2f}; free cores now (probe, {args.workers} processes): "
          f"{free_cores(args.workers, probe_n):.2f} of {args.workers}")
    print(f"design: {args.runs} runs of {args.minutes:g} simulated min of a 600 x 600 µm nerve-injury patch "
          f"(30 x 30 voxels, 24 mediators, 100 cells)")  # fmt: skip
    run_sweep(spec(1, 2.0), tmp / "warm", progress=False)  # imports, numba caches
    rows = [timed("in-process (numba default threads)", s, tmp / "a", InProcessExecutor(), 1)]
    import numba

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    rows.append(timed("in-process (numba 1 thread)", s, tmp / "b", InProcessExecutor(), 1))
    numba.set_num_threads(threads)
    ex = DaskExecutor(workers=args.workers)
    t0 = time.perf_counter()
    ex.__enter__()
    ex.client.run(_warm)
    start_s = time.perf_counter() - t0
    try:  # run_sweep enters the started executor again (a no-op) and closes it
        rows.append(timed(f"dask LocalCluster ({args.workers} processes x 1 thread)", s, tmp / "c", ex, args.workers))
    finally:
        ex.__exit__(None, None, None)
    tables = [SweepStore(tmp / d).results() for d in ("a", "b", "c")]
    same = all(t.equals(tables[0]) for t in tables[1:])
    table = pd.DataFrame(rows)
    for col, base in (("speed-up vs default", rows[0]["runs_per_s"]), ("speed-up vs 1 thread", rows[1]["runs_per_s"])):
        table[col] = table["runs_per_s"] / base
    table["efficiency vs 1 thread"] = table["speed-up vs 1 thread"] / table["workers"]
    print(f"\nnumba default threads here: {threads}; local cluster start and imports on the workers: {start_s:.2f} s "
          "(not in the dask row)")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"\nidentical results in all three: {same}")
    free = free_cores(args.workers, probe_n)
    print(f"load average after: {os.getloadavg()[0]:.2f}; free cores now (probe): {free:.2f} of {args.workers}")
    shutil.rmtree(tmp, ignore_errors=True)
    if not same:
        print("FAILED: results differ between executors", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
