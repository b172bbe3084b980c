"""Observed orders of convergence against analytic solutions with sinks.

The cases and errors are defined in :mod:`neuroagents.tissue.diffusion.convergence`
(steady point source with uptake in 2D, modified Bessel K0, and in 3D,
exp(-r/L)/r; a Gaussian spreading and taken up). Space: the grid's time-exact
solution against the analytic one, second order in dx. Time: each solver
against the grid's time-exact solution, first order in dt. Together, with dt
shrinking as dx², second order. ``bench/convergence.py`` prints the full table
(``docs/microenvironment.md``).
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.tissue.diffusion import convergence as cv

SOLVERS = ["lod", "explicit"]
SPACE_LEVELS = {"k0_2d": (2, 4, 8), "gaussian_2d": (2, 4, 8), "yukawa_3d": (2, 3, 4)}  # L / dx


def _explicit_limit(case, dx):
    """Largest explicit step (min) at ``dx``: dx² / (2 d D)."""
    ndim = 3 if case == "yukawa_3d" else 2
    return dx**2 / (2 * ndim * cv.D)


@pytest.mark.parametrize("case", cv.CASES)
def test_space_error_is_second_order(case):
    """The grid's time-exact solution converges as dx² (measured: K0 1.97, Gaussian 2.00, 3D 2.31)."""
    levels = SPACE_LEVELS[case]
    errors = [cv.space_error(case, cv.L / f) for f in levels]
    orders = cv.observed_orders([1.0 / f for f in levels], errors)
    assert np.all(np.diff(errors) < 0), errors
    assert orders[-1] >= 1.8, (errors, orders)


@pytest.mark.parametrize("kernel", ["reference", "numba"])
@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", cv.CASES)
def test_time_error_is_first_order(case, solver, kernel):
    """Each solver against the grid's time-exact solution at dx = L / 4, dt halved twice.

    LOD at dt = 0.25 … 0.0625 τ0 (r = D dt / dx² = 4 … 1), explicit at 0.8 … 0.2 of its
    stability limit (one sub-step). Measured orders: LOD K0 1.1-1.2, Gaussian 1.0, 3D 1.3-1.4;
    explicit 1.0 everywhere.
    """
    dx = cv.L / 4
    if solver == "lod":
        steps = np.array([0.25, 0.125, 0.0625]) * cv.TAU0
    else:
        steps = np.array([0.8, 0.4, 0.2]) * _explicit_limit(case, dx)
        t_end = cv.T_GAUSS if case == "gaussian_2d" else 12 * cv.TAU0
        steps = t_end / np.ceil(t_end / steps)  # whole numbers of steps
    errors = [cv.run_case(case, solver, dx, dt, kernel)[1] for dt in steps]
    orders = cv.observed_orders(steps, errors)
    assert np.all(orders >= 0.8), (errors, orders)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize("case", ["k0_2d", "gaussian_2d"])
def test_error_against_the_analytic_solution_is_second_order_with_dt_as_dx_squared(case, solver):
    """dx = L/2, L/4, L/8 with dt = 0.5 τ0 (dx / L)² (LOD r = 0.5): the whole error falls as dx².

    Measured last-pair orders: K0 LOD 2.4, explicit 2.0; Gaussian 2.0 for both.
    """
    levels = (2, 4, 8)
    errors = [cv.run_case(case, solver, cv.L / f, 0.5 * cv.TAU0 / f**2)[0] for f in levels]
    orders = cv.observed_orders([1.0 / f for f in levels], errors)
    assert orders[-1] >= 1.8, (errors, orders)
    assert errors[-1] < 0.02
