"""The venular leak's drive per interstitial voxel (:meth:`Swelling.drive <neuroagents.swelling.Swelling.drive>`) in
one compiled pass over the voxels.

The reference builds the drive from whole-array NumPy passes: for each of up to six gap openers and two
vasodilators a gather of its field at the interstitial voxels, a clip, the free fraction, ``c/(c + K)``, the
blockade, the efficacy; about forty passes over the voxels a step in each compartment, a fifth of a small
scenario's step (``sni``: ~0.4 of ~3.4 ms). The kernel does the same float operations in the same order per voxel
(no ``fastmath``), so the drive has the reference's bits (``tests/test_swelling.py`` compares them); it runs where
the cells' fused kernels run (``NeuroImmuneModel(cell_kernels=...)``: NumPy, float64 fields). The bradykinin term
(its occupancy times the B2 receptors left) is the reference's array, passed in: the receptors' tachyphylaxis
reads the same occupancy.

A mediator whose field is zero everywhere adds exactly nothing (``1 − e·0 = 1``, ``flow + g·0 = flow``), so the
kernel does not skip it as the reference does (:meth:`Microenvironment.is_zero`): the same numbers without a scan.
"""

from __future__ import annotations

from numba import njit

from neuroagents.cells.kernels.signaling import JIT

__all__ = ["drive_kernel", "drive_kernel_runs"]


@njit(inline="always", **JIT)
def _hill(flat, row, v, free, k):
    """``c/(c + K)`` of ``free × max(field, 0)`` at flat voxel ``v`` of field row ``row``, as ``Swelling.hill``."""
    c = flat[row, v]
    if c < 0.0:  # np.maximum(c, 0.0): a NaN stays NaN
        c = 0.0
    c = c * free
    return c / (c + k)


@njit(inline="always", **JIT)
def _drive_at(flat, v, open_rows, open_free, open_k, open_block, open_eff, brady_eff, brady_hj, dil_rows, dil_free,
              dil_k, dil_gain):  # fmt: skip
    """``P F`` at flat voxel ``v`` (one run's tables; see :func:`drive_kernel`)."""
    closed = 1.0
    for o in range(open_rows.shape[0]):
        h = _hill(flat, open_rows[o], v, open_free[o], open_k[o]) * (1.0 - open_block[o])
        closed = closed * (1.0 - open_eff[o] * h)
    if brady_eff >= 0.0:
        closed = closed * (1.0 - brady_eff * brady_hj)
    flow = 1.0
    for d in range(dil_rows.shape[0]):
        flow = flow + dil_gain[d] * _hill(flat, dil_rows[d], v, dil_free[d], dil_k[d])
    return (1.0 - closed) * flow


@njit(**JIT)
def drive_kernel(flat, voxels, open_rows, open_free, open_k, open_block, open_eff, brady_eff, brady_h, dil_rows,
                 dil_free, dil_k, dil_gain, out):  # fmt: skip
    """``P F`` per interstitial voxel into ``out`` (V,).

    Parameters
    ----------
    flat : ndarray of shape (M, n_voxels)
        The compartment's fields.
    voxels : ndarray of shape (V,), int
        Its interstitial voxels.
    open_rows, open_free, open_k, open_block, open_eff : ndarray of shape (O,)
        The gap openers other than bradykinin on the grid, in the reference's order: field row, free fraction,
        K (nM), receptor blockade, efficacy.
    brady_eff : float
        Bradykinin's efficacy, applied after the openers listed before it in the reference (TNF, IL-1β: every
        opener of ``open_*``, the reference's order has bradykinin last); < 0 without bradykinin.
    brady_h : ndarray of shape (V,)
        Bradykinin's occupancy times the B2 receptors left (ignored when ``brady_eff`` < 0).
    dil_rows, dil_free, dil_k, dil_gain : ndarray of shape (D,)
        The vasodilators on the grid: field row, free fraction, K (nM), potentiation.
    out : ndarray of shape (V,)
    """
    for j in range(voxels.shape[0]):
        bj = brady_h[j] if brady_eff >= 0.0 else 0.0
        out[j] = _drive_at(flat, voxels[j], open_rows, open_free, open_k, open_block, open_eff, brady_eff, bj,
                           dil_rows, dil_free, dil_k, dil_gain)  # fmt: skip


@njit(**JIT)
def drive_kernel_runs(flat, voxels, open_rows, open_free, open_k, open_block, open_eff, brady_eff, brady_h, dil_rows,
                      dil_free, dil_k, dil_gain, out):  # fmt: skip
    """:func:`drive_kernel` of the same compartment of ``B`` runs (a lockstep batch) into ``out`` (B, V).

    ``flat`` is ``(B, M, n_voxels)``; ``open_free``, ``open_block`` ``(B, O)``, ``dil_free`` ``(B, D)`` and
    ``brady_h`` ``(B, V)`` hold each run's own (free fractions, blockades, bradykinin); the rest is shared. Each
    row is the run's :func:`drive_kernel`, bit for bit (the same per-voxel function).
    """
    for b in range(flat.shape[0]):
        for j in range(voxels.shape[0]):
            bj = brady_h[b, j] if brady_eff >= 0.0 else 0.0
            out[b, j] = _drive_at(flat[b], voxels[j], open_rows, open_free[b], open_k, open_block[b], open_eff,
                                  brady_eff, bj, dil_rows, dil_free[b], dil_k, dil_gain)  # fmt: skip
