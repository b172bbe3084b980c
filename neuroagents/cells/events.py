"""A bounded log of what happened to which cells, for inspection and teaching.

Each entry is a chunk — one event of one cell type at one time, with the ids
of every cell it happened to — so logging costs one boolean index per event
per step, not one record per cell. The oldest chunks are dropped past
``max_events`` cell-events.

Cells log their events without asking the device anything (:meth:`EventLog.defer`):
the mask and the ids are kept as they are (device arrays on CuPy) and sorted into
chunks and counts only when someone reads the log or the counts, or the model
records (:meth:`EventLog.flush`). A step therefore logs its events with no host
round-trip; what crosses, crosses once per record.

Examples
--------
>>> import numpy as np
>>> log = EventLog(max_events=10)
>>> log.add(5.0, "macrophage", "to_M1", np.array([3, 7]))
>>> log.for_cell("macrophage", 7)
[(5.0, 'to_M1')]
>>> counts = {"to_M2": 0}
>>> log.defer(6.0, "macrophage", "to_M2", np.array([3, 7, 9]), np.array([False, True, True]), counts)
>>> counts["to_M2"]  # nothing sorted in yet
0
>>> log.for_cell("macrophage", 7), counts["to_M2"]  # reading the log sorts what was deferred
([(5.0, 'to_M1'), (6.0, 'to_M2')], 2)
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["EventLog"]


class EventLog:
    """Chunks of ``(time_min, kind, event, ids)``, newest last, and events deferred until read.

    Parameters
    ----------
    max_events : int
        Most cell-events kept; the oldest chunks go first.
    max_pending : int
        Most deferred events held before they are sorted anyway (bounds the memory of a model stepped for long
        without recording).
    xp, to_host : module, callable
        The array module of the masks and the copy to the host (the model's backend; NumPy by default).
    """

    def __init__(self, max_events: int = 200_000, max_pending: int = 4096, xp=np, to_host=np.asarray):
        self.max_events = int(max_events)
        self.max_pending = int(max_pending)
        self.xp, self.to_host = xp, to_host
        self._chunks: deque[tuple[float, str, str, np.ndarray]] = deque()
        self._size = 0
        self._pending: list[tuple[float, str, str, object, object, dict]] = []

    @property
    def chunks(self) -> deque:
        """The logged chunks ``(time_min, kind, event, ids)``, oldest first (deferred events sorted in first)."""
        self.flush()
        return self._chunks

    @property
    def size(self) -> int:
        """Cell-events logged (deferred events sorted in first)."""
        self.flush()
        return self._size

    def add(self, time_min: float, kind: str, event: str, ids) -> None:
        """Log ``event`` for the cells ``ids`` now (host arrays; device arrays are copied over)."""
        self.flush()  # keep the order of the log
        self._append(time_min, kind, event, ids)

    def defer(self, time_min: float, kind: str, event: str, ids, mask, counts: dict) -> None:
        """Log ``event`` for ``ids[mask]`` and add its count to ``counts[event]`` when the log is next read.

        Parameters
        ----------
        time_min : float
        kind, event : str
        ids : ndarray of shape (n,), int64
            The cell type's ids now (copied: the population compacts in place).
        mask : ndarray of shape (n,), bool
            Which cells the event happened to (copied).
        counts : dict
            The cell type's event counts, updated at the flush.
        """
        self._pending.append((float(time_min), kind, event, ids.copy(), mask.copy(), counts))
        if len(self._pending) >= self.max_pending:
            self.flush()

    def flush(self) -> None:
        """Sort the deferred events into chunks and counts: one copy of all their sizes to the host, then one per
        event that happened to any cell (its ids)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        sizes = self.to_host(self.xp.stack([mask.sum() for *_, mask, _ in pending])).tolist()
        for (t, kind, event, ids, mask, counts), k in zip(pending, sizes, strict=True):  # over deferred events
            if k:
                counts[event] = counts.get(event, 0) + k
                self._append(t, kind, event, ids[mask])

    def _append(self, time_min: float, kind: str, event: str, ids) -> None:
        ids = np.asarray(ids.get() if hasattr(ids, "get") else ids)
        if ids.size == 0:
            return
        self._chunks.append((float(time_min), kind, event, ids))
        self._size += ids.size
        while self._size > self.max_events and len(self._chunks) > 1:
            self._size -= self._chunks.popleft()[3].size

    def for_cell(self, kind: str, cell_id: int, last: int = 10) -> list[tuple[float, str]]:
        """The latest ``last`` events of one cell, oldest first."""
        out = []
        for t, k, event, ids in reversed(self.chunks):  # over logged chunks, newest first
            if k == kind and np.any(ids == cell_id):
                out.append((t, event))
                if len(out) >= last:
                    break
        return out[::-1]
