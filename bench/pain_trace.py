"""The pain trace's cost per cell step: a scenario run with the trace and without it, in one process.

``python bench/pain_trace.py [SCENARIO] [--days D] [--every N] [--quick]``

Two models of the scenario (default ``sni``, its whole 28 days) are built with the same seed and stepped in
alternating blocks of :data:`BLOCK` steps, so that a busy machine slows both alike: one as the model runs (a row
of the pain trace every cell step, :mod:`neuroagents.pain.trace`), the other with the row turned off (its
``_trace_pain`` replaced by a no-op: the pain update's one copy to the host, which the trace reads, stays in both;
it is the copy of the mean firing the dorsal horn always needed, now 1 + 5 n floats instead of 1). CPU time of
the process per block (``time.process_time``; numba's kernels are serial), summed: the ratio with / without is
the trace's cost. Then the trace alone: the per-call cost of a row with the thresholds (every step at the default
cadence) and of a row without them (``--every N`` sets ``trace_threshold_every_steps``: the thresholds every N-th
step), and how many rows had to evaluate the whole force grid because the threshold left the window around its
last crossing.

**Checks** (exit status 1 when one fails): the two models' time series are identical (the trace changes nothing
recorded); the trace has one row per step; at every record its columns equal the recorded readouts (within
1e-12). ``--quick`` (:data:`QUICK_STEPS` steps) runs the same checks in a few seconds; the test suite runs it
(``tests/test_bench_quick.py``). Prints the machine, NumPy and numba's thread count.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numpy as np
import pandas as pd

from neuroagents.pain import readouts as ro
from neuroagents.pain import trace as pain_trace
from neuroagents.scenario.loader import load_scenario

BLOCK = 50
WARMUP = 4
QUICK_STEPS = 60
COLUMNS = ("pain_ongoing_hz", "pain_evoked_standard_hz", "withdrawal_threshold_g", "withdrawal_threshold_interp_g",
           "neuron_mean_firing_hz", "mean_sensitization", "spinal_disinhibition")  # fmt: skip


def _machine() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; NumPy "
            f"{np.__version__}; NUMBA_NUM_THREADS={os.environ.get('NUMBA_NUM_THREADS', 'default')}")  # fmt: skip


def _count_full_grid(filaments: int):
    """Wrap the von Frey protocol to count the trace's full-grid evaluations (48 + the series' forces)."""
    calls = {"full": 0}
    inner = ro.von_frey_responses

    def counted(dh, f_a_onset, *args, **kw):
        if f_a_onset.shape[0] == pain_trace.FINE_GRID_POINTS + filaments:  # the readout adds the standard filament
            calls["full"] += 1
        return inner(dh, f_a_onset, *args, **kw)

    ro.von_frey_responses = counted
    return calls, lambda: setattr(ro, "von_frey_responses", inner)


def check(model, steps: int) -> list[str]:
    """What is wrong with the trace of ``model`` after ``steps`` steps (empty when nothing is)."""
    problems = []
    trace = model.pain_trace()
    if len(trace) != steps or trace["step"].tolist() != list(range(1, steps + 1)):
        problems.append(f"the trace has {len(trace)} rows after {steps} steps")
    joined = trace.merge(model.timeseries(), on="time_min", suffixes=("", "_rec"))
    if len(joined) == 0:
        problems.append("no record time in the trace")
    for col in COLUMNS:
        a, b = joined[col].to_numpy(), joined[f"{col}_rec"].to_numpy()
        if not np.allclose(a, b, rtol=1e-12, atol=0.0):
            problems.append(f"{col}: the trace differs from the records by up to {np.max(np.abs(a - b)):.3g}")
    return problems


def main(argv=None) -> int:
    """Time the scenario with and without the trace; exit status 1 when a check fails."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default="sni")
    ap.add_argument("--days", type=float, default=None, help="simulated days (default: the scenario's duration)")
    ap.add_argument("--every", type=int, default=None, help="pain.trace_threshold_every_steps (default: the "
                    "scenario's, 1 unless it sets one)")  # fmt: skip
    ap.add_argument("--quick", action="store_true", help=f"{QUICK_STEPS} steps")
    args = ap.parse_args(argv)
    overrides = ["time.record_every_min=50"] if args.quick else []  # quick: records to check within its steps
    if args.every is not None:
        overrides.append(f"pain.trace_threshold_every_steps={args.every}")
    s = load_scenario(args.scenario, overrides)
    with_trace, without = s.build_model(backend="numpy"), s.build_model(backend="numpy")
    without._trace_pain = lambda: None
    days = s.duration_min / 1440.0 if args.days is None else args.days
    steps = QUICK_STEPS if args.quick else max(1, math.ceil(days * 1440.0 / with_trace.cell_dt_min - 1e-9))
    block = 10 if args.quick else BLOCK
    print(_machine())
    dt = with_trace.cell_dt_min
    print(f"{args.scenario}: {steps} steps of {dt:g} min ({steps * dt / 1440:.2f} days), {with_trace.neurons.n} "
          f"neurons, blocks of {block} steps alternating after {WARMUP} untimed steps; thresholds every "
          f"{with_trace.pain.params.trace_threshold_every_steps} steps and at records")  # fmt: skip
    calls, restore = _count_full_grid(len(with_trace.pain.species.filaments_g))
    cpu = {"with": 0.0, "without": 0.0}
    for model in (without, with_trace):  # warm-up (first calls, caches), counted in the steps
        for _ in range(WARMUP):
            model.step()
    done = WARMUP
    try:
        while done < steps:  # over blocks
            n = min(block, steps - done)
            for name, model in (("without", without), ("with", with_trace)):  # over the two models
                t0 = time.process_time()
                for _ in range(n):  # over cell steps
                    model.step()
                cpu[name] += time.process_time() - t0
            done += n
    finally:
        restore()
    per = {k: 1e3 * v / (steps - WARMUP) for k, v in cpu.items()}
    print(f"CPU ms per step: without the trace {per['without']:.3f}, with it {per['with']:.3f}: "
          f"ratio {per['with'] / per['without']:.3f} (+{per['with'] - per['without']:.3f} ms)")
    print(f"rows that evaluated the whole force grid (the threshold left its window): {calls['full']} of {steps}")
    pm = with_trace.pain
    reps = 20 if args.quick else 400
    for threshold in (True, False):  # a row with the thresholds, and one without (a sparser cadence)
        pm.trace_signals(with_trace, threshold=threshold)  # warm-up: a numba signature not used yet loads here
        t0 = time.process_time()
        for _ in range(reps):  # over repeated calls on the final state
            pm.trace_signals(with_trace, threshold=threshold)
        label = "with the thresholds" if threshold else "without (cadence > 1)"
        print(f"a trace row {label}: {1e3 * (time.process_time() - t0) / reps:.3f} ms CPU")
    problems = check(with_trace, steps)
    with_trace.record()
    without.record()
    if not with_trace.timeseries().equals(without.timeseries()):
        problems.append("the time series with the trace differs from the one without it")
    if len(without.pain_trace()) != 0:
        problems.append("the model without the trace has trace rows")
    print("checks: " + ("; ".join(problems) or "ok (same time series; one row per step; equal to every record)"))
    if problems:
        print("FAILED", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    pd.set_option("display.width", 160)
    sys.exit(main())
