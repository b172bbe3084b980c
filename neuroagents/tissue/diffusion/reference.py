"""Plain NumPy reference solvers: they read like the equations.

These are the ground truth every fast kernel is compared against
(``tests/test_kernels_numba.py``, ``tests/test_kernels_cupy.py``) and the
plain fallback: ``kernel="reference"`` runs them on the NumPy backend where
numba is unwanted or a fast kernel is suspected. They are
vectorized and make no attempt at speed beyond that: the LOD sweep writes
the line systems of one axis (cell terms on the diagonal, identity rows at
vessels) and solves them all at once by the Thomas algorithm (:func:`thomas`,
each operation over every line), a periodic axis by Sherman–Morrison on top
of it (:func:`_cyclic`); the explicit step pads the field with ghost voxels
and applies the 2nd-difference Laplacian.
"""

from __future__ import annotations

import numpy as np

from neuroagents.tissue.diffusion.plans import DIRICHLET, NO_FLUX, PERIODIC, ExplicitPlan, LODPlan, Vessels

__all__ = ["explicit_step", "fix_vessels", "laplacian", "lod_step", "react", "thomas"]


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
    """One LOD step (see :mod:`.plans`) on ``c4`` in place.

    Each sweep writes the tridiagonal systems of every line of one mediator
    along one axis (cyclic corners on a periodic axis, identity rows at vessel
    voxels) and solves them together in float64.
    """
    vessels = vessels or Vessels.none()
    if not plan.axes:
        react(c4, plan.dt, plan.decay_factor, q4, k4, plan.source_weight)
        return
    held = np.zeros(c4.shape, dtype=bool)
    held.reshape(-1)[vessels.flat_index] = True
    fixed = np.zeros(c4.shape)
    fixed.reshape(-1)[vessels.flat_index] = vessels.values
    for ax in plan.axes:
        for m in range(c4.shape[0]):  # over mediators
            terms = [None if a is None else np.moveaxis(a[m], ax.axis - 1, -1) for a in (q4, k4)]
            lines = np.moveaxis(c4[m], ax.axis - 1, -1)  # (a, b, n) view
            x = _solve_lines(
                lines, ax, m, plan, *terms, np.moveaxis(held[m], ax.axis - 1, -1),
                np.moveaxis(fixed[m], ax.axis - 1, -1),
            )  # fmt: skip
            lines[...] = x
        fix_vessels(c4, vessels)


def _solve_lines(lines, ax, m, plan: LODPlan, q, k, held, fixed):
    """Solve ``A x = f c + s q + b`` on every line of ``lines`` (..., n) along its last axis; float64.

    ``A`` has ``diag + τ k`` on the diagonal and ``-r`` off it (and in the
    corners of a periodic axis); rows where ``held`` is set are the identity
    with right-hand side ``fixed``.
    """
    r = ax.r[m]
    rhs = lines.astype(np.float64) * plan.sweep_decay_factor[m]
    if q is not None:
        rhs = rhs + plan.sweep_source_weight[m] * q
    rhs[..., 0] += ax.rhs_lo[m]
    rhs[..., -1] += ax.rhs_hi[m]
    diag = np.broadcast_to(ax.diag[m], rhs.shape).astype(np.float64)
    if k is not None:
        diag = diag + plan.tau * k
    free = ~held
    rhs = np.where(free, rhs, fixed)
    diag = np.where(free, diag, 1.0)
    off = np.where(free, -r, 0.0)  # A[i, i-1] and A[i, i+1] of row i (0 in an identity row)
    if not ax.periodic:
        return thomas(off, diag, off, rhs)
    return _cyclic(off, diag, off, rhs)


def thomas(lower, diag, upper, rhs):
    """Solve the tridiagonal systems of every line at once (Thomas algorithm, no pivoting).

    Row ``i`` of a line: ``lower[i] x[i-1] + diag[i] x[i] + upper[i] x[i+1] = rhs[i]``
    (``lower[0]`` and ``upper[n-1]`` are ignored). The recurrence runs over the
    positions of a line; each of its operations covers all lines.

    Parameters
    ----------
    lower, diag, upper, rhs : ndarray of shape (..., n)
        One line per leading index; diagonally dominant (as every LOD system is).

    Returns
    -------
    ndarray of shape (..., n)
    """
    n = rhs.shape[-1]
    # position first: each step of the recurrence then reads and writes contiguous memory
    lower, diag, upper, rhs = (np.ascontiguousarray(np.moveaxis(a, -1, 0)) for a in (lower, diag, upper, rhs))
    cp = np.empty(rhs.shape)  # upper[i] / pivot[i]
    x = np.empty(rhs.shape)
    pivot = diag[0]
    cp[0] = upper[0] / pivot
    x[0] = rhs[0] / pivot
    for i in range(1, n):  # over the positions of a line (the recurrence), all lines at once
        pivot = diag[i] - lower[i] * cp[i - 1]
        cp[i] = upper[i] / pivot
        x[i] = (rhs[i] - lower[i] * x[i - 1]) / pivot
    for i in range(n - 2, -1, -1):  # back substitution
        x[i] -= cp[i] * x[i + 1]
    return np.moveaxis(x, 0, -1)


def _cyclic(lower, diag, upper, rhs):
    """Solve cyclic tridiagonal systems: corners ``A[0, n-1] = lower[0]``, ``A[n-1, 0] = upper[n-1]``.

    Sherman–Morrison: ``A = A' + u vᵀ`` with ``u = (γ, 0, …, 0, α)``,
    ``v = (1, 0, …, 0, β / γ)``, ``γ = -diag[0]``, ``β = A[0, n-1]``, ``α = A[n-1, 0]``;
    ``A'`` is tridiagonal with ``diag[0] - γ`` and ``diag[n-1] - αβ / γ`` at its ends.
    Then ``x = y - z (v·y) / (1 + v·z)`` with ``A' y = rhs``, ``A' z = u``.
    """
    n = rhs.shape[-1]
    if n == 1:
        return rhs / (diag + lower + upper)
    alpha, beta = upper[..., -1], lower[..., 0]
    gamma = -diag[..., 0]
    inner = diag.copy()
    inner[..., 0] -= gamma
    inner[..., -1] -= alpha * beta / gamma
    u = np.zeros(rhs.shape)
    u[..., 0] = gamma
    u[..., -1] = alpha
    y = thomas(lower, inner, upper, rhs)
    z = thomas(lower, inner, upper, u)
    ratio = beta / gamma
    s = (y[..., 0] + ratio * y[..., -1]) / (1.0 + z[..., 0] + ratio * z[..., -1])
    return y - s[..., None] * z


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
