"""A bounded log of what happened to which cells, for inspection and teaching.

Each entry is a chunk — one event of one cell type at one time, with the ids
of every cell it happened to — so logging costs one boolean index per event
per step, not one record per cell. The oldest chunks are dropped past
``max_events`` cell-events.

Examples
--------
>>> import numpy as np
>>> log = EventLog(max_events=10)
>>> log.add(5.0, "macrophage", "to_M1", np.array([3, 7]))
>>> log.for_cell("macrophage", 7)
[(5.0, 'to_M1')]
"""

from __future__ import annotations

from collections import deque

import numpy as np

__all__ = ["EventLog"]


class EventLog:
    """Chunks of ``(time_min, kind, event, ids)``, newest last."""

    def __init__(self, max_events: int = 200_000):
        self.max_events = int(max_events)
        self.chunks: deque[tuple[float, str, str, np.ndarray]] = deque()
        self.size = 0

    def add(self, time_min: float, kind: str, event: str, ids) -> None:
        ids = np.asarray(ids.get() if hasattr(ids, "get") else ids)
        if ids.size == 0:
            return
        self.chunks.append((float(time_min), kind, event, ids))
        self.size += ids.size
        while self.size > self.max_events and len(self.chunks) > 1:
            self.size -= self.chunks.popleft()[3].size

    def for_cell(self, kind: str, cell_id: int, last: int = 10) -> list[tuple[float, str]]:
        """The latest ``last`` events of one cell, oldest first."""
        out = []
        for t, k, event, ids in reversed(self.chunks):  # over logged chunks, newest first
            if k == kind and np.any(ids == cell_id):
                out.append((t, event))
                if len(out) >= last:
                    break
        return out[::-1]
