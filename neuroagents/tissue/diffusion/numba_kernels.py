"""Fast CPU kernels (numba) for the reaction–diffusion step.

They compute exactly what :mod:`.plans` defines and are checked against
:mod:`.reference` (``tests/test_kernels_numba.py``). Fields arrive as the 4D
view ``c4`` of shape ``(M, N1, N2, N3)`` (C order, axis 3 contiguous) in
float32 or float64, and every kernel computes in that dtype; the plan's
float64 coefficients are cast once per plan and dtype and cached here.

How the work is laid out (``bench/diffusion.py`` measures it):

LOD
    With cell sinks or vessels every line is factored as it is swept
    (:mod:`.numba_lod_general`). Otherwise the plan's Thomas factors are used,
    and each sweep's share of decay and production is applied to a row just
    before it is swept. A sweep along an axis that
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

The code is split along these seams: :mod:`.numba_simd` (the LLVM IR SIMD
tiles), :mod:`.numba_lines` (line solvers and row helpers, the JIT options),
:mod:`.numba_lod` (the LOD sweeps), :mod:`.numba_explicit` (the explicit
sweep), :mod:`.numba_host` (cast-coefficient caches, task sizes, threads);
this module is the public glue that picks the sweeps for a plan.

Arithmetic is IEEE (``fastmath`` only allows contracting ``a * b + c`` into
a fused multiply-add), so results agree with the reference to rounding:
about 1e-12 relative in float64 and 1e-5 in float32.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from neuroagents.tissue.diffusion.numba_explicit import _explicit_sub, _save_halos
from neuroagents.tissue.diffusion.numba_host import (
    GENERAL_LINES,
    SERIAL_BELOW,
    _chunk,
    _contiguous,
    _explicit_coeffs,
    _general_chunk,
    _general_coeffs,
    _lod_coeffs,
    _nsplit,
    _sources,
    _threads_for,
    _vessel_arrays,
    _vessel_dense,
)
from neuroagents.tissue.diffusion.numba_lines import _scatter
from neuroagents.tissue.diffusion.numba_lod import _mid_sweep, _react_all, _rows_sweep, _slab_sweep, _volume_sweep
from neuroagents.tissue.diffusion.numba_lod_general import _general_mid, _general_rows
from neuroagents.tissue.diffusion.plans import PERIODIC, ExplicitPlan, LODPlan, Vessels

__all__ = ["SERIAL_BELOW", "explicit_step", "lod_step", "nonzero_rows"]

_BAND_BYTES = 32 * 1024  # rows of one band of the explicit sweep (fits L1/L2 with its neighbours)


@_contiguous
def lod_step(c4, plan: LODPlan, q4=None, k4=None, vessels: Vessels | None = None, work4=None, active=None) -> None:
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
    active : ndarray of shape (M,), bool, or None
        With cell sinks (``k4``): solve only these mediators, the others left as they are
        (:mod:`neuroagents.tissue.quiet_fields`: fields that are zero and have no input stay zero). None: all.
    """
    with _threads_for(c4):
        _lod(c4, plan, q4, k4, vessels, active=active)


def _lod(c4, plan, q4, k4, vessels, fuse=None, fuse3=None, active=None):
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
    if k4 is not None or idx.size:  # cell sinks or vessels: each line is factored as it is swept
        _lod_general(c4, plan, q4, k4, vessels, flat, idx, vals, active)
        return
    if active is not None and not np.all(active):
        raise ValueError("lod_step: 'active' needs the per-line path (cell sinks k4 or vessels)")
    # ``x <- x f + s q`` before each sweep, as ``(x f + s q) / (1 + 0 k)`` (without sinks, k = 0)
    decay = np.ascontiguousarray(np.stack([plan.sweep_decay_factor, plan.sweep_source_weight], axis=1), dtype=dtype)
    dt = dtype.type(0.0)
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
        _scatter(flat, idx, vals)


def _lod_general(c4, plan, q4, k4, vessels, flat, idx, vals, active=None):
    """The LOD sweeps with cell terms or vessels (:mod:`.numba_lod_general`) on a C-contiguous ``c4``; only the
    mediators where ``active`` (all when None)."""
    dtype = c4.dtype
    m_count, n1, n2, n3 = c4.shape
    active = np.ones(m_count, dtype=np.uint8) if active is None else np.ascontiguousarray(active, dtype=np.uint8)
    axes, fd, sw = _general_coeffs(plan, dtype)
    dummy = c4
    q = dummy if q4 is None else np.ascontiguousarray(q4, dtype=dtype)
    k = dummy if k4 is None else np.ascontiguousarray(k4, dtype=dtype)
    held, fixed = _vessel_dense(vessels, c4.shape, dtype)
    flags = (q4 is not None, k4 is not None, idx.size > 0)
    tau, one = dtype.type(plan.tau), dtype.type(1.0)
    for ax in sorted(axes):
        diag, r, bnd = axes[ax]
        periodic = any(a.periodic for a in plan.axes if a.axis == ax)
        if ax == 3:
            shape = (m_count * n1 * n2, n3)
            views = [v.reshape(shape) for v in (c4, q, k, held, fixed)]
            _general_rows(
                views[0], n1 * n2, diag, r, bnd, periodic, fd, sw, tau, flags[0], views[1], flags[1], views[2],
                flags[2], views[3], views[4], one, GENERAL_LINES, active,
            )  # fmt: skip
        else:
            pre = m_count * (n1 if ax == 2 else 1)
            shape = (pre, c4.shape[ax], math.prod(c4.shape[ax + 1 :]))
            views = [v.reshape(shape) for v in (c4, q, k, held, fixed)]
            chunk = _general_chunk(shape[1], shape[2], dtype.itemsize, pre)
            _general_mid(
                views[0], pre // m_count, diag, r, bnd, periodic, fd, sw, tau, flags[0], views[1], flags[1], views[2],
                flags[2], views[3], views[4], one, chunk, active,
            )  # fmt: skip
        _scatter(flat, idx, vals)


def nonzero_rows(a2):
    """Boolean ``(M,)``: whether row ``m`` of ``a2`` (M, V) holds a non-zero value (each row read up to its first)."""
    out = np.zeros(a2.shape[0], dtype=np.bool_)
    _nonzero_rows(np.ascontiguousarray(a2), out)
    return out


@numba.njit(cache=True, nogil=True)
def _nonzero_rows(a2, out):
    for m in range(a2.shape[0]):  # over mediators
        for j in range(a2.shape[1]):  # over voxels, up to the first non-zero
            if a2[m, j] != 0:
                out[m] = True
                break


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
