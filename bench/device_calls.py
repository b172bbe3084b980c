"""Device operations per step: how many kernel launches (at least) a CuPy step of each scenario would make.

``python bench/device_calls.py [SCENARIO ...] [--steps N] [--top K] [--quick]``

A CuPy step is launch-bound on these small tissues: each array operation is a kernel launch of a few microseconds
of host time whatever its size (issue "Ensembles on one device": ~7,000 array calls and a 10x slower step than the
CPU's at 4a5c6ce). This counts them without a GPU: the model runs on the strict backend
(:mod:`neuroagents.strict_xp`, NumPy's numbers, the device code path: the NumPy phases, as on CuPy, not the fused
CPU kernels), whose :meth:`~neuroagents.strict_xp.StrictXP.count_calls` counts every operation that would launch
work on a GPU (elementwise math, reductions, gathers, scatter-adds, assignments, allocations, draws; each
diffusion kernel call as one) and not views or metadata. A count is a lower bound on launches (CuPy's sorts and
some reductions take several) and says nothing of their sizes; it is the number the replicate axis divides by the
batch size and that fused device kernels shrink.

For each scenario: operations per step by phase (averaged over ``--steps`` steps after one warm-up step, the
records of a recording step included in "record"), then the ``--top`` call sites over all scenarios. Checks: the
strict run gives NumPy's numbers (the cell counts of a plain NumPy run of the same steps) and the counts are
positive in every phase that has work. Exit status 1 when a check fails. ``--quick``: two scenarios, two steps.

``--batch B`` also counts the same steps of a lockstep batch of ``B`` runs (:mod:`neuroagents.lockstep`, seeds 1
to ``B``), per run and step: what the batch shares shows as operations divided by ``B`` (checked: each run's cell
counts equal its NumPy run's alone). ``--quick`` counts a batch of 2.
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
from collections import Counter

PHASE_ORDER = ("dose", "sense", "decide", "secrete", "diffuse", "move", "pain", "record")


def count(name: str, steps: int) -> tuple[Counter, bool]:
    """Operations ``(phase, op, site)`` of ``steps`` steps of scenario ``name`` after one warm-up step, and whether
    the strict run's cell counts equal a NumPy run's."""
    from neuroagents.backend import strict_backend
    from neuroagents.host_syncs import DECLARED, KNOWN, run_phases
    from neuroagents.model import NeuroImmuneModel
    from neuroagents.scenario import load_scenario

    scenario = load_scenario(name)
    backend = strict_backend(mode="record", allow={**DECLARED, **KNOWN})
    model = NeuroImmuneModel.from_scenario(scenario, backend=backend)
    plain = NeuroImmuneModel.from_scenario(scenario, backend="numpy")  # (its fused kernels give the same numbers)
    run_phases(model, 1, record_last=False)
    calls = backend.xp.count_calls(sites=True)
    run_phases(model, steps)
    for _ in range(steps + 1):  # over steps
        plain.step()
    same = model.counts() == plain.counts()
    return Counter(calls), same


def count_batch(name: str, steps: int, batch: int) -> tuple[Counter, bool]:
    """Operations ``(phase, op, site)`` of ``steps`` steps of a lockstep batch (:mod:`neuroagents.lockstep`) of
    ``batch`` runs of scenario ``name`` (seeds 1 to ``batch``) after one warm-up step, and whether each run's cell
    counts equal its NumPy run's alone."""
    from neuroagents.backend import strict_backend
    from neuroagents.host_syncs import DECLARED, KNOWN
    from neuroagents.lockstep import Lockstep
    from neuroagents.model import NeuroImmuneModel
    from neuroagents.scenario import load_scenario

    scenario = load_scenario(name)
    backend = strict_backend(mode="record", allow={**DECLARED, **KNOWN})
    xp = backend.xp
    runs = Lockstep([NeuroImmuneModel.from_scenario(scenario, backend=backend, seed=k + 1) for k in range(batch)])
    runs.step(label=xp.label)
    calls = xp.count_calls(sites=True)
    for k in range(steps):  # over steps; the last one records
        if k == steps - 1:
            for m in runs.models:  # over runs
                m._next_record_min = m.time_min
        runs.step(label=xp.label)
    same = True
    for k, model in enumerate(runs.models):  # over runs
        plain = NeuroImmuneModel.from_scenario(scenario, backend="numpy", seed=k + 1)
        for _ in range(steps + 1):  # over steps
            plain.step()
        same &= model.counts() == plain.counts()
    return Counter(calls), same and not runs.dropped


def main(argv=None) -> int:
    from neuroagents.scenario.loader import builtin_scenarios

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenarios", nargs="*", help="built-in scenarios (default: every one; --quick: two)")
    ap.add_argument("--steps", type=int, default=3, help="steps counted after one warm-up step (default 3)")
    ap.add_argument("--top", type=int, default=15, help="call sites listed (default 15)")
    ap.add_argument("--batch", type=int, default=1, metavar="B",
                    help="also count a lockstep batch of B runs of each scenario: operations per run and step")
    ap.add_argument("--quick", action="store_true", help="two scenarios, two steps: the code path and the checks")
    args = ap.parse_args(argv)
    if args.quick and args.batch == 1:
        args.batch = 2
    names = args.scenarios or (["carrageenan", "sni"] if args.quick else list(builtin_scenarios()))
    steps = 2 if args.quick else args.steps
    print(f"device operations per step (strict backend, the device code path); {platform.machine()}, Python "
          f"{platform.python_version()}; {steps} steps after a warm-up step; the last step records\n")  # fmt: skip
    print(f"{'scenario':<24} {'per step':>9}  " + " ".join(f"{p:>8}" for p in PHASE_ORDER) + "   s")
    ok, sites = True, Counter()
    for name in names:  # over scenarios
        t0 = time.perf_counter()
        calls, same = count(name, steps)
        per_phase = Counter()
        for (phase, _op, site), n in calls.items():
            per_phase[phase] += n
            sites[phase, site] += n
        step_ops = sum(n for p, n in per_phase.items() if p != "record") / steps
        worked = all(per_phase[p] > 0 for p in ("sense", "secrete", "diffuse", "move"))
        ok &= same and worked
        cols = " ".join(f"{per_phase[p] / steps:8.0f}" for p in PHASE_ORDER)
        flag = "" if same and worked else ("  DIFFERS from NumPy" if not same else "  a phase with no operation")
        print(f"{name:<24} {step_ops:9.0f}  {cols}  {time.perf_counter() - t0:5.1f}{flag}")
        if args.batch > 1:  # the same steps in a lockstep batch: operations per run and step
            t0 = time.perf_counter()
            calls, same = count_batch(name, steps, args.batch)
            per_phase = Counter()
            for (phase, _op, _site), n in calls.items():
                per_phase[phase] += n / args.batch
            ok &= same
            cols = " ".join(f"{per_phase[p] / steps:8.0f}" for p in PHASE_ORDER)
            run_ops = sum(n for p, n in per_phase.items() if p != "record") / steps
            flag = "" if same else "  DIFFERS from NumPy"
            label = f"  lockstep of {args.batch}, per run"
            print(f"{label:<24} {run_ops:9.0f}  {cols}  {time.perf_counter() - t0:5.1f}{flag}")
    print(f"\ntop {args.top} call sites, operations per step summed over the {len(names)} scenarios:")
    for (phase, site), n in sites.most_common(args.top):
        print(f"  {n / steps:8.0f}  {phase:<8} {site}")
    print(f"\nchecks: strict runs give NumPy's counts, every phase with work has operations: {'yes' if ok else 'NO'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
