"""Plain NumPy reference solvers: they read like the equations.

These are the ground truth every fast kernel is compared against
(``tests/test_kernels_numba.py``, ``tests/test_kernels_cupy.py``) and the
plain fallback: ``kernel="reference"`` runs them on the NumPy backend where
numba is unwanted or a fast kernel is suspected. They are
vectorized (no loop over voxels) but make no attempt at speed: the LOD sweep
builds each axis' tridiagonal matrix and hands it to LAPACK
(``scipy.linalg.solve_banded``; a dense solve for periodic axes); the
explicit step pads the field with ghost voxels and applies the 2nd-difference
Laplacian.
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from neuroagents.tissue.diffusion.plans import DIRICHLET, NO_FLUX, PERIODIC, ExplicitPlan, LODPlan, Vessels

__all__ = ["explicit_step", "fix_vessels", "laplacian", "lod_step", "react"]


def react(c4, dt, decay_factor, q4=None, k4=None, source_weight=None):
    """Reaction sub-step ``c <- (c exp(-λ dt) + w q) / (1 + dt k)`` in place (``w``: ``source_weight``).

    Parameters
    ----------
    c4 : ndarray of shape (M, N1, N2, N3)
    dt : float
        min.
    decay_factor : ndarray of shape (M,)
        ``exp(-λ dt)``.
    q4, k4 : ndarray of shape (M, N1, N2, N3) or None
        Production (nM/min) and first-order consumption (1/min).
    """
    c4 *= decay_factor.astype(c4.dtype)[:, None, None, None]
    if q4 is not None:
        w = dt if source_weight is None else source_weight.astype(c4.dtype)[:, None, None, None]
        c4 += w * q4
    if k4 is not None:
        c4 /= 1.0 + dt * k4


def fix_vessels(c4, vessels: Vessels):
    """Overwrite the fixed-concentration voxels."""
    if not vessels.empty:
        c4.reshape(-1)[vessels.flat_index] = vessels.values


def lod_step(c4, plan: LODPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None):
    """One LOD step (see :mod:`.plans`) on ``c4`` in place."""
    vessels = vessels or Vessels.none()
    react(c4, plan.dt, plan.decay_factor, q4, k4, plan.source_weight)
    for ax in plan.axes:
        for m in range(c4.shape[0]):  # over mediators
            lines = np.moveaxis(c4[m], ax.axis - 1, 0)  # (n, a, b) view
            shape = lines.shape
            rhs = lines.reshape(ax.n, -1).astype(np.float64)
            rhs[0] += ax.rhs_lo[m]
            rhs[-1] += ax.rhs_hi[m]
            r = ax.r[m]
            if ax.periodic:
                a = np.diag(ax.diag[m]) - r * (np.eye(ax.n, k=1) + np.eye(ax.n, k=-1))
                a[0, -1] -= r
                a[-1, 0] -= r
                x = np.linalg.solve(a, rhs)
            else:
                banded = np.zeros((3, ax.n))
                banded[0, 1:] = -r  # super-diagonal
                banded[1] = ax.diag[m]
                banded[2, :-1] = -r  # sub-diagonal
                x = scipy.linalg.solve_banded((1, 1), banded, rhs, check_finite=False)
            lines[...] = x.reshape(shape)
        fix_vessels(c4, vessels)


def _neighbours(c, axis, kind_lo, kind_hi, val_lo, val_hi):
    """The field shifted by -1 and +1 along ``axis``, with ghost voxels filled."""
    n = c.shape[axis]
    first = np.take(c, [0], axis=axis)
    last = np.take(c, [n - 1], axis=axis)
    ghost = {NO_FLUX: (first, last), PERIODIC: (last, first)}
    lo = np.full_like(first, val_lo) if kind_lo == DIRICHLET else ghost[kind_lo][0]
    hi = np.full_like(last, val_hi) if kind_hi == DIRICHLET else ghost[kind_hi][1]
    minus = np.concatenate([lo, np.take(c, np.arange(n - 1), axis=axis)], axis=axis)
    plus = np.concatenate([np.take(c, np.arange(1, n), axis=axis), hi], axis=axis)
    return minus, plus


def laplacian(c4, rx, kinds, values):
    """``Σ_a rx[m, a] (c[a-1] + c[a+1] - 2c)`` with ghost voxels from the boundaries.

    Parameters
    ----------
    c4 : ndarray of shape (M, N1, N2, N3)
    rx : ndarray of shape (M, 3)
        Weights per mediator and internal axis (``D h / dx²``).
    kinds : ndarray of shape (3, 2)
    values : ndarray of shape (M, 3, 2)
    """
    out = np.zeros_like(c4)
    for m in range(c4.shape[0]):  # over mediators
        for ia in range(3):  # over axes
            if rx[m, ia] == 0:
                continue
            minus, plus = _neighbours(c4[m], ia, kinds[ia, 0], kinds[ia, 1], values[m, ia, 0], values[m, ia, 1])
            out[m] += rx[m, ia] * (minus + plus - 2.0 * c4[m])
    return out


def explicit_step(c4, plan: ExplicitPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None):
    """``plan.n_sub`` explicit sub-steps (see :mod:`.plans`) on ``c4`` in place."""
    vessels = vessels or Vessels.none()
    f = plan.decay_factor.astype(c4.dtype)[:, None, None, None]
    for _ in range(plan.n_sub):  # over sub-steps in time
        new = (c4 + laplacian(c4, plan.rx, plan.kinds, plan.values).astype(c4.dtype)) * f
        if q4 is not None:
            new += plan.source_weight.astype(c4.dtype)[:, None, None, None] * q4
        if k4 is not None:
            new /= 1.0 + plan.h * k4
        c4[...] = new
        fix_vessels(c4, vessels)
