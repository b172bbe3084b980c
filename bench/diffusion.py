"""Diffusion kernels: NumPy reference, numba (1 thread and all), CuPy, against the machine's copy bandwidth.

``python bench/diffusion.py [--quick] [--repeats N] [--no-reference] [--gpu-only]``

In one run, for each grid (2D 1024² x 6 mediators, 3D 128³ x 4, 3D 256³ x 4;
``--quick``: 2D 256² x 6 and 3D 48³ x 4) and each dtype (float32, float64):

* ms per step and voxel-updates per second (M x voxels / s) of the NumPy
  reference (LOD and explicit; a few steps only, they are slow), the numba
  kernels (explicit, LOD) on one thread and on all threads, and the CuPy
  kernels when :func:`neuroagents.backend.gpu_status` says a GPU is usable;
* the bytes each kernel must move per step, counted as stated below, and the
  fraction of the machine's copy bandwidth that this amounts to;
* the copy bandwidth itself, measured in the same run on large arrays
  (``np.copyto`` on one thread; a numba ``prange`` copy on one thread and on
  all threads), read + write bytes counted; on a GPU also a device-to-device
  ``cupy.copyto`` of the same size, which the CuPy rows are compared with
  (``--gpu-only``: the CuPy rows alone, with the GPU targets on 3D 256³).

Bytes counted per step (the roofline):
    explicit: read c + write c per sub-step (the kernels run in place; with
    cell terms add a read of q and k). LOD: read c + write c once per step,
    the least any implementation must move; a solver that sweeps each axis
    separately through memory moves that once per axis (2x in 2D, 3x in 3D),
    and the numba kernel fuses them (axes 2 and 3 slab by slab; in 3D the
    back pass of axis 1 with them: two passes over memory), so its fraction
    is of the absolute minimum.

Steps: LOD with dt = 0.5 min; explicit with dt = its stability limit, so one
sub-step per step (ms per step = ms per fused sub-step). Fields start random
(no cell terms, no vessels); one more LOD row per grid adds random cell terms
``q`` and ``k`` (the general path that factors every line as it is swept,
as every model step with cells takes), counted as read c, q, k + write c. Each figure is the median (and minimum) of
at least ``--repeats`` timed calls (more, up to 50, for fast ones) after a
warm-up call (compilation), wall clock; the
numba kernels are timed through the registry (``lod_step``/``explicit_step``
on the fields), and one extra row times ``Microenvironment.step`` (plan
lookup, source bookkeeping, dispatch). The load average is printed: other jobs on a shared
machine slow every figure (the medians more than the minima).

**Parity** (not timed): on every grid, dtype and solver timed, one step of the fast kernels (numba; CuPy
where it runs) through ``Microenvironment.step`` from the same random fields as one step of the NumPy
reference; the largest difference, over the largest value, must be within :data:`PARITY_TOL` (as in
``tests/test_kernels_numba.py``). The exit status is 1 when it is not. ``--no-reference`` skips it.

**Accuracy at the source voxel** (``bench/split_scheme.py``; not timed): one secreting voxel with uniform
uptake, run to steady state by LOD, by a BioFVM-style first-order split scheme (diffusion sweeps, then the cell
terms; and the other order) and by the explicit solver at dt = 0.1, 1 and 5 min; the error at the source voxel
against the grid's steady state. The exit status is 1 unless LOD is the closer of LOD and split on every row.

``--quick`` runs every code path and the parity check on small grids in a few seconds (the first run after
a change to the kernels also compiles them); the test suite runs it (``tests/test_bench_quick.py``).
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import time

import numba
import numpy as np
import scipy
from numba import njit, prange
from split_scheme import print_source_voxel_table

from neuroagents.backend import gpu_status
from neuroagents.mediators import Mediator
from neuroagents.tissue import Grid, Microenvironment
from neuroagents.tissue.diffusion.registry import load_kernels

# D (µm²/min) and decay (1/min) spanning the catalogue: NGF-like protein to a small amine
MEDIATORS = [
    Mediator("P1", 60.0, 0.001, 60.0),
    Mediator("P2", 400.0, 0.005, 17.0),
    Mediator("P3", 1650.0, 0.005, 26.0),
    Mediator("P4", 2500.0, 0.05, 8.0),
    Mediator("P5", 9400.0, 0.2, 0.2),
    Mediator("P6", 120.0, 0.0, 150.0),
]
FULL_CASES = [
    ("2D 1024² x 6", (1024, 1024), 6),
    ("3D 128³ x 4", (128, 128, 128), 4),
    ("3D 256³ x 4", (256, 256, 256), 4),
]
QUICK_CASES = [("2D 256² x 6", (256, 256), 6), ("3D 48³ x 4", (48, 48, 48), 4)]
DTYPES = ("float32", "float64")
SPACING_UM = 20.0
LOD_DT_MIN = 0.5
GPU_TARGETS = {"explicit": 0.60, "lod": 0.40}
"""CuPy on 3D 256³: fraction of the GPU's measured copy bandwidth (issue "Ensembles on one device")."""
TARGETS_MS = {"float64": 4.0, "float32": 2.5}  # LOD, 2D 1024² x 6, one thread (issue 19)
EXPLICIT_TARGET = 0.70  # fraction of the copy bandwidth
PARITY_TOL = {"float64": 1e-12, "float32": 1e-5}  # max |fast - reference| / max |reference| after one step


@njit(parallel=True, cache=True)
def _parallel_copy(dst, src, blocks):
    """``dst[:] = src`` split into ``blocks`` contiguous pieces over the threads."""
    n = src.size
    step = (n + blocks - 1) // blocks
    for b in prange(blocks):
        lo = b * step
        hi = min(lo + step, n)
        d, s = dst[lo:hi], src[lo:hi]
        for i in range(d.size):
            d[i] = s[i]


def _median_min(fn, repeats, sync=None, budget_s=0.3):
    """Wall-clock median and minimum (s) of the calls of ``fn`` after one warm-up call.

    At least ``repeats`` calls, more for fast calls (up to 50, about
    ``budget_s`` in all), so that a short burst of other work on a shared
    machine moves the median less.
    """
    t0 = time.perf_counter()
    fn()
    if sync:
        sync()
    first = time.perf_counter() - t0
    repeats = max(repeats, min(50, int(budget_s / max(first, 1e-6))))
    times = []
    for _ in range(repeats):  # over repeats
        t0 = time.perf_counter()
        fn()
        if sync:
            sync()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times))


def machine_info() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "logical cores": os.cpu_count(),
        "numba threads": numba.config.NUMBA_NUM_THREADS,
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
    }


def gpu_copy_bandwidth(nbytes: int, repeats: int) -> float:
    """Device-to-device copy bandwidth of the GPU (GB/s, read + write counted): ``cupy.copyto`` of ``nbytes``."""
    import cupy

    src = cupy.ones(nbytes // 8)
    dst = cupy.zeros_like(src)
    sync = cupy.cuda.Device().synchronize
    med, _ = _median_min(lambda: cupy.copyto(dst, src), repeats, sync)
    return 2 * src.nbytes / med / 1e9


def copy_bandwidth(nbytes: int, repeats: int) -> dict:
    """Copy bandwidth (GB/s, read + write counted) of ``np.copyto`` and of a numba prange copy."""
    src = np.ones(nbytes // 8)
    dst = np.zeros_like(src)
    moved = 2 * src.nbytes
    out = {}
    med, _ = _median_min(lambda: np.copyto(dst, src), repeats)
    out[("np.copyto", 1)] = moved / med / 1e9
    threads = numba.config.NUMBA_NUM_THREADS
    for n in sorted({1, threads}):
        numba.set_num_threads(n)
        med, _ = _median_min(lambda: _parallel_copy(dst, src, 64), repeats)
        out[("numba copy", n)] = moved / med / 1e9
    numba.set_num_threads(threads)
    return out


def _env(shape, m, dtype, solver, kernel, backend="numpy"):
    env = Microenvironment(
        Grid(shape, spacing_um=SPACING_UM), MEDIATORS[:m], backend=backend, solver=solver, kernel=kernel, dtype=dtype
    )
    rng = np.random.default_rng(0)
    env.fields[...] = env.backend.asarray(rng.random(env.fields.shape), dtype=env.dtype)
    return env


def _dt(env, solver):
    if solver == "lod":
        return LOD_DT_MIN
    h = env.plan(1.0).h  # the sub-step the explicit plan takes for 1 min
    return h * (1 - 1e-9)  # one sub-step per step


def parity(shape, m, dtype, solver, kernel, backend="numpy") -> float:
    """Largest difference between one step of ``kernel`` and one of the NumPy reference, over the largest value.

    Both start from the same random fields (:func:`_env`) and step through ``Microenvironment.step``.
    """
    ref = _env(shape, m, dtype, solver, "reference")
    fast = _env(shape, m, dtype, solver, kernel, backend)
    dt = _dt(ref, solver)
    ref.step(dt)
    fast.step(dt)
    want = np.asarray(ref.fields, dtype=np.float64)
    got = np.asarray(fast.backend.to_host(fast.fields), dtype=np.float64)
    return float(np.abs(got - want).max() / max(float(np.abs(want).max()), 1e-300))


def run_case(label, shape, m, dtype, repeats, ref_repeats, with_reference, gpu, cpu=True):
    """All rows of one grid and dtype."""
    rows = []
    voxels = m * math.prod(shape)
    field_bytes = voxels * np.dtype(dtype).itemsize
    threads_all = numba.config.NUMBA_NUM_THREADS

    def row(impl, solver, threads, med, mn, backend, kernel, n_sub=1, reads=0):
        rows.append(
            {
                "case": label,
                "dtype": dtype,
                "impl": impl,
                "solver": solver,
                "threads": threads,
                "ms": med * 1e3,
                "ms_min": mn * 1e3,
                "mvox": voxels / med / 1e6,
                "bytes": (2 + reads) * field_bytes * n_sub,
                "ran": f"{backend}/{kernel}",
            }
        )

    if with_reference:
        for solver in ("lod", "explicit"):
            env = _env(shape, m, dtype, solver, "reference")
            dt = _dt(env, solver)
            med, mn = _median_min(lambda env=env, dt=dt: env.step(dt), ref_repeats)
            row("NumPy reference", solver, 1, med, mn, env.backend.name, env.kernel)
            del env
    for solver in ("explicit", "lod") if cpu else ():
        env = _env(shape, m, dtype, solver, "numba")
        kernels = load_kernels("numba", "numpy")
        step = kernels.lod_step if solver == "lod" else kernels.explicit_step
        plan = env.plan(_dt(env, solver))
        c4 = env.fields.reshape(env.spec.shape4)
        work4 = np.empty_like(c4)
        for n in sorted({1, threads_all}):
            numba.set_num_threads(n)
            call = lambda step=step, plan=plan, c4=c4, work4=work4: step(c4, plan, None, None, None, work4)  # noqa: E731
            med, mn = _median_min(call, repeats)
            row("numba", solver, n, med, mn, env.backend.name, env.kernel, getattr(plan, "n_sub", 1))
        if solver == "lod":  # with cell terms every line is factored as it is swept (numba_lod_general)
            rng = np.random.default_rng(1)
            q4 = rng.uniform(0.0, 0.01, c4.shape).astype(dtype)  # nM/min
            k4 = rng.uniform(0.0, 0.1, c4.shape).astype(dtype)  # 1/min
            for n in sorted({1, threads_all}):
                numba.set_num_threads(n)
                med, mn = _median_min(lambda f=step, a=(c4, plan, q4, k4, None, work4): f(*a), repeats)
                row("numba, cell terms q and k", solver, n, med, mn, env.backend.name, env.kernel, reads=2)
        numba.set_num_threads(threads_all)
        if solver == "lod" and label.startswith("2D"):
            env.clear_sources()  # as the model does each step: the sources are then known to be zero (no scan)
            med, mn = _median_min(lambda env=env: env.step(LOD_DT_MIN), repeats)
            row("numba via Microenvironment.step", solver, threads_all, med, mn, env.backend.name, env.kernel)
        del env
    if gpu:
        for solver in ("explicit", "lod"):
            env = _env(shape, m, dtype, solver, "cupy", backend="cupy")
            dt = _dt(env, solver)
            med, mn = _median_min(lambda env=env, dt=dt: env.step(dt), repeats, env.backend.synchronize)
            row("CuPy", solver, 0, med, mn, env.backend.name, env.kernel, getattr(env.plan(dt), "n_sub", 1))
            del env
    return rows


def roofline(r, bw):
    """Copy bandwidth (GB/s) that row ``r`` is compared with, and its label."""
    if r["impl"] == "CuPy":
        return bw.get(("cupy copy", 0)), "the GPU's copy"
    if r["impl"].startswith("numba"):
        return bw[("numba copy", r["threads"])], f"numba copy ({r['threads']} thr)"
    return bw[("np.copyto", 1)], "np.copyto"


def print_table(rows, bw):
    print(
        "| grid | dtype | implementation | solver | threads | ms/step (median) | ms/step (min) | Mvoxel-updates/s "
        "| bytes/step (counted) | GB/s | % of copy bandwidth | ran (backend/kernel) |"
    )
    print("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for r in rows:
        gbs = r["bytes"] / (r["ms"] * 1e-3) / 1e9
        ref, _ = roofline(r, bw)
        pct = f"{100 * gbs / ref:.0f}%" if ref else "-"
        thr = "GPU" if r["impl"] == "CuPy" else r["threads"]
        print(
            f"| {r['case']} | {r['dtype']} | {r['impl']} | {r['solver']} | {thr} | {r['ms']:.2f} | {r['ms_min']:.2f} "
            f"| {r['mvox']:.0f} | {r['bytes'] / 2**20:.0f} MiB | {gbs:.1f} | {pct} | {r['ran']} |"
        )


def print_targets(rows, bw):
    print("\nTargets (this run):")
    for dtype, limit in TARGETS_MS.items():
        hits = [
            r
            for r in rows
            if r["case"].startswith("2D 1024") and r["dtype"] == dtype and r["impl"] == "numba" and r["solver"] == "lod"
        ]
        for r in (h for h in hits if h["threads"] == 1):
            ok = "met" if r["ms"] <= limit else "MISSED"
            ms = f"{r['ms']:.2f} ms/step (min {r['ms_min']:.2f})"
            print(f"- LOD 2D 1024² x 6 {dtype}, 1 thread: {ms}, target <= {limit} ms: {ok}")
    for r in rows:
        if r["impl"] == "numba" and r["solver"] == "explicit":
            ref, label = roofline(r, bw)
            frac = r["bytes"] / (r["ms"] * 1e-3) / 1e9 / ref
            ok = "met" if frac >= EXPLICIT_TARGET else "missed"
            print(
                f"- explicit {r['case']} {r['dtype']}, {r['threads']} thread(s): {100 * frac:.0f}% of {label} "
                f"(>= {100 * EXPLICIT_TARGET:.0f}%: {ok})"
            )
    for r in rows:
        ref, label = roofline(r, bw)
        if r["impl"] == "CuPy" and r["case"].startswith("3D 256") and ref:
            frac = r["bytes"] / (r["ms"] * 1e-3) / 1e9 / ref
            want = GPU_TARGETS[r["solver"]]
            ok = "met" if frac >= want else "MISSED"
            print(
                f"- CuPy {r['solver']} {r['case']} {r['dtype']}: {100 * frac:.0f}% of {label} "
                f"(>= {100 * want:.0f}%: {ok})"
            )


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="small grids and few repeats (a few seconds)")
    ap.add_argument("--repeats", type=int, default=None, help="timed calls per figure (default 10; quick 3)")
    ap.add_argument("--no-reference", action="store_true", help="skip the NumPy reference rows")
    ap.add_argument("--gpu-only", action="store_true", help="only the CuPy rows (and the copy bandwidths)")
    args = ap.parse_args(argv)
    cases = QUICK_CASES if args.quick else FULL_CASES
    repeats = args.repeats or (3 if args.quick else 10)
    t_start = time.perf_counter()
    load0 = os.getloadavg()
    info = machine_info()
    usable, why = gpu_status()
    print("# Diffusion benchmark\n")
    for k, v in info.items():
        print(f"- {k}: {v}")
    print(f"- GPU: {why if usable else 'none usable (' + why + ')'}")
    print(f"- load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    if args.gpu_only and not usable:
        print(f"--gpu-only: no usable GPU ({why})", file=sys.stderr)
        return 1
    bw = copy_bandwidth((64 if args.quick else 512) * 2**20, repeats)
    if usable:
        bw[("cupy copy", 0)] = gpu_copy_bandwidth((64 if args.quick else 512) * 2**20, repeats)
    print(f"- numba threading layer: {numba.threading_layer()}")
    print("\nCopy bandwidth (read + write counted, large arrays):")
    for (name, n), v in bw.items():
        print(f"- {name}, {n} thread(s): {v:.1f} GB/s" if n else f"- {name} (GPU): {v:.1f} GB/s")
    print()
    rows = []
    with_ref = not (args.no_reference or args.gpu_only)
    for label, shape, m in cases:
        for dtype in DTYPES:
            ref_repeats = 1 if math.prod(shape) > 4_000_000 else (1 if args.quick else 3)
            rows += run_case(label, shape, m, dtype, repeats, ref_repeats, with_ref, usable, cpu=not args.gpu_only)
            print(f"  ... {label} {dtype} done ({time.perf_counter() - t_start:.0f} s)", file=sys.stderr, flush=True)
    print_table(rows, bw)
    print_targets(rows, bw)
    ok = True
    if args.no_reference or args.gpu_only:
        print("\nParity with the NumPy reference: not checked (--no-reference or --gpu-only; the gpu tests check it)")
    else:
        print("\nParity with the NumPy reference (one step from the same fields; max |diff| / max |reference|):")
        kernels = [("numba", "numpy")] + ([("cupy", "cupy")] if usable else [])
        for label, shape, m in cases:
            for dtype in DTYPES:
                for solver in ("lod", "explicit"):
                    for kernel, backend in kernels:
                        d = parity(shape, m, dtype, solver, kernel, backend)
                        good = d <= PARITY_TOL[dtype]
                        ok &= good
                        print(
                            f"- {label} {dtype} {solver} {kernel}: {d:.1e} (allowed {PARITY_TOL[dtype]:g}) "
                            f"{'ok' if good else 'DIFFERS'}"
                        )
    better = print_source_voxel_table()
    print(f"\nLOD closer to the grid's steady state than the split scheme on every row: {better}")
    ok &= better
    load1 = os.getloadavg()
    total = time.perf_counter() - t_start
    print(f"\nload average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; total {total:.0f} s")
    if not usable:
        print("GPU rows: none (no usable GPU on this machine).")
    if not ok:
        print("FAILED: a fast kernel departs from the NumPy reference, or LOD is not the closer", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
