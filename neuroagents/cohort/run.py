"""Run a cohort: draw its individuals, validate each one's scenario, run them in batches, write one row each.

:func:`run_cohort` is what ``neuroagents cohort COHORT.toml`` does:

1. read and validate the cohort file, draw the individuals (:mod:`~neuroagents.cohort.sample`) and validate each
   one's scenario (nothing runs if any is refused: the message names the individual and its values);
2. run them as a sweep runs its runs (:func:`neuroagents.batch.sweep.run_tasks`): in this process or on Dask, in
   lockstep batches of individuals of one structure (``--batch N``; individuals differ only in numbers and sex, so
   a cohort is usually one structure), each finished run written at once, resumable;
3. write ``individuals.parquet``: one row per individual that finished, its sex, seed and drawn values, and each
   readout at each read time (``withdrawal_threshold_g@end``, ``pain_ongoing_hz@1440min``).

The cohort directory is a sweep directory (``sweep.json``, ``design.parquet``: the drawn individuals, ``results/``
with one time series per individual, ``runs/``), so :class:`~neuroagents.batch.store.SweepStore` reads it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from neuroagents.batch.batches import check_batch_size, default_batch_size
from neuroagents.batch.design import document_with, toml_literal
from neuroagents.batch.executors import RunTask
from neuroagents.batch.store import SweepStore, sweep_text
from neuroagents.batch.sweep import SweepResult, run_tasks
from neuroagents.cohort.sample import individuals
from neuroagents.cohort.spec import CohortSpec, Variability, load_cohort
from neuroagents.errors import ConfigError
from neuroagents.recording import atomic_write
from neuroagents.scenario.checks import check_name

__all__ = ["CohortResult", "base_document", "cohort_table", "plan_cohort", "readout_column", "run_cohort",
           "subject_scenario"]

TABLE = "individuals.parquet"
"""The cohort's table in its directory: one row per finished individual."""


@dataclass
class CohortResult:
    """What :func:`run_cohort` did: the runs (as a sweep's) and the table written.

    Attributes
    ----------
    runs : SweepResult
    table : pandas.DataFrame
        One row per finished individual (:func:`cohort_table`).
    path : Path
        Where the table is (``individuals.parquet``).
    """

    runs: SweepResult
    table: object
    path: Path


def _where(spec: CohortSpec, what: str) -> str:
    return f"{spec.where}, {what} (in scenario {Path(spec.scenario_path).stem})"


def subject_scenario(spec: CohortSpec, doc0: dict, row: dict, drugs=(), arm: str | None = None) -> dict:
    """The resolved, validated scenario of one individual: ``doc0`` with its sex, seed and values (``row``, a row of
    :func:`~neuroagents.cohort.sample.individuals`) and, in a trial, its arm's ``drugs`` after the scenario's own.

    Raises
    ------
    ConfigError
        The scenario's own message, naming the individual (and its arm) and its values.
    """
    values = {"scenario.sex": row["sex"], "scenario.seed": row["seed"], **{k: row[k] for k in spec.keys}}
    shown = ", ".join(f"{k}={toml_literal(v)}" for k, v in values.items())
    who = f"individual {row['individual']}" + (f" in arm {arm}" if arm is not None else "")
    where = _where(spec, f"{who} ({shown}); a narrower spread may keep it in range")
    extra = {"drugs": [*doc0.get("drugs", []), *(dict(d) for d in drugs)]} if drugs else None
    return document_with(doc0, values, scenario_path=spec.scenario_path, sets=spec.set, where=where, extra=extra)


def base_document(spec: CohortSpec) -> dict:
    """The cohort's scenario with its fixed overrides, resolved (or the scenario's error, naming ``cohort.set``)."""
    from neuroagents.scenario import load_scenario

    try:
        return load_scenario(spec.scenario_path, spec.set).resolved()
    except ConfigError as exc:
        raise ConfigError(exc.key, exc.value, exc.allowed, _where(spec, "cohort.set")) from None


def plan_cohort(spec: CohortSpec) -> tuple[object, list[RunTask], dict]:
    """The individuals (a table), one task per individual, and the record that defines the cohort.

    Raises
    ------
    ConfigError
        When the scenario, a fixed override or an individual's values are refused (with the scenario's message
        and the individual named).
    """
    doc0 = base_document(spec)
    people = individuals(spec, doc0)
    tasks = []
    for row in people.to_dict("records"):  # over individuals: one validated scenario each
        params = {"sex": row["sex"], **{k: row[k] for k in spec.keys}}
        tasks.append(RunTask(row["run_id"], row["individual"], 0, row["seed"], params,
                             subject_scenario(spec, doc0, row), spec.backend, spec.dtype))  # fmt: skip
    record = {"kind": "cohort", "spec": spec.to_dict(), "base_scenario": doc0, "n_runs": len(tasks)}
    return people, tasks, record


def readout_column(name: str, at) -> str:
    """The column of readout ``name`` read at ``at`` in the cohort's table.

    Examples
    --------
    >>> readout_column("withdrawal_threshold_g", "end"), readout_column("pain_ongoing_hz", 1440.0)
    ('withdrawal_threshold_g@end', 'pain_ongoing_hz@1440min')
    """
    return f"{name}@{at}" if isinstance(at, str) else f"{name}@{float(at):g}min"


def cohort_table(out_dir, spec: CohortSpec | None = None):
    """One row per finished individual of the cohort in ``out_dir``: its draws and readouts (pandas).

    Parameters
    ----------
    out_dir : str or Path
    spec : CohortSpec, optional
        Default: the one recorded in the directory.
    """
    import pandas as pd

    from neuroagents.batch.analyze import readout_values

    store = SweepStore(out_dir)
    if spec is None:  # the one recorded, JSON lists back to tuples
        d = dict(store.record()["spec"])
        d["variability"] = tuple(Variability(**v) for v in d["variability"])
        d = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        spec = CohortSpec(where=str(out_dir), **d)
    people = store.design()
    results = store.results()
    table = people.iloc[0:0].copy() if results.empty else people[people["run_id"].isin(set(results["run_id"]))]
    table = table.reset_index(drop=True)
    for at in spec.at:  # over read times
        if results.empty:
            for name in spec.readouts:  # over readouts
                table[readout_column(name, at)] = pd.Series(dtype=float)
            continue
        values = readout_values(results, list(spec.readouts), at)
        values = values.rename(columns={n: readout_column(n, at) for n in spec.readouts})
        table = table.merge(values.drop(columns=["point", "replicate"]), on="run_id", how="left")
    return table


def run_cohort(source, out_dir=None, *, executor=None, force: bool = False, retries: int = 1, progress=True,
               batch: int | None = None) -> CohortResult:  # fmt: skip
    """Run the cohort file ``source`` into ``out_dir`` (default ``runs/cohorts/<name>``) and write its table.

    Parameters are those of :func:`neuroagents.batch.sweep.run_sweep`. Individual ``k`` gives the table the
    same scenario (its sex, seed and values) gives run alone, whatever the batch size and the executor.
    """
    t0 = time.perf_counter()
    spec = source if isinstance(source, CohortSpec) else load_cohort(source)
    batch = default_batch_size(spec.backend) if batch is None else check_batch_size(batch)
    if out_dir is None:
        check_name(spec.name)
    out = Path(out_dir) if out_dir is not None else Path("runs") / "cohorts" / spec.name
    people, tasks, record = plan_cohort(spec)
    text = sweep_text(spec.where) if not isinstance(source, CohortSpec) else None
    runs = run_tasks(out, tasks, record, people, text, label=f"cohort {spec.name}",
                     command=["neuroagents", "cohort", str(spec.where)], executor=executor, force=force,
                     retries=retries, progress=progress, batch=batch, t0=t0)  # fmt: skip
    table = cohort_table(out, spec)
    path = out / TABLE
    with atomic_write(path) as tmp:
        table.to_parquet(tmp, index=False)
    return CohortResult(runs, table, path)
