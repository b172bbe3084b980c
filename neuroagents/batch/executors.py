"""Where a sweep's runs execute: in this process, on a local Dask cluster, or on an existing Dask cluster.

A run is :func:`run_task` applied to a :class:`RunTask` — plain data in, plain data out, importable by name
— so any executor can run it: this process, a worker process of a ``distributed.LocalCluster``
(``--workers N``), or the workers of a cluster whose scheduler is already running (``--scheduler
tcp://HOST:PORT``: SLURM via dask-jobqueue, GPU nodes via dask-cuda; see ``docs/headless.md``). The result
comes back to this process, which alone writes the sweep directory, so workers need no shared file system.

Runs go to workers in batches (:mod:`~neuroagents.batch.batches`): lists of runs of one structure that one
worker task executes with :func:`run_batch`. In this process each run of a batch is reported (and written) as
soon as it finishes; on Dask, when its batch returns. A run that raises (or whose worker dies) is tried once
more (``retries``), alone; each failure is reported to the caller, which records it.

The same run gives the same table whichever executor ran it: its seed is in its scenario, and the model
on NumPy is deterministic (numba runs one thread per Dask worker, ``NUMBA_NUM_THREADS=1``, because a numba
parallel region stalls when another process holds a core).
"""

from __future__ import annotations

import functools
import logging
import os
import platform
import time
import traceback
from collections.abc import Callable, Iterable, Sequence

from neuroagents.batch.run_types import RunOutcome, RunTask, label_tables
from neuroagents.errors import ConfigError

__all__ = ["DaskExecutor", "InProcessExecutor", "RunOutcome", "RunTask", "label_tables", "make_executor", "run_batch",
           "run_task"]  # fmt: skip

WORKER_ENV = {"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
"""Environment of local Dask workers: one thread each (the workers are the parallelism)."""


@functools.cache
def _backend_here(choice: str) -> str:
    """The backend ``choice`` resolves to in this process, resolved (and "auto" logged) once per process."""
    from neuroagents.backend import resolve_backend

    return resolve_backend(choice).name


def run_task(task: RunTask) -> RunOutcome:
    """Build the model of ``task``, run it to the scenario's end, and return its time series (or its error).

    The fields are checked after every step; a NaN or negative one fails the run with the mediator named.
    """
    from neuroagents.recording import check_fields
    from neuroagents.scenario import Scenario
    from neuroagents.scenario.runner import planned_steps

    t0 = time.perf_counter()
    info = {"host": platform.node(), "pid": os.getpid(), "backend": None, "device": None}
    try:
        scenario = Scenario.model_validate(task.scenario)
        model = scenario.build_model(backend=_backend_here(task.backend), dtype=task.dtype)
        info.update(backend=model.backend.name, device=model.backend.device)
        for _ in range(planned_steps(scenario.duration_min, model.cell_dt_min)):  # over cell steps
            model.step()
            check_fields(model)
        model.record()
        table = model.timeseries()
        trace = model.pain_trace() if task.trace else None
        label_tables(task, table, trace)
        return RunOutcome(task.run_id, table, None, {**info, "wall_s": round(time.perf_counter() - t0, 3)}, trace)
    except Exception as exc:  # the run's failure is its result; the sweep records it and goes on
        error = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc(limit=20)}
        return RunOutcome(task.run_id, None, error, {**info, "wall_s": round(time.perf_counter() - t0, 3)})


def run_batch(tasks: Sequence[RunTask], *, on_result: Callable[[RunOutcome], None] | None = None) -> list[RunOutcome]:
    """Run a batch: runs of one structure (:func:`~neuroagents.batch.batches.structure_key`) in one task.

    A batch of two runs or more goes through the lockstep engine (:mod:`~neuroagents.batch.lockstep_runs`): its
    runs are stepped together, phase by phase, each giving the table it gives alone; ``on_result`` hears of a
    failure at once and of the runs of a lockstep group when the group ends. A batch of one is :func:`run_task`.

    Parameters
    ----------
    tasks : sequence of RunTask
    on_result : callable, optional
        ``on_result(outcome)`` as each run is final.

    Returns
    -------
    list of RunOutcome
        One per task, in the order of ``tasks``; each ``info`` says ``batch_size``.
    """
    if len(tasks) > 1:
        from neuroagents.batch.lockstep_runs import run_lockstep

        return run_lockstep(tasks, on_result=on_result, backend_here=_backend_here)
    outcomes = []
    for task in tasks:  # over the batch's runs (one)
        outcome = run_task(task)
        outcome.info["batch_size"] = len(tasks)
        outcomes.append(outcome)
        if on_result is not None:
            on_result(outcome)
    return outcomes


Report = Callable[[RunOutcome, int, bool], None]
"""``report(outcome, attempt, final)``: called once per attempt; ``final`` when no retry follows."""


class InProcessExecutor:
    """Run the tasks one after another in this process (the default)."""

    name = "in-process"
    workers = 1

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def describe(self) -> str:
        return "in this process"

    def run(self, tasks: Iterable[RunTask], report: Report, *, retries: int = 1, batch: int = 1) -> None:
        """Run ``tasks`` in batches of up to ``batch`` runs; report each run as it finishes, retry failures alone."""
        from neuroagents.batch.batches import group_batches

        for group in group_batches(list(tasks), batch):  # over batches
            failed = []

            def first(outcome, failed=failed):
                final = outcome.ok or retries < 1
                report(outcome, 1, final)
                if not final:
                    failed.append(outcome.run_id)

            run_batch(group, on_result=first)
            for task in (t for t in group if t.run_id in failed):  # over the batch's failed runs: alone
                attempt = 2
                while True:
                    outcome = run_batch([task])[0]
                    final = outcome.ok or attempt > retries
                    report(outcome, attempt, final)
                    if final:
                        break
                    attempt += 1


class DaskExecutor:
    """Run the tasks on Dask: a new local cluster of ``workers`` processes, or the cluster at ``scheduler``.

    Parameters
    ----------
    workers : int, optional
        Start a ``distributed.LocalCluster`` with this many single-threaded worker processes.
    scheduler : str, optional
        Address of a running scheduler, e.g. ``tcp://10.0.0.5:8786`` (or a scheduler file's path).
    """

    name = "dask"

    def __init__(self, workers: int | None = None, scheduler: str | None = None):
        if (workers is None) == (scheduler is None):
            raise ConfigError("executor", (workers, scheduler), "either workers or a scheduler address")
        self.n_workers, self.scheduler = workers, scheduler
        self.cluster = self.client = None

    def __enter__(self):
        if self.client is not None:  # already started (e.g. to time the start apart): use it
            return self
        try:
            from distributed import Client, LocalCluster
        except ImportError:
            opt = "--workers" if self.scheduler is None else "--scheduler"
            raise ConfigError(opt, self.n_workers or self.scheduler, "left out, or Dask installed: pip install -e "
                              "'.[cluster]'") from None  # fmt: skip
        if self.scheduler is not None:
            try:
                if self.scheduler.endswith(".json"):
                    self.client = Client(scheduler_file=self.scheduler, timeout="30s")
                else:
                    self.client = Client(self.scheduler, timeout="30s")
            except (OSError, TimeoutError, ValueError) as exc:
                raise ConfigError("--scheduler", self.scheduler, f"the address of a running Dask scheduler "
                                  f"(tcp://HOST:PORT) or its scheduler file; connecting failed: {exc}") from None
        else:
            # silence_logs: the workers' warnings about tasks cancelled after a Ctrl-C are not news
            self.cluster = LocalCluster(n_workers=self.n_workers, threads_per_worker=1, processes=True,
                                        dashboard_address=None, env=dict(WORKER_ENV),
                                        silence_logs=logging.ERROR)  # fmt: skip
            self.client = Client(self.cluster)
        return self

    def __exit__(self, *exc):
        if self.client is not None:
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        self.client = self.cluster = None
        return False

    @property
    def workers(self) -> int:
        return len(self.client.scheduler_info(n_workers=-1)["workers"]) if self.client is not None else 0

    def describe(self) -> str:
        if self.cluster is not None:
            return f"on a local Dask cluster of {self.n_workers} worker processes"
        return f"on the Dask cluster at {self.scheduler} ({self.workers} workers now)"

    def run(self, tasks: Iterable[RunTask], report: Report, *, retries: int = 1, batch: int = 1) -> None:
        """Submit ``tasks`` in batches of up to ``batch`` runs; report a batch's runs when it returns; retry a
        failed run alone."""
        from distributed import as_completed

        from neuroagents.batch.batches import group_batches

        client = self.client
        pending = {}
        for group in group_batches(list(tasks), batch):  # over batches: submit all; the scheduler queues them
            key = f"batch-{group[0].run_id}-{len(group)}-1"
            pending[client.submit(run_batch, group, pure=False, key=key)] = (group, 1)
        ac = as_completed(list(pending))
        try:
            for fut in ac:  # over finished batches
                group, attempt = pending.pop(fut)
                try:
                    outcomes = fut.result()
                except Exception as exc:  # a worker died or the batch could not run: an attempt of each run failed
                    outcomes = [RunOutcome(t.run_id, None, {"type": type(exc).__name__, "message": str(exc),
                                                            "traceback": ""}, {"wall_s": None})
                                for t in group]  # fmt: skip
                for task, outcome in zip(group, outcomes, strict=True):  # over the batch's runs
                    final = outcome.ok or attempt > retries
                    report(outcome, attempt, final)
                    if not final:
                        key = f"batch-{task.run_id}-1-{attempt + 1}"
                        nxt = client.submit(run_batch, [task], pure=False, key=key)
                        pending[nxt] = ([task], attempt + 1)
                        ac.add(nxt)
        finally:
            if pending:  # interrupted: nothing keeps running on the cluster for a sweep that stopped
                client.cancel(list(pending))


def make_executor(workers: int | None = None, scheduler: str | None = None):
    """:class:`InProcessExecutor` by default; :class:`DaskExecutor` for ``workers`` or ``scheduler``."""
    if workers is not None and scheduler is not None:
        raise ConfigError("--workers", workers, "left out when --scheduler is given (its cluster has its workers)")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError("--workers", workers, "an integer >= 1")
    if workers is None and scheduler is None:
        return InProcessExecutor()
    return DaskExecutor(workers=workers, scheduler=scheduler)
