"""LOD sweeps of the numba kernels with cell terms or vessels: each line factored as it is swept.

With a per-voxel sink ``k`` the diagonal of a line system is
``diag + τ k``, different on every line, and vessel voxels are identity rows
(see :mod:`.plans`), so the plan's precomputed Thomas factors do not apply.
Each line is factored during its forward sweep instead (one pass, as before:
the factors ``cp`` go to a scratch block that stays in cache for the back
substitution). A periodic axis solves the cyclic system by Sherman–Morrison
with its correction vector computed in the same pass, per line.

:func:`_general_block` solves a block of lines laid out as the columns of an
``(n, W)`` array (any strides); :func:`_general_mid` sweeps an axis that is
not the last one in column blocks, :func:`_general_rows` the contiguous axis
in blocks of ``W`` lines (their transposed view).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neuroagents.tissue.diffusion.numba_lines import _JIT, _PJIT


@njit(**_JIT)
def _general_block(
    x, q, k, held, fixed, diag, r, bnd, periodic, fd, sw, tau, has_q, has_k, has_v, one, cp, z, gam, beta,
):  # fmt: skip
    """Solve the lines ``x[:, j]`` (``x`` of shape (n, W)) in place.

    Row ``i`` of line ``j``: ``(diag[i] + τ k) x_i - r (x_{i-1} + x_{i+1}) = fd x_i + sw q + bnd[i]``, or
    ``x_i = fixed`` where ``held``. ``q``, ``k``, ``held``, ``fixed`` are shaped like ``x`` (read only
    when their flag is set); ``cp``, ``z`` (n, W) and ``gam``, ``beta`` (W,) are scratch.
    """
    n, w = x.shape
    zero = one - one
    for i in range(n):
        lo = -r if i > 0 else zero
        up = -r if i < n - 1 else zero
        for j in range(w):
            b = diag[i]
            if has_k:
                b += tau * k[i, j]
            rhs = fd * x[i, j] + bnd[i]
            if has_q:
                rhs += sw * q[i, j]
            li, ui = lo, up
            if has_v and held[i, j]:
                b = one
                rhs = fixed[i, j]
                li, ui = zero, zero
            u_i = zero
            if periodic:  # A = A' + u v^T (Numerical Recipes, cyclic): corners out of A'
                if i == 0:
                    gam[j] = -b
                    beta[j] = zero if (has_v and held[i, j]) else -r  # A[0, n-1]
                    u_i = gam[j]
                    b = b - gam[j]
                if i == n - 1:
                    alpha = zero if (has_v and held[i, j]) else -r  # A[n-1, 0]
                    u_i = alpha
                    b = b - alpha * beta[j] / gam[j]
            if i > 0:
                inv = one / (b - li * cp[i - 1, j])
                x[i, j] = (rhs - li * x[i - 1, j]) * inv
                if periodic:
                    z[i, j] = (u_i - li * z[i - 1, j]) * inv
            else:
                inv = one / b
                x[i, j] = rhs * inv
                if periodic:
                    z[i, j] = u_i * inv
            cp[i, j] = ui * inv
    for i in range(n - 2, -1, -1):
        for j in range(w):
            x[i, j] -= cp[i, j] * x[i + 1, j]
        if periodic:
            for j in range(w):
                z[i, j] -= cp[i, j] * z[i + 1, j]
    if periodic:
        for j in range(w):
            v = beta[j] / gam[j]
            s = (x[0, j] + v * x[n - 1, j]) / (one + z[0, j] + v * z[n - 1, j])
            for i in range(n):
                x[i, j] -= s * z[i, j]


@njit(**_PJIT)
def _general_mid(
    a, per_m, diag, r, bnd, periodic, fd, sw, tau, has_q, q, has_k, k, has_v, held, fixed, one, chunk, active,
):  # fmt: skip
    """Solve along axis 1 of ``a`` (P, n, Q) in place, in column blocks of ``chunk``; mediator ``p // per_m``.

    ``q``, ``k``, ``held``, ``fixed`` are shaped like ``a``; ``diag`` and ``bnd`` (M, n), ``r`` and ``sw`` (M,);
    ``active`` (M,) uint8: mediators left at 0 are not touched (fields that cannot change, see
    :mod:`neuroagents.tissue.quiet_fields`).
    """
    pp, n, qq = a.shape
    nch = (qq + chunk - 1) // chunk
    for t in prange(pp * nch):
        p = t // nch
        j0 = (t - p * nch) * chunk
        j1 = min(j0 + chunk, qq)
        m = p // per_m
        if not active[m]:
            continue
        width = j1 - j0
        cp = np.empty((n, width), dtype=a.dtype)
        z = np.empty((n, width) if periodic else (1, 1), dtype=a.dtype)
        gam = np.empty(width, dtype=a.dtype)
        beta = np.empty(width, dtype=a.dtype)
        _general_block(
            a[p, :, j0:j1], q[p, :, j0:j1], k[p, :, j0:j1], held[p, :, j0:j1], fixed[p, :, j0:j1],
            diag[m], r[m], bnd[m], periodic, fd[m], sw[m], tau, has_q, has_k, has_v, one, cp, z, gam, beta,
        )  # fmt: skip


@njit(**_PJIT)
def _general_rows(
    a, per_m, diag, r, bnd, periodic, fd, sw, tau, has_q, q, has_k, k, has_v, held, fixed, one, lines, active,
):  # fmt: skip
    """Solve every contiguous line of ``a`` (L, n) in place, ``lines`` at a time; mediator ``line // per_m`` (only
    where ``active[m]``, as :func:`_general_mid`)."""
    nl, n = a.shape
    nb = (nl + lines - 1) // lines
    for t in prange(nb):
        l0 = t * lines
        l1 = min(l0 + lines, nl)
        cp = np.empty((n, lines), dtype=a.dtype)
        z = np.empty((n, lines) if periodic else (1, 1), dtype=a.dtype)
        gam = np.empty(lines, dtype=a.dtype)
        beta = np.empty(lines, dtype=a.dtype)
        line = l0
        while line < l1:  # lines of one mediator at a time
            m = line // per_m
            end = min(l1, (m + 1) * per_m)
            wd = end - line
            if not active[m]:
                line = end
                continue
            _general_block(
                a[line:end].T, q[line:end].T, k[line:end].T, held[line:end].T, fixed[line:end].T,
                diag[m], r[m], bnd[m], periodic, fd[m], sw[m], tau, has_q, has_k, has_v, one,
                cp[:, :wd], z[:, : (wd if periodic else 1)], gam[:wd], beta[:wd],
            )  # fmt: skip
            line = end
