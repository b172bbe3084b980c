"""Crowding (:func:`neuroagents.cells.motility.enforce_crowding`) as compiled rounds that touch only what changed.

The reference repeats, up to ``max_rounds`` times: count the cells in every voxel (movers where they go, the others
where they are, plus the other types), take the movers into overfull voxels in row order, draw one number per such
mover, sort them by ``target + u`` and, in each voxel, send back all but the first ``room`` (the capacity less the
cells that stay there). Every round is a few passes over all cells and an ``argsort``.

Here the counts are kept from round to round instead of recounted. After a round, a voxel can be overfull with
movers into it only if it took back a cell that was sent home (a voxel that was overfull now holds its stayers and
at most ``room`` movers; one that was not has lost cells or kept them), so the next round's movers into overfull
voxels are found from the voxels that took cells back, through a list of the movers into each voxel. Within a
voxel the movers are ranked by their keys with an insertion sort (a voxel takes a few movers), not by a sort of all
of them. The draws are the reference's (one per mover into an overfull voxel, in row order, each round, from the
model's generator), and so are the moves that stand, bit for bit.

The one case where the ranks could differ is two keys of one voxel that are equal to the last bit (or a key that
rounds up to the next voxel's): NumPy's ``argsort`` then puts them in an order of its own. The kernel reports it
and that round is ranked by the reference's sort (:func:`_reference_back`); ``tests/test_cell_kernels.py`` forces
that path.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from neuroagents.cells.kernels.signaling import JIT
from neuroagents.cells.motility import check_capacity
from neuroagents.errors import ConfigError

__all__ = ["Scratch", "enforce_crowding"]


@njit(**JIT)
def _setup(old_voxel, new_voxel, moved, counts, stay, head, nxt):
    """Count every cell where it would be, the cells that stay where they are, and list the movers into each voxel.

    ``counts`` and ``stay`` hold the other types on entry; ``head`` is -1 on entry. The movers into voxel ``v`` are
    ``head[v]``, ``nxt[head[v]]``, ... (-1 ends the list).
    """
    for i in range(old_voxel.shape[0]):
        if moved[i]:
            v = new_voxel[i]
            counts[v] += 1
            nxt[i] = head[v]
            head[v] = i
        else:
            v = old_voxel[i]
            counts[v] += 1
            stay[v] += 1


@njit(**JIT)
def _first_candidates(new_voxel, moved, counts, capacity):
    """Rows (increasing) of the movers into overfull voxels."""
    k = 0
    for i in range(new_voxel.shape[0]):
        if moved[i] and counts[new_voxel[i]] > capacity:
            k += 1
    cand = np.empty(k, dtype=np.int64)
    k = 0
    for i in range(new_voxel.shape[0]):
        if moved[i] and counts[new_voxel[i]] > capacity:
            cand[k] = i
            k += 1
    return cand


@njit(**JIT)
def _next_candidates(dirty, n_dirty, head, nxt, moved, counts, capacity, flag):
    """Rows (increasing) of the movers into the voxels of ``dirty[:n_dirty]`` that are overfull.

    ``flag`` (n,) is False on entry and on return. The rows are put in order by a pass over ``flag`` (a byte per
    cell), cheaper than sorting the thousands of rows a crowded round can have.
    """
    k = 0
    for d in range(n_dirty):
        v = dirty[d]
        if counts[v] > capacity:
            i = head[v]
            while i >= 0:
                if moved[i] and not flag[i]:
                    flag[i] = True
                    k += 1
                i = nxt[i]
    cand = np.empty(k, dtype=np.int64)
    if k == 0:
        return cand
    k = 0
    for i in range(flag.shape[0]):
        if flag[i]:
            flag[i] = False
            cand[k] = i
            k += 1
    return cand


@njit(**JIT)
def _rank(cand, u, new_voxel, stay, capacity, group_head, back):
    """Which candidates go back: in each voxel, all but the ``room`` lowest keys ``voxel + u``.

    ``group_head`` (n_voxels,) is -1 on entry and on return. Returns True when two keys of one voxel are equal or
    a key is not in ``[voxel, voxel + 1)``: the reference's sort must decide the round (``back`` is then not it).
    """
    k = cand.shape[0]
    group_next = np.empty(k, dtype=np.int32)
    for j in range(k - 1, -1, -1):
        v = new_voxel[cand[j]]
        group_next[j] = group_head[v]
        group_head[v] = j
    members = np.empty(k, dtype=np.int64)
    keys = np.empty(k)
    tie = False
    for j in range(k):
        v = new_voxel[cand[j]]
        first = group_head[v]
        if first < 0:
            continue  # this voxel's movers are ranked already
        group_head[v] = -1
        g = 0
        m = first
        while m >= 0:  # insertion sort of the voxel's movers by key
            key = v + u[m]
            if key >= v + 1:
                tie = True
            r = g
            while r > 0 and keys[r - 1] > key:
                keys[r] = keys[r - 1]
                members[r] = members[r - 1]
                r -= 1
            if r > 0 and keys[r - 1] == key:
                tie = True
            keys[r] = key
            members[r] = m
            g += 1
            m = group_next[m]
        room = max(capacity - stay[v], 0)
        for r in range(g):
            back[members[r]] = r >= room
    return tie


@njit(**JIT)
def _send_back(cand, back, old_voxel, new_voxel, moved, counts, stay, dirty, stamp, epoch):
    """Send the ``back`` candidates home, update the counts, and list (once each) the voxels that took cells back."""
    n_dirty = 0
    for j in range(cand.shape[0]):
        if back[j]:
            i = cand[j]
            moved[i] = False
            counts[new_voxel[i]] -= 1
            v = old_voxel[i]
            counts[v] += 1
            stay[v] += 1
            if stamp[v] != epoch:
                stamp[v] = epoch
                dirty[n_dirty] = v
                n_dirty += 1
    return n_dirty


def _reference_back(cand, u, new_voxel, stay, capacity):
    """The reference's ranking of one round (NumPy's ``argsort`` of ``target + u``): which candidates go back."""
    target = new_voxel[cand]
    order = np.argsort(target + u)
    sorted_target = target[order]
    rank = np.arange(cand.size) - np.searchsorted(sorted_target, sorted_target, side="left")
    back = np.zeros(cand.size, dtype=np.bool_)
    back[order[rank >= np.maximum(capacity - stay, 0)[sorted_target]]] = True
    return back


class Scratch:
    """Work arrays of one population's crowding, kept from call to call (fresh arrays of a voxel each, every step,
    cost page faults and a fill; these are left as the next call needs them: heads -1, flags False).

    Not model state: a checkpoint keeps none of it (it is rebuilt at the first call after a load).
    """

    def __init__(self):
        self.n_voxels = self.n = -1
        self.epoch = 0  # stamps of rounds, increasing over calls: the stamps never need a reset

    def __getstate__(self):
        return {}

    def __setstate__(self, state):
        self.__init__()

    def ready(self, n_voxels: int, n: int) -> None:
        """Size the arrays for ``n_voxels`` voxels and ``n`` cells."""
        if n_voxels != self.n_voxels:
            self.n_voxels = n_voxels
            self.counts = np.zeros(n_voxels, dtype=np.int32)
            self.stay = np.zeros(n_voxels, dtype=np.int32)
            self.head = np.full(n_voxels, -1, dtype=np.int32)
            self.group_head = np.full(n_voxels, -1, dtype=np.int32)
            self.stamp = np.full(n_voxels, -1, dtype=np.int64)
        if n > self.n:
            self.n = max(n, 2 * self.n)
            self.nxt = np.empty(self.n, dtype=np.int32)
            self.dirty = np.empty(self.n, dtype=np.int32)
            self.flag = np.zeros(self.n, dtype=np.bool_)


@njit(**JIT)
def _clear_heads(new_voxel, moved, head):
    """Set back to -1 the list heads :func:`_setup` wrote (``moved``: the movers it listed)."""
    for i in range(new_voxel.shape[0]):
        if moved[i]:
            head[new_voxel[i]] = -1


def enforce_crowding(old_voxel, new_voxel, moved, capacity: int, n_voxels: int, rng, background=None,
                     max_rounds: int = 8, scratch: Scratch | None = None):  # fmt: skip
    """:func:`neuroagents.cells.motility.enforce_crowding` on NumPy, compiled: the same draws and the same moves.

    Parameters
    ----------
    old_voxel, new_voxel : ndarray of shape (n,), int64
    moved : ndarray of shape (n,), bool
        Which cells propose to change voxel (not modified).
    capacity : int
        Most cells one voxel may hold.
    n_voxels : int
    rng : numpy.random.Generator
        One ``random(k)`` per round with ``k`` movers into overfull voxels, as the reference draws.
    background : ndarray of shape (n_voxels,), int, optional
        Cells of other types in each voxel.
    max_rounds : int
    scratch : Scratch, optional
        Work arrays to reuse (the fused walk keeps one per population); a new one when None.

    Returns
    -------
    ndarray of shape (n,), bool
        Which moves stand.
    """
    check_capacity(capacity)
    if n_voxels >= 2**31 or moved.shape[0] >= 2**31:
        raise ConfigError("crowding", f"{n_voxels} voxels, {moved.shape[0]} cells", "fewer than 2**31 of each")
    moved = np.array(moved, dtype=np.bool_)  # a copy
    proposed = moved.copy()
    sc = Scratch() if scratch is None else scratch
    sc.ready(n_voxels, moved.shape[0])
    counts, stay = sc.counts, sc.stay
    if background is None:
        counts.fill(0)
    else:
        np.copyto(counts, background, casting="unsafe")
    stay[:] = counts
    _setup(old_voxel, new_voxel, moved, counts, stay, sc.head, sc.nxt)
    cand = _first_candidates(new_voxel, moved, counts, capacity)
    for round_no in range(max_rounds):  # a few compiled rounds
        if cand.size == 0:
            break
        u = rng.random(cand.size)
        back = np.empty(cand.size, dtype=np.bool_)
        if _rank(cand, u, new_voxel, stay, capacity, sc.group_head, back):  # a tie: NumPy's sort decides
            back = _reference_back(cand, u, new_voxel, stay, capacity)
        sc.epoch += 1
        n_dirty = _send_back(cand, back, old_voxel, new_voxel, moved, counts, stay, sc.dirty, sc.stamp, sc.epoch)
        if round_no + 1 < max_rounds:
            cand = _next_candidates(sc.dirty, n_dirty, sc.head, sc.nxt, moved, counts, capacity, sc.flag)
    _clear_heads(new_voxel, proposed, sc.head)
    return moved
