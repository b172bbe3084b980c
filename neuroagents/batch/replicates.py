"""Replicates: one scenario run N times with N seeds, as one table with a ``replicate`` column.

What ``neuroagents run SCENARIO --replicates N`` does. Replicate ``k`` (0 to N - 1) runs with seed
``seed + k``, where ``seed`` is the one given (``--seed``) or else the scenario's: the rule of a sweep's
replicates (``base_seed + r``, :mod:`~neuroagents.batch.design`). Replicate 0 is therefore the run without
``--replicates``, and replicate ``k`` equals ``neuroagents run SCENARIO --seed <seed + k>`` (its time series,
row for row and bit for bit on NumPy).

The N runs share one structure, so they run in lockstep batches of ``--batch`` (default :data:`REPLICATE_BATCH`)
through :func:`~neuroagents.batch.executors.run_batch` (:mod:`neuroagents.lockstep`), each replicate giving the
table it gives alone.

A run of replicates writes into its directory:

``timeseries.parquet``
    The replicates' time series stacked: ``replicate`` (int), ``seed`` (int), then the model's columns.
``pain_trace.parquet``
    The replicates' pain traces stacked (one row per cell step): ``replicate``, ``seed``, then the trace's columns.
``manifest.json``
    The resolved scenario, the seed rule and each replicate's seed, backend, device and wall time, the status
    (``completed``, ``interrupted`` or ``failed`` with the error), versions and code.
``summary.png``
    The replicates' mean over time (:func:`~neuroagents.scenario.summary.plot_summary`).

Replicates record time series only: no field or cell snapshots, no checkpoints (the options asking for them
are refused). A run of replicates stopped part-way (Ctrl-C, SIGTERM) or with a failed replicate writes the
replicates that completed, with the status saying so (``interrupted``, ``failed``) and each replicate's status
in the manifest; it is not resumed: run it again with ``--force``.

Examples
--------
>>> replicate_seeds(7, 3)
[7, 8, 9]
"""

from __future__ import annotations

import contextlib
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from neuroagents.errors import ConfigError, NeuroagentsError

__all__ = ["REPLICATE_FILES", "ReplicatesResult", "check_replicates", "replicate_seeds", "replicate_table",
           "replicate_tasks", "run_replicates", "write_replicates"]  # fmt: skip

REPLICATE_FILES = ("timeseries.parquet", "pain_trace.parquet", "manifest.json", "summary.png")
"""What a completed run of replicates leaves in its directory."""

REPLICATE_BATCH = 8
"""Replicates stepped together by default (``--batch``): on the 2-core CPU of bench/README.md a lockstep batch of 8
runs ``sni`` and ``carrageenan`` at 1.2–1.4x the runs/hour of one by one; a batch of 32 gains a little more there
(1.3–1.4x) and loses more runs to a Ctrl-C."""

SEED_RULE = "replicate k runs with seed + k (seed: --seed, else the scenario's)"


class ReplicateRunError(NeuroagentsError, RuntimeError):
    """A replicate failed; the replicates before it are written."""


def check_replicates(n) -> int:
    """``n`` as a number of replicates (an integer >= 1), or a :class:`ConfigError` naming ``--replicates``.

    Examples
    --------
    >>> check_replicates(4)
    4
    """
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ConfigError("--replicates", n, "an integer >= 1 (runs of the scenario, seeds seed, seed + 1, ...)")
    return int(n)


def replicate_seeds(seed: int, n: int) -> list[int]:
    """The seeds of ``n`` replicates from ``seed``: ``seed + k`` for replicate ``k``."""
    return [int(seed) + k for k in range(check_replicates(n))]


def _scenario(scenario, overrides=()):
    from neuroagents.scenario import Scenario, load_scenario

    if isinstance(scenario, Scenario):
        if overrides:
            raise ConfigError("overrides", list(overrides), "left out when a Scenario object is given (apply them "
                              "with load_scenario)")  # fmt: skip
        return scenario
    return load_scenario(scenario, list(overrides))


def replicate_tasks(scenario, n: int, *, seed: int | None = None, backend: str = "auto",
                    dtype: str = "float64", posterior=None) -> list:  # fmt: skip
    """One :class:`~neuroagents.batch.executors.RunTask` per replicate (ids ``r00``, ``r01``, ...).

    Parameters
    ----------
    scenario : Scenario
    n : int
    seed : int, optional
        Replicate 0's seed (default: the scenario's).
    backend, dtype : str
    posterior : str or Path, optional
        A calibration's ``posterior.parquet``: replicate ``k`` also takes the values of a particle drawn by weight
        (:mod:`neuroagents.calibration.posterior`), which its table carries as columns.
    """
    from neuroagents.batch.design import document_with
    from neuroagents.batch.executors import RunTask

    seeds = replicate_seeds(scenario.scenario.seed if seed is None else seed, n)
    width = max(2, len(str(n - 1)))
    doc = scenario.resolved()
    draws = [{}] * n
    if posterior is not None:
        from neuroagents.calibration.posterior import load_posterior, posterior_draws

        draws = posterior_draws(load_posterior(posterior), n, seeds[0])
    top = [f for f in scenario.files if f != "--set"][-1]
    tasks = []
    for k, s in enumerate(seeds):  # over replicates (bookkeeping; a posterior's values validated)
        if draws[k]:
            d = document_with(doc, {**draws[k], "scenario.seed": s}, scenario_path=top, sets=scenario.overrides,
                              where=f"--posterior {posterior}, replicate {k}")  # fmt: skip
        else:
            d = {**doc, "scenario": {**doc["scenario"], "seed": s}}
        tasks.append(RunTask(f"r{k:0{width}d}", 0, k, s, dict(draws[k]), d, backend, dtype, trace=True))
    return tasks


def replicate_table(outcomes, what: str = "table"):
    """The finished replicates' time series (``what="trace"``: pain traces) as one table: ``replicate``, ``seed``,
    then the model's columns."""
    import pandas as pd

    found = [getattr(o, what) for o in outcomes if o.ok]
    tables = [t.drop(columns=["run_id", "point"]) for t in found if t is not None]
    if not tables:
        return pd.DataFrame({"replicate": pd.Series(dtype="int64"), "seed": pd.Series(dtype="int64")})
    return pd.concat(tables, ignore_index=True)


def _failure(tasks, outcome) -> str:
    task = next(t for t in tasks if t.run_id == outcome.run_id)
    e = outcome.error
    return f"replicate {task.replicate} (seed {task.seed}) failed: {e['type']}: {e['message']}"


def run_replicates(scenario, n: int, *, seed: int | None = None, overrides=(), backend: str = "auto",
                   dtype: str = "float64", on_result=None, batch: int = REPLICATE_BATCH, posterior=None):  # fmt: skip
    """Run ``n`` replicates of ``scenario`` and return their time series as one table.

    Parameters
    ----------
    scenario : str, Path or Scenario
        A built-in name or a .toml file (with ``overrides``, as ``--set``), or a loaded scenario.
    n : int
        Replicates, >= 1.
    seed : int, optional
        Replicate 0's seed (default: the scenario's); replicate ``k`` runs with ``seed + k``.
    overrides : sequence of str
        ``KEY=VALUE`` overrides (with a name or a path).
    backend, dtype : str
    on_result : callable, optional
        ``on_result(outcome)`` as each replicate finishes (a :class:`~neuroagents.batch.executors.RunOutcome`).
    batch : int
        Replicates stepped together (:func:`run_batches`).
    posterior : str or Path, optional
        Draw each replicate's values from a calibration's posterior (:func:`replicate_tasks`).

    Returns
    -------
    pandas.DataFrame
        ``replicate``, ``seed`` (the drawn keys with ``posterior``) and the time series' columns; ``n`` x (records
        per run) rows.

    Raises
    ------
    ReplicateRunError
        When a replicate fails (naming it, its seed and the error).
    """

    scenario = _scenario(scenario, overrides)
    tasks = replicate_tasks(scenario, n, seed=seed, backend=backend, dtype=dtype, posterior=posterior)
    outcomes = run_batches(tasks, batch, on_result=on_result)
    bad = [o for o in outcomes if not o.ok]
    if bad:
        raise ReplicateRunError(_failure(tasks, bad[0]))
    return replicate_table(outcomes)


def run_batches(tasks, batch: int, *, on_result=None) -> list:
    """Run replicate ``tasks`` in lockstep batches of ``batch`` (:func:`~neuroagents.batch.executors.run_batch`),
    one batch after another: a run stopped part-way loses the replicates of the batch in progress, never one
    already reported.

    Examples
    --------
    >>> run_batches([], 8)
    []
    """
    from neuroagents.batch import executors
    from neuroagents.batch.batches import check_batch_size

    batch = check_batch_size(batch)
    outcomes = []
    for start in range(0, len(tasks), batch):  # over batches
        outcomes += executors.run_batch(tasks[start : start + batch], on_result=on_result)
    return outcomes


@dataclass(frozen=True)
class ReplicatesResult:
    """What :func:`write_replicates` did.

    Attributes
    ----------
    out_dir : Path
    files : tuple of Path
    table : pandas.DataFrame
        Every replicate's time series (``replicate``, ``seed``, ...).
    seeds : list of int
    backend, device : str
    wall_s : float
    """

    out_dir: Path
    files: tuple
    table: object
    seeds: list
    backend: str
    device: str
    wall_s: float


def write_replicates(scenario, n: int, out_dir, *, seed: int | None = None, backend: str = "auto",
                     dtype: str = "float64", force: bool = False, command: list[str] | None = None,
                     progress: TextIO | bool = True, batch: int = REPLICATE_BATCH,
                     posterior=None) -> ReplicatesResult:  # fmt: skip
    """Run ``n`` replicates of ``scenario`` and write :data:`REPLICATE_FILES` into ``out_dir``.

    With ``posterior`` (a calibration's ``posterior.parquet``) replicate ``k`` also takes the values of a particle
    drawn by weight (:func:`replicate_tasks`); ``summary.png`` then shows the 90 % credible band of the readouts.

    The replicates run in lockstep batches of ``batch`` (:func:`run_batches`). Stopped part-way
    (KeyboardInterrupt, a failed replicate), it writes the replicates finished so far (those of the batches
    that ended) and a manifest saying ``interrupted`` or ``failed`` (and each replicate's status), then raises.
    A failed replicate does not stop the others.

    Raises
    ------
    ConfigError
        Before anything runs: a bad ``n``, an output directory that holds files (without ``force``).
    ReplicateRunError
        A replicate failed (the ones before it are written).
    """
    from neuroagents.batch.batches import check_batch_size
    from neuroagents.checkpoint import CHECKPOINT_FILE
    from neuroagents.outputs import check_directory_path, check_out_dir, check_resources, estimate_run, prepare_out_dir
    from neuroagents.progress import RunCounter
    from neuroagents.scenario.checks import check_name
    from neuroagents.scenario.run_files import OUTPUT_FILES

    t0 = time.perf_counter()
    n = check_replicates(n)
    check_batch_size(batch)
    path = Path(out_dir)
    check_name(scenario.scenario.name)
    check_directory_path(path)
    tasks = replicate_tasks(scenario, n, seed=seed, backend=backend, dtype=dtype, posterior=posterior)
    estimate = estimate_run(scenario.model_kwargs(backend=backend, dtype=dtype), duration_min=scenario.duration_min,
                            snapshot_every_min=None, snapshot_mediators=None)  # fmt: skip
    created = not path.exists()
    lock = prepare_out_dir(path, command=command)
    started = False
    try:
        check_out_dir(path, force=force)
        check_resources(estimate, path, gpu=backend == "cupy")
        started = True
        for name in (*OUTPUT_FILES, CHECKPOINT_FILE):  # over an earlier run's outputs (--force): none may mix in
            p = path / name
            if p.is_dir():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
        stream = sys.stderr if progress is True else (progress or None)
        if stream is not None:
            stream.write(f"neuroagents: {scenario.scenario.name}: {n} replicates, seeds {tasks[0].seed} to "
                         f"{tasks[-1].seed}, each {estimate.describe()}\n")  # fmt: skip
        bar = RunCounter(stream, n, f"{scenario.scenario.name} replicates")
        outcomes = []

        def finished(outcome):
            outcomes.append(outcome)
            bar.update(done=sum(o.ok for o in outcomes), failed=sum(not o.ok for o in outcomes))

        status, error = "completed", None
        try:
            run_batches(tasks, batch, on_result=finished)
        except KeyboardInterrupt:
            status, error = "interrupted", {"type": "KeyboardInterrupt", "message": "interrupted"}
        bar.close()
        bad = [o for o in outcomes if not o.ok]
        if bad and error is None:
            status, error = "failed", {**bad[0].error, "message": _failure(tasks, bad[0])}
        good = [o for o in outcomes if o.ok]
        table = replicate_table(good)
        files = _write(path, scenario, tasks, outcomes, table, status, error, command, dtype, time.perf_counter() - t0,
                       posterior)  # fmt: skip
        if status == "interrupted":
            raise KeyboardInterrupt
        if error is not None:
            raise ReplicateRunError(f"{error['message']}; the {len(good)} replicates that completed are in {path} "
                                    "(manifest.json: each replicate's status)")  # fmt: skip
        info = good[0].info
        return ReplicatesResult(path, tuple(files), table, [t.seed for t in tasks], info.get("backend") or "",
                                info.get("device") or "", time.perf_counter() - t0)  # fmt: skip
    finally:
        lock.release()
        if created and not started:  # refused before the first run: leave no directory behind
            with contextlib.suppress(OSError):
                path.rmdir()


def _write(path: Path, scenario, tasks, outcomes, table, status, error, command, dtype, wall_s,
           posterior=None) -> list[Path]:  # fmt: skip
    """The time series, the figure of the mean and its band (when there is a replicate) and the manifest, each
    atomically."""
    from neuroagents.checkpoint import code_identity
    from neuroagents.citation import citation
    from neuroagents.recording import atomic_write, package_versions, write_json
    from neuroagents.scenario.summary import plot_summary

    good = [o for o in outcomes if o.ok]
    files = []
    with atomic_write(path / "timeseries.parquet") as tmp:
        table.to_parquet(tmp, index=False)
    files.append(path / "timeseries.parquet")
    with atomic_write(path / "pain_trace.parquet") as tmp:
        replicate_table(outcomes, "trace").to_parquet(tmp, index=False)
    files.append(path / "pain_trace.parquet")
    if len(table):
        numbers = table.drop(columns=["replicate", "seed"]).groupby("time_min", as_index=False)
        mean = numbers.mean(numeric_only=True)
        bands = None
        if len(good) > 1:  # the 5-95 % band over replicates: a credible band when they come from a posterior
            bands = (numbers.quantile(0.05, numeric_only=True), numbers.quantile(0.95, numeric_only=True),
                     "90 % credible band (posterior draws)" if posterior is not None else "5-95 % of replicates")
        s = scenario.scenario
        what = f"{len(good)} posterior draws" if posterior is not None else f"{len(good)} replicates"
        title = (f"{s.name}: {s.species} ({s.sex}), mean of {what} (seeds {good[0].table['seed'][0]}"
                 f" to {good[-1].table['seed'][0]})" + ("" if status == "completed" else f" — {status.upper()}"))
        with atomic_write(path / "summary.png") as tmp:
            plot_summary(mean, tmp, title=title, bands=bands)
        files.append(path / "summary.png")
    info = good[0].info if good else {}
    runs = [{"replicate": t.replicate, "seed": t.seed, "status": "pending"} for t in tasks]
    for t in tasks:  # over replicates drawn from a posterior: their values
        if t.params:
            runs[t.replicate]["values"] = t.params
    for o in outcomes:  # over replicates run
        k = next(t.replicate for t in tasks if t.run_id == o.run_id)
        runs[k].update(status="completed" if o.ok else "failed", wall_s=o.info.get("wall_s"), host=o.info.get("host"))
        if not o.ok:
            runs[k]["error"] = {key: o.error.get(key) for key in ("type", "message", "traceback")}
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    manifest = {
        "job": f"neuroagents scenario {scenario.scenario.name!r}, {len(tasks)} replicates",
        "description": scenario.scenario.description,
        "status": status,
        "error": error,
        "command": command,
        "updated_utc": now,
        "files": list(scenario.files),
        "overrides": list(scenario.overrides),
        "seed": tasks[0].seed,
        "replicates": len(tasks),
        "replicates_completed": len(good),
        "seed_rule": SEED_RULE,
        "posterior": None if posterior is None else str(posterior),
        "seeds": [t.seed for t in tasks],
        "runs": runs,
        "backend": info.get("backend"),
        "device": info.get("device"),
        "dtype": dtype,
        "duration_min": scenario.duration_min,
        "wall_s": round(wall_s, 3),
        "scenario": scenario.resolved(),
        "outputs": [f.name for f in files] + ["manifest.json"],
        "versions": package_versions(gpu=info.get("backend") == "cupy"),
        "code": code_identity(),
        "citation": citation(),
        "platform": platform.platform(),
    }
    write_json(path / "manifest.json", manifest)
    return [*files, path / "manifest.json"]
