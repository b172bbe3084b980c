"""A batch's runs stepped together (:class:`~neuroagents.lockstep.Lockstep`): what :func:`run_batch` does.

The runs of a batch share a structure (:mod:`~neuroagents.batch.batches`), so this module builds them one after
another into lockstep groups of runs whose models agree (:func:`~neuroagents.lockstep.structure_of`) and that run
for as many steps, at most as many as half the memory available here holds (:func:`group_size`), and advances a
group to its end as soon as it is full (then the last groups): never more runs in memory than a group. Each
run's result is what :func:`~neuroagents.batch.executors.run_task` returns for it alone — the same table, bit for
bit on NumPy (``tests/test_lockstep.py``) — with ``info`` saying ``lockstep`` (the runs in its group) and
``wall_s`` its share of the group's wall time.

A run that fails (while it is built, in a step, or in the fields' check) is reported at once and leaves its
group; the others go on. The runs of a group finish together, so a batch stopped part-way (Ctrl-C) loses the
runs of the group in progress, never a run already reported.
"""

from __future__ import annotations

import os
import platform
import time
import traceback
from collections.abc import Callable, Sequence

__all__ = ["group_size", "run_lockstep"]

MEMORY_SHARE = 0.5
"""Share of the memory available here that one lockstep group may take (its runs' estimates summed)."""


def _error(exc: BaseException) -> dict:
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__, limit=20))
    return {"type": type(exc).__name__, "message": str(exc), "traceback": tb}


def group_size(scenario, backend: str, dtype: str, available: float | None) -> int:
    """How many runs of ``scenario`` one lockstep group holds: ``MEMORY_SHARE`` of ``available`` bytes over the
    run's resident memory (:func:`~neuroagents.outputs.estimate_run`), at least 1; unbounded when unknown
    (``available`` None) or on a GPU (the fields live on the device, whose memory is not known here).

    Examples
    --------
    >>> from neuroagents.scenario import load_scenario
    >>> group_size(load_scenario("carrageenan"), "numpy", "float64", 0.0)
    1
    """
    from neuroagents.outputs import estimate_run

    if available is None or backend == "cupy":
        return 1 << 30
    need = estimate_run(scenario.model_kwargs(backend=backend, dtype=dtype), duration_min=scenario.duration_min,
                        snapshot_every_min=None, snapshot_mediators=None).memory_bytes  # fmt: skip
    return max(1, int(MEMORY_SHARE * available // max(need, 1.0)))


def run_lockstep(tasks: Sequence, *, on_result: Callable | None = None, backend_here: Callable = str) -> list:
    """Run ``tasks`` (:class:`~neuroagents.batch.executors.RunTask`) in lockstep groups; one outcome per task.

    Parameters
    ----------
    tasks : sequence of RunTask
    on_result : callable, optional
        ``on_result(outcome)`` as each run is final: a failure at once, the runs of a group when it ends (in the
        order of ``tasks``).
    backend_here : callable
        The backend a task's choice resolves to in this process.

    Returns
    -------
    list of RunOutcome
        In the order of ``tasks``.
    """
    from neuroagents.batch.run_types import RunOutcome
    from neuroagents.lockstep import Lockstep, structure_of
    from neuroagents.outputs import available_memory_bytes
    from neuroagents.scenario import Scenario
    from neuroagents.scenario.runner import planned_steps

    outcomes: dict[int, RunOutcome] = {}
    base = {"host": platform.node(), "pid": os.getpid()}

    def final(i, outcome):
        outcome.info["batch_size"] = len(tasks)
        outcomes[i] = outcome
        if on_result is not None:
            on_result(outcome)

    pending: dict[tuple, list] = {}  # structure and steps -> the runs built for the next group of that structure
    available = available_memory_bytes()
    for i, task in enumerate(tasks):  # over runs: build each (a failure is its result); a full group runs at once
        t0 = time.perf_counter()
        info = {**base, "backend": None, "device": None}
        try:
            scenario = Scenario.model_validate(task.scenario)
            model = scenario.build_model(backend=backend_here(task.backend), dtype=task.dtype)
            info.update(backend=model.backend.name, device=model.backend.device)
            n_steps = planned_steps(scenario.duration_min, model.cell_dt_min)
            size = group_size(scenario, model.backend.name, task.dtype, available)
        except Exception as exc:
            final(i, RunOutcome(task.run_id, None, _error(exc), {**info, "wall_s": round(time.perf_counter() - t0, 3)}))
            continue
        key = (structure_of(model), n_steps)
        group = pending.setdefault(key, [])
        group.append((i, model, info, time.perf_counter() - t0))
        if len(group) >= size:  # never more runs in memory than a group holds
            _run_group(tasks, pending.pop(key), n_steps, final, Lockstep, RunOutcome)
    for (_, n_steps), group in pending.items():  # over structures: their last groups
        _run_group(tasks, group, n_steps, final, Lockstep, RunOutcome)
    return [outcomes[i] for i in range(len(tasks))]


def _run_group(tasks, chunk, n_steps: int, final, lockstep_cls, outcome_cls) -> None:
    """Step one lockstep group to its end and report each run (a failure as it happens)."""
    from neuroagents.batch.run_types import label_tables

    t0 = time.perf_counter()
    batch = lockstep_cls([model for _, model, _, _ in chunk])
    where = {id(model): (i, info, built) for i, model, info, built in chunk}
    reported: set = set()

    for _ in range(n_steps):  # over cell steps
        batch.step()
        batch.check_fields()
        for pos in sorted(set(batch.dropped) - reported):  # over runs that left in this step (rare)
            i, _, info, built = chunk[pos]
            wall = round(built + time.perf_counter() - t0, 3)
            final(i, outcome_cls(tasks[i].run_id, None, _error(batch.dropped[pos]), {**info, "wall_s": wall}))
            reported.add(pos)
        if not batch.models:
            return
    share = (time.perf_counter() - t0) / max(1, len(chunk))
    for model in batch.models:  # over the runs that finished, in the order given
        i, info, built = where[id(model)]
        task = tasks[i]
        try:
            model.record()
            table = model.timeseries()
            trace = model.pain_trace() if task.trace else None
        except Exception as exc:
            final(i, outcome_cls(task.run_id, None, _error(exc), {**info, "wall_s": round(built + share, 3)}))
            continue
        label_tables(task, table, trace)
        info = {**info, "wall_s": round(built + share, 3), "lockstep": len(chunk)}
        final(i, outcome_cls(task.run_id, table, None, info, trace))
