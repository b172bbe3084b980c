"""How cells move, arrive and leave: vectorized over every cell of a population.

Movement follows PhysiCell's motility rule (Ghaffarizadeh et al. 2018, PLoS
Comput Biol 14:e1005991): a cell moves at ``speed`` along a direction it keeps
for an exponentially distributed time (mean ``persistence_min``); when it
turns, the new direction is ``normalize((1 − b) u + b ĝ)`` with ``u`` a
uniformly random unit vector, ``ĝ`` the unit gradient of its chemoattractant
and ``b`` the chemotactic bias in [0, 1].

A move is refused (the cell stays) when it would leave the grid, enter a
voxel of a forbidden compartment, or overfill a voxel past its crowding limit.
"""

from __future__ import annotations

import math

import numpy as np

from neuroagents.backend import fixed_bincount
from neuroagents.cells.keyed_random import keyed_uniform
from neuroagents.errors import ConfigError

__all__ = [
    "check_capacity",
    "enforce_crowding",
    "event_mask",
    "gradient_at",
    "group_by_voxel",
    "random_unit_vectors",
    "recruit_at",
    "step_positions",
    "turn",
]


def gradient_at(field, grid, voxel_index, xp=np):
    """Gradient of a field at each cell's voxel, nM/µm (central differences).

    Parameters
    ----------
    field : ndarray of shape grid.shape
    grid : Grid
    voxel_index : ndarray of shape (n,), int
    xp : module

    Returns
    -------
    ndarray of shape (n, grid.ndim)
        One-sided differences on the edge voxels.
    """
    flat = field.reshape(-1)
    n = voxel_index.shape[0]
    out = xp.zeros((n, grid.ndim), dtype=xp.float64)
    stride = 1
    strides = []
    for a in reversed(range(grid.ndim)):  # over axes
        strides.append(stride)
        stride *= grid.shape[a]
    strides = strides[::-1]
    for a in range(grid.ndim):  # over axes
        coord = (voxel_index // strides[a]) % grid.shape[a]
        up = xp.where(coord < grid.shape[a] - 1, voxel_index + strides[a], voxel_index)
        down = xp.where(coord > 0, voxel_index - strides[a], voxel_index)
        span = (xp.where(coord < grid.shape[a] - 1, 1, 0) + xp.where(coord > 0, 1, 0)) * grid.spacing_um[a]
        out[:, a] = xp.where(span > 0, (flat[up] - flat[down]) / xp.maximum(span, 1e-300), 0.0)
    return out


def random_unit_vectors(rng, n: int, ndim: int, xp=np):
    """``n`` directions uniform on the unit circle/sphere, shape ``(n, ndim)``."""
    v = rng.standard_normal((n, ndim))
    norm = xp.sqrt((v * v).sum(axis=1, keepdims=True))
    return v / xp.maximum(norm, 1e-12)


def turn(direction, rng, dt_min: float, persistence_min, bias=0.0, gradient=None, xp=np):
    """Re-draw the direction of the cells that turn during ``dt_min``.

    Parameters
    ----------
    direction : ndarray of shape (n, ndim)
        Current unit directions (modified copy returned).
    rng : Generator
    dt_min : float
    persistence_min : float or ndarray of shape (n,)
        Mean time between turns, min (> 0).
    bias : float or ndarray of shape (n,)
        Chemotactic bias in [0, 1].
    gradient : ndarray of shape (n, ndim) or None
        Chemoattractant gradient at each cell.

    Returns
    -------
    ndarray of shape (n, ndim)
    """
    n, ndim = direction.shape
    p_turn = 1.0 - xp.exp(-dt_min / xp.asarray(persistence_min, dtype=xp.float64))
    turning = rng.random(n) < p_turn
    new = random_unit_vectors(rng, n, ndim, xp)
    if gradient is not None:
        gnorm = xp.sqrt((gradient * gradient).sum(axis=1, keepdims=True))
        ghat = xp.where(gnorm > 0, gradient / xp.maximum(gnorm, 1e-300), 0.0)
        b = xp.asarray(bias, dtype=xp.float64).reshape(-1, 1) if xp.ndim(bias) else bias
        mixed = (1.0 - b) * new + b * ghat
        norm = xp.sqrt((mixed * mixed).sum(axis=1, keepdims=True))
        new = xp.where(norm > 1e-12, mixed / xp.maximum(norm, 1e-12), new)
    return xp.where(turning[:, None], new, direction)


def step_positions(position_um, direction, speed_um_per_min, dt_min: float, grid, allowed=None, xp=np):
    """Proposed move of every cell, refused where it leaves the grid or its compartment.

    Parameters
    ----------
    position_um : ndarray of shape (n, ndim)
    direction : ndarray of shape (n, ndim)
    speed_um_per_min : float or ndarray of shape (n,)
    dt_min : float
    grid : Grid
    allowed : ndarray of bool, shape grid.shape, optional
        Voxels the cells may occupy (their compartments).

    Returns
    -------
    new_position : ndarray of shape (n, ndim)
    moved : ndarray of shape (n,), bool
    """
    speed = xp.asarray(speed_um_per_min, dtype=xp.float64)
    proposal = position_um + direction * (speed.reshape(-1, 1) if speed.ndim else speed) * dt_min
    lo = xp.asarray(grid.origin_um)
    hi = lo + xp.asarray(grid.extent_um)
    ok = ((proposal >= lo) & (proposal < hi)).all(axis=1)
    if allowed is not None:
        ok &= allowed.reshape(-1)[grid.voxel_of(proposal, xp)]
    ok &= speed > 0
    return xp.where(ok[:, None], proposal, position_um), ok


def enforce_crowding(
    old_voxel, new_voxel, moved, capacity: int, n_voxels: int, rng, xp=np, background=None, max_rounds: int = 8,
    *, key: int | None = None, ids=None,
):
    """Send movers back where their target voxel would hold more than ``capacity`` cells.

    Cells that did not move are never displaced. Among the movers into an
    overfull voxel, a random subset keeps its place up to the free room; the
    rest return to their old voxel. Rounds repeat (at most ``max_rounds``)
    because a returning cell can overfill its old voxel.

    On NumPy only the movers into overfull voxels are ranked (a round costs a
    few passes over the cells), by numbers drawn from ``rng``, one per such
    mover. Off NumPy that count would be a copy to the host and a wait, so the
    device ranks every cell in every round (:func:`_crowding_on_device`) by a
    counter-based priority per cell (``key`` and ``ids``): no host sync, and
    the same rule with other random numbers, as every device draw is.

    Parameters
    ----------
    old_voxel, new_voxel : ndarray of shape (n,), int
    moved : ndarray of shape (n,), bool
        Which cells propose to change voxel.
    capacity : int
        Most cells one voxel may hold.
    n_voxels : int
    rng : Generator
        NumPy's path draws from it.
    xp : module
    background : ndarray of shape (n_voxels,), int, optional
        Cells of other types already in each voxel (they count, and stay).
    key : int, optional
        Off NumPy: the call's stream key (:meth:`NeuroImmuneModel.stream_key
        <neuroagents.model.NeuroImmuneModel.stream_key>`).
    ids : ndarray of shape (n,), int, optional
        Off NumPy: the cells' ids.

    Returns
    -------
    ndarray of shape (n,), bool
        Which moves stand.
    """
    check_capacity(capacity)
    moved = moved.copy()
    if xp is not np:
        if key is None or ids is None:
            raise ConfigError("crowding", "no key and ids", "a stream key and the cells' ids off NumPy")
        return _crowding_on_device(old_voxel, new_voxel, moved, capacity, n_voxels, key, ids, xp, background,
                                   max_rounds)  # fmt: skip
    for _ in range(max_rounds):  # a few vectorized rounds, not a loop over cells
        voxel = np.where(moved, new_voxel, old_voxel)
        counts = fixed_bincount(np, voxel, n_voxels)
        if background is not None:
            counts = counts + background
        cand = np.flatnonzero(moved & (counts > capacity)[voxel])
        if cand.size == 0:
            return moved
        stayers = np.bincount(voxel[~moved], minlength=n_voxels)
        if background is not None:
            stayers = stayers + background
        room = np.maximum(capacity - stayers, 0)
        target = voxel[cand]
        order = np.argsort(target + rng.random(cand.size))  # grouped by voxel, random within a voxel
        sorted_target = target[order]
        rank = np.arange(cand.size) - np.searchsorted(sorted_target, sorted_target, side="left")
        moved[cand[order][rank >= room[sorted_target]]] = False
    return moved


def check_capacity(capacity) -> None:
    """Raise a :class:`ConfigError` unless ``capacity`` (cells per voxel) is at least 1."""
    if capacity < 1:
        raise ConfigError("crowding.capacity", capacity, "an integer >= 1 (cells per voxel)")


def group_by_voxel(xp, voxel, priority):
    """The order that groups cells by voxel (increasing) and, within a voxel, by priority: two stable sorts, so
    that ties fall in row order and a subset of the rows is ordered as it is within all of them."""
    by_priority = _stable_argsort(xp, priority)
    return by_priority[_stable_argsort(xp, voxel[by_priority])]


def _stable_argsort(xp, a):
    """``argsort`` keeping ties in row order: NumPy's with ``kind="stable"``; CuPy's is always stable and takes no
    ``kind`` but None (docs.cupy.dev, ``cupy.argsort``)."""
    if getattr(xp, "__name__", "") == "cupy":
        return xp.argsort(a)
    return xp.argsort(a, kind="stable")


def _crowding_on_device(old_voxel, new_voxel, moved, capacity, n_voxels, key, ids, xp, background, max_rounds):
    """:func:`enforce_crowding` off NumPy: every cell ranked in every round (arrays of fixed size, no host sync).

    Each cell's priority is :func:`~neuroagents.cells.keyed_random.keyed_uniform` of ``key`` and its id. A cell
    that is not a mover into an overfull voxel sorts after all that are (label ``n_voxels``) and is never sent
    back; among the movers into each overfull voxel the lowest priorities keep their place, up to the room. A
    round with no overfull voxel changes nothing, so the rounds need no stop test.
    """
    n = moved.shape[0]
    priority = keyed_uniform(xp, key, ids)
    rows = xp.arange(n)
    others = xp.zeros(n_voxels, dtype=xp.int64) if background is None else xp.asarray(background, dtype=xp.int64)
    others_f = others.astype(xp.float64)
    room = xp.zeros(n_voxels + 1, dtype=xp.float64)  # the last entry stays 0: the label of the cells not ranked
    back = xp.empty(n, dtype=bool)  # every entry written each round (``order`` is a permutation)
    for _ in range(max_rounds):  # a fixed number of vectorized rounds
        voxel = xp.where(moved, new_voxel, old_voxel)
        counts = others.copy()
        xp.add.at(counts, voxel, 1)
        stayers = others_f.copy()
        xp.add.at(stayers, voxel, (~moved).astype(xp.float64))
        xp.maximum(capacity - stayers, 0.0, out=room[:n_voxels])
        over = moved & (counts > capacity)[voxel]
        label = xp.where(over, voxel, n_voxels)
        order = group_by_voxel(xp, label, priority)
        sorted_label = label[order]
        rank = rows - xp.searchsorted(sorted_label, sorted_label, side="left")
        back[order] = over[order] & (rank >= room[sorted_label])
        moved = moved & ~back
    return moved


def recruit_at(weights, rng, rate_per_min: float, dt_min: float, xp=np):
    """Voxels where new cells enter during ``dt_min``.

    Parameters
    ----------
    weights : ndarray of shape (K,)
        Entry propensity of each candidate voxel in [0, 1] (e.g. a Hill
        function of the chemokine at each vessel voxel).
    rate_per_min : float
        Entries per minute from one candidate voxel at weight 1.

    Returns
    -------
    ndarray of shape (k,), int
        Positions (into ``weights``) of the voxels where a cell enters; a
        voxel may appear more than once.

    Notes
    -----
    ``k`` sizes the population, so it crosses to the host (one sync, a declared one). Off NumPy the positions are
    found by ``searchsorted`` over the cumulative counts rather than by ``repeat``: CuPy before 14.1 refuses an array
    of repeat counts (``ValueError``), and ``pyproject.toml`` admits CuPy 13. The two give the same positions.
    """
    if not (isinstance(rate_per_min, (int, float)) and math.isfinite(rate_per_min) and rate_per_min >= 0):
        raise ConfigError("recruitment.rate_per_min", rate_per_min, "a finite number >= 0")
    counts = rng.poisson(xp.asarray(weights, dtype=xp.float64) * rate_per_min * dt_min)
    if xp is np:
        return np.repeat(np.arange(counts.shape[0]), counts)
    ends = xp.cumsum(counts)
    total = int(ends[-1]) if counts.shape[0] else 0  # the one sync: how many enter
    return xp.searchsorted(ends, xp.arange(total), side="right")


def event_mask(rng, n: int, rate_per_min, dt_min: float, xp=np):
    """Which of ``n`` cells have an event of (per-cell) rate ``rate_per_min`` during ``dt_min``, bool ``(n,)``."""
    p = 1.0 - xp.exp(-xp.asarray(rate_per_min, dtype=xp.float64) * dt_min)
    return rng.random(n) < p
