"""Ligands -> receptor occupancy -> kinase gates -> pathway activity, fused per cell (numba).

The reference is :meth:`CellType.sense <neuroagents.cells.base.CellType.sense>` with
:meth:`SignalingNetwork.target_activity <neuroagents.cells.signaling.SignalingNetwork.target_activity>` and
:meth:`~neuroagents.cells.signaling.SignalingNetwork.relax`. Everything that is the same for every cell of a type
(kinase gates, receptor blockade, pathway inhibition, relaxation factors) is packed once per call into small
arrays by :func:`pack`, with the reference's float operations in the reference's order, so that the kernel only
does what differs per cell: the gather, the occupancy, the products over receptors and the relaxation.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from neuroagents.cells.signaling import PATHWAYS, scalar_gate

__all__ = ["Packed", "pack", "pathway_columns", "relax_cell", "sense", "sense_kernel"]

N_PATHWAYS = len(PATHWAYS)
"""A compile-time constant: loops over the pathways unroll, and the tuple of pathway columns is indexed statically."""
# error_model="numpy": a division by zero gives inf/nan as in NumPy instead of raising; no fastmath.
JIT = {"cache": True, "error_model": "numpy", "nogil": True}


class Packed:
    """One cell type's signaling tables for a call (see :func:`pack`); all arrays are small (receptors, pathways).

    Attributes
    ----------
    rows : ndarray of shape (R,), int64
        Field row of each receptor's ligand, -1 where the ligand is not on the grid (occupancy 0).
    free : ndarray of shape (R,)
        Free (not antibody-bound) fraction of each ligand.
    hill, kdh : ndarray of shape (R,)
        Hill coefficient and ``Kd ** hill`` (nM^hill).
    block : ndarray of shape (R,)
        Blockade of each receptor (0 where none).
    kgate : ndarray of shape (R,)
        Fraction of the receptor's signal its kinases let through.
    drives : ndarray of shape (R, P), uint8
        Which pathways each receptor drives.
    path_inh, relax : ndarray of shape (P,)
        Inhibition of each pathway; ``1 − exp(−dt/τ)`` of each pathway.
    """

    __slots__ = ("block", "drives", "free", "hill", "kdh", "kgate", "path_inh", "relax", "rows")


def _scalar(v) -> float | None:
    """``v`` as a float if it is one number (Python or NumPy scalar, 0-d array), else None."""
    if isinstance(v, (int, float, np.floating, np.integer)):
        return float(v)
    if isinstance(v, np.ndarray) and v.ndim == 0:
        return float(v)
    return None


def pack(ct, dt_min: float, inhibition=None) -> Packed | None:
    """The tables of ``ct`` (a cell type) for one sense call; None where an inhibition differs per cell.

    Parameters
    ----------
    ct : CellType
    dt_min : float
    inhibition : Mapping, optional
        The compartment's inhibition (default ``ct.model.inhibition``); every value a scalar, else None returned.
    """
    from neuroagents.cells.signaling import check_inhibition_keys

    inhibition = ct.model.inhibition if inhibition is None else inhibition
    check_inhibition_keys(inhibition)
    inh = {}
    for k, v in inhibition.items():
        s = _scalar(v)
        if s is None:
            return None
        inh[k] = s
    net, env, m = ct.signaling, ct.model.env, ct.model
    recs = net.receptors
    out = Packed()
    out.rows = np.array([env.index(r.ligand) if r.ligand in env.names else -1 for r in recs], dtype=np.int64)
    out.free = np.array([m.free_fraction(r.ligand) if r.ligand in env.names else 1.0 for r in recs])
    out.hill = np.array([float(r.hill) for r in recs])
    out.kdh = np.array([r.kd_nM**r.hill for r in recs])
    out.block = np.array([inh.get(r.name, 0.0) for r in recs])
    out.kgate = np.array([scalar_gate(r.kinases, inh) for r in recs])  # every value a float here
    out.drives = np.array([[p in r.pathways for p in PATHWAYS] for r in recs], dtype=np.uint8).reshape(len(recs), -1)
    out.path_inh = np.array([inh.get(p, 0.0) for p in PATHWAYS])
    out.relax = np.array([1.0 - math.exp(-dt_min / net.tau_min[p]) for p in PATHWAYS])
    return out


def pathway_columns(pop) -> tuple:
    """The live rows of the pathway columns of ``pop``, in :data:`PATHWAYS` order (views)."""
    return tuple(pop[p] for p in PATHWAYS)


@njit(inline="always", **JIT)
def occupancy(c, hill, kdh):
    """``θ = c^h / (c^h + Kd^h)`` of a concentration ``c`` (nM, clipped at 0), as the reference computes it."""
    if c < 0.0:  # np.maximum(c, 0.0): a NaN stays NaN
        c = 0.0
    ch = c if hill == 1.0 else c**hill
    return ch / (ch + kdh)


@njit(inline="always", **JIT)
def relax_cell(i, v, flat, rows, free, hill, kdh, block, kgate, drives, path_inh, relax, cut, gate, silent, acts):
    """Relax cell ``i`` (at flat voxel ``v``) toward its target activity, in place in ``acts``.

    ``cut[r]`` marks receptors whose blockade is ``1 − (1 − block[r]) gate`` for this cell (macrophage tolerance);
    the others are blocked by ``block[r]``. ``silent`` is scratch of shape (P,).
    """
    for p in range(N_PATHWAYS):
        silent[p] = 1.0
    for r in range(rows.shape[0]):
        row = rows[r]
        if row >= 0:
            occ = occupancy(flat[row, v] * free[r], hill[r], kdh[r])
        else:
            occ = 0.0
        if cut[r]:
            b = 1.0 - (1.0 - block[r]) * gate
        else:
            b = block[r]
        signal = (occ * (1.0 - b)) * kgate[r]
        for p in range(N_PATHWAYS):
            if drives[r, p]:
                silent[p] = silent[p] * (1.0 - signal)
    for p in range(N_PATHWAYS):
        target = (1.0 - silent[p]) * (1.0 - path_inh[p])
        a = acts[p][i]
        acts[p][i] = a + (target - a) * relax[p]


@njit(**JIT)
def sense_kernel(voxel, flat, rows, free, hill, kdh, block, kgate, drives, path_inh, relax, acts):
    """Pathway activity of every cell (the base rule: no per-cell blockade); ``acts`` updated in place."""
    silent = np.empty(path_inh.shape[0])
    cut = np.zeros(rows.shape[0], dtype=np.uint8)
    for i in range(voxel.shape[0]):
        relax_cell(i, voxel[i], flat, rows, free, hill, kdh, block, kgate, drives, path_inh, relax, cut, 1.0,
                   silent, acts)  # fmt: skip


def sense(ct, dt_min: float) -> bool:
    """Fused :meth:`CellType.sense <neuroagents.cells.base.CellType.sense>`; False (nothing done: the reference
    runs) where the inhibition differs from cell to cell."""
    if ct.signaling is None or ct.n == 0:
        return True
    t = pack(ct, dt_min)
    if t is None:
        return False
    env = ct.model.env
    flat = env.fields.reshape(len(env.names), -1)
    sense_kernel(ct.pop["voxel"], flat, t.rows, t.free, t.hill, t.kdh, t.block, t.kgate, t.drives, t.path_inh,
                 t.relax, pathway_columns(ct.pop))  # fmt: skip
    return True
