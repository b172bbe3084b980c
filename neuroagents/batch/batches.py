"""Batches: runs of the same structure grouped so that one worker task runs several of them.

A *batch* is a list of runs (:class:`~neuroagents.batch.executors.RunTask`) that one worker task executes,
through :func:`~neuroagents.batch.executors.run_batch`. Runs can share a batch only when they share a
*structure* (:func:`structure_key`): the same grids (the tissue's and each compartment's width, height, depth,
voxel and vessel spacing, the compartments' names and kinds, the axons), the same mediators on the grid, the
same time steps, recording interval and duration, the same backend and dtype. They may differ in their seed and
in any other value (rates, doses, cell parameters, initial cell counts): what a model advancing several runs in
lockstep can hold in one set of arrays with a leading run axis.

A batch of two runs or more is stepped in lockstep (:mod:`neuroagents.lockstep`, through
:mod:`~neuroagents.batch.lockstep_runs`): its runs advance together phase by phase, their fields diffused in one
kernel call per compartment, the tissue's rules and the pain phase for all runs at once, the cell phases still run
by run; each run gives the table it gives alone. On the 2-core CPU that buys 1.2–1.4x (bench/README.md), less than
spreading runs over the two workers does, and a batch's numba threads would contend with the other worker's, so
:func:`default_batch_size` stays 1 on every backend: a batch of one keeps every run its own task (the most
parallelism across workers, and a killed worker loses one run). ``--batch N`` asks for lockstep batches; on a
GPU, where one run cannot fill the device, that is the way to use it.

Examples
--------
>>> from neuroagents.batch.executors import RunTask
>>> doc = {"tissue": {"width_um": 100.0}, "scenario": {"seed": 1, "duration_min": 5.0}}
>>> wide = {"tissue": {"width_um": 200.0}, "scenario": {"seed": 1, "duration_min": 5.0}}
>>> t = [RunTask(f"r{i}", 0, i, i, {}, d, "numpy", "float64") for i, d in enumerate([doc, wide, doc, doc])]
>>> [[x.run_id for x in b] for b in group_batches(t, 2)]
[['r0', 'r2'], ['r3'], ['r1']]
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

from neuroagents.errors import ConfigError

__all__ = ["GEOMETRY_KEYS", "check_batch_size", "default_batch_size", "group_batches", "structure_key"]

GEOMETRY_KEYS = ("width_um", "height_um", "depth_um", "voxel_um", "vessel_spacing_um")
"""The keys of ``[tissue]`` and of each compartment that set a grid's shape (and its vessels)."""


def default_batch_size(backend: str) -> int:
    """The batch size ``neuroagents sweep`` uses without ``--batch``.

    1 on every backend: a lockstep batch gains little on a CPU (see the module docstring), less than the workers
    it would take runs from, and a killed worker loses its whole batch; its gain on a GPU is not measured yet.

    Examples
    --------
    >>> default_batch_size("numpy"), default_batch_size("cupy"), default_batch_size("auto")
    (1, 1, 1)
    """
    from neuroagents.backend import BACKEND_CHOICES

    if backend not in BACKEND_CHOICES:
        raise ConfigError("backend", backend, f"one of {', '.join(BACKEND_CHOICES)}")
    return 1


def check_batch_size(value, option: str = "--batch") -> int:
    """``value`` as a batch size (an integer >= 1), or a :class:`ConfigError` naming ``option``.

    Examples
    --------
    >>> check_batch_size(8)
    8
    """
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(option, value, "an integer >= 1 (runs per worker task)")
    return int(value)


def structure_key(scenario: dict, backend: str, dtype: str) -> str:
    """A short hex digest of what a batch's runs must share (see the module docstring).

    Parameters
    ----------
    scenario : dict
        A run's resolved scenario (:meth:`Scenario.resolved`).
    backend, dtype : str

    Returns
    -------
    str
        16 hex digits; equal for runs that differ only in their seed or in values that leave the grids alone.

    Examples
    --------
    >>> a = {"scenario": {"seed": 1}, "tissue": {"width_um": 100.0}, "cells": {"macrophage": {"speed": 1.0}}}
    >>> b = {"scenario": {"seed": 2}, "tissue": {"width_um": 100.0}, "cells": {"macrophage": {"speed": 4.0}}}
    >>> c = {"scenario": {"seed": 1}, "tissue": {"width_um": 120.0}}
    >>> structure_key(a, "numpy", "float64") == structure_key(b, "numpy", "float64")
    True
    >>> structure_key(a, "numpy", "float64") == structure_key(c, "numpy", "float64")
    False
    """
    tissue = scenario.get("tissue") or {}
    compartments = scenario.get("compartments") or {}
    run = scenario.get("scenario") or {}
    parts = {
        "tissue": {k: tissue.get(k) for k in GEOMETRY_KEYS},
        "compartments": [[name, c.get("kind"), *(c.get(k) for k in GEOMETRY_KEYS)] for name, c in compartments.items()],
        "axons": scenario.get("axons"),
        # the catalogue's mediators are always on the grid; PAMP joins them with an injection or an override
        "pamp": "PAMP" in (scenario.get("mediators") or {}) or bool(scenario.get("injections")),
        "time": scenario.get("time"),
        "duration": [run.get("duration_days"), run.get("duration_min")],
        "backend": backend,
        "dtype": dtype,
    }
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def group_batches(tasks: Sequence, size: int) -> list[list]:
    """Cut ``tasks`` into batches of at most ``size`` runs of one structure each.

    Runs keep their order within a structure; the structures come in the order of their first run, and a
    structure's last batch may be short.

    Parameters
    ----------
    tasks : sequence of RunTask
    size : int
        Runs per batch, >= 1.

    Returns
    -------
    list of list of RunTask
    """
    size = check_batch_size(size)
    if size == 1:  # nothing to group: every run its own batch, in the given order
        return [[task] for task in tasks]
    by_key: dict[str, list] = {}
    for task in tasks:  # over runs (bookkeeping, not simulation)
        by_key.setdefault(structure_key(task.scenario, task.backend, task.dtype), []).append(task)
    return [runs[i : i + size] for runs in by_key.values() for i in range(0, len(runs), size)]
