"""A run as plain data: what goes to a worker (:class:`RunTask`) and what comes back (:class:`RunOutcome`).

Kept apart from the executors (:mod:`~neuroagents.batch.executors`, which re-exports them) so that the lockstep
runner (:mod:`~neuroagents.batch.lockstep_runs`) and the executors can both use them without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RunOutcome", "RunTask", "label_tables"]


@dataclass(frozen=True)
class RunTask:
    """One run, as plain data.

    Attributes
    ----------
    run_id : str
    point, replicate, seed : int
    params : dict
        The varied keys and values (copied into the result's columns).
    scenario : dict
        The run's resolved scenario (seed included), validated again where it runs.
    backend, dtype : str
    trace : bool
        Also return the run's pain trace (:meth:`NeuroImmuneModel.pain_trace`; replicates write it).
    """

    run_id: str
    point: int
    replicate: int
    seed: int
    params: dict
    scenario: dict
    backend: str
    dtype: str
    trace: bool = False


@dataclass
class RunOutcome:
    """What came back from a run: its time series, or its error.

    Attributes
    ----------
    run_id : str
    table : pandas.DataFrame or None
        ``run_id, point, replicate, seed``, the varied keys, then the model's time series.
    error : dict or None
        ``type``, ``message``, ``traceback``.
    info : dict
        ``wall_s``, ``host``, ``pid``, ``backend``, ``device``.
    trace : pandas.DataFrame or None
        With :attr:`RunTask.trace`: the same leading columns, then the model's pain trace.
    """

    run_id: str
    table: object
    error: dict | None
    info: dict
    trace: object = None

    @property
    def ok(self) -> bool:
        return self.error is None



def label_tables(task: RunTask, table, trace=None) -> None:
    """Insert the run's leading columns (``run_id, point, replicate, seed``, the varied keys) into its tables."""
    meta = {"run_id": task.run_id, "point": task.point, "replicate": task.replicate, "seed": task.seed, **task.params}
    for t in (table, trace) if trace is not None else (table,):
        for i, (k, v) in enumerate(meta.items()):  # over the leading columns
            t.insert(i, k, v)
