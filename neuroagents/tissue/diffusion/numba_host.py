"""Host side of the numba kernels: cast coefficients, vessel indices, task sizes and threads.

The plan's float64 coefficients are cast once per plan and dtype and kept in a
small bounded cache keyed by the plan's ``id``; an entry leaves the cache when
its plan is freed (so the ``id`` stays unique, and a finished model's casts go
with it instead of waiting to be pushed out), or when the cache is full. So do
the vessel indices sorted into a per-row index.
The rest sizes the work of the sweeps (column blocks that fit L2, plane
ranges per thread) and runs small fields on one thread.
"""

from __future__ import annotations

import contextlib
import math
import weakref

import numba
import numpy as np

from neuroagents.tissue.diffusion.plans import ExplicitPlan, LODPlan, Vessels

_L2_BYTES = 512 * 1024  # working set of one column block of a mid-axis sweep (half of L2)
_CACHE_SIZE = 32  # plans (x dtypes) whose cast coefficients are kept

_coeff_cache: dict[tuple, tuple] = {}  # key -> cast arrays


def _remember(key, keep, value):
    """Store ``value`` under ``key`` until ``keep`` (whose id is in the key) is freed; bounded."""
    if len(_coeff_cache) >= _CACHE_SIZE:
        _coeff_cache.pop(next(iter(_coeff_cache)), None)
    if keep is not None:
        weakref.finalize(keep, _coeff_cache.pop, key, None).atexit = False
    _coeff_cache[key] = value
    return value


def _cached(key):
    return _coeff_cache.get(key)


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


def _general_chunk(n, q_len, itemsize, tasks_outer):
    """Column-block width of a mid-axis sweep that factors its lines (:mod:`.numba_lod_general`).

    Such a sweep touches five arrays per row (field, q, k, vessels, factors),
    so blocks that fit L2 (:func:`_chunk`) leave only a cache line or two of
    each per row, 4-8 KiB apart: the TLB and the prefetcher, not L2, then set
    the pace. Row segments of at least 4 KiB are 1.7-2.3x faster on 2D
    1024² (measured, one thread, process time; 64 -> 512 columns in float64).
    """
    chunk = max(_chunk(n, q_len, itemsize, tasks_outer), 4096 // itemsize)
    threads = numba.get_num_threads()
    while chunk > 16 and tasks_outer * math.ceil(q_len / chunk) < 2 * threads:
        chunk //= 2
    return min(chunk, q_len)


GENERAL_LINES = 4  # contiguous lines solved together by the per-line-factored sweeps (4: fastest, 2-16 measured)


def _contiguous(step):
    """Run ``step`` on a C-contiguous copy when ``c4`` is not C-contiguous, then copy back."""

    def wrapper(c4, plan, q4=None, k4=None, vessels=None, work4=None, **options):
        if c4.flags.c_contiguous:
            return step(c4, plan, q4, k4, vessels, work4, **options)
        tmp = np.ascontiguousarray(c4)
        step(tmp, plan, q4, k4, vessels, None, **options)
        c4[...] = tmp
        return None

    wrapper.__name__ = step.__name__
    wrapper.__doc__ = step.__doc__
    return wrapper


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


def _general_coeffs(plan: LODPlan, dtype):
    """Cast coefficients of the per-line-factored sweeps: ``({axis: (diag, r, bnd)}, fd, sw)``."""
    key = ("general", id(plan), dtype.str)
    hit = _cached(key)
    if hit is None:
        axes = {}
        for ax in plan.axes:
            bnd = np.zeros_like(ax.diag)
            bnd[:, 0] += ax.rhs_lo
            bnd[:, -1] += ax.rhs_hi
            axes[ax.axis] = tuple(np.ascontiguousarray(v, dtype=dtype) for v in (ax.diag, ax.r, bnd))
        fd = np.ascontiguousarray(plan.sweep_decay_factor, dtype=dtype)
        sw = np.ascontiguousarray(plan.sweep_source_weight, dtype=dtype)
        hit = _remember(key, plan, (axes, fd, sw))
    return hit


def _vessel_dense(vessels: Vessels | None, shape4, dtype):
    """Vessels as dense arrays shaped like the field: ``(held, fixed)``, uint8 and ``dtype``."""
    empty = vessels is None or vessels.flat_index.size == 0
    key = ("vessels-dense", None if empty else id(vessels), shape4, dtype.str)
    hit = _cached(key)
    if hit is None:
        held = np.zeros(shape4, dtype=np.uint8)
        fixed = np.zeros(shape4, dtype=dtype)
        if not empty:
            held.reshape(-1)[np.asarray(vessels.flat_index)] = 1
            fixed.reshape(-1)[np.asarray(vessels.flat_index)] = np.asarray(vessels.values)
        hit = _remember(key, vessels, (held, fixed))
    return hit
