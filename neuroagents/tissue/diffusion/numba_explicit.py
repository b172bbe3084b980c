"""Explicit sweep of the numba kernels: one fused in-place pass per sub-step.

Stencil, decay, reaction and the write in one pass (:func:`_explicit_sub`),
with ghost values per boundary kind: the rows of a band in one vectorised
loop (:func:`_band`), the row ends redone with the axis-3 ghosts, the rows two
planes ahead prefetched. A task owns a range of planes of one mediator and
keeps the old values it still needs in private buffers; the planes just
outside its range are saved before the pass (:func:`_save_halos`). How the
work is laid out is described in :mod:`.numba_kernels`.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from neuroagents.tissue.diffusion.numba_lines import _JIT, _PJIT, _copy
from neuroagents.tissue.diffusion.numba_simd import _prefetch
from neuroagents.tissue.diffusion.plans import DIRICHLET, PERIODIC


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
