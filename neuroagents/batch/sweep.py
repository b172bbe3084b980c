"""Run a sweep: validate it, lay out its directory, run what is not finished, record everything.

:func:`run_sweep` is what ``neuroagents sweep SWEEP.toml`` does:

1. read and validate the sweep file and every run's scenario (nothing runs if any is refused);
2. create the sweep directory, or check that the one there holds this same sweep (same file, same base
   scenario, same runs), so results of different sweeps never mix;
3. run every run without a results file — in this process, or on Dask — in batches of up to ``batch`` runs
   of one structure (:mod:`~neuroagents.batch.batches`), with a progress line counting runs; each finished run
   is written at once (atomically: in this process as soon as it finishes, on Dask when its batch returns) and
   each failure recorded with its error; a failed run is tried once more, alone;
4. report: runs done now, done before, failed (with where their errors are).

Stopping it (Ctrl-C, a killed job) loses at most the runs in flight (on Dask, the runs of the batches in
flight), never a finished run; running the same command again picks up where it stopped, whatever its batch
size.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from neuroagents.batch.batches import check_batch_size, default_batch_size
from neuroagents.batch.design import base_scenario, build_design, check_parameters, run_scenarios
from neuroagents.batch.executors import InProcessExecutor, RunTask
from neuroagents.batch.spec import SweepSpec, load_sweep
from neuroagents.batch.store import SweepStore, sweep_text
from neuroagents.outputs import prepare_out_dir
from neuroagents.progress import RunCounter
from neuroagents.scenario.checks import check_name

__all__ = ["SweepResult", "plan_sweep", "run_sweep", "run_tasks"]


@dataclass
class SweepResult:
    """What :func:`run_sweep` did.

    Attributes
    ----------
    out_dir : Path
    n_runs : int
        Runs in the design.
    done_before : int
        Runs already finished when this invocation started (skipped).
    done : list of str
        Runs finished now.
    failed : dict
        ``{run_id: last error}`` of runs that failed every attempt now.
    retried : int
        Runs that failed once and then succeeded.
    wall_s : float
    executor : str
    batch : int
        Runs per batch (worker task).
    """

    out_dir: Path
    n_runs: int
    done_before: int
    done: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    retried: int = 0
    wall_s: float = 0.0
    executor: str = ""
    batch: int = 1


def plan_sweep(spec: SweepSpec) -> tuple[object, list[RunTask], dict]:
    """The design, one task per run, and the record that defines the sweep (for its directory).

    Raises
    ------
    ConfigError
        When the scenario, a fixed override or a parameter value is refused (with the scenario's message).
    """
    base = base_scenario(spec)
    check_parameters(spec)
    design = build_design(spec, base_seed=spec.base_seed if spec.base_seed is not None else base.scenario.seed)
    scenarios = run_scenarios(spec, design, base)
    tasks = [RunTask(r.run_id, r.point, r.replicate, r.seed, dict(r.params), scenarios[r.run_id], spec.backend,
                     spec.dtype) for r in design.runs]  # fmt: skip
    record = {"spec": spec.to_dict(), "base_scenario": base.resolved(), "base_seed": design.base_seed,
              "n_points": len(design.points), "n_runs": len(design.runs)}  # fmt: skip
    return design, tasks, record


def run_sweep(source, out_dir=None, *, executor=None, force: bool = False, retries: int = 1,
              progress: TextIO | bool = True, batch: int | None = None) -> SweepResult:  # fmt: skip
    """Run the sweep file ``source`` into ``out_dir`` (default ``runs/sweeps/<name>``).

    Parameters
    ----------
    source : str or Path or SweepSpec
    out_dir : str or Path, optional
    executor : InProcessExecutor or DaskExecutor, optional
        Default: in this process. A Dask executor is entered (cluster started or reached) here.
    force : bool
        Discard a different sweep already in ``out_dir``.
    retries : int
        Further attempts of a run that failed (default 1).
    progress : text stream or bool
    batch : int, optional
        Runs of one structure per worker task (default: :func:`~neuroagents.batch.batches.default_batch_size` of
        the sweep's backend). The results are the same whatever the batch size.

    Returns
    -------
    SweepResult
    """
    t0 = time.perf_counter()
    spec = source if isinstance(source, SweepSpec) else load_sweep(source)
    batch = default_batch_size(spec.backend) if batch is None else check_batch_size(batch)
    if out_dir is None:
        check_name(spec.name)
    out = Path(out_dir) if out_dir is not None else Path("runs") / "sweeps" / spec.name
    design, tasks, record = plan_sweep(spec)
    text = sweep_text(spec.where) if not isinstance(source, SweepSpec) else None
    return run_tasks(out, tasks, record, design.table(), text, label=f"sweep {spec.name}",
                     command=["neuroagents", "sweep", str(spec.where)], executor=executor, force=force,
                     retries=retries, progress=progress, batch=batch, t0=t0)  # fmt: skip


def run_tasks(out, tasks: list[RunTask], record: dict, table, text: str | None, *, label: str, command: list[str],
              executor=None, force: bool = False, retries: int = 1, progress: TextIO | bool = True, batch: int = 1,
              t0: float | None = None) -> SweepResult:  # fmt: skip
    """Run the planned ``tasks`` into the directory ``out`` (a :class:`SweepStore`): what a sweep and a cohort share.

    Parameters
    ----------
    out : Path
    tasks : list of RunTask
    record : dict
        What defines the runs (a rerun into ``out`` must match it).
    table : pandas.DataFrame
        One row per run (``design.parquet``).
    text : str or None
        The file as given (``sweep.toml``).
    label : str
        What the progress line and the stop message call it (``"sweep x"``, ``"cohort y"``).
    command : list of str
        The command, as the directory's lock records it.
    executor, force, retries, progress, batch
        As :func:`run_sweep`.
    t0 : float, optional
        ``time.perf_counter()`` when the work started (default: now).
    """
    t0 = time.perf_counter() if t0 is None else t0
    lock = prepare_out_dir(out, command=command)  # one writer per directory
    try:
        return _run_locked(out, tasks, record, table, text, label, executor, force, retries, progress, t0, batch)
    finally:
        lock.release()


def _run_locked(out, tasks, record, table, text, label, executor, force, retries, progress, t0,
                batch) -> SweepResult:  # fmt: skip
    store = SweepStore(out)
    store.prepare(record, text, table, force=force)
    finished = store.finished()
    todo = [t for t in tasks if t.run_id not in finished]
    executor = executor or InProcessExecutor()
    stream = sys.stderr if progress is True else (progress or None)
    result = SweepResult(out, len(tasks), len(tasks) - len(todo), batch=batch)
    bar = RunCounter(stream if todo else None, len(todo), label, skipped=result.done_before)
    failed_once: set[str] = set()

    def report(outcome, attempt, final):
        info = {k: v for k, v in outcome.info.items() if v is not None}
        if outcome.ok:
            store.write_result(outcome.run_id, outcome.table, info)
            result.done.append(outcome.run_id)
            result.retried += outcome.run_id in failed_once
        else:
            store.write_failure(outcome.run_id, outcome.error, info, final=final)
            failed_once.add(outcome.run_id)
            if final:
                result.failed[outcome.run_id] = f"{outcome.error['type']}: {outcome.error['message']}"
        bar.update(done=len(result.done), failed=len(result.failed))

    try:
        if todo:  # a cluster is started (or reached) only when there is work for it
            with executor:
                result.executor = executor.describe()
                executor.run(todo, report, retries=retries, batch=batch)
    except KeyboardInterrupt:
        bar.close()
        if stream is not None:
            done = result.done_before + len(result.done)
            stream.write(f"neuroagents: {label} stopped with {done} of {len(tasks)} runs written in {out}; "
                         "run the same command again to continue\n")  # fmt: skip
        raise
    bar.close()
    result.wall_s = time.perf_counter() - t0
    return result
