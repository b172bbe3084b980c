"""The random walk of :meth:`CellType.walk <neuroagents.cells.base.CellType.walk>`, fused per cell (numba).

One kernel does the chemoattractant's gradient at the cell (:func:`~neuroagents.cells.motility.gradient_at`), the
turn (:func:`~neuroagents.cells.motility.turn`, with the reference's draws passed in), the proposed step
(:func:`~neuroagents.cells.motility.step_positions`) and the new voxel (:meth:`Grid.voxel_of
<neuroagents.tissue.grid.Grid.voxel_of>`). Crowding is :func:`neuroagents.cells.kernels.crowding.enforce_crowding`
(the reference's rounds and draws, compiled and incremental). A last kernel applies the moves that stand.

Sums over the axes are taken in NumPy's order for its reduction of an ``(n, ndim)`` array along the last axis,
``(a0 + a1) + a2`` (checked in 3D by ``tests/test_cell_kernels.py``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from neuroagents.cells.kernels.crowding import Scratch, enforce_crowding
from neuroagents.cells.kernels.signaling import JIT

__all__ = ["apply_kernel", "propose_kernel", "walk"]


@njit(inline="always", **JIT)
def _sum_sq(a, i):
    """``(a[i] ** 2).sum()`` over the last axis of ``a`` (n, ndim), in NumPy's order."""
    total = a[i, 0] * a[i, 0]
    for d in range(1, a.shape[1]):
        total = total + a[i, d] * a[i, d]
    return total


@njit(**JIT)
def propose_kernel(direction, position, voxel, field, shape, strides, spacing, origin, extent, allowed, p_turn,
                   bias, chemotaxis, u, normal, speed, dt, new_pos, new_vox, moved, changes):  # fmt: skip
    """Turn (in place in ``direction``), propose a step, and find its voxel, for every cell.

    ``normal`` (n, ndim) holds the reference's standard normal draws, overwritten by the unit vectors of the cells
    that turn (``u < p_turn``); ``speed`` has one value per cell or one for all; ``chemotaxis``: whether ``field``
    is the chemoattractant's.
    """
    n, nd = direction.shape
    grad = np.zeros((1, nd))
    mixed = np.zeros((1, nd))
    coords = np.zeros(nd, dtype=np.int64)
    for i in range(n):
        if u[i] < p_turn:  # only a cell that turns needs its new direction (the reference draws it for all)
            # random unit vector (random_unit_vectors)
            norm = math.sqrt(_sum_sq(normal, i))
            for d in range(nd):
                normal[i, d] = normal[i, d] / max(norm, 1e-12)
            if chemotaxis:
                v = voxel[i]
                rest = v
                for a in range(nd - 1, 0, -1):  # the voxel's coordinates, one division per axis but the first
                    q = rest // shape[a]
                    coords[a] = rest - q * shape[a]
                    rest = q
                coords[0] = rest
                for a in range(nd):  # gradient_at: central differences, one-sided at the edges
                    coord = coords[a]
                    up = v + strides[a] if coord < shape[a] - 1 else v
                    down = v - strides[a] if coord > 0 else v
                    span = ((1 if coord < shape[a] - 1 else 0) + (1 if coord > 0 else 0)) * spacing[a]
                    grad[0, a] = (field[up] - field[down]) / max(span, 1e-300) if span > 0 else 0.0
                gnorm = math.sqrt(_sum_sq(grad, 0))
                for d in range(nd):
                    ghat = grad[0, d] / max(gnorm, 1e-300) if gnorm > 0 else 0.0
                    mixed[0, d] = (1.0 - bias) * normal[i, d] + bias * ghat
                mnorm = math.sqrt(_sum_sq(mixed, 0))
                if mnorm > 1e-12:
                    for d in range(nd):
                        normal[i, d] = mixed[0, d] / max(mnorm, 1e-12)
            for d in range(nd):
                direction[i, d] = normal[i, d]
        # step_positions
        s = speed[i] if speed.shape[0] > 1 else speed[0]
        ok = True
        for d in range(nd):
            x = position[i, d] + direction[i, d] * s * dt
            new_pos[i, d] = x
            ok = ok and (x >= origin[d]) and (x < origin[d] + extent[d])
        nv = -1
        if ok:
            nv = _voxel_of(new_pos, i, shape, spacing, origin)
            ok = allowed[nv]
        ok = ok and s > 0
        if not ok:
            for d in range(nd):
                new_pos[i, d] = position[i, d]
            nv = _voxel_of(new_pos, i, shape, spacing, origin)
        moved[i] = ok
        new_vox[i] = nv
        changes[i] = ok and nv != voxel[i]


@njit(inline="always", **JIT)
def _voxel_of(pos, i, shape, spacing, origin):
    """:meth:`Grid.voxel_of` of row ``i`` of ``pos``: floor, clip into the grid, C order."""
    flat = 0
    for a in range(pos.shape[1]):
        k = np.int64(math.floor((pos[i, a] - origin[a]) / spacing[a]))
        k = min(max(k, 0), shape[a] - 1)
        flat = flat * shape[a] + k
    return flat


@njit(**JIT)
def apply_kernel(stand, moved, changes, new_pos, new_vox, position, voxel):
    """Keep the moves that stand (crowding) or stay in their voxel."""
    for i in range(voxel.shape[0]):
        if stand[i] or (moved[i] and not changes[i]):
            for d in range(position.shape[1]):
                position[i, d] = new_pos[i, d]
            voxel[i] = new_vox[i]


def walk(ct, dt_min: float, speed) -> bool:
    """Fused :meth:`CellType.walk <neuroagents.cells.base.CellType.walk>` (same draws, same moves)."""
    m, pop, p = ct.model, ct.pop, ct.params
    grid, n = m.grid, ct.n
    if n == 0:
        return True
    chemotaxis = ct.chemoattractant is not None and ct.chemoattractant in m.env.names
    field = m.env.field(ct.chemoattractant).reshape(-1) if chemotaxis else np.zeros(1)
    shape = np.array(grid.shape, dtype=np.int64)
    strides = np.array([int(np.prod(grid.shape[a + 1:])) for a in range(grid.ndim)], dtype=np.int64)
    spacing = np.array(grid.spacing_um, dtype=np.float64).reshape(-1) * np.ones(grid.ndim)
    origin = np.array(grid.origin_um, dtype=np.float64).reshape(-1) * np.ones(grid.ndim)
    extent = np.array(grid.extent_um, dtype=np.float64).reshape(-1) * np.ones(grid.ndim)
    p_turn = float(1.0 - np.exp(-dt_min / np.asarray(p.persistence_min, dtype=np.float64)))  # NumPy's, as turn
    u = m.rng.random(n)
    normal = m.rng.standard_normal((n, grid.ndim))
    speed = np.asarray(speed, dtype=np.float64).reshape(-1)
    new_pos = np.empty((n, grid.ndim))
    new_vox = np.empty(n, dtype=np.int64)
    moved = np.empty(n, dtype=np.bool_)
    changes = np.empty(n, dtype=np.bool_)
    allowed = np.ones(grid.n_voxels, dtype=np.bool_) if m.allowed is None else m.allowed.reshape(-1)
    propose_kernel(pop["direction"], pop.position_um, pop["voxel"], field, shape, strides, spacing, origin, extent,
                   allowed, p_turn, float(p.chemotaxis_bias), chemotaxis, u, normal, speed, dt_min, new_pos, new_vox,
                   moved, changes)  # fmt: skip
    if ct.fused.crowding is None:
        ct.fused.crowding = Scratch()
    stand = enforce_crowding(pop["voxel"], new_vox, changes, m.crowding_limit, grid.n_voxels, m.rng,
                             m.occupancy_except(ct), scratch=ct.fused.crowding)  # fmt: skip
    apply_kernel(stand, moved, changes, new_pos, new_vox, pop.position_um, pop["voxel"])
    return True
