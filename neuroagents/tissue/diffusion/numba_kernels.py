"""Fast CPU kernels (numba) for the reaction–diffusion step.

They compute exactly what :mod:`.plans` defines and are checked against
:mod:`.reference` (``tests/test_kernels_numba.py``). Fields arrive as the 4D
view ``c4`` of shape ``(M, N1, N2, N3)`` (C order, axis 3 contiguous) in
float32 or float64, and every kernel computes in that dtype; the plan's
float64 coefficients are cast once per plan and dtype and cached here.

How the work is laid out (``bench/diffusion.py`` measures it):

LOD
    The reaction is folded into the first sweep. A sweep along an axis that
    is not the last one (``_mid_sweep``) views the field as ``(pre, n, post)``
    and runs the Thomas recurrence over whole rows of a column block, the
    inner loop running along contiguous memory (SIMD); the block is sized so
    that its ``n`` rows stay in L2 for the back substitution. Along the last
    (contiguous) axis the recurrence runs along memory, so lines are solved
    VL at a time (VL = 64 bytes / itemsize: 8 float64, 16 float32; one SIMD
    register of lines): each VL x VL tile is transposed in registers (a
    shuffle network written in LLVM IR, ``_tfwd``/``_tback``), so that one
    vector operation advances VL independent lines by one position; the
    forward sweep writes its result transposed to a small buffer and the back
    substitution transposes it back. Measured against eight interleaved
    scalar recurrences (``_solve_rows8``, still used for leftover lines),
    this is 1.5-3x faster; blocks of more than VL lines are slower when rows
    are a power-of-two number of bytes apart (L1 set conflicts). When axes 2
    and 3 are both active they are swept together, one ``(N2, N3)`` slab at a
    time (``_slab_sweep``): the forward pass of axis 2 streams the slab once;
    its back substitution then runs VL rows at a time from the bottom, and
    each block of rows is solved along axis 3 while it is in cache. Periodic
    axes add the Sherman–Morrison pass while the lines are in cache. On a 3D
    grid with a non-periodic axis 1, ``_volume_sweep`` makes the whole step
    two passes over memory: the forward pass of axis 1 streams whole planes,
    and its back substitution hands each plane, once final, to the slab sweep
    of axes 2 and 3 while it is in cache. Each fused form is used when its
    tasks (mediators, slabs) keep every thread busy. Vessel voxels are
    rewritten after every sweep (between sweeps inside the fused kernels,
    from a per-row index).
Explicit
    Each sub-step is one fused pass *in place*: stencil, decay, reaction and
    the write, with ghost values per boundary kind (rows of a band in one
    vectorised loop, the row ends redone with the axis-3 ghosts; the rows two
    planes ahead are prefetched, which keeps memory streaming while a plane
    computes: 15-30% on 2D grids). A task owns a range of
    planes of one mediator and keeps the old values it still needs (the
    previous plane, ``(N2, N3)``) in a private buffer; the planes just outside
    its range are saved before the pass. In place means one read and one
    write of the field per sub-step, with no write-allocate of a second
    array and no copy back after an odd number of sub-steps; ``work4`` holds
    the saved boundary planes.

Arithmetic is IEEE (``fastmath`` only allows contracting ``a * b + c`` into
a fused multiply-add), so results agree with the reference to rounding:
about 1e-12 relative in float64 and 1e-5 in float32.
"""

from __future__ import annotations

import contextlib
import math

import numba
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from neuroagents.tissue.diffusion.plans import DIRICHLET, PERIODIC, ExplicitPlan, LODPlan, Vessels

__all__ = ["explicit_step", "lod_step"]

_FM = {"contract"}
# error_model="numpy": a division by zero gives inf instead of raising, so divisions vectorise
# (denominators here are 1 + dt k >= 1 and pivots of diagonally dominant matrices).
_JIT = {"cache": True, "fastmath": _FM, "error_model": "numpy"}
_PJIT = {**_JIT, "parallel": True}
_L2_BYTES = 512 * 1024  # working set of one column block of a mid-axis sweep (half of L2)
_BAND_BYTES = 32 * 1024  # rows of one band of the explicit sweep (fits L1/L2 with its neighbours)
_CACHE_SIZE = 32  # plans (x dtypes) whose cast coefficients are kept

# --- SIMD tiles (LLVM vectors) -----------------------------------------------------------------------------------
# A block of VL lines along the contiguous axis (VL = 64 bytes / itemsize: 8 float64, 16 float32) is solved
# through a transposed buffer ``buf`` (n * VL,), where element j of line b sits at ``buf[j * VL + b]``: the
# recurrence then runs along j with one vector of VL independent lines per step. numba has no SIMD types, so
# the tile transposes (a shuffle network) and the vector sweeps are written as LLVM IR.


class _for_range:
    """``with _for_range(builder, n) as i:`` emits ``for i in range(n)`` (i64) around the body."""

    def __init__(self, builder, count):
        self._cm = cgutils.for_range(builder, count)

    def __enter__(self):
        return self._cm.__enter__().index

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


def _vec_type(context, arrty):
    lty = context.get_data_type(arrty.dtype)
    vl = 64 // (arrty.dtype.bitwidth // 8)
    return lty, vl, ir.VectorType(lty, vl)


def _vec_ptr(builder, base, offset, vty):
    return builder.bitcast(builder.gep(base, [offset]), vty.as_pointer())


def _splat(builder, scalar, vty):
    i32 = ir.IntType(32)
    one = builder.insert_element(ir.Constant(vty, ir.Undefined), scalar, ir.Constant(i32, 0))
    return builder.shuffle_vector(one, ir.Constant(vty, ir.Undefined), ir.Constant(ir.VectorType(i32, vty.count), None))


def _transpose(builder, rows):
    """Transpose VL vectors of VL lanes (log2 VL stages of two-source shuffles)."""
    vl = len(rows)
    mty = ir.VectorType(ir.IntType(32), vl)
    s = 1
    while s < vl:
        lo = ir.Constant(mty, [k if (k // s) % 2 == 0 else vl + k - s for k in range(vl)])
        hi = ir.Constant(mty, [k + s if (k // s) % 2 == 0 else vl + k for k in range(vl)])
        new = list(rows)
        for i in range(vl):
            if (i // s) % 2 == 0:
                new[i] = builder.shuffle_vector(rows[i], rows[i + s], lo)
                new[i + s] = builder.shuffle_vector(rows[i], rows[i + s], hi)
        rows = new
        s *= 2
    return rows


def _fma_fn(context, builder, vty):
    name = f"llvm.fma.v{vty.count}f{vty.element.get_abi_size(context.target_data) * 8}"
    return cgutils.get_or_insert_function(builder.module, ir.FunctionType(vty, [vty] * 3), name)


def _coef(builder, arr, j, vty):
    """``arr[j]`` splat to a vector."""
    return _splat(builder, builder.load(builder.gep(arr.data, [j])), vty)


def _block_setup(context, builder, signature, args):
    """Arrays of the call, vector type, VL, and pointer helpers into ``blk`` (VL, n) and ``buf`` (n * VL,).

    One vector of lines per block: blocks of more lines were faster on odd
    row lengths but much slower when rows are a power-of-two number of bytes
    apart (all of them in one L1 set).
    """
    lty, vl, vty = _vec_type(context, signature.args[0])
    arrays = [
        context.make_array(t)(context, builder, v) if isinstance(t, types.Array) else v
        for t, v in zip(signature.args, args, strict=True)
    ]
    blk, buf = arrays[0], arrays[1]
    i64 = ir.IntType(64)
    n = builder.extract_value(blk.shape, 1)
    align = lty.get_abi_size(context.target_data)

    def c64(v):
        return ir.Constant(i64, v)

    def row_ptr(line, j0):  # VL consecutive columns of one line
        return _vec_ptr(builder, blk.data, builder.add(builder.mul(c64(line), n), j0), vty)

    def col_ptr(j):  # the VL lines at column j of the transposed buffer
        return _vec_ptr(builder, buf.data, builder.mul(j, c64(vl)), vty)

    return arrays, vty, vl, n, align, c64, row_ptr, col_ptr


def _tfwd_codegen(context, builder, signature, args):
    arrays, vty, vl, n, align, c64, row_ptr, col_ptr = _block_setup(context, builder, signature, args)
    _, _, inv, ar, bnd = arrays
    fma = _fma_fn(context, builder, vty)
    acc = builder.alloca(vty)  # the recurrence of the VL lines (promoted to a register)
    builder.store(ir.Constant(vty, None), acc)
    with _for_range(builder, builder.udiv(n, c64(vl))) as t:
        j0 = builder.mul(t, c64(vl))
        cols = _transpose(builder, [builder.load(row_ptr(r, j0), align=align) for r in range(vl)])
        for c in range(vl):  # p = (x + b) inv + (r inv) p
            j = builder.add(j0, c64(c))
            bj, ij, aj = _coef(builder, bnd, j, vty), _coef(builder, inv, j, vty), _coef(builder, ar, j, vty)
            p = builder.call(fma, [aj, builder.load(acc), builder.fmul(builder.fadd(cols[c], bj), ij)])
            builder.store(p, acc)
            builder.store(p, col_ptr(j), align=align)
    return context.get_dummy_value()


def _tback_codegen(context, builder, signature, args):
    arrays, vty, vl, n, align, c64, row_ptr, col_ptr = _block_setup(context, builder, signature, args)
    cp, j1 = arrays[2], arrays[3]
    fma = _fma_fn(context, builder, vty)
    acc = builder.alloca(vty)
    builder.store(ir.Constant(vty, None), acc)  # nothing beyond the line's end ...
    with builder.if_then(builder.icmp_signed("<", j1, n)):  # ... or the solution at column j1, already computed
        builder.store(builder.load(col_ptr(j1), align=align), acc)
    nt = builder.udiv(j1, c64(vl))
    with _for_range(builder, nt) as tt:
        j0 = builder.mul(builder.sub(builder.sub(nt, c64(1)), tt), c64(vl))
        cols = [None] * vl
        for c in range(vl - 1, -1, -1):  # x = d - cp x_next
            j = builder.add(j0, c64(c))
            cj = builder.fneg(_coef(builder, cp, j, vty))
            cols[c] = builder.call(fma, [cj, builder.load(acc), builder.load(col_ptr(j), align=align)])
            builder.store(cols[c], acc)
        for r, v in enumerate(_transpose(builder, cols)):
            builder.store(v, row_ptr(r, j0), align=align)
    return context.get_dummy_value()


@intrinsic
def _tfwd(typingctx, blk, buf, inv, ar, bnd):
    """Forward sweep of the VL lines ``blk`` (VL, n) over whole tiles of VL columns.

    Reads ``blk``, transposes each tile in registers and writes the swept
    values transposed to ``buf`` (``buf[j * VL + b]`` for line b).
    """
    return types.void(blk, buf, inv, ar, bnd), _tfwd_codegen


@intrinsic
def _tback(typingctx, blk, buf, cp, j1):
    """Back substitution over columns ``j1 - 1 .. 0`` (whole tiles) from ``buf``, written transposed back to ``blk``.

    Starts from the solution at column ``j1`` (in ``buf``) when ``j1 < n``.
    """
    return types.void(blk, buf, cp, j1), _tback_codegen


@intrinsic
def _prefetch(typingctx, arr, start, stop):
    """Hint the CPU to fetch ``arr[start:stop]`` (1D) into the caches, one cache line at a time."""
    sig = types.void(arr, start, stop)

    def codegen(context, builder, signature, args):
        a = context.make_array(signature.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(
            builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]), "llvm.prefetch.p0i8"
        )
        step = 64 // context.get_abi_sizeof(context.get_data_type(signature.args[0].dtype))
        i64 = ir.IntType(64)
        count = builder.udiv(
            builder.add(builder.sub(args[2], args[1]), ir.Constant(i64, step - 1)), ir.Constant(i64, step)
        )
        with _for_range(builder, count) as t:
            idx = builder.add(args[1], builder.mul(t, ir.Constant(i64, step)))
            ptr = builder.bitcast(builder.gep(a.data, [idx]), i8p)
            builder.call(fn, [ptr, ir.Constant(i32, 0), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()

    return sig, codegen


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


# --- inlined helpers ---------------------------------------------------------------------------------------------


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


# --- LOD kernels -------------------------------------------------------------------------------------------------


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


@njit(cache=True)
def _scatter(flat, idx, vals):
    for e in range(idx.size):
        flat[idx[e]] = vals[e]


# --- explicit kernel ---------------------------------------------------------------------------------------------


@njit(**_PJIT)
def _save_halos(c, nsplit, per1, halo):
    """Copy the old planes just outside each task's range into ``halo`` (M * nsplit, 2, R * n)."""
    m_count, pn = c.shape[0], c.shape[1]
    for u in prange(m_count * nsplit * 2):
        side = u % 2
        mt = u // 2
        m = mt // nsplit
        t = mt - m * nsplit
        a = (t * pn) // nsplit
        b = ((t + 1) * pn) // nsplit
        if side == 0:
            src = a - 1 if a > 0 else (pn - 1 if per1 else -1)
        else:
            src = b if b < pn else (0 if per1 else -1)
        if src >= 0:
            _copy(halo[mt, side], c[m, src])


@njit(**_JIT)
def _band(out, ctr, m1, p1, n, w0, w1, w2, w3, use1, use2):
    """Stencil over the flat rows of a band: ``out = w0 c + w1 (c1- + c1+) + w2 (c2- + c2+) + w3 (c3- + c3+)``.

    ``ctr`` ((rows + 2) * n,) holds the band's old rows with the row above
    and the row below; ``m1``/``p1`` are the old rows of the neighbouring
    planes. The ends of each row read the neighbouring row instead of the
    axis-3 ghost; the caller redoes them. Operands are slices indexed from
    0, so the loops vectorise.
    """
    size = out.size
    cc, lf, rt = ctr[n : n + size], ctr[n - 1 : n - 1 + size], ctr[n + 1 : n + 1 + size]
    up, dn = ctr[:size], ctr[2 * n : 2 * n + size]
    if use1 and use2:
        for e in range(size):
            out[e] = w0 * cc[e] + w1 * (m1[e] + p1[e]) + w2 * (up[e] + dn[e]) + w3 * (lf[e] + rt[e])
    elif use1:
        for e in range(size):
            out[e] = w0 * cc[e] + w1 * (m1[e] + p1[e]) + w3 * (lf[e] + rt[e])
    elif use2:
        for e in range(size):
            out[e] = w0 * cc[e] + w2 * (up[e] + dn[e]) + w3 * (lf[e] + rt[e])
    else:
        for e in range(size):
            out[e] = w0 * cc[e] + w3 * (lf[e] + rt[e])


@njit(**_JIT)
def _sources_row(x, q, k, sw, h, one):
    """``x <- (x + sw q) / (1 + h k)`` on one row (``sw``: the plan's source weight)."""
    for j in range(x.size):
        x[j] = (x[j] + sw * q[j]) / (one + h * k[j])


@njit(**_PJIT)
def _explicit_sub(c, wts, kinds, vals, ghost1, ghost2, has_src, q, k, h, one, nsplit, halo, use1, use2, n, band):
    """One explicit sub-step on ``c`` (M, P, R * n) in place: planes of ``R`` rows of length ``n``.

    ``out = w0 c + Σ_a w_a (c_a- + c_a+)`` then the sources, with weights
    ``wts[:, :4]`` = ``exp(-λh) (1 - 2 Σ r_a, r_1, r_2, r_3)`` (all >= 0) and
    the source weight ``wts[:, 4]``.
    Task ``u`` owns planes ``[a, b)`` of mediator ``u // nsplit`` and sweeps
    them band by band (``band`` rows), plane after plane. Before a band of a
    plane is overwritten its old rows, with the row above and below, are
    copied into a buffer, which the next plane reads as its old ``p - 1``
    rows. The old last row of each band is kept for the next band (and the
    old row 0 for a periodic axis 2). ``halo[u]`` (2, R * n) holds the old
    planes ``a - 1`` and ``b`` (or their periodic images); ``ghost1``
    (M, 2, R * n) and ``ghost2`` (M, 2, n) the Dirichlet planes and rows of
    axes 1 and 2. ``use1``/``use2``: whether axes 1/2 carry diffusion.
    """
    m_count, pn, size = c.shape
    rn = size // n
    per1 = kinds[0, 0] == PERIODIC and pn > 1
    per2 = kinds[1, 0] == PERIODIC and rn > 1
    for u in prange(m_count * nsplit):
        m = u // nsplit
        t = u - m * nsplit
        a = (t * pn) // nsplit
        b = ((t + 1) * pn) // nsplit
        bufs = np.zeros((2, (min(band, rn) + 2) * n), dtype=c.dtype)
        keep = np.empty((2, max(b - a, 0), n), dtype=c.dtype)  # old last row of the band above; old row 0
        w0, w1, w2, w3 = wts[m, 0], wts[m, 1], wts[m, 2], wts[m, 3]
        for i0 in range(0, rn, band):
            i1 = min(i0 + band, rn)
            ln = (i1 - i0) * n
            for p in range(a, b):
                plane = c[m, p]
                if p + 2 < b:  # the rows two planes ahead, so that memory keeps streaming while this one computes
                    _prefetch(c[m, p + 2], i0 * n, i1 * n)
                ctr = bufs[(p - a) % 2, : ln + 2 * n]
                top, mid, bot = ctr[:n], ctr[n : n + ln], ctr[n + ln :]
                _copy(mid, plane[i0 * n : i1 * n])
                if use2:  # the old row above the band and the one below it
                    if i0 > 0:
                        above = keep[0, p - a]
                    elif per2:
                        above = plane[size - n :]
                    elif kinds[1, 0] == DIRICHLET:
                        above = ghost2[m, 0]
                    else:
                        above = mid[:n]
                    if i1 < rn:
                        below = plane[i1 * n : i1 * n + n]
                    elif per2:
                        below = mid[:n] if i0 == 0 else keep[1, p - a]
                    elif kinds[1, 1] == DIRICHLET:
                        below = ghost2[m, 1]
                    else:
                        below = mid[ln - n :]
                    _copy(top, above)
                    _copy(bot, below)
                if i1 < rn:
                    _copy(keep[0, p - a], mid[ln - n :])
                if per2 and i0 == 0 and i1 < rn:
                    _copy(keep[1, p - a], mid[:n])
                if p > a:
                    m1 = bufs[(p - a + 1) % 2, n : n + ln]
                elif a > 0 or per1:
                    m1 = halo[u, 0, i0 * n : i1 * n]
                elif kinds[0, 0] == DIRICHLET:
                    m1 = ghost1[m, 0, i0 * n : i1 * n]
                else:
                    m1 = mid
                if p < b - 1:
                    p1 = c[m, p + 1, i0 * n : i1 * n]
                elif b < pn or per1:
                    p1 = halo[u, 1, i0 * n : i1 * n]
                elif kinds[0, 1] == DIRICHLET:
                    p1 = ghost1[m, 1, i0 * n : i1 * n]
                else:
                    p1 = mid
                out = plane[i0 * n : i1 * n]
                _band(out, ctr, m1, p1, n, w0, w1, w2, w3, use1, use2)
                for e0 in range(0, ln, n):  # redo both ends of every row with the axis-3 ghosts
                    for e in (e0, e0 + n - 1):
                        ce = mid[e]
                        if e > e0:
                            lo = mid[e - 1]
                        elif kinds[2, 0] == DIRICHLET:
                            lo = vals[m, 2, 0]
                        elif kinds[2, 0] == PERIODIC:
                            lo = mid[e0 + n - 1]
                        else:
                            lo = ce
                        if e < e0 + n - 1:
                            hi = mid[e + 1]
                        elif kinds[2, 1] == DIRICHLET:
                            hi = vals[m, 2, 1]
                        elif kinds[2, 1] == PERIODIC:
                            hi = mid[e0]
                        else:
                            hi = ce
                        v = w0 * ce + w3 * (lo + hi)
                        if use1:
                            v += w1 * (m1[e] + p1[e])
                        if use2:
                            v += w2 * (ctr[e] + ctr[2 * n + e])
                        out[e] = v
                if has_src:
                    _sources_row(out, q[m, p, i0 * n : i1 * n], k[m, p, i0 * n : i1 * n], wts[m, 4], h, one)


# --- coefficient caches (host side) ------------------------------------------------------------------------------

_coeff_cache: dict[tuple, tuple] = {}


def _remember(key, keep, value):
    """Store ``value`` under ``key`` (keeping ``keep`` alive so its id stays unique); bounded."""
    if len(_coeff_cache) >= _CACHE_SIZE:
        _coeff_cache.pop(next(iter(_coeff_cache)))
    _coeff_cache[key] = (keep, value)
    return value


def _cached(key):
    hit = _coeff_cache.get(key)
    return None if hit is None else hit[1]


def _axis_arrays(ax, dtype):
    """Cast coefficients of one LOD axis: (inv, ar, cp, bnd, periodic, z, w, fac)."""
    bnd = np.zeros_like(ax.inv_den)
    bnd[:, 0] += ax.rhs_lo
    bnd[:, -1] += ax.rhs_hi
    cast = [np.ascontiguousarray(v, dtype=dtype) for v in (ax.inv_den, ax.r[:, None] * ax.inv_den, ax.cp, bnd)]
    sm = [np.ascontiguousarray(v, dtype=dtype) for v in (ax.sm_z, ax.sm_w, ax.sm_fac)]
    return (*cast, bool(ax.periodic), *sm)


def _lod_coeffs(plan: LODPlan, dtype):
    key = ("lod", id(plan), dtype.str)
    hit = _cached(key)
    if hit is None:
        axes = {ax.axis: _axis_arrays(ax, dtype) for ax in plan.axes}
        react = np.ascontiguousarray(np.stack([plan.decay_factor, plan.source_weight], axis=1), dtype=dtype)
        hit = _remember(key, plan, (axes, react))
    return hit


def _vessel_arrays(vessels: Vessels | None, shape4, dtype):
    """Vessels sorted by flat index, cast, with a per-row index over rows of length N3.

    Returns ``(idx, vals, vptr, vcol)``; ``vptr`` has ``M * N1 * N2 + 1`` entries.
    """
    empty = vessels is None or vessels.flat_index.size == 0
    key = ("vessels", None if empty else id(vessels), shape4, dtype.str)
    hit = _cached(key)
    if hit is None:
        n_rows = shape4[0] * shape4[1] * shape4[2]
        if empty:
            idx = np.zeros(0, dtype=np.int64)
            vals = np.zeros(0, dtype=dtype)
        else:
            idx = np.asarray(vessels.flat_index, dtype=np.int64)
            order = np.argsort(idx, kind="stable")
            idx = np.ascontiguousarray(idx[order])
            vals = np.ascontiguousarray(np.asarray(vessels.values)[order], dtype=dtype)
        vptr = np.searchsorted(idx, np.arange(n_rows + 1, dtype=np.int64) * shape4[3]).astype(np.int64)
        vcol = idx % shape4[3]
        hit = _remember(key, vessels, (idx, vals, vptr, vcol))
    return hit


def _sources(c4, q4, k4):
    """``(has_src, q, k)`` in the field's dtype and layout (``c4`` stands in when absent)."""
    if q4 is None and k4 is None:
        return False, c4, c4
    q = np.zeros_like(c4) if q4 is None else np.ascontiguousarray(q4, dtype=c4.dtype)
    k = np.zeros_like(c4) if k4 is None else np.ascontiguousarray(k4, dtype=c4.dtype)
    return True, q, k


def _chunk(n, q_len, itemsize, tasks_outer):
    """Column-block width of a mid-axis sweep: ``n`` rows of it fit the L2 budget, enough tasks."""
    chunk = max(16, (_L2_BYTES // max(1, n * itemsize)) // 16 * 16)
    threads = numba.get_num_threads()
    while chunk > 16 and tasks_outer * math.ceil(q_len / chunk) < 4 * threads:
        chunk //= 2
    return min(chunk, q_len)


def _contiguous(step):
    """Run ``step`` on a C-contiguous copy when ``c4`` is not C-contiguous, then copy back."""

    def wrapper(c4, plan, q4=None, k4=None, vessels=None, work4=None):
        if c4.flags.c_contiguous:
            return step(c4, plan, q4, k4, vessels, work4)
        tmp = np.ascontiguousarray(c4)
        step(tmp, plan, q4, k4, vessels, None)
        c4[...] = tmp
        return None

    wrapper.__name__ = step.__name__
    wrapper.__doc__ = step.__doc__
    return wrapper


# --- public API --------------------------------------------------------------------------------------------------


SERIAL_BELOW = 1 << 18
"""Fields with fewer elements than this run on one thread: a parallel region costs more than the work
(measured on the 2-core machine: 12×10 voxels, LOD 21 µs/step on one thread, 0.7–5 ms on two when another
process holds a core)."""


@contextlib.contextmanager
def _threads_for(c4):
    """Use one thread for small fields, the configured number otherwise."""
    if c4.size >= SERIAL_BELOW:
        yield
        return
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(before)


@_contiguous
def lod_step(c4, plan: LODPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None) -> None:
    """One LOD step (see :mod:`.plans`) on ``c4`` in place.

    Parameters
    ----------
    c4 : ndarray of shape (M, N1, N2, N3), float32 or float64
        Concentrations, nM; advanced by ``plan.dt`` minutes.
    plan : LODPlan
    q4, k4 : ndarray like ``c4`` or None
        Production (nM/min) and first-order consumption (1/min).
    vessels : Vessels or None
        Voxels rewritten with fixed values after every sweep.
    work4 : ndarray like ``c4`` or None
        Unused (the LOD kernels work in place).
    """
    with _threads_for(c4):
        _lod(c4, plan, q4, k4, vessels)


def _lod(c4, plan, q4, k4, vessels, fuse=None, fuse3=None):
    """:func:`lod_step` on a C-contiguous ``c4``.

    ``fuse`` forces (or forbids) sweeping axes 2 and 3 together slab by slab;
    ``fuse3`` (with ``fuse``) all three axes of a 3D grid in two passes
    (non-periodic axis 1). By default each is used when its tasks (slabs;
    mediators) keep every thread busy.
    """
    dtype = c4.dtype
    m_count, n1, n2, n3 = c4.shape
    axes, decay = _lod_coeffs(plan, dtype)
    has_src, q, k = _sources(c4, q4, k4)
    idx, vals, vptr, vcol = _vessel_arrays(vessels, c4.shape, dtype)
    dt, one = dtype.type(plan.dt), dtype.type(1.0)
    flat = c4.reshape(-1)
    if not axes:  # the reaction alone (vessels are rewritten after sweeps only, as in the reference)
        shape = (m_count, -1)
        _react_all(c4.reshape(shape), decay, has_src, q.reshape(shape), k.reshape(shape), dt, one, 1 << 16)
        return
    threads = numba.get_num_threads()

    def busy(tasks):  # do ``tasks`` tasks keep every thread busy?
        return threads == 1 or tasks >= 2 * threads or tasks % threads == 0

    if fuse is None:
        fuse = busy(m_count * n1)  # one slab per task
    order = sorted(axes)
    if fuse and order == [1, 2, 3] and not axes[1][4] and (fuse3 if fuse3 is not None else busy(m_count)):
        _volume_sweep(
            c4, *axes[1][:4], *axes[2], *axes[3], True, decay, has_src, q, k, dt, one, vptr, vcol, vals
        )  # fmt: skip
        _scatter(flat, idx, vals)
        return
    react = True
    pos = 0
    while pos < len(order):
        ax = order[pos]
        if ax == 2 and fuse and pos + 1 < len(order):  # axes 2 and 3 together
            shape = (m_count * n1, n2, n3)
            _slab_sweep(
                c4.reshape(shape), n1, *axes[2], *axes[3],
                react, decay, has_src, q.reshape(shape), k.reshape(shape), dt, one, vptr, vcol, vals,
            )  # fmt: skip
            pos += 2
        elif ax == 3:
            shape = (m_count * n1 * n2, n3)
            _rows_sweep(
                c4.reshape(shape), n1 * n2, *axes[3], react, decay, has_src, q.reshape(shape), k.reshape(shape), dt, one
            )
            pos += 1
        else:  # axis 1, or axis 2 alone
            pre = m_count * (n1 if ax == 2 else 1)
            shape = (pre, c4.shape[ax], math.prod(c4.shape[ax + 1 :]))
            chunk = _chunk(shape[1], shape[2], dtype.itemsize, pre)
            _mid_sweep(
                c4.reshape(shape), pre // m_count, *axes[ax],
                react, decay, has_src, q.reshape(shape), k.reshape(shape), dt, one, chunk,
            )  # fmt: skip
            pos += 1
        react = False
        _scatter(flat, idx, vals)


def _explicit_coeffs(plan: ExplicitPlan, dtype, swap: bool, rn: int, n3: int):
    key = ("explicit", id(plan), dtype.str, swap, rn, n3)
    hit = _cached(key)
    if hit is None:
        perm = [1, 0, 2] if swap else [0, 1, 2]
        rx = plan.rx[:, perm]
        f = plan.decay_factor[:, None]
        center = f * (1.0 - 2.0 * rx.sum(axis=1, keepdims=True))
        wts = np.concatenate([center, f * rx, plan.source_weight[:, None]], axis=1)  # (M, 5)
        wts = np.ascontiguousarray(wts, dtype=dtype)
        kinds = np.ascontiguousarray(plan.kinds[perm], dtype=np.int64)
        vals = np.ascontiguousarray(plan.values[:, perm], dtype=dtype)
        ghost1 = np.ascontiguousarray(np.repeat(vals[:, 0, :, None], rn * n3, axis=2))
        ghost2 = np.ascontiguousarray(np.repeat(vals[:, 1, :, None], n3, axis=2))
        use = (bool(np.any(rx[:, 0] != 0)), bool(np.any(rx[:, 1] != 0)))
        hit = _remember(key, plan, (wts, kinds, vals, ghost1, ghost2, use))
    return hit


def _nsplit(m_count, planes, threads):
    """Plane ranges per mediator: enough tasks for every thread, a multiple of the thread count if possible."""
    for s in range(1, planes + 1):
        if m_count * s >= threads and (m_count * s) % threads == 0:
            return s
    return planes


@_contiguous
def explicit_step(c4, plan: ExplicitPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None) -> None:
    """``plan.n_sub`` explicit sub-steps (see :mod:`.plans`) on ``c4`` in place.

    Parameters
    ----------
    c4 : ndarray of shape (M, N1, N2, N3), float32 or float64
        Concentrations, nM; advanced by ``plan.dt`` minutes.
    plan : ExplicitPlan
    q4, k4 : ndarray like ``c4`` or None
        Production (nM/min) and first-order consumption (1/min).
    vessels : Vessels or None
        Voxels rewritten with fixed values after every sub-step.
    work4 : ndarray like ``c4`` or None
        Scratch space for the planes saved at task boundaries (allocated
        when absent or too small).
    """
    with _threads_for(c4):
        _explicit(c4, plan, q4, k4, vessels, work4)


def _explicit(c4, plan, q4, k4, vessels, work4, nsplit=None, band=None):
    """:func:`explicit_step` on a C-contiguous ``c4``.

    ``nsplit`` (plane ranges per mediator) and ``band`` (rows per band) are
    chosen from the thread count and the cache size unless given.
    """
    dtype = c4.dtype
    m_count, n1, n2, n3 = c4.shape
    swap = n1 == 1 and n2 > 1  # a 2D grid: its rows become the planes that tasks split
    pn, rn = (n2, 1) if swap else (n1, n2)
    c = c4.reshape(m_count, pn, rn * n3)
    wts, kinds, vals, ghost1, ghost2, (use1, use2) = _explicit_coeffs(plan, dtype, swap, rn, n3)
    has_src, q, k = _sources(c4, q4, k4)
    q, k = q.reshape(c.shape), k.reshape(c.shape)
    idx, vvals, _, _ = _vessel_arrays(vessels, c4.shape, dtype)
    if nsplit is None:
        nsplit = _nsplit(m_count, pn, numba.get_num_threads())
    nsplit = max(1, min(nsplit, pn))
    halo_shape = (m_count * nsplit, 2, rn * n3)
    halo_size = math.prod(halo_shape)
    if work4 is not None and work4.dtype == dtype and work4.flags.c_contiguous and work4.size >= halo_size:
        halo = work4.reshape(-1)[:halo_size].reshape(halo_shape)
    else:
        halo = np.empty(halo_shape, dtype=dtype)
    per1 = bool(kinds[0, 0] == PERIODIC and pn > 1)
    if band is None:
        band = max(1, _BAND_BYTES // (n3 * dtype.itemsize))
    h, one = dtype.type(plan.h), dtype.type(1.0)
    flat = c4.reshape(-1)
    for _ in range(plan.n_sub):  # over sub-steps in time
        if nsplit > 1 or per1:
            _save_halos(c, nsplit, per1, halo)
        _explicit_sub(c, wts, kinds, vals, ghost1, ghost2, has_src, q, k, h, one, nsplit, halo, use1, use2, n3, band)
        _scatter(flat, idx, vvals)
