"""LOD sweeps of the numba kernels: one tridiagonal solve per grid line and axis, in place.

Each sweep is one ``prange`` over independent tasks (column blocks, blocks of
lines, slabs or mediators); how the work is laid out is described in
:mod:`.numba_kernels`. With ``react`` the reaction of :mod:`.plans` is folded
into the first sweep, applied to each row just before it is swept.

:func:`_react_all`
    The reaction alone (a grid with no active axis).
:func:`_mid_sweep`
    Along a non-contiguous axis, whole rows of a column block at a time.
:func:`_rows_sweep`
    Along the contiguous axis, VL lines at a time (SIMD tiles).
:func:`_slab_sweep`
    Axes 2 and 3 together, one ``(N2, N3)`` slab per task (:func:`_slab`).
:func:`_volume_sweep`
    All three axes of a 3D grid in two passes over memory.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neuroagents.tissue.diffusion.numba_lines import (
    _JIT,
    _PJIT,
    _back_row,
    _copy,
    _first_row,
    _forward_row,
    _react_seg,
    _solve_lines,
)


@njit(**_PJIT)
def _react_all(a, f, has_src, q, k, dt, one, chunk):
    """Reaction alone on ``a`` (M, V) in place (a grid with no active axis)."""
    m_count, v = a.shape
    nch = (v + chunk - 1) // chunk
    for t in prange(m_count * nch):
        m = t // nch
        j0 = (t - m * nch) * chunk
        j1 = min(j0 + chunk, v)
        _react_seg(a[m, j0:j1], f[m, 0], f[m, 1], has_src, q[m, j0:j1], k[m, j0:j1], dt, one)


@njit(**_PJIT)
def _mid_sweep(a, per_m, inv, ar, cp, bnd, periodic, z, w, fac, react, f, has_src, q, k, dt, one, chunk):
    """Solve along axis 1 of ``a`` (P, n, Q) in place, in column blocks of ``chunk``.

    Mediator of ``a[p]`` is ``p // per_m``. With ``react`` the reaction (``f``,
    ``q``, ``k`` shaped like ``a``) is applied to each row just before it is
    swept.
    """
    pp, n, qq = a.shape
    nch = (qq + chunk - 1) // chunk
    for t in prange(pp * nch):
        p = t // nch
        j0 = (t - p * nch) * chunk
        j1 = min(j0 + chunk, qq)
        m = p // per_m
        for i in range(n):
            row = a[p, i, j0:j1]
            if react:
                _react_seg(row, f[m, 0], f[m, 1], has_src, q[p, i, j0:j1], k[p, i, j0:j1], dt, one)
            if i == 0:
                _first_row(row, bnd[m, 0], inv[m, 0])
            else:
                _forward_row(row, a[p, i - 1, j0:j1], bnd[m, i], inv[m, i], ar[m, i])
        for i in range(n - 2, -1, -1):
            _back_row(a[p, i, j0:j1], a[p, i + 1, j0:j1], cp[m, i])
        if periodic:
            first = a[p, 0, j0:j1]
            last = a[p, n - 1, j0:j1]
            s = np.empty_like(first)
            for j in range(s.size):
                s[j] = (first[j] + w[m] * last[j]) * fac[m]
            for i in range(n):
                _back_row(a[p, i, j0:j1], s, z[m, i])


@njit(**_PJIT)
def _rows_sweep(a, per_m, inv, ar, cp, bnd, periodic, z, w, fac, react, f, has_src, q, k, dt, one):
    """Solve every contiguous line of ``a`` (L, n) in place: blocks of VL lines, 32 blocks per task."""
    nl, n = a.shape
    m_count = nl // per_m
    vl = 64 // a.itemsize
    span = 32 * vl  # lines per task
    nt = (per_m + span - 1) // span
    for t in prange(m_count * nt):
        m = t // nt
        first = m * per_m + (t - m * nt) * span
        end = min(first + span, (m + 1) * per_m)
        buf = np.empty(n * vl, dtype=a.dtype)
        for l0 in range(first, end, vl):
            l1 = min(l0 + vl, end)
            if react:
                for line in range(l0, l1):
                    _react_seg(a[line], f[m, 0], f[m, 1], has_src, q[line], k[line], dt, one)
            _solve_lines(a[l0:l1], buf, inv[m], ar[m], cp[m], bnd[m], periodic, z[m], w[m], fac[m])


@njit(**_JIT)
def _slab(
    x, row0, m, inv2, ar2, cp2, bnd2, per2, z2, w2, fac2, inv3, ar3, cp3, bnd3, per3, z3, w3, fac3,
    react, f, has_src, q, k, dt, one, vptr, vcol, vval,
):  # fmt: skip
    """Solve one slab ``x`` (n2, n3) of mediator ``m`` along its rows' axis (internal axis 2), then along them (3).

    ``q``/``k`` are the slab's cell terms; ``row0`` is the index of the
    slab's first row in ``vptr`` (rows of length n3 over the whole field),
    which indexes the vessel voxels of each row (``vcol``: position in the
    row, ``vval``: value); they are written between the two sweeps.
    """
    n2, n3 = x.shape
    for i in range(n2):
        row = x[i]
        if react:
            _react_seg(row, f[m, 0], f[m, 1], has_src, q[i], k[i], dt, one)
        if i == 0:
            _first_row(row, bnd2[m, 0], inv2[m, 0])
        else:
            _forward_row(row, x[i - 1], bnd2[m, i], inv2[m, i], ar2[m, i])
    below = np.zeros_like(x[0])
    if per2:  # finish axis 2 first: the correction needs the whole solution
        for i in range(n2 - 2, -1, -1):
            _back_row(x[i], x[i + 1], cp2[m, i])
        for j in range(n3):
            below[j] = (x[0, j] + w2[m] * x[n2 - 1, j]) * fac2[m]
    vl = 64 // x.itemsize
    buf = np.empty(n3 * vl, dtype=x.dtype)
    i_hi = n2
    while i_hi > 0:  # blocks of VL rows from the bottom: finish axis 2, then solve them along axis 3
        i_lo = max(i_hi - vl, 0)
        for i in range(i_hi - 1, i_lo - 1, -1):
            if per2:
                _back_row(x[i], below, z2[m, i])  # x -= s z
            elif i < n2 - 1:
                _back_row(x[i], below if i == i_hi - 1 else x[i + 1], cp2[m, i])
        if not per2:
            _copy(below, x[i_lo])
        for i in range(i_lo, i_hi):  # vessels between the two sweeps
            for e in range(vptr[row0 + i], vptr[row0 + i + 1]):
                x[i, vcol[e]] = vval[e]
        _solve_lines(x[i_lo:i_hi], buf, inv3[m], ar3[m], cp3[m], bnd3[m], per3, z3[m], w3[m], fac3[m])
        i_hi = i_lo


@njit(**_PJIT)
def _slab_sweep(
    a, per_m, inv2, ar2, cp2, bnd2, per2, z2, w2, fac2, inv3, ar3, cp3, bnd3, per3, z3, w3, fac3,
    react, f, has_src, q, k, dt, one, vptr, vcol, vval,
):  # fmt: skip
    """Sweep internal axes 2 and 3 of every slab of ``a`` (S, n2, n3) in place, one slab per task."""
    s_count, n2 = a.shape[0], a.shape[1]
    for s in prange(s_count):
        _slab(
            a[s], s * n2, s // per_m, inv2, ar2, cp2, bnd2, per2, z2, w2, fac2, inv3, ar3, cp3, bnd3, per3, z3, w3,
            fac3, react, f, has_src, q[s], k[s], dt, one, vptr, vcol, vval,
        )  # fmt: skip


@njit(**_PJIT)
def _volume_sweep(
    a, inv1, ar1, cp1, bnd1, inv2, ar2, cp2, bnd2, per2, z2, w2, fac2, inv3, ar3, cp3, bnd3, per3, z3, w3, fac3,
    react, f, has_src, q, k, dt, one, vptr, vcol, vval,
):  # fmt: skip
    """All three sweeps of ``a`` (M, N1, N2, N3) in two passes over memory, one mediator per task.

    The forward pass of axis 1 (non-periodic) streams whole planes, with the
    reaction; its back substitution then runs plane by plane from the last,
    and each plane, once final along axis 1, is swept along axes 2 and 3
    (:func:`_slab`) while it is in cache. The axis-1 solution of the plane
    above is kept in ``nxt`` for the recurrence.
    """
    m_count, n1, n2, n3 = a.shape
    for m in prange(m_count):
        x = a[m].reshape((n1, n2 * n3))
        qm = q[m].reshape((n1, n2 * n3))
        km = k[m].reshape((n1, n2 * n3))
        for i in range(n1):
            plane = x[i]
            if react:
                _react_seg(plane, f[m, 0], f[m, 1], has_src, qm[i], km[i], dt, one)
            if i == 0:
                _first_row(plane, bnd1[m, 0], inv1[m, 0])
            else:
                _forward_row(plane, x[i - 1], bnd1[m, i], inv1[m, i], ar1[m, i])
        nxt = np.empty_like(x[0])
        for i in range(n1 - 1, -1, -1):
            plane = x[i]
            if i < n1 - 1:
                _back_row(plane, nxt, cp1[m, i])
            _copy(nxt, plane)
            row0 = (m * n1 + i) * n2
            for i2 in range(n2):  # vessels between axes 1 and 2
                for e in range(vptr[row0 + i2], vptr[row0 + i2 + 1]):
                    plane[i2 * n3 + vcol[e]] = vval[e]
            _slab(
                a[m, i], row0, m, inv2, ar2, cp2, bnd2, per2, z2, w2, fac2, inv3, ar3, cp3, bnd3, per3, z3, w3,
                fac3, False, f, has_src, q[m, i], k[m, i], dt, one, vptr, vcol, vval,
            )  # fmt: skip
