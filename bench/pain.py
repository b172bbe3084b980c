"""Dorsal-horn circuit kernels: the NumPy reference against numba, per call and in a scenario end to end.

``python bench/pain.py [--steps N] [--quick]``

In one run:

* **Per call.** A ``nerve_injury`` model (600 x 600 µm, 5-min steps, a record every step) runs a few steps;
  then one set of pain readouts is taken with every call to :meth:`DorsalHorn.rest` and
  :meth:`DorsalHorn.simulate` recorded (arguments included; the wind-up cache is emptied first so that the
  wind-up protocol runs too). Each recorded call is replayed with ``kernel="reference"`` and ``kernel="numba"``:
  wall-clock median and minimum of repeated calls after a warm-up call. The first numba call of each kernel in
  this process (JIT compilation, or loading the compiled code from numba's cache) is timed apart. The largest
  difference between the two kernels' results is printed for each call.
* **End to end.** The same scenario is built twice with the same seed; one model's dorsal horn runs the
  reference, the other numba; each runs ``--steps`` steps (200) after two warm-up steps, timed as a whole, and the
  two time series are compared (largest relative difference of the pain readouts).

Prints the machine (CPU, cores, load average), Python, NumPy and numba versions and numba's thread count (the
circuit kernels are serial: K is at most ~60 stimuli), and the ratio reference / numba measured in this run.

**Parity** is checked, not only printed: every replayed call within ``rtol`` :data:`CALL_RTOL` plus ``atol``
:data:`CALL_ATOL_HZ` (as ``tests/test_pain_circuit_kernels.py``), and the two end-to-end pain time series within
``rtol`` :data:`SERIES_RTOL` plus 1e-12 of each readout's largest value. Exit status 1 when either fails.
``--quick`` (20 end-to-end steps, short timing budgets, no cold JIT compile in a fresh process) runs the same
checks in a few seconds; the test suite runs it (``tests/test_bench_quick.py``).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np
from diffusion import machine_info as diffusion_machine_info  # bench/ is on sys.path when run as a script

from neuroagents.pain.dorsal_horn import DorsalHorn
from neuroagents.pain.params import PainParams
from neuroagents.scenario.loader import load_scenario

SCENARIO = "nerve_injury"
OVERRIDES = ("tissue.width_um=600", "tissue.height_um=600", "time.cell_dt_min=5", "time.diffusion_dt_min=5",
             "time.record_every_min=5")  # fmt: skip
_P = PainParams()
CALL_RTOL = 1e-12
CALL_ATOL_HZ = 1e-12 * max(_P.p_max_hz, _P.e_max_hz, _P.i_max_hz + _P.i_offset_hz)  # rates far below a ceiling
SERIES_RTOL = 1e-10  # the readouts (thresholds, latencies, wind-up ratios) pass through root finding and ratios
PAIN_COLUMNS = ("pain_ongoing_hz", "pain_evoked_hz", "withdrawal_threshold_g", "withdrawal_threshold_interp_g",
                "heat_latency_s", "windup_ratio", "windup_ratio_nmda_blocked")  # fmt: skip


def machine_info() -> dict:
    """bench/diffusion.py's description of the machine, plus the cores usable and numba's threads."""
    info = diffusion_machine_info()
    info["cores usable"] = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    info["numba threads"] = (f"{numba.get_num_threads()} (NUMBA_NUM_THREADS={numba.config.NUMBA_NUM_THREADS}; "
                             "the circuit kernels are serial)")  # fmt: skip
    return info


def _median_min(fn, budget_s: float, min_repeats: int = 5, max_repeats: int = 200):
    """Wall-clock median and minimum (s) of repeated calls of ``fn`` (after one untimed warm-up call)."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    repeats = int(min(max_repeats, max(min_repeats, budget_s / max(first, 1e-7))))
    times = []
    for _ in range(repeats):  # over repeats
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times)), float(np.min(times))


def build(kernel: str):
    s = load_scenario(SCENARIO, list(OVERRIDES))
    model = s.build_model(backend="numpy")
    model.pain.dorsal_horn.kernel = kernel
    return model


def record_calls(model) -> list[tuple[str, str, tuple, dict]]:
    """Every ``rest``/``simulate`` call of one set of pain readouts: (method, caller, args, kwargs)."""
    dh = model.pain.dorsal_horn
    calls = []
    for name in ("rest", "simulate"):
        original = getattr(dh, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append((_name, sys._getframe(1).f_code.co_name, args, dict(kwargs)))
            return _original(*args, **kwargs)

        setattr(dh, name, spy)  # on the instance: shadows the method
    model.pain._windup_cache.clear()  # so that the wind-up protocol runs
    try:
        model.pain.readouts(model)
    finally:
        del dh.rest, dh.simulate
    return calls


def _shape(name, args, kwargs) -> str:
    if name == "simulate":
        t, k = np.broadcast_shapes(np.shape(args[0]), np.shape(args[1]))
        return f"T={t}, K={k}, dt={args[2]:g} s"
    k = np.broadcast_shapes(np.shape(args[0]), np.shape(args[1]), np.shape(kwargs.get("g_max", 0.0)))
    return f"K={k[0] if k else 1}, {kwargs.get('iterations', 200)} iterations"


def _flat(x) -> np.ndarray:
    """A call's result (an array, or a dict of arrays) as one flat array."""
    return np.concatenate([np.ravel(x[k]) for k in sorted(x)]) if isinstance(x, dict) else np.ravel(x)


def _max_diff(a, b) -> tuple[float, float]:
    """Largest absolute difference and largest relative difference where |b| > 1e-6 of its maximum."""
    a, b = _flat(a), _flat(b)
    d = np.abs(a - b)
    big = np.abs(b) > 1e-6 * np.abs(b).max()
    return float(d.max()), float((d[big] / np.abs(b[big])).max()) if big.any() else 0.0


def first_calls() -> dict[str, float]:
    """Seconds of the first numba call of each kernel in this process (compile, or load from numba's cache)."""
    dh = DorsalHorn(PainParams(), kernel="numba")
    t0 = time.perf_counter()
    state = dh.rest(np.ones(1), np.full(1, 0.2))
    t1 = time.perf_counter()
    dh.simulate(np.ones((3, 1)), np.full((3, 1), 0.2), 0.01, state=state)
    return {"rest": t1 - t0, "simulate": time.perf_counter() - t1}


def cold_first_calls() -> dict[str, float]:
    """:func:`first_calls` in a fresh process with an empty numba cache: the JIT compile itself."""
    code = "import json, sys; sys.path.insert(0, sys.argv[1]); import pain; print(json.dumps(pain.first_calls()))"
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        done = subprocess.run([sys.executable, "-c", code, os.path.dirname(os.path.abspath(__file__))], env=env,
                              capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_calls(params, calls, budget_s: float) -> list[dict]:
    """Time each recorded call with either kernel; the largest differences between their results."""
    rows = []
    for name, caller, args, kwargs in calls:  # over recorded calls
        label = f"{name} from {caller}"
        fast = functools.partial(getattr(DorsalHorn(params, kernel="numba"), name), *args, **kwargs)
        ref = functools.partial(getattr(DorsalHorn(params, kernel="reference"), name), *args, **kwargs)
        r_med, r_min = _median_min(ref, budget_s)
        n_med, n_min = _median_min(fast, budget_s)
        got, want = fast(), ref()
        d_abs, d_rel = _max_diff(got, want)
        ok = bool(np.allclose(_flat(got), _flat(want), rtol=CALL_RTOL, atol=CALL_ATOL_HZ))
        rows.append({"call": label, "shape": _shape(name, args, kwargs), "ref_ms": 1e3 * r_med,
                     "ref_min_ms": 1e3 * r_min, "numba_ms": 1e3 * n_med, "numba_min_ms": 1e3 * n_min,
                     "ratio": r_med / n_med, "max_abs": d_abs, "max_rel": d_rel, "ok": ok})  # fmt: skip
    return rows


def end_to_end(steps: int) -> dict:
    out = {}
    tables = {}
    for kernel in ("reference", "numba"):
        model = build(kernel)
        assert model.pain.dorsal_horn.active_kernel == kernel
        for _ in range(2):  # warm-up steps
            model.step()
        t0 = time.perf_counter()
        for _ in range(steps):  # over cell steps
            model.step()
        out[kernel] = (time.perf_counter() - t0) / steps
        out[f"{kernel} wind-up runs"] = len(model.pain._windup_cache)  # < 256 entries: never cleared here
        tables[kernel] = model.timeseries()
    a, b = (tables[k][list(PAIN_COLUMNS)].to_numpy(float) for k in ("numba", "reference"))
    out["rows"] = len(tables["numba"])
    out["max_rel"] = float(np.max(np.abs(a - b) / np.maximum(np.abs(b), 1e-300)))
    scale = np.nanmax(np.abs(b), axis=0, keepdims=True)  # per readout: its own units
    out["ok"] = bool(np.isclose(a, b, rtol=SERIES_RTOL, atol=1e-12 * scale, equal_nan=True).all())
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=200, help="cell steps of the end-to-end run (default 200)")
    ap.add_argument(
        "--quick",
        action="store_true",
        help="20 end-to-end steps, short timing budgets, no cold compile: the checks in a few seconds",
    )
    args = ap.parse_args(argv)
    steps = 20 if args.quick else args.steps
    budget = 0.05 if args.quick else 0.4
    t_start = time.perf_counter()
    load0 = os.getloadavg()
    print("# Dorsal-horn circuit: NumPy reference vs numba")
    for k, v in machine_info().items():
        print(f"- {k}: {v}")
    print(f"- load average at start: {load0[0]:.2f} {load0[1]:.2f} {load0[2]:.2f}")
    print(f"- scenario: {SCENARIO} with {', '.join(OVERRIDES)}; backend numpy")

    first = first_calls()
    cold = None if args.quick else cold_first_calls()
    model = build("numba")
    for _ in range(3):  # a few steps, so that the state is not the initial one
        model.step()
    calls = record_calls(model)
    rows = bench_calls(model.pain.params, calls, budget)
    print("\n## Per call (one set of pain readouts, replayed; ms per call, median and minimum)\n")
    print("| call | shape | reference ms (min) | numba ms (min) | reference / numba | max abs diff | max rel diff "
          "| parity |")  # fmt: skip
    print("|---|---|---:|---:|---:|---:|---:|---|")
    for r in rows:
        print(
            f"| {r['call']} | {r['shape']} | {r['ref_ms']:.3f} ({r['ref_min_ms']:.3f}) | {r['numba_ms']:.4f} "
            f"({r['numba_min_ms']:.4f}) | {r['ratio']:.1f}x | {r['max_abs']:.1e} | {r['max_rel']:.1e} "
            f"| {'ok' if r['ok'] else 'DIFFERS'} |"
        )
    ref_total, numba_total = sum(r["ref_ms"] for r in rows), sum(r["numba_ms"] for r in rows)
    print(f"| all calls of one readout | | {ref_total:.3f} | {numba_total:.4f} | {ref_total / numba_total:.1f}x | | |")
    print("\nFirst numba call in this process (loads numba and the compiled kernels from numba's cache): "
          + ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in first.items()))  # fmt: skip
    if cold is None:
        print("First numba call in a fresh process with an empty cache (JIT compile): not measured (--quick)")
    else:
        print("First numba call in a fresh process with an empty cache (JIT compile): "
              + ", ".join(f"{k} {1e3 * v:.0f} ms" for k, v in cold.items()))  # fmt: skip
    print("(max rel diff: over values above 1e-6 of the largest; see tests/test_pain_circuit_kernels.py.)")

    e2e = end_to_end(steps)
    print(f"\n## End to end: {steps} steps of {SCENARIO} (5-min steps, a record every step)\n")
    print("| kernel | ms per step | steps/s | wind-up protocols run (distinct slow states) |")
    print("|---|---:|---:|---:|")
    for k in ("reference", "numba"):
        print(f"| {k} | {1e3 * e2e[k]:.2f} | {1 / e2e[k]:.1f} | {e2e[k + ' wind-up runs']} |")
    print(
        f"\nreference / numba end to end: {e2e['reference'] / e2e['numba']:.1f}x; pain readouts of the two runs "
        f"({e2e['rows']} rows) differ by at most {e2e['max_rel']:.1e} relative"
    )
    load1 = os.getloadavg()
    print(f"\nload average at end: {load1[0]:.2f} {load1[1]:.2f} {load1[2]:.2f}; "
          f"total {time.perf_counter() - t_start:.0f} s")  # fmt: skip
    bad = [r["call"] for r in rows if not r["ok"]] + ([] if e2e["ok"] else ["end-to-end pain readouts"])
    print(
        f"parity numba / reference (per call rtol {CALL_RTOL:g} + atol {CALL_ATOL_HZ:.1e} Hz; end to end rtol "
        f"{SERIES_RTOL:g}): {'ok' if not bad else 'DIFFERS: ' + ', '.join(bad)}"
    )
    return 0 if not bad else 1


if __name__ == "__main__":
    raise SystemExit(main())
