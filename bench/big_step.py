"""A whole model step on a large tissue: steps per second at 1e6 cells on 1024² voxels, on a backend.

The issue "Ensembles on one device" asks for 1e6 cells on 1024² voxels at >= 500 steps/s on an H100/H200. This
times :class:`~neuroagents.model.NeuroImmuneModel` with ``n`` cells of the *mix* workload of ``bench/cells.py``
(the five kinds in equal numbers, half the neurons injured; 1024² voxels of 20 µm per 1e6 cells, crowding limit 4)
and every mediator of the model, cells and diffusion together: ``model.step()`` as a run calls it. On CuPy every
timer waits for the device first.

Run::

    python bench/big_step.py --backend cupy          # 1e6 cells (on a GPU)
    python bench/big_step.py --cells 100000          # NumPy, 1e5 cells
    python bench/big_step.py --quick                 # 2000 cells, a few steps: the code path and the checks

Checks (exit status 1 when one fails): the clock advanced by the steps taken, every field is finite and
non-negative, and cells are still alive. Times are printed, never checked.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
from cells import workload  # bench/cells.py: the same tissue; importing it sets one CPU thread
from run_axis import step_blocks

from neuroagents.model import NeuroImmuneModel


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cells", type=int, default=1_000_000)
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    ap.add_argument("--warm", type=int, default=5, help="untimed steps first (compilation, allocation)")
    ap.add_argument("--steps", type=int, default=30, help="timed steps, in 3 blocks")
    ap.add_argument("--quick", action="store_true", help="2000 cells, 2 + 3 steps: the code path and the checks")
    args = ap.parse_args(argv)
    if args.quick:
        args.cells, args.warm, args.steps = 2000, 2, 3
    t0 = time.perf_counter()
    model = NeuroImmuneModel(seed=1, backend=args.backend, **workload("mix", args.cells))
    build_s = time.perf_counter() - t0
    sync = model.backend.synchronize
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, backend "
          f"{model.backend.name} ({model.backend.device}), one CPU thread")  # fmt: skip
    print(f"tissue {model.env.grid.shape} voxels x {len(model.env.names)} mediators, "
          f"{sum(ct.n for ct in model.cell_types.values())} cells; built in {build_s:.1f} s")  # fmt: skip
    start_min = model.time_min
    for _ in range(args.warm):
        model.step()
    sync()
    block = max(1, args.steps // 3)
    blocks = step_blocks(model, args.steps, sync)
    ms = statistics.median(blocks)
    print(f"whole step: {ms:.2f} ms (median of 3 blocks of {block}; min {min(blocks):.2f}) = "
          f"{1e3 / ms:.1f} steps/s")  # fmt: skip
    problems = []
    steps = args.warm + 3 * block
    if abs(model.time_min - start_min - steps * model.cell_dt_min) > 1e-6 * max(1.0, model.time_min):
        problems.append(f"clock at {model.time_min} min after {steps} steps of {model.cell_dt_min} min")
    fields = model.backend.to_host(model.env.fields)
    if not (np.all(np.isfinite(fields)) and np.all(fields >= 0)):
        problems.append("a field is not finite or is negative")
    if sum(ct.n for ct in model.cell_types.values()) == 0:
        problems.append("no cell is alive")
    for p in problems:
        print("CHECK FAILED:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
