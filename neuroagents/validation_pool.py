"""Validation runs in worker processes: every run a set of checks needs, started at once, collected as asked.

The validation checks (``tests/test_validation.py``) read some fifty whole scenario runs, each tens of seconds to
minutes on one core, and every run is independent of the others. A :class:`RunPool` starts them all in worker
processes as soon as the checks are known, longest first, and hands each table back when a check asks for it;
a run it was not given is made in this process. The tables are the same as :func:`neuroagents.validation.run`
gives in this process, bit for bit: each run's seed is in its scenario, and every worker computes on one thread
(:data:`~neuroagents.batch.executors.WORKER_ENV`), as a sweep's workers do.

``NEUROAGENTS_VALIDATION_WORKERS`` sets the number of worker processes (default: the cores this process may use,
at most :data:`MAX_WORKERS`); ``1`` makes every run in this process, one after another.

Examples
--------
>>> pool = RunPool(workers=1)  # no worker processes: each run is made when it is asked for
>>> pool.submit([("healthy", ("scenario.duration_min=10",), None)])
0
>>> int(pool.result("healthy", ("scenario.duration_min=10",))["time_min"].iloc[-1])
10
>>> pool.close()
"""

from __future__ import annotations

import math
import multiprocessing
import os
from collections.abc import Iterable
from concurrent.futures import Future, ProcessPoolExecutor

from neuroagents.errors import ConfigError

__all__ = ["MAX_WORKERS", "RunPool", "pool_workers"]

MAX_WORKERS = 8
"""Most worker processes a pool starts by default (each run holds a few hundred MB)."""

Key = tuple[str, tuple[str, ...], int | None]
"""A run: ``(scenario, overrides, seed)``, the arguments of :func:`neuroagents.validation.run` (``None``: the
scenario's own seed)."""


def pool_workers(environ=None) -> int:
    """Worker processes to start: ``NEUROAGENTS_VALIDATION_WORKERS``, else the usable cores (at most
    :data:`MAX_WORKERS`).

    Examples
    --------
    >>> pool_workers({"NEUROAGENTS_VALIDATION_WORKERS": "3"})
    3
    """
    environ = os.environ if environ is None else environ
    text = environ.get("NEUROAGENTS_VALIDATION_WORKERS")
    if text is None:
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, min(cores, MAX_WORKERS))
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError("NEUROAGENTS_VALIDATION_WORKERS", text, "an integer >= 1 (1: every run in this process)")
    return n


def _one_thread() -> None:
    """Worker set-up: one compute thread (before numba is imported), as a sweep's local workers."""
    from neuroagents.batch.executors import WORKER_ENV

    os.environ.update(WORKER_ENV)


def _run(key: Key):
    from neuroagents.validation import run

    scenario, overrides, seed = key
    return run(scenario, overrides, seed=seed)


def _steps(key: Key) -> float:
    """A run's cost, to start the longest first: its steps (cell or diffusion, the shorter) times its compartments;
    0 where the scenario does not load."""
    from neuroagents.scenario.loader import load_scenario

    scenario, overrides, seed = key
    extra = () if seed is None else (f"scenario.seed={int(seed)}",)
    try:
        s = load_scenario(scenario, [*overrides, *extra])
    except Exception:  # the run itself reports it, in the check that asks for it
        return 0.0
    dt = min(s.time.cell_dt_min, s.time.diffusion_dt_min)
    return math.ceil(s.duration_min / dt) * max(1, len(s.compartments or {}))


class RunPool:
    """Runs of :func:`neuroagents.validation.run` in worker processes.

    Parameters
    ----------
    workers : int
        Worker processes; 1 makes every run in this process when it is asked for (no pool).
    """

    def __init__(self, workers: int) -> None:
        self.workers = int(workers)
        self._executor: ProcessPoolExecutor | None = None
        self._futures: dict[Key, Future] = {}

    def submit(self, keys: Iterable[Key]) -> int:
        """Start the runs not yet started, longest first; returns how many were started."""
        new = list(dict.fromkeys(k for k in ((s, tuple(o), d) for s, o, d in keys) if k not in self._futures))
        if self.workers <= 1 or not new:
            return 0
        if self._executor is None:
            self._executor = ProcessPoolExecutor(
                self.workers, mp_context=multiprocessing.get_context("spawn"), initializer=_one_thread
            )
        for key in sorted(new, key=_steps, reverse=True):
            self._futures[key] = self._executor.submit(_run, key)
        return len(new)

    def result(self, scenario: str, overrides: tuple[str, ...] = (), seed: int | None = None):
        """The run's time series: from its worker (waiting for it), or made here if it was never submitted.

        A run that raised in its worker raises the same error here.
        """
        key = (scenario, tuple(overrides), seed)
        future = self._futures.pop(key, None)
        return future.result() if future is not None else _run(key)

    def close(self) -> None:
        """Stop the workers: runs nobody asked for (a check failed under ``-x``, or read only some arms of its cases)
        are cancelled, or stopped where they already run."""
        if self._executor is not None:
            if any(not f.done() for f in self._futures.values()):
                stop = getattr(self._executor, "terminate_workers", None)  # Python >= 3.14
                if stop is not None:
                    stop()
                else:
                    for process in list((getattr(self._executor, "_processes", None) or {}).values()):
                        process.terminate()
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._futures.clear()
