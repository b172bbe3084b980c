"""Convergence table: error against analytic solutions with sinks, versus dx and dt, and observed orders.

``python bench/convergence.py [--quick]``

Prints the markdown tables of ``docs/microenvironment.md`` (cases, errors and
units in :mod:`neuroagents.tissue.diffusion.convergence`; numba kernels, float64):

* space: the grid's time-exact solution (discrete steady state; exponential of
  the discrete Laplacian) against the analytic one, for dx = L/2 … L/8 (3D: L/2 … L/6);
* time: each solver against the grid's time-exact solution at dx = L/4, dt
  halved three times (LOD from 0.5 τ0; explicit from 0.8 of its stability
  limit, one sub-step per step);
* both: each solver against the analytic solution with dt = 0.5 τ0 (dx / L)².

The observed order between two rows is ``log(e1 / e2) / log(h1 / h2)``.
``--quick`` drops the finest rows (a few seconds); the tests assert the orders
(``tests/test_diffusion_convergence.py``). Exit status 1 when an order falls
below 1.8 in space or 0.8 in time.
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from neuroagents.tissue.diffusion import convergence as cv

SPACE = {"k0_2d": (2, 4, 8, 16), "gaussian_2d": (2, 4, 8, 16), "yukawa_3d": (2, 3, 4, 6)}
SOLVERS = ("lod", "explicit")


def _t_end(case):
    return cv.T_GAUSS if case == "gaussian_2d" else 12 * cv.TAU0


def _fmt_orders(orders):
    return ["—"] + [f"{p:.2f}" for p in orders]


def space_table(quick):
    ok = True
    print("| case | dx / L | error | order |\n|---|---|---|---|")
    for case in cv.CASES:
        levels = SPACE[case][:3] if quick else SPACE[case]
        errors = [cv.space_error(case, cv.L / f) for f in levels]
        orders = cv.observed_orders([1.0 / f for f in levels], errors)
        ok &= bool(orders[-1] >= 1.8)
        for f, e, p in zip(levels, errors, _fmt_orders(orders), strict=True):
            print(f"| {case} | 1/{f} | {e:.2e} | {p} |")
    return ok


def time_table(quick):
    ok = True
    n = 3 if quick else 4
    print("| case | solver | dt / τ0 | r = D dt / dx² | error | order |\n|---|---|---|---|---|---|")
    dx = cv.L / 4
    for case in cv.CASES:
        ndim = 3 if case == "yukawa_3d" else 2
        for solver in SOLVERS:
            if solver == "lod":
                steps = 0.5 * cv.TAU0 / 2.0 ** np.arange(n)
            else:
                steps = 0.8 * dx**2 / (2 * ndim * cv.D) / 2.0 ** np.arange(n)
                steps = _t_end(case) / np.ceil(_t_end(case) / steps)
            errors = [cv.run_case(case, solver, dx, dt)[1] for dt in steps]
            orders = cv.observed_orders(steps, errors)
            ok &= bool(np.all(orders >= 0.8))
            for dt, e, p in zip(steps, errors, _fmt_orders(orders), strict=True):
                print(f"| {case} | {solver} | {dt / cv.TAU0:.4g} | {cv.D * dt / dx**2:.3g} | {e:.2e} | {p} |")
    return ok


def both_table(quick):
    print("| case | solver | dx / L | dt / τ0 | error | order |\n|---|---|---|---|---|---|")
    for case in ("k0_2d", "gaussian_2d"):
        levels = (2, 4) if quick else (2, 4, 8)
        for solver in SOLVERS:
            errors = [cv.run_case(case, solver, cv.L / f, 0.5 * cv.TAU0 / f**2)[0] for f in levels]
            orders = cv.observed_orders([1.0 / f for f in levels], errors)
            for f, e, p in zip(levels, errors, _fmt_orders(orders), strict=True):
                print(f"| {case} | {solver} | 1/{f} | {0.5 / f**2:.4g} | {e:.2e} | {p} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="coarser rows only (a few seconds)")
    args = ap.parse_args(argv)
    print(
        f"D = {cv.D:g} µm²/min, λ = {cv.DECAY:g} /min, k = {cv.UPTAKE:g} /min: "
        f"L = {cv.L:.3f} µm, τ0 = {cv.TAU0:.4f} min\n"
    )
    print("Space (the grid's time-exact solution against the analytic one)\n")
    ok = space_table(args.quick)
    print("\nTime (each solver against the grid's time-exact solution, dx = L/4)\n")
    ok &= time_table(args.quick)
    print("\nBoth (each solver against the analytic solution, dt = 0.5 τ0 (dx / L)²)\n")
    both_table(args.quick)
    if not ok:
        print("\nFAIL: an observed order is below 1.8 in space or 0.8 in time", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
