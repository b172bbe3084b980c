"""SIMD tiles for the numba line solvers, written as LLVM IR through numba intrinsics.

A block of VL lines along the contiguous axis (VL = 64 bytes / itemsize: 8
float64, 16 float32; one SIMD register of lines) is solved through a
transposed buffer ``buf`` of shape ``(n * VL,)``, where element j of line b
sits at ``buf[j * VL + b]``: the recurrence then runs along j with one vector
of VL independent lines per step. numba has no SIMD types, so the tile
transposes (a shuffle network of log2 VL stages) and the vector sweeps are
emitted here as LLVM IR:

:func:`_tfwd`
    Thomas forward sweep of VL lines over whole tiles of VL columns, the
    result written transposed to ``buf``.
:func:`_tback`
    Back substitution from ``buf``, transposed back into the lines.
:func:`_prefetch`
    A cache-line prefetch hint over a 1D range (used by the explicit sweep).

The line solver that calls them is :func:`.numba_lines._solve_block`.
"""

from __future__ import annotations

from llvmlite import ir
from numba import types
from numba.core import cgutils
from numba.extending import intrinsic


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
