"""Cell phases: the vectorized model against the same rules written the naive Mesa way.

``python bench/cells.py [--quick] [--profile]``

In one run, on one CPU thread:

1. **Faithfulness** (not timed): the naive model (``bench/naive_mesa.py``, one
   ``mesa.Agent`` per cell) and the vectorized model give the same pathway
   activities and the same source terms from the same cells (to rounding),
   and the same population statistics after many steps in fixed fields
   (macrophage M1 fraction in a TNF field; states, counts and displacement of
   all five kinds in a mixed field).
2. **Speed**: the cell phases only (sense, decide, secrete, move; not
   diffusion, not the pain layer's firing update) of both models, at 1e3, 1e4 and
   1e5 cells, for two workloads (all macrophages, the richest rule set; and
   the five kinds in equal numbers), in cell-updates per second (cells x steps
   / seconds) and their ratio. The vectorized model also at 1e6 cells, with
   its peak memory during a step (tracemalloc, which sees NumPy's
   allocations) and its resident arrays.
3. **Linearity**: vectorized cost per cell from 1e3 to 1e6.
4. **Diffusion**, reported separately: one step of the fields on each grid.

The grid grows with the number of cells at a fixed density (1e6 cells on
1024² voxels of 20 µm, ~0.95 cells per voxel; crowding limit 4), with all 24
default mediators. The fields are held fixed at a smooth pattern whose
levels sit near the receptors' Kd, so every rule has something to act on.

Timer: the process CPU time of the phases (``time.process_time``), so that
other jobs on a shared machine do not count; the wall-clock/CPU ratio of the
run is printed. Each figure is the median over repeats of blocks of steps,
after warm-up steps (:data:`WARMUP_STEPS`); a block is a few steps of the naive model at 1e5 cells
(its per-step cost is what matters) and many steps at 1e3.
``--profile`` adds a cProfile of the vectorized phases at 1e5 cells.

``--quick`` runs every section and every check on small workloads (1e3 and 4e3 cells, fewer and shorter
faithfulness runs) in a few seconds: the test suite runs it (``tests/test_bench_quick.py``). Its timings are
overhead-dominated and its targets are not judged. Exit status 1 when the naive baseline is not faithful.
"""

from __future__ import annotations

import os

for _var in (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
    "NUMBA_NUM_THREADS",
):
    os.environ[_var] = "1"  # one CPU thread for the headline: set before NumPy is imported

import argparse  # noqa: E402
import cProfile  # noqa: E402
import math  # noqa: E402
import platform  # noqa: E402
import pstats  # noqa: E402
import resource  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402
from pathlib import Path  # noqa: E402

import mesa  # noqa: E402
import numba  # noqa: E402
import numpy as np  # noqa: E402

from neuroagents.cells.neuron import IntrinsicActivity  # noqa: E402
from neuroagents.cells.signaling import PATHWAYS  # noqa: E402
from neuroagents.model import DEFAULT_MEDIATORS, NeuroImmuneModel  # noqa: E402
from neuroagents.tissue import Microenvironment  # noqa: E402
from neuroagents.tissue.diffusion import numba_kernels  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from naive_mesa import NAIVE_TYPES, NaiveMesaModel  # noqa: E402

numba.set_num_threads(1)

VEC_PHASES = ("sense", "decide", "secrete", "move")
NAIVE_PHASES = ("cells", "move")  # cells: every agent's step() (sense, decide, secrete); move: move() + entry
DENSITY_SIDE_PER_SQRT_CELL = 1024 / 1000  # 1e6 cells on 1024² voxels
SIZES = (1_000, 10_000, 100_000)  # both models
BIG = 1_000_000  # the vectorized model only: memory, linearity
QUICK_SIZES = (1_000, 4_000)  # --quick: both models, the same code paths in a few seconds
# Simulated minutes before the vectorized model is timed (2 at 1e6): by then recruits have piled up beside
# the vessels, and the crowding rule costs what it costs in a running tissue (see bench/README.md).
WARMUP_STEPS = 30
KINDS = ("n_mast_cells", "n_macrophages", "n_t_cells", "n_microglia", "n_neurons")

# Field levels (nM) near the half-effect of whatever reads each mediator (Kd of the receptors,
# half-effects of the mast-cell trigger and of the miR-21 load); 1 nM for the rest.
LEVELS_NM = {
    "TNF": 0.02, "IL1B": 0.05, "IL6": 0.3, "IL10": 0.14, "IL17A": 0.5, "IFNG": 0.1, "IL4": 0.1, "IL13": 0.1,
    "GMCSF": 0.1, "IL23": 0.1, "CCL2": 0.05, "CSF1": 0.5, "CX3CL1": 0.5, "ATP": 1000.0, "SP": 1.0,
    "CGRP": 10.0, "miR21": 0.001,
}  # fmt: skip


# --- set-up -------------------------------------------------------------------------------------
def workload(kind: str, n: int) -> dict:
    """Keyword arguments of both models for ``n`` cells of workload ``kind`` ("macrophages" or "mix")."""
    side = max(16, round(DENSITY_SIDE_PER_SQRT_CELL * math.sqrt(n)))
    kw = {"width_um": side * 20.0, "height_um": side * 20.0, "voxel_um": 20.0, "crowding_limit": 4}
    kw |= dict.fromkeys(KINDS, 0)
    if kind == "macrophages":
        kw["n_macrophages"] = n
    else:
        for i, key in enumerate(KINDS):
            kw[key] = n // len(KINDS) + (i < n % len(KINDS))
        kw["injured_fraction"] = 0.5
    return kw


def paint_fields(model, seed: int = 0, levels=None) -> None:
    """Fill every field of a model with a smooth pattern (wavelength 40 voxels, mean = its level); vessels 0.

    ``levels`` maps mediator -> level (nM); the default is :data:`LEVELS_NM` and 1 nM for the others.
    """
    env = model.env
    rng = np.random.default_rng(seed)
    axes = np.meshgrid(*(np.arange(s) for s in env.grid.shape), indexing="ij")
    vessel = model.regions.reshape(-1) == 1
    for i, name in enumerate(env.names):
        level = LEVELS_NM.get(name, 1.0) if levels is None else levels.get(name, 0.0)
        pattern = np.ones(env.grid.shape)
        for ax in axes:
            pattern = pattern * np.sin(2 * np.pi * ax / 40.0 + rng.uniform(0, 2 * np.pi))
        values = level * (1.0 + pattern)
        values.reshape(-1)[vessel] = 0.0
        env.fields[i] = values


def n_cells(model) -> int:
    """Live cells of either model."""
    if isinstance(model, NaiveMesaModel):
        return len(model.agents)
    return sum(ct.n for ct in model.cell_types.values())


def _run_phases(model, phases, timings) -> None:
    """One step without diffusion or recording; CPU (and wall) time of ``phases`` added into ``timings``."""
    dt = model.cell_dt_min
    model._phase_dose(dt)  # injury at the first step: not a cell phase, not timed
    for phase in phases:
        c0, w0 = time.process_time(), time.perf_counter()
        getattr(model, f"_phase_{phase}")(dt)
        if timings is not None:
            timings[phase] += time.process_time() - c0
            timings["wall"] += time.perf_counter() - w0
    model._phase_pain(dt)  # the neurons' firing: the pain layer, not timed


def vectorized_model(seed: int, kernels: str = "reference", **kw) -> NeuroImmuneModel:
    """The vectorized model with the cells layer's own firing rule (the same as the naive model's).

    ``kernels``: ``"reference"`` (the NumPy phases) or ``"numba"`` (the fused kernels,
    :mod:`neuroagents.cells.kernels`).
    """
    model = NeuroImmuneModel(seed=seed, cell_kernels=kernels, **kw)
    model.pain = IntrinsicActivity()
    return model


def vec_step(model, timings=None) -> None:
    """The vectorized model's step without diffusion and recording; CPU time of each phase into ``timings``."""
    _run_phases(model, VEC_PHASES, timings)


def naive_step(model, timings=None) -> None:
    """The naive model's step without diffusion; CPU time of its two cell phases into ``timings``."""
    _run_phases(model, NAIVE_PHASES, timings)


# --- timing -------------------------------------------------------------------------------------
def time_model(model, step, phases, *, target_s: float, repeats: int, warmup: int = 1, max_steps: int = 500) -> dict:
    """Median over ``repeats`` blocks of steps (each about ``target_s`` CPU seconds), after ``warmup`` steps.

    Returns cell-updates per CPU second (live cells at the start of each step, summed, over the
    process CPU time of the phases), the same per wall-clock second, CPU seconds per step and the
    median CPU time of each phase per step.
    """
    for _ in range(warmup - 1):
        step(model)
    c0 = time.process_time()
    step(model)  # (the first warm-up step also injures the neurons)
    warm = time.process_time() - c0
    steps = int(min(max_steps, max(1, round(target_s / max(warm, 1e-6)))))
    rates, walls, per_step, phase_s = [], [], [], {p: [] for p in phases}
    for _ in range(repeats):
        timings = dict.fromkeys((*phases, "wall"), 0.0)
        updates = 0
        for _ in range(steps):
            updates += n_cells(model)
            step(model, timings)
        cpu = sum(timings[p] for p in phases)
        rates.append(updates / cpu)
        walls.append(updates / timings["wall"])
        per_step.append(cpu / steps)
        for p in phases:
            phase_s[p].append(timings[p] / steps)
    return {
        "rate": statistics.median(rates),
        "wall_rate": statistics.median(walls),
        "s_per_step": statistics.median(per_step),
        "phase_s": {p: statistics.median(v) for p, v in phase_s.items()},
        "steps": steps,
        "repeats": repeats,
        "cells": n_cells(model),
    }


def peak_step_memory(model) -> int:
    """Peak of NumPy and Python allocations during one cell step, above what was held before (bytes; tracemalloc)."""
    tracemalloc.start()
    start, _ = tracemalloc.get_traced_memory()
    vec_step(model)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak - start


def resident_bytes(model) -> tuple[int, int]:
    """Bytes of the live cell columns and of the field arrays (fields, production, consumption)."""
    cells = sum(ct.pop[c].nbytes for ct in model.cell_types.values() for c in ct.pop.columns)
    env = model.env
    return cells, env.fields.nbytes + env.production_nM_per_min.nbytes + env.consumption_per_min.nbytes


def time_diffusion(model, kernel: str, repeats: int) -> float:
    """CPU seconds per 1-min step of every field on the model's grid, with ``kernel``."""
    env = Microenvironment(model.grid, list(model.env.names), backend="numpy", kernel=kernel, solver="lod")
    env.fields[...] = model.env.fields
    env.set_vessels(model.regions == 1, 0.0)
    env.step(1.0)  # warm-up (compiles numba)
    times = []
    for _ in range(repeats):
        c0 = time.process_time()
        env.step(1.0)
        times.append(time.process_time() - c0)
    return statistics.median(times)


# --- faithfulness -------------------------------------------------------------------------------
def _fraction_row(what: str, a: int, b: int, n_a: int, n_b: int, z: float = 4.0) -> tuple:
    """Two binomial proportions agree within ``z`` standard errors (plus one cell)."""
    n_a, n_b = max(n_a, 1), max(n_b, 1)
    p = (a + b) / (n_a + n_b)
    tol = z * math.sqrt(max(p * (1 - p), 1e-12) * (1 / n_a + 1 / n_b)) + 1.0 / min(n_a, n_b)
    return what, f"{a / n_a:.3f}", f"{b / n_b:.3f}", f"±{tol:.3f}", abs(a / n_a - b / n_b) <= tol


def _same_numbers() -> list[tuple]:
    """Same cells (every state present), same fields: sense, mast-cell decide and secrete give the same numbers.

    Beyond the workloads, this check switches on what the vectorized rules read but the workloads leave at
    zero, so that every rule of the naive copy is compared: a TLR4 agonist on the grid (``PAMP``: tolerance,
    mast-cell trigger), per-cell tolerance, a kinase, a pathway and two receptors inhibited, and a gradual
    neuronal injury programme.
    """
    kw = workload("mix", 2500) | {
        "mediators": [*DEFAULT_MEDIATORS, "PAMP"],
        "inhibition": {"JAK1": 0.3, "P38": 0.1, "IL6R": 0.5, "TNFR1": 0.2},
        "cell_params": {"neuron": {"injury_program_tau_min": 60.0}},
    }
    vec = vectorized_model(11, **kw)
    paint_fields(vec, seed=5)
    vec.env.fields[vec.env.index("PAMP")] *= 2.0  # mean 2 nM, the TLR4 Kd: decisive for some mast cells
    rng = np.random.default_rng(2)
    for ct in vec.cell_types.values():
        ct.pop["state"] = rng.integers(0, len(ct.states), ct.n).astype(np.int8)
        if ct.signaling is not None:  # activities across [0, 1]: strong NF-κB tolerizes macrophages
            for p in PATHWAYS:
                ct.pop[p] = rng.uniform(0, 1, ct.n)
    neurons = vec.cell_types["neuron"].pop
    neurons["firing_hz"] = rng.uniform(0, 3, neurons.n)
    neurons["injured_min"] = rng.uniform(-120, 0, neurons.n)
    vec.cell_types["macrophage"].pop["tolerance"] = rng.uniform(0, 0.8, vec.cell_types["macrophage"].n)
    mast = vec.cell_types["mast_cell"].pop
    mast["released"] = rng.uniform(0, 0.5, mast.n) * (rng.random(mast.n) < 0.3)
    naive = NaiveMesaModel(template=vec, seed=11)  # adopts these cells and the same Microenvironment object
    vec._phase_sense(1.0)
    for cell in naive.agents:
        cell.sense(1.0)
    worst = 0.0
    for kind, cls in NAIVE_TYPES.items():
        cells, pop = list(naive.agents_by_type.get(cls, ())), vec.cell_types[kind].pop
        assert np.array_equal(np.array([c.position for c in cells]).reshape(pop.n, -1), pop.position_um), kind
        for p in PATHWAYS:
            worst = max(worst, float(np.abs(np.array([c.activity[p] for c in cells]) - pop[p]).max(initial=0)))
    tol_v = vec.cell_types["macrophage"].pop["tolerance"]
    tol_n = np.array([c.tolerance for c in naive.agents_by_type[NAIVE_TYPES["macrophage"]]])
    tol_diff = float(np.abs(tol_v - tol_n).max())
    # the mast-cell rule draws no random numbers: decide is compared too (and feeds secrete below)
    vec.cell_types["mast_cell"].decide(1.0)
    mast_cells = list(naive.agents_by_type[NAIVE_TYPES["mast_cell"]])
    for cell in mast_cells:
        cell.decide(1.0)
    mast_diff = max(
        float(np.abs(mast[col] - np.array([getattr(c, col) for c in mast_cells], dtype=float)).max())
        for col in ("state", "granules", "released", "refractory_until_min")
    )
    fired = int((mast["released"] > 0).sum())
    vec.env.clear_sources()
    vec._phase_secrete(1.0)
    q, k = vec.env.production_nM_per_min.copy(), vec.env.consumption_per_min.copy()
    vec.env.clear_sources()  # the naive cells write into the same arrays
    naive._bind_arrays()
    for cell in naive.agents:
        cell.secrete()
    naive.stroma.secrete(1.0)  # the tissue's PGE2 (the vectorized secrete phase runs it after the cells)
    naive.kinins.secrete(1.0, naive.swelling.update(1.0))  # its leak, and the leak's bradykinin
    diff = np.abs(q - vec.env.production_nM_per_min).max(axis=tuple(range(1, q.ndim))) / q.max()
    rel = max(float(diff.max()), float(np.abs(k - vec.env.consumption_per_min).max() / k.max()))
    where = f" (worst: {vec.env.names[int(diff.argmax())]})" if rel > 1e-12 else ""
    return [
        ("pathway activities after sense, max |diff|", "-", f"{worst:.1e}", "1e-12", worst <= 1e-12),
        ("macrophage tolerance after sense, max |diff|", "-", f"{tol_diff:.1e}", "1e-12", tol_diff <= 1e-12),
        (f"mast-cell decide ({fired} fire), max |diff|", "-", f"{mast_diff:.1e}", "1e-12", mast_diff <= 1e-12),
        (f"source terms after secrete, max rel. diff{where}", "-", f"{rel:.1e}", "1e-12", rel <= 1e-12),
    ]


def _tnf_field(n: int, steps: int) -> list[tuple]:
    """Macrophages in a uniform TNF field (100 pM, ~5 Kd of TNFR1; nothing else): states after ``steps`` min."""
    kw = workload("macrophages", n)
    vec, naive = vectorized_model(21, **kw), NaiveMesaModel(seed=21, **kw)
    levels = []
    for m in (vec, naive):
        paint_fields(m, levels={})
        m.env.fields[m.env.index("TNF")] = np.where(m.regions == 0, 0.1, 0.0)
        tnf, interstitium = m.env.fields[m.env.index("TNF")], m.regions == 0
        levels.append((float(tnf[interstitium].min()), float(tnf[interstitium].max()), float(tnf[~interstitium].max(
            initial=0.0))))  # fmt: skip
    # the set-up itself: 100 pM in every interstitial voxel, none in the vessels (a zero field passes the
    # comparison below unnoticed: both models then stay at rest)
    setup_ok = all(lo == hi == 0.1 and vessel == 0.0 for lo, hi, vessel in levels)
    rows = [("TNF field set-up, interstitial nM (min = max)", f"{levels[0][0]:.3g}", f"{levels[1][0]:.3g}", "0.1",
             setup_ok)]  # fmt: skip
    for _ in range(steps):
        vec_step(vec)
        naive_step(naive)
    cv, cn = vec.counts()["macrophage"], naive.counts()["macrophage"]
    nv, nn = sum(cv.values()), sum(cn.values())
    return rows + [_fraction_row(f"TNF 100 pM, {steps} min: macrophage {s}", cv[s], cn[s], nv, nn) for s in cv]


def _mixed_field(n: int, steps: int) -> list[tuple]:
    """The five kinds in the painted fields: states, events, cell numbers, displacement."""
    kw = workload("mix", n)
    vec, naive = vectorized_model(31, **kw), NaiveMesaModel(seed=31, **kw)
    for m in (vec, naive):
        paint_fields(m, seed=7)
    start_v = {k: dict(zip(ct.pop.ids.tolist(), ct.pop.position_um.copy(), strict=True))
               for k, ct in vec.cell_types.items()}  # fmt: skip
    start_n = {c: list(c.position) for c in naive.agents}
    for _ in range(steps):
        vec_step(vec)
        naive_step(naive)
    rows = []
    cv, cn = vec.counts(), naive.counts()
    for kind in cv:
        nv, nn = sum(cv[kind].values()), sum(cn[kind].values())
        for s in cv[kind]:
            if len(cv[kind]) > 2 or s == _second_state(kind):
                rows.append(_fraction_row(f"mix, {steps} min: {kind} {s}", cv[kind][s], cn[kind][s], nv, nn))
    a, b = (
        vec.cell_types["mast_cell"].event_counts["degranulated"],
        naive.event_counts["mast_cell"].get("degranulated", 0),
    )
    tol = 4 * math.sqrt(a + b) + 1
    rows.append((f"mix, {steps} min: degranulations", str(a), str(b), f"±{tol:.0f}", abs(a - b) <= tol))
    for kind in ("macrophage", "t_cell"):
        pop = vec.cell_types[kind].pop
        d2v = [float(((x - start_v[kind][i]) ** 2).sum())
               for i, x in zip(pop.ids.tolist(), pop.position_um, strict=True) if i in start_v[kind]]  # fmt: skip
        d2n = [sum((x - x0) ** 2 for x, x0 in zip(c.position, start_n[c], strict=True))
               for c in naive.agents_by_type.get(NAIVE_TYPES[kind], ()) if c in start_n]  # fmt: skip
        mv, mn = float(np.mean(d2v)), float(np.mean(d2n))
        rel = 4.0 * math.sqrt(np.var(d2v) / len(d2v) + np.var(d2n) / len(d2n)) / mv
        what = f"mix, {steps} min: {kind} mean sq. displacement µm²"
        rows.append((what, f"{mv:.0f}", f"{mn:.0f}", f"±{rel:.0%}", abs(mv - mn) <= rel * mv))
    return rows


def _second_state(kind: str) -> str:
    """The second state of a two-state kind (its fraction says it all)."""
    return NAIVE_TYPES[kind].states[1]


def _fused_same(n: int, steps: int) -> list[tuple]:
    """The fused kernels give the NumPy phases' bits: the mix after ``steps`` steps, every column of every kind."""
    kw = workload("mix", n)
    ref, fused = vectorized_model(41, **kw), vectorized_model(41, kernels="numba", **kw)
    for m in (ref, fused):
        paint_fields(m, seed=3)
        for _ in range(steps):
            vec_step(m)
    differ = [f"{k}.{c}" for k, ct in ref.cell_types.items() for c in ct.pop.columns
              if ct.pop.n != fused.cell_types[k].pop.n or not np.array_equal(ct.pop[c], fused.cell_types[k].pop[c])]
    what = f"fused kernels vs NumPy phases, mix {n} cells, {steps} min: columns differing"  # fmt: skip
    return [(what, "-", str(len(differ)) + (f" ({differ[0]}...)" if differ else ""), "0", not differ)]


def check_faithful(quick: bool) -> bool:
    """Deterministic and statistical agreement of the two models; prints a table, returns True if all hold."""
    rows = _same_numbers()
    rows += _tnf_field(*((800, 40) if quick else (4000, 120)))
    rows += _mixed_field(*((1000, 30) if quick else (5000, 90)))
    rows += _fused_same(*((1000, 10) if quick else (5000, 30)))
    width = max(len(r[0]) for r in rows)
    print(f"  {'quantity':<{width}}  {'vectorized':>10}  {'naive':>10}  {'allowed':>9}")
    for what, a, b, tol, ok in rows:
        print(f"  {what:<{width}}  {a:>10}  {b:>10}  {tol:>9}  {'ok' if ok else 'DIFFERS'}")
    return all(r[-1] for r in rows)


# --- report -------------------------------------------------------------------------------------
def machine() -> str:
    """CPU, cores, memory and the versions that matter, in one line."""
    cpu = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration):
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores{mem}; Python {platform.python_version()}, NumPy {np.__version__}, "
        f"Mesa {mesa.__version__}, numba {numba.__version__} ({numba.get_num_threads()} thread)"
    )


def run_timings(quick: bool) -> dict:
    """Time both models at every size; returns ``{(workload, n): {"vec": ..., "fused": ..., "naive": ..., ...}}``.

    ``vec`` is the vectorized model on its NumPy phases, ``fused`` the same model on the fused numba kernels.

    Full run: both models at :data:`SIZES`, the vectorized one also at :data:`BIG`; ``quick``: both at
    :data:`QUICK_SIZES`. The memory of a step is measured at the largest size.
    """
    vec_repeats, vec_target = (2, 0.05) if quick else (5, 0.5)
    naive_repeats, naive_target = (1, 0.1) if quick else (3, 1.0)
    both = QUICK_SIZES if quick else SIZES
    results = {}
    for kind in ("macrophages", "mix"):
        for n in both if quick else (*both, BIG):
            kw = workload(kind, n)
            vec = vectorized_model(1, **kw)
            paint_fields(vec)
            warmup = WARMUP_STEPS if n < BIG else 2
            res = {
                "vec": time_model(vec, vec_step, VEC_PHASES, target_s=vec_target, repeats=vec_repeats, warmup=warmup)
            }
            fused = vectorized_model(1, kernels="numba", **kw)
            paint_fields(fused)
            res["fused"] = time_model(fused, vec_step, VEC_PHASES, target_s=vec_target, repeats=vec_repeats,
                                      warmup=warmup)  # fmt: skip
            del fused
            if n == (both[-1] if quick else BIG):
                res["peak"] = peak_step_memory(vec)
                res["resident"] = resident_bytes(vec)
            del vec
            if n in both:
                naive = NaiveMesaModel(seed=1, **kw)
                paint_fields(naive)
                res["naive"] = time_model(
                    naive, naive_step, NAIVE_PHASES, target_s=naive_target, repeats=naive_repeats, max_steps=50
                )
                del naive
            results[kind, n] = res
    return results


def report_timings(results: dict) -> None:
    """The table: both models' cell-updates per CPU second, their ratio, the phases; then the fused kernels."""
    print(
        f"  {'workload':<12} {'cells':>7} {'naive upd/s':>12} {'vector upd/s':>13} {'ratio':>6} {'vec ns/cell':>11}"
        "   vectorized, ms/step: " + " ".join(VEC_PHASES)
    )
    for (kind, n), res in results.items():
        v, nv = res["vec"], res.get("naive")
        ratio = f"{v['rate'] / nv['rate']:.0f}x" if nv else "-"
        phases = " ".join(f"{1e3 * v['phase_s'][p]:.2f}" for p in VEC_PHASES)
        naive_rate = f"{nv['rate']:.2e}" if nv else "-"
        print(
            f"  {kind:<12} {n:>7.0e} {naive_rate:>12} {v['rate']:>13.2e} {ratio:>6} {1e9 / v['rate']:>11.0f}   {phases}"
        )
    print(
        f"  fused numba kernels (cell_kernels='numba'):\n  {'workload':<12} {'cells':>7} {'fused upd/s':>12} "
        f"{'/ vector':>9} {'/ naive':>8} {'ns/cell':>8}   fused, ms/step: " + " ".join(VEC_PHASES)
    )
    for (kind, n), res in results.items():
        f, v, nv = res["fused"], res["vec"], res.get("naive")
        ratio = f"{f['rate'] / nv['rate']:.0f}x" if nv else "-"
        phases = " ".join(f"{1e3 * f['phase_s'][p]:.2f}" for p in VEC_PHASES)
        print(
            f"  {kind:<12} {n:>7.0e} {f['rate']:>12.2e} {f['rate'] / v['rate']:>8.1f}x {ratio:>8} "
            f"{1e9 / f['rate']:>8.0f}   {phases}"
        )
    print("  naive runs (steps x repeats, CPU s/step: agents' step() + move()):")
    for (kind, n), res in results.items():
        if "naive" in res:
            nv = res["naive"]
            print(
                f"    {kind} {n:.0e}: {nv['steps']} x {nv['repeats']}, {nv['s_per_step']:.3g} s/step "
                f"({nv['phase_s']['cells']:.3g} + {nv['phase_s']['move']:.3g})"
            )
    cpu = [r[m]["rate"] for r in results.values() for m in ("vec", "fused", "naive") if m in r]
    wall = [r[m]["wall_rate"] for r in results.values() for m in ("vec", "fused", "naive") if m in r]
    busy = statistics.median(c / w for c, w in zip(cpu, wall, strict=True))
    note = " (the machine was shared: other processes took CPU time)" if busy > 1.15 else ""
    print(f"  timer: process CPU time of the phases; wall-clock / CPU time = {busy:.2f}{note}")


def report_linearity(results: dict) -> tuple[float | None, list[str]]:
    """Cost per cell-update at each size; judged as ns/cell at 1e6 over ns/cell at 1e4 (1 = linear).

    1e3 is shown but not judged: there a step costs about a millisecond whatever the cells
    (a few hundred NumPy calls), which is a fixed overhead, not a departure from linear cost.
    Without both 1e4 and 1e6 (``--quick``) nothing is judged and the worst ratio is None.
    """
    worst, judged = None, []
    for kind in ("macrophages", "mix"):
        sizes = sorted(n for k, n in results if k == kind)
        ns = {n: 1e9 / results[kind, n]["vec"]["rate"] for n in sizes}
        steps = " -> ".join(f"{ns[n]:.0f}" for n in sizes)
        line = f"  {kind:<12} ns per cell-update at {' / '.join(f'{n:.0e}' for n in sizes)}: {steps}"
        if 10_000 in ns and BIG in ns:
            judged.append(kind)
            worst = max(worst or 0.0, ns[BIG] / ns[10_000])
            line += f"; 1e6 / 1e4: {ns[BIG] / ns[10_000]:.2f}"
        print(line)
    return worst, judged


def report_memory(results: dict) -> None:
    """Peak extra memory of a step at the largest size, the resident arrays, and the process's max RSS."""
    for (kind, n), res in results.items():
        if "peak" not in res:
            continue
        cells_b, fields_b = res["resident"]
        print(
            f"  {kind:<12} {n:.0e} cells: peak extra during one cell step {res['peak'] / 2**20:.0f} MiB (tracemalloc); "
            f"resident: cell columns {cells_b / 2**20:.0f} MiB, field arrays {fields_b / 2**20:.0f} MiB"
        )
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"  whole process max RSS {maxrss:.0f} MiB (resource.getrusage; everything this run held at once)")


def report_diffusion(results: dict, quick: bool) -> None:
    """One diffusion step of all fields on each grid (the fast kernel if present), beside the cell phases."""
    kernel = "numba" if hasattr(numba_kernels, "lod_step") else "reference"
    print(f"  kernel {kernel!r}, LOD, float64, one thread; CPU ms per 1-min step of all fields")
    for n in sorted(n for k, n in results if k == "mix"):
        if n == BIG and kernel == "reference":
            continue
        m = NeuroImmuneModel(seed=1, **(workload("mix", n) | dict.fromkeys(KINDS, 0)))
        paint_fields(m)
        s = time_diffusion(m, kernel, repeats=2 if quick else 3)
        cell_s = results["mix", n]["vec"]["s_per_step"]
        print(
            f"  {m.grid.shape[0]:>4}² voxels x {len(m.env.names)} mediators: {1e3 * s:8.1f} ms"
            f"   (cell phases of {n:.0e} mixed cells: {1e3 * cell_s:8.1f} ms)"
        )


def report_targets(results: dict, faithful: bool, linear_excess: float | None, linear_judged: list[str]) -> None:
    """The three targets of the issue, met or missed, and whether the baseline is faithful.

    The ratio target is for 1e5 cells; where the naive model ran only at fewer (``--quick``) the ratio at
    the largest size it ran is shown instead, and not judged.
    """
    n = max(n for (_, n), res in results.items() if "naive" in res)
    for model, label in (("vec", "vectorized NumPy phases"), ("fused", "fused numba kernels")):
        ratios = {kind: results[kind, n][model]["rate"] / results[kind, n]["naive"]["rate"]
                  for kind in ("mix", "macrophages") if "naive" in results.get((kind, n), {})}  # fmt: skip
        worst = min(ratios.values())
        verdict = ("met" if worst >= 100 else f"MISSED (by {100 / worst:.1f}x)") if n == 100_000 else "not judged"
        shown = ", ".join(f"{kind} {r:.0f}x" for kind, r in ratios.items())
        print(f"  >= 100x the naive Mesa model at 1e5 cells ({label}): at {n:.0e} cells {shown} -> {verdict}")
        at = {kind: results[kind, n][model]["rate"] for kind in ("mix", "macrophages") if (kind, n) in results}
        worst_rate = min(at.values())
        verdict = ("met" if worst_rate >= 2e7 else f"MISSED (by {2e7 / worst_rate:.1f}x)") if n == 100_000 \
            else "not judged"  # fmt: skip
        shown = ", ".join(f"{kind} {r:.2e}" for kind, r in at.items())
        print(f"  >= 2e7 cell-updates/s on one thread at 1e5 cells ({label}): {shown} -> {verdict}")
    if linear_excess is None:
        print("  linear in cells 1e3..1e6 (ns/cell at 1e6 within 1.5x of 1e4): not judged (no 1e6 run)")
    else:
        verdict = "met" if linear_excess <= 1.5 else "MISSED"
        print(
            f"  linear in cells 1e3..1e6 (ns/cell at 1e6 within 1.5x of 1e4; {' and '.join(linear_judged)}): "
            f"worst {linear_excess:.2f}x -> {verdict}"
        )
    print(f"  naive baseline faithful to the vectorized rules: {'yes' if faithful else 'NO (see section 1)'}")


def profile_vectorized(kind: str, n: int) -> None:
    """cProfile (CPU time) of three vectorized steps after the warm-up; prints the top 15 by own time."""
    vec = vectorized_model(1, **workload(kind, n))
    paint_fields(vec)
    for _ in range(WARMUP_STEPS):
        vec_step(vec)
    prof = cProfile.Profile(time.process_time)
    prof.enable()
    for _ in range(3):
        vec_step(vec)
    prof.disable()
    pstats.Stats(prof).sort_stats("tottime").print_stats(15)


class _RecordingRng:
    """The model's generator, recording each draw (method, size) while it draws."""

    def __init__(self, rng):
        self._rng, self.calls = rng, []

    def __getattr__(self, name):
        method = getattr(self._rng, name)
        if not callable(method):
            return method

        def draw(*args, **kwargs):
            out = method(*args, **kwargs)
            self.calls.append((name, args, kwargs))
            return out

        return draw


def draw_floor(kind: str, n: int, steps: int = 5, repeats: int = 5) -> dict:
    """What the reference's random draws alone cost a fused step (ms), and the rate that leaves at most.

    The fused kernels take the reference's draws from the model's NumPy generator, in its order (that is what
    makes them equal the reference to the bit), so no fused step can cost less than its draws. The draws of
    ``steps`` steps after the warm-up are recorded, then replayed on a fresh generator and timed (CPU time, median
    of ``repeats``). The fused sense phase is timed beside them with the cells sorted by voxel (the most local
    layout, the least it can cost here).
    """
    import collections

    vec = vectorized_model(1, kernels="numba", **workload(kind, n))
    paint_fields(vec)
    for _ in range(WARMUP_STEPS):
        vec_step(vec)
    rec = _RecordingRng(vec.rng)
    vec.rng = rec
    for _ in range(steps):
        vec_step(vec)
    vec.rng = rec._rng
    per_step = collections.Counter()
    for name, args, kwargs in rec.calls:  # over recorded draws: how many numbers each method gave
        size = kwargs.get("size", args[0] if args else 1)
        per_step[name] += int(np.prod(size)) / steps
    fresh = np.random.default_rng(0)
    times = []
    for _ in range(repeats):  # over repeats of the replay
        t0 = time.process_time()
        for name, args, kwargs in rec.calls:  # over recorded draws
            getattr(fresh, name)(*args, **kwargs)
        times.append((time.process_time() - t0) / steps)
    draws_ms = statistics.median(times) * 1e3
    for ct in vec.cell_types.values():  # the most local layout: cells in voxel order
        pop = ct.pop
        if pop.n:
            order = np.argsort(pop["voxel"], kind="stable")
            for name in pop.columns:  # over columns
                pop[name] = pop[name][order]
    sense = []
    for _ in range(repeats):  # over repeats
        t = collections.Counter()
        vec_step(vec, t)
        sense.append(t["sense"])
    sense_ms = statistics.median(sense) * 1e3
    cells = n_cells(vec)
    return {"kind": kind, "cells": cells, "numbers": dict(per_step), "draws_ms": draws_ms, "sense_sorted_ms": sense_ms,
            "ceiling": cells / ((draws_ms + sense_ms) * 1e-3)}  # fmt: skip


def report_floor(kind: str, n: int, quick: bool) -> None:
    f = draw_floor(kind, n, steps=2 if quick else 5, repeats=2 if quick else 5)
    numbers = ", ".join(f"{k} {v:,.0f}" for k, v in sorted(f["numbers"].items()))
    print(f"  {f['kind']}, {f['cells']:,} cells: numbers drawn per step: {numbers}")
    print(f"    the draws alone {f['draws_ms']:.2f} ms/step; fused sense with the cells in voxel order "
          f"{f['sense_sorted_ms']:.2f} ms/step; together a ceiling of {f['ceiling']:.2e} cell-updates/s "
          f"before decide, secrete and move (target 2e7)")  # fmt: skip


def main(argv=None) -> int:
    """Run the checks and the timings; exit status 1 if the naive baseline is not faithful."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--quick",
        action="store_true",
        help="every check and code path on small workloads (1e3 and 4e3 cells), a few seconds",
    )
    ap.add_argument("--profile", action="store_true", help="also profile the vectorized phases at 1e5 cells")
    ap.add_argument("--floor", action="store_true", help="also the least a fused step can cost at 1e5 cells: the "
                    "reference's draws and the sense phase in the most local layout")  # fmt: skip
    args = ap.parse_args(argv)
    quick = args.quick
    c_start, w_start = time.process_time(), time.perf_counter()

    probe = NeuroImmuneModel(seed=0, **workload("mix", 1000))
    print("neuroagents cells benchmark" + (" (--quick)" if quick else ""))
    print(f"machine: {machine()}")
    print(f"backend: {probe.backend.name} ({probe.backend.device}), float64 fields, one thread")
    print(
        f"tissue: 1024² voxels of 20 µm per 1e6 cells (~0.95 cells/voxel), crowding limit 4, "
        f"{len(probe.env.names)} mediators, cell dt 1 min; fields held fixed (diffusion timed apart, section 5)"
    )

    print("\n1. Faithfulness of the naive Mesa baseline (not timed)")
    faithful = check_faithful(quick)

    print("\n2. Cell phases (sense, decide, secrete, move): cell-updates per CPU second (cells x steps / s)")
    results = run_timings(quick)
    report_timings(results)

    print("\n3. Linearity of the vectorized cell phases")
    linear_excess, linear_judged = report_linearity(results)

    print("\n4. Memory of the vectorized model at the largest size")
    report_memory(results)

    print("\n5. Diffusion, separately")
    report_diffusion(results, quick)

    print("\n6. Targets")
    report_targets(results, faithful, linear_excess, linear_judged)

    if args.profile:
        print("\n7. Profile of the vectorized cell phases (cProfile, CPU time, 3 steps, top by own time)")
        for kind in ("macrophages", "mix"):
            print(f"  {kind}, 1e5 cells")
            profile_vectorized(kind, 100_000)

    if args.floor or quick:
        print("\n8. Floor of a fused step: the reference's draws, and sense in the most local layout")
        for kind in ("macrophages", "mix"):
            report_floor(kind, 4000 if quick else 100_000, quick)

    print(f"\nbench: {time.process_time() - c_start:.0f} s CPU, {time.perf_counter() - w_start:.0f} s wall")
    return 0 if faithful else 1


if __name__ == "__main__":
    sys.exit(main())
