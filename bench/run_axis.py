"""What a replicate (run) axis can buy on this machine: a step's fixed cost against its array work.

A model that advances B runs in lockstep (issue "Ensembles on one device") pays a step's fixed cost once — the
Python calls, kernel launches and small-array overheads that do not grow with the tissue — and its array work B
times. This script measures both from one scenario at two sizes: as built (1x) and with every compartment's area
and every seeded cell count multiplied by ``--scale²`` (4x by default; vessels keep their spacing, so there are 4x
as many). With ``t₁`` and ``t₄`` the median milliseconds per cell step after a warm-up, the array work at 1x is
``w = (t₄ − t₁) / (k − 1)`` (``k`` the area factor) and the fixed cost ``o = t₁ − w``. A lockstep batch of B runs
then costs about ``o + B w`` a step against ``B (o + w)`` one by one: the ratio ``B (o + w) / (o + B w)``, which
can never pass ``(o + w) / w``. It also times each phase of the step at 1x.

Run::

    python bench/run_axis.py                 # sni, 300 warm-up steps, 3 x 100 timed steps at each size
    python bench/run_axis.py carrageenan --scale 2
    python bench/run_axis.py --quick         # a few steps: the code path and the checks (the tests run this)
    python bench/run_axis.py sni --backend cupy --profile 50   # on a GPU; plus a profile of 50 steps

On CuPy every timer waits for the device first (``Backend.synchronize``), so a phase is charged with the device
work it queued; ``--profile N`` prints the 25 functions with the most own time over ``N`` steps at 1x.

Checks (exit status 1 when one fails): the scaled model has k x the voxels and k x the seeded cells of each
compartment, every field stays finite and non-negative, and every time is finite and positive. Times are printed,
never checked.
"""

from __future__ import annotations

import argparse
import cProfile
import math
import os
import platform
import pstats
import statistics
import sys
import time

import numpy as np

from neuroagents.scenario.loader import load_scenario


def scaled_overrides(scenario, scale: float) -> list[str]:
    """``--set`` overrides multiplying each compartment's width and height by ``scale`` and its cells by ``scale²``."""
    s = load_scenario(scenario, [])
    raw = s.resolved()
    out = []
    tissue = raw.get("tissue", {})
    for key in ("width_um", "height_um"):
        if key in tissue:
            out.append(f"tissue.{key}={tissue[key] * scale:g}")
    for name, comp in (raw.get("compartments") or {}).items():
        for key in ("width_um", "height_um"):
            if comp.get(key) is not None:
                out.append(f"compartments.{name}.{key}={comp[key] * scale:g}")
        for kind, n in (comp.get("cells") or {}).items():
            out.append(f"compartments.{name}.cells.{kind}={round(n * scale**2)}")
    if not raw.get("compartments"):
        for kind, n in (raw.get("cells", {}).get("initial") or {}).items():
            out.append(f"cells.initial.{kind}={round(n * scale**2)}")
    return out


def _sizes(model) -> dict[str, tuple[int, int]]:
    """Voxels and cells of each compartment, ``{name: (voxels, cells)}``."""
    comps = getattr(model, "compartments", None) or {"tissue": model}
    return {name: (int(np.prod(c.grid.shape)), int(sum(t.n for t in c.cell_types.values())))
            for name, c in comps.items()}  # fmt: skip


def _fields_ok(model) -> bool:
    comps = getattr(model, "compartments", None) or {"tissue": model}
    return all(bool(np.all(np.isfinite(c.env.fields)) and np.all(c.env.fields >= 0)) for c in comps.values())


def per_step(scenario: str, overrides: list[str], warm: int, timed: int, phases: bool, backend: str = "numpy"):
    """Median ms per cell step over 3 blocks of ``timed // 3`` steps after ``warm``; phase ms per step; the model."""
    model = load_scenario(scenario, overrides).build_model(backend=backend)
    sync = model.backend.synchronize
    seeded = _sizes(model)
    for _ in range(warm):
        model.step()
    sync()
    spent: dict[str, float] = {}
    if phases:
        for ph in model.phase_order:  # over the phases: wrap each in a timer
            run = getattr(model, f"_phase_{ph}")

            def timed_phase(dt, run=run, ph=ph):
                t0 = time.perf_counter()
                run(dt)
                sync()
                spent[ph] = spent.get(ph, 0.0) + time.perf_counter() - t0

            setattr(model, f"_phase_{ph}", timed_phase)
    blocks = step_blocks(model, timed, sync)
    block = max(1, timed // 3)
    return statistics.median(blocks), {k: v / (3 * block) * 1e3 for k, v in spent.items()}, model, seeded


def step_blocks(model, steps: int, sync) -> list[float]:
    """Milliseconds per step in each of 3 blocks of ``steps // 3`` steps (at least 1), ``sync()`` after each block."""
    block = max(1, steps // 3)
    out = []
    for _ in range(3):
        t0 = time.perf_counter()
        for _ in range(block):
            model.step()
        sync()
        out.append((time.perf_counter() - t0) / block * 1e3)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario", nargs="?", default="sni")
    ap.add_argument("--scale", type=float, default=2.0, help="linear factor of the larger tissue (area: its square)")
    ap.add_argument("--warm", type=int, default=300)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--quick", action="store_true", help="5 warm-up and 6 timed steps: the code path and the checks")
    ap.add_argument("--backend", default="numpy", choices=("numpy", "cupy"))
    ap.add_argument("--profile", type=int, default=0, metavar="N", help="also profile N steps at 1x (own time)")
    args = ap.parse_args(argv)
    if args.quick:
        args.warm, args.steps = 5, 6
    k = args.scale**2
    b = args.backend
    t1, ph1, m1, seeded1 = per_step(args.scenario, [], args.warm, args.steps, phases=False, backend=b)
    print(f"# {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}, backend "
          f"{m1.backend.name} ({m1.backend.device}); load average before {os.getloadavg()[0]:.2f}")  # fmt: skip
    _, ph1, _, _ = per_step(args.scenario, [], args.warm, args.steps, phases=True, backend=b)
    tk, _, mk, seededk = per_step(args.scenario, scaled_overrides(args.scenario, args.scale), args.warm, args.steps,
                                  phases=False, backend=b)  # fmt: skip
    problems = []
    for name, (vox, cells) in seeded1.items():
        vk, ck = seededk[name]
        if vk != round(vox * k) or abs(ck - cells * k) > 0.5 + 0.01 * cells * k:
            problems.append(f"{name}: {vox} voxels, {cells} cells at 1x, {vk} and {ck} at {k:g}x")
    if not (_fields_ok(m1) and _fields_ok(mk)):
        problems.append("a field is not finite or negative")
    times = [t1, tk, *ph1.values()]
    if not all(math.isfinite(t) and t > 0 for t in (t1, tk)) or not all(math.isfinite(t) for t in times):
        problems.append(f"a time is not finite and positive: {times}")
    w = (tk - t1) / (k - 1)
    o = t1 - w
    print(f"{args.scenario}: {t1:.3f} ms/step at 1x, {tk:.3f} at {k:g}x -> array work w = {w:.3f} ms, fixed cost "
          f"o = {o:.3f} ms ({100 * o / t1:.0f} % of a step)")  # fmt: skip
    print("phases at 1x (ms/step): " + ", ".join(f"{p} {v:.3f}" for p, v in ph1.items()))
    print("| batch B | one by one (ms per B steps) | lockstep, o + B w (ms) | ratio |")
    print("|---:|---:|---:|---:|")
    for b in (1, 8, 32, 64, 512):
        lock = o + b * w
        print(f"| {b} | {b * t1:.1f} | {lock:.1f} | {b * t1 / lock:.2f}x |" if w > 0 else f"| {b} | – | – | – |")
    if w > 0:
        print(f"ceiling (B -> infinity): (o + w) / w = {t1 / w:.2f}x")
    if args.profile:
        prof = cProfile.Profile()
        prof.enable()
        for _ in range(args.profile):
            m1.step()
        m1.backend.synchronize()
        prof.disable()
        print(f"\nprofile of {args.profile} steps at 1x (own time):")
        pstats.Stats(prof, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    for p in problems:
        print("CHECK FAILED:", p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
