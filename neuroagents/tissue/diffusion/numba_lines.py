"""Line solvers and row helpers of the numba kernels (inlined into the sweeps).

The Thomas recurrence of :class:`.plans.AxisCoeffs` on contiguous lines:
one line (:func:`_solve_row1`), eight interleaved scalar recurrences
(:func:`_solve_rows8`, for leftover lines) and one SIMD block of VL lines
(:func:`_solve_block`, through the LLVM tiles of :mod:`.numba_simd`;
1.5-3x faster than eight interleaved recurrences); :func:`_solve_lines`
picks among them. The row helpers (:func:`_first_row`, :func:`_forward_row`,
:func:`_back_row`) advance a whole row of lines at once along a
non-contiguous axis, so the inner loop runs along memory and vectorises.
:func:`_react_seg` is the reaction sub-step of :mod:`.plans` on a segment,
:func:`_scatter` rewrites the vessel voxels.

The JIT options shared by every numba kernel are defined here.
"""

from __future__ import annotations

from numba import njit

from neuroagents.tissue.diffusion.numba_simd import _tback, _tfwd

_FM = {"contract"}
# error_model="numpy": a division by zero gives inf instead of raising, so divisions vectorise
# (denominators here are 1 + dt k >= 1 and pivots of diagonally dominant matrices).
_JIT = {"cache": True, "fastmath": _FM, "error_model": "numpy"}
_PJIT = {**_JIT, "parallel": True}


@njit(**_JIT)
def _solve_block(blk, buf, inv, ar, cp, bnd, periodic, z, w, fac):
    """Solve the VL contiguous lines ``blk`` (VL, n) in place (VL = 64 bytes / itemsize); ``buf`` (n * VL,) is scratch.

    Whole tiles of VL columns go through :func:`_tfwd`/:func:`_tback`; the
    last ``n % VL`` columns are swept here, line by line within the column.
    """
    lines, n = blk.shape
    vl = 64 // blk.itemsize
    j1 = n // vl * vl
    _tfwd(blk, buf, inv, ar, bnd)
    for j in range(j1, n):  # forward over the columns after the last whole tile
        col = buf[j * lines : j * lines + lines]
        if j == 0:
            for r in range(lines):
                col[r] = (blk[r, j] + bnd[j]) * inv[j]
        else:
            prev = buf[j * lines - lines : j * lines]
            for r in range(lines):
                col[r] = (blk[r, j] + bnd[j]) * inv[j] + ar[j] * prev[r]
    for j in range(n - 1, j1 - 1, -1):  # and back over them
        col = buf[j * lines : j * lines + lines]
        if j < n - 1:
            nxt = buf[j * lines + lines : j * lines + 2 * lines]
            for r in range(lines):
                col[r] -= cp[j] * nxt[r]
        for r in range(lines):
            blk[r, j] = col[r]
    _tback(blk, buf, cp, j1)
    if periodic:
        for r in range(lines):
            _sm_row(blk[r], z, w, fac)


@njit(**_JIT)
def _copy(dst, src):
    """``dst[:] = src`` for 1D arrays known not to overlap (no temporary, unlike slice assignment)."""
    for j in range(dst.size):
        dst[j] = src[j]


@njit(**_JIT)
def _react_seg(x, fm, sw, has_src, q, k, dt, one):
    """``x <- (x fm + sw q) / (1 + dt k)`` (or ``x fm``) on a 1D segment in place.

    ``fm = exp(-λ dt)``, ``sw = (1 - exp(-λ dt)) / λ`` (the plan's source weight).
    """
    if has_src:
        for j in range(x.size):
            x[j] = (x[j] * fm + sw * q[j]) / (one + dt * k[j])
    else:
        for j in range(x.size):
            x[j] = x[j] * fm


@njit(**_JIT)
def _forward_row(row, prev, b, inv_i, ar_i):
    """One step of the Thomas forward sweep for a row of lines: ``row <- (row + b) inv + r inv prev``."""
    for j in range(row.size):
        row[j] = (row[j] + b) * inv_i + ar_i * prev[j]


@njit(**_JIT)
def _first_row(row, b, inv_i):
    for j in range(row.size):
        row[j] = (row[j] + b) * inv_i


@njit(**_JIT)
def _back_row(row, nxt, cp_i):
    for j in range(row.size):
        row[j] -= cp_i * nxt[j]


@njit(**_JIT)
def _sm_row(row, z, w, fac):
    """Sherman–Morrison correction of one periodic line: ``x -= (x[0] + w x[-1]) fac z``."""
    s = (row[0] + w * row[row.size - 1]) * fac
    for j in range(row.size):
        row[j] -= s * z[j]


@njit(**_JIT)
def _solve_row1(x, inv, ar, cp, bnd, periodic, z, w, fac):
    """Solve one contiguous line in place (Thomas; Sherman–Morrison if periodic)."""
    n = x.size
    p = (x[0] + bnd[0]) * inv[0]
    x[0] = p
    for j in range(1, n):
        p = (x[j] + bnd[j]) * inv[j] + ar[j] * p
        x[j] = p
    for j in range(n - 2, -1, -1):
        p = x[j] - cp[j] * p
        x[j] = p
    if periodic:
        _sm_row(x, z, w, fac)


@njit(**_JIT)
def _back8(blk, cp, periodic, z, w, fac):
    """Back substitution of eight contiguous lines ``blk`` (8, n), interleaved."""
    x0, x1, x2, x3, x4, x5, x6, x7 = blk[0], blk[1], blk[2], blk[3], blk[4], blk[5], blk[6], blk[7]
    n = x0.size
    p0, p1, p2, p3 = x0[n - 1], x1[n - 1], x2[n - 1], x3[n - 1]
    p4, p5, p6, p7 = x4[n - 1], x5[n - 1], x6[n - 1], x7[n - 1]
    for j in range(n - 2, -1, -1):
        c = cp[j]
        p0 = x0[j] - c * p0
        x0[j] = p0
        p1 = x1[j] - c * p1
        x1[j] = p1
        p2 = x2[j] - c * p2
        x2[j] = p2
        p3 = x3[j] - c * p3
        x3[j] = p3
        p4 = x4[j] - c * p4
        x4[j] = p4
        p5 = x5[j] - c * p5
        x5[j] = p5
        p6 = x6[j] - c * p6
        x6[j] = p6
        p7 = x7[j] - c * p7
        x7[j] = p7
    if periodic:
        for b in range(8):
            _sm_row(blk[b], z, w, fac)


@njit(**_JIT)
def _solve_rows8(blk, inv, ar, cp, bnd, periodic, z, w, fac):
    """Solve eight contiguous lines ``blk`` (8, n) in place as eight interleaved recurrences."""
    x0, x1, x2, x3, x4, x5, x6, x7 = blk[0], blk[1], blk[2], blk[3], blk[4], blk[5], blk[6], blk[7]
    n = x0.size
    p0 = p1 = p2 = p3 = p4 = p5 = p6 = p7 = inv[0] - inv[0]
    for j in range(n):
        b = bnd[j]
        i = inv[j]
        a = ar[j]
        p0 = (x0[j] + b) * i + a * p0
        x0[j] = p0
        p1 = (x1[j] + b) * i + a * p1
        x1[j] = p1
        p2 = (x2[j] + b) * i + a * p2
        x2[j] = p2
        p3 = (x3[j] + b) * i + a * p3
        x3[j] = p3
        p4 = (x4[j] + b) * i + a * p4
        x4[j] = p4
        p5 = (x5[j] + b) * i + a * p5
        x5[j] = p5
        p6 = (x6[j] + b) * i + a * p6
        x6[j] = p6
        p7 = (x7[j] + b) * i + a * p7
        x7[j] = p7
    _back8(blk, cp, periodic, z, w, fac)


@njit(**_JIT)
def _solve_lines(blk, buf, inv, ar, cp, bnd, periodic, z, w, fac):
    """Solve the contiguous lines ``blk`` (L, n), L <= VL, in place: one SIMD block when L == VL."""
    lines = blk.shape[0]
    if lines == 64 // blk.itemsize:
        _solve_block(blk, buf, inv, ar, cp, bnd, periodic, z, w, fac)
        return
    done = 0
    while lines - done >= 8:
        _solve_rows8(blk[done : done + 8], inv, ar, cp, bnd, periodic, z, w, fac)
        done += 8
    for line in range(done, lines):
        _solve_row1(blk[line], inv, ar, cp, bnd, periodic, z, w, fac)


@njit(cache=True)
def _scatter(flat, idx, vals):
    for e in range(idx.size):
        flat[idx[e]] = vals[e]
