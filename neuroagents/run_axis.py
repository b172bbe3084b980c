"""Helpers of rules written once for one run or for several runs of a lockstep batch (a leading run axis).

A rule of the tissue (stromal COX-2, swelling) takes a list of its objects, one per run, and computes with arrays
of shape ``(B, ...)``: one run alone is ``B = 1``, the same code and the same numbers. Per-run state lives on each
object; a batch keeps it as rows of one array (:func:`stacked`, :func:`unstack`), so that stepping the batch
copies nothing. Per-run numbers (a drug's inhibition in each run) become a column ``(B, 1)`` (:func:`column`), or
stay one number when every run has the same one — the operations a run alone makes, so its device work does not
grow.

Examples
--------
>>> import numpy as np
>>> class S:
...     pass
>>> runs = [S(), S()]
>>> unstack(runs, "x", np.arange(6.0).reshape(2, 3))
>>> runs[1].x.tolist(), stacked(runs, "x", np).shape
([3.0, 4.0, 5.0], (2, 3))
>>> column(np, [0.5, 0.5]), column(np, [0.0, 0.25]).tolist()
(0.5, [[0.0], [0.25]])
>>> class P:
...     def __init__(self, tau):
...         self.tau, self.hill = tau, 1.0
>>> cols = Columns([P(5.0), P(7.0)], np)
>>> cols.hill, cols.tau.tolist()
(1.0, [[5.0], [7.0]])
"""

from __future__ import annotations

__all__ = ["Columns", "column", "stacked", "unstack"]

_HOST_NUMBERS = (int, float)


def column(xp, values):
    """Per-run numbers as a ``(B, 1)`` array, or the one number when all are equal host numbers.

    Parameters
    ----------
    xp : module
    values : sequence of float or 0-d array
        One per run (0-d device arrays are stacked on the device, never compared on the host).
    """
    first = values[0]
    if all(isinstance(v, _HOST_NUMBERS) for v in values):
        host = [float(v) for v in values]
        if all(v == host[0] for v in host):
            return first
        return xp.asarray(host, dtype=xp.float64).reshape(-1, 1)
    return xp.stack([xp.asarray(v, dtype=xp.float64) for v in values]).reshape(-1, 1)


def stacked(objs, attr: str, xp):
    """``(B, ...)``: the ``attr`` arrays of ``objs`` as rows of one array — the one they are views of when
    :func:`unstack` set them and nothing has replaced them since, else a new stack (one copy)."""
    rows = [getattr(o, attr) for o in objs]
    memo = objs[0].__dict__.get(f"_{attr}_rows")
    if memo is not None and len(memo[1]) == len(rows) and all(r is v for r, v in zip(rows, memo[1], strict=True)):
        return memo[0]
    return xp.stack(rows)


def unstack(objs, attr: str, stack) -> None:
    """Set each object's ``attr`` to its row of ``stack`` (a view, no copy), remembering the stack for
    :func:`stacked` (on the first object)."""
    views = [stack[k] for k in range(len(objs))]
    for obj, view in zip(objs, views, strict=True):  # over runs
        setattr(obj, attr, view)
    objs[0].__dict__[f"_{attr}_rows"] = (stack, views)


class Columns:
    """The parameters of ``B`` runs read as one object: ``cols.name`` is :func:`column` of each run's ``name``.

    A rule written for one run's parameter object (``p.tau_on_min``) computes every run of a batch when given this
    object instead and arrays with a leading run axis: a number every run shares stays that number (the run
    alone's operation), one that differs is a ``(B, 1)`` column.

    Parameters
    ----------
    objs : sequence
        One parameter object per run (e.g. :class:`~neuroagents.pain.PainParams`), in batch order.
    xp : module
    """

    def __init__(self, objs, xp):
        self._objs = list(objs)
        self._xp = xp
        self._cache: dict = {}

    def __getattr__(self, name: str):
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._cache[name]
        except KeyError:
            value = self._cache[name] = column(self._xp, [getattr(o, name) for o in self._objs])
            return value
