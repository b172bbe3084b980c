"""Where a lockstep batch's step goes: ms per run and step of each phase, alone and in batches.

``python bench/lockstep_phases.py [SCENARIO] [--sizes 1,8,32] [--warm N] [--steps N] [--quick]``

For each batch size B, B runs of the scenario (seeds 1 to B) are built and stepped together
(:class:`neuroagents.lockstep.Lockstep`, every phase timed through ``Lockstep.step(label=...)``); after ``--warm``
steps, ``--steps`` steps are timed and each phase's wall time is divided by B and the steps: what a phase costs
one run in a batch of B. B = 1 is a run alone through the same code. A phase whose cost falls with B is shared by
the batch (diffusion, the tissue's rules, pain); one that stays flat still runs run by run (the cell phases).

Check (exit status 1 when it fails): the last run of the largest batch equals the same run made alone for as
many steps, its fields bit for bit (each run of a batch is its run alone: ``tests/test_lockstep.py``).

Wall-clock (``time.perf_counter``), printed, never asserted; run it on an otherwise idle machine. ``--quick``:
sizes 1 and 2, a few steps (the test suite runs it).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import sys
import time
from collections import defaultdict

import numpy as np

from neuroagents.lockstep import Lockstep
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import load_scenario


def phase_ms(scenario: str, size: int, warm: int, steps: int) -> tuple[dict[str, float], float, list]:
    """ms per run and step of each phase, and in all, for a batch of ``size`` runs; the batch's models."""
    s = load_scenario(scenario)
    batch = Lockstep([NeuroImmuneModel.from_scenario(s, seed=k + 1) for k in range(size)])
    for _ in range(warm):  # over steps (numba's compilation, the first doses)
        batch.step()
    acc: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def label(phase):
        t0 = time.perf_counter()
        yield
        acc[phase] += time.perf_counter() - t0

    t0 = time.perf_counter()
    for _ in range(steps):  # over steps
        batch.step(label=label)
        batch.check_fields()
    total = time.perf_counter() - t0
    if batch.dropped:
        raise RuntimeError(f"runs left the batch: {batch.dropped}")
    per = 1e3 / (steps * size)
    return {ph: v * per for ph, v in acc.items()}, total * per, batch.models


def main(argv=None) -> int:
    """Print the table; exit status 1 when a batch's run differs from its run alone."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="sni", help="a built-in scenario (default sni)")
    ap.add_argument("--sizes", default="1,8,32", help="batch sizes, comma-separated (default 1,8,32)")
    ap.add_argument("--warm", type=int, default=200, help="steps before the timing (default 200)")
    ap.add_argument("--steps", type=int, default=150, help="steps timed (default 150)")
    ap.add_argument("--quick", action="store_true", help="sizes 1 and 2, 5 + 5 steps: the code path and the check")
    args = ap.parse_args(argv)
    sizes = [1, 2] if args.quick else [int(x) for x in args.sizes.split(",")]
    warm, steps = (5, 5) if args.quick else (args.warm, args.steps)
    print(f"machine: {platform.machine()}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}; "
          f"python {platform.python_version()}; backend numpy (CPU)")  # fmt: skip
    print(f"{args.scenario}: ms per run and step, {steps} steps timed after {warm}")
    last_models = None
    for size in sizes:  # over batch sizes
        phases, total, models = phase_ms(args.scenario, size, warm, steps)
        print(f"  B={size:<4d} total {total:6.3f}  " + "  ".join(f"{ph} {v:.3f}" for ph, v in phases.items()))
        last_models = models
    run = last_models[-1]
    alone = NeuroImmuneModel.from_scenario(load_scenario(args.scenario), seed=len(last_models))
    for _ in range(warm + steps):  # over steps
        alone.step()
    same = all(np.array_equal(c.env.fields, run.compartments[n].env.fields) for n, c in alone.compartments.items())
    print(f"check: run {len(last_models)} of the batch of {len(last_models)} equals its run alone: "
          f"{'yes' if same else 'NO'}")  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
