"""Ensembles: runs per hour of a batch of runs against the same runs made one by one, in the same process.

``python bench/ensemble.py [--backend numpy] [--sizes 1,8,32] [--sni-days 28] [--carrageenan-hours 48] [--quick]``

For each scenario (``sni`` for ``--sni-days`` simulated days, ``carrageenan`` for ``--carrageenan-hours``) and each
batch size B (default 1, 8, 32 on the CPU; 1, 8, 64, 512 on a GPU):

1. B replicates (seeds 1 to B) run as one batch, through
   :func:`neuroagents.batch.executors.run_batch` (what a sweep's worker task and ``neuroagents run --replicates``
   call);
2. the same B runs are made one by one, each through :func:`neuroagents.batch.executors.run_task`;
3. the two sets of time series must be identical (the script exits 1 otherwise, or when a run fails);
4. it prints runs per hour of each and their ratio, with the backend, the machine and the load average.

A batch of two runs or more is stepped in lockstep (:mod:`neuroagents.lockstep`): phase by phase, the diffusion
of all its runs' fields in one kernel call per compartment, the tissue's own rules (stroma, swelling) in one
pass, and the pain update and trace of all its runs together (:mod:`neuroagents.lockstep_pain`); the cell phases
still run by run. The ratio measures what that buys, and grows as phases move into the
batch's shared arrays. A batch of 1 is the same code both ways: its ratio is the machine's noise.

Wall-clock times (``time.perf_counter``) of whole runs, building the model included, after one short warm-up run
(imports, numba's compilation). Run it on an otherwise idle machine. ``--quick``: 1 h of each scenario, batch
sizes 1 and 2 (the checks in seconds).
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import pandas as pd

from neuroagents.batch import executors
from neuroagents.batch.replicates import replicate_tasks
from neuroagents.scenario import load_scenario

GPU_SIZES = (1, 8, 64, 512)
CPU_SIZES = (1, 8, 32)


def tasks_of(name: str, duration_min: float, size: int, backend: str):
    """``size`` replicates (seeds 1 to ``size``) of ``name`` for ``duration_min`` simulated minutes."""
    scenario = load_scenario(name, [f"scenario.duration_min={duration_min!r}"])
    return replicate_tasks(scenario, size, seed=1, backend=backend)


def _tables(outcomes) -> list:
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise SystemExit(f"FAILED: run {bad[0].run_id}: {bad[0].error['type']}: {bad[0].error['message']}")
    return [o.table for o in outcomes]


def measure(name: str, duration_min: float, size: int, backend: str) -> dict:
    """One row: the batch and the same runs one by one, timed, and whether their tables are identical."""
    tasks = tasks_of(name, duration_min, size, backend)
    t0 = time.perf_counter()
    batched = _tables(executors.run_batch(tasks))
    batch_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    alone = _tables([executors.run_task(t) for t in tasks])  # over runs: the baseline, one by one
    alone_s = time.perf_counter() - t0
    same = all(a.drop(columns="run_id").equals(b.drop(columns="run_id")) for a, b in zip(batched, alone, strict=True))
    return {"scenario": name, "simulated": _span(duration_min), "batch": size, "batch_s": batch_s,
            "one_by_one_s": alone_s, "batch_runs_per_h": 3600 * size / batch_s,
            "one_by_one_runs_per_h": 3600 * size / alone_s, "ratio": alone_s / batch_s, "identical": same}  # fmt: skip


def _span(minutes: float) -> str:
    return f"{minutes / 1440:g} d" if minutes > 2880 else f"{minutes / 60:g} h"


def main(argv=None) -> int:
    """Measure every scenario and batch size; exit 1 when a batch's results differ from the runs made alone."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--backend", default="numpy", choices=("numpy", "cupy", "auto"))
    p.add_argument("--sizes", default=None, help="batch sizes, comma-separated (default: 1,8,32 on the CPU, "
                   "1,8,64,512 on a GPU)")  # fmt: skip
    p.add_argument("--sni-days", type=float, default=28.0, help="simulated days of sni (default: %(default)s)")
    p.add_argument("--carrageenan-hours", type=float, default=48.0, help="simulated hours of carrageenan "
                   "(default: %(default)s)")  # fmt: skip
    p.add_argument("--quick", action="store_true", help="1 h of each scenario, batches of 1 and 2: the checks")
    args = p.parse_args(argv)
    from neuroagents.backend import resolve_backend

    backend = resolve_backend(args.backend)
    sizes = GPU_SIZES if backend.is_gpu else CPU_SIZES
    if args.sizes:
        sizes = tuple(int(s) for s in args.sizes.split(","))
    runs = [("sni", args.sni_days * 1440.0), ("carrageenan", args.carrageenan_hours * 60.0)]
    if args.quick:
        sizes, runs = (1, 2), [(n, 60.0) for n, _ in runs]
    if min(sizes) < 1 or any(not d > 0 for _, d in runs):
        p.error(f"--sizes {sizes}, durations {[d for _, d in runs]}: each must be > 0")
    import numba

    print(f"machine: {platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} logical "
          f"CPUs, {platform.system()} {platform.release()}; python {platform.python_version()}")  # fmt: skip
    print(f"backend: {backend.name} ({backend.device}); numba threads {numba.get_num_threads()}; load average before "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print("note: a batch runs in lockstep (neuroagents.lockstep): its diffusion, tissue rules and pain shared, the "
          "cell phases run by run; a batch of 1 is the same code both ways (its ratio is noise)")  # fmt: skip
    executors.run_batch(tasks_of("sni", 10.0, 1, backend.name) + tasks_of("carrageenan", 10.0, 1, backend.name))
    rows = []
    for name, minutes in runs:  # over scenarios
        for size in sizes:  # over batch sizes
            rows.append(measure(name, minutes, size, backend.name))
            r = rows[-1]
            print(f"  {name} {r['simulated']} batch {size}: {r['batch_s']:.1f} s batched, {r['one_by_one_s']:.1f} s "
                  "one by one", flush=True)  # fmt: skip
    table = pd.DataFrame(rows)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    same = bool(table["identical"].all())
    print(f"identical results, batched and one by one: {same}")
    if not same:
        print("FAILED: a batch's results differ from the same runs made one by one", file=sys.stderr)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
