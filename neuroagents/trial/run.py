"""Run a virtual trial: draw the cohort, allocate its subjects to the arms, run them, analyse, write the outputs.

:func:`run_trial` is what ``neuroagents trial TRIAL.toml`` does:

1. draw the cohort's individuals (:mod:`neuroagents.cohort.sample`: the same individuals as the cohort file with
   the same ``[cohort]`` and ``[[variability]]`` would give) and allocate them to the arms (:func:`allocate`);
2. validate every subject's scenario (its individual's sex, seed and values, its arm's drugs after the
   scenario's own) before anything runs;
3. run the subjects as a sweep runs its runs (lockstep batches, Dask, resumable: a rerun skips finished subjects);
4. write, in the trial's directory (default ``runs/trials/<name>``): ``subjects.parquet`` (one row per subject:
   arm, sex, drawn values, each endpoint's baseline, visit, change, improvement, responders and time to response),
   ``arms.csv``, ``comparisons.csv`` (:mod:`neuroagents.trial.analysis`), ``forest.png`` and ``time_courses.png``.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from neuroagents.batch.batches import check_batch_size, default_batch_size
from neuroagents.batch.executors import RunTask
from neuroagents.batch.store import SweepStore, sweep_text
from neuroagents.batch.sweep import SweepResult, run_tasks
from neuroagents.cohort.run import base_document, subject_scenario
from neuroagents.cohort.sample import individuals
from neuroagents.errors import ConfigError
from neuroagents.recording import atomic_write
from neuroagents.scenario.checks import check_name
from neuroagents.trial.analysis import arm_summary, compare_arms, draw_forest, draw_time_courses, endpoint_values
from neuroagents.trial.spec import TrialSpec, load_trial, runs_part

__all__ = ["TrialResult", "allocate", "plan_trial", "run_trial", "trial_outputs"]


@dataclass
class TrialResult:
    """What :func:`run_trial` did and wrote.

    Attributes
    ----------
    runs : SweepResult
    subjects, arms, comparisons : pandas.DataFrame
    files : dict
        ``{what: path}`` of the files written.
    """

    runs: SweepResult
    subjects: object
    arms: object
    comparisons: object
    files: dict


def allocate(sexes, n_arms: int, seed: int) -> np.ndarray:
    """The arm index of each subject: balanced within each sex, randomly.

    The subjects of each sex are put in a random order (one permutation per sex, from the trial's seed), the two
    orders are joined, and the arms are dealt in turn along it: each arm gets ``n / n_arms`` subjects to within one,
    and so does each sex within each arm (stratified permuted allocation).

    Examples
    --------
    >>> a = allocate(["male"] * 6 + ["female"] * 6, 3, seed=1)
    >>> sorted(np.bincount(a[:6]).tolist()), sorted(np.bincount(a[6:]).tolist())
    ([2, 2, 2], [2, 2, 2])
    """
    sexes = np.asarray(sexes)
    rng = np.random.default_rng(np.random.SeedSequence([seed, zlib.crc32(b"allocation")]))
    order = np.concatenate([rng.permutation(np.flatnonzero(sexes == s)) for s in ("female", "male")])
    arms = np.empty(sexes.size, dtype=np.int64)
    arms[order] = np.arange(order.size) % n_arms
    return arms


def plan_trial(spec: TrialSpec) -> tuple[object, list[RunTask], dict]:
    """The subjects (a table: the individuals with their arm), one task each, and the record of the trial.

    Raises
    ------
    ConfigError
        When the scenario, an override, an arm's drugs or a subject's values are refused (the subject named).
    """
    c = spec.cohort
    doc0 = base_document(c)
    people = individuals(c, doc0)
    arm_index = allocate(people["sex"].to_numpy(), len(spec.arms), spec.seed)
    people.insert(4, "arm", [spec.arms[i].name for i in arm_index])
    tasks = []
    for row, i in zip(people.to_dict("records"), arm_index, strict=True):  # over subjects: one scenario each
        arm = spec.arms[i]
        params = {"arm": arm.name, "sex": row["sex"], **{k: row[k] for k in c.keys}}
        scenario = subject_scenario(c, doc0, row, drugs=arm.drugs, arm=arm.name)
        tasks.append(RunTask(row["run_id"], row["individual"], 0, row["seed"], params, scenario, c.backend,
                             c.dtype))  # fmt: skip
    _check_visits(spec, doc0)
    record = {"kind": "trial", "spec": spec.runs_record(), "base_scenario": doc0, "n_runs": len(tasks)}
    return people, tasks, record


def _check_visits(spec: TrialSpec, doc0: dict) -> None:
    """Refuse an endpoint read after the runs end (its value would silently be the last record's)."""
    meta = doc0["scenario"]
    end = meta["duration_min"] if meta.get("duration_min") is not None else meta["duration_days"] * 1440.0
    for i, e in enumerate(spec.endpoints):  # over endpoints (a handful)
        if e.visit_min > end + 1e-9:
            raise ConfigError(f"endpoints[{i}].visit_min", e.visit_min, f"a time within the runs' {end:g} min (the "
                              "scenario's duration, with cohort.set): the runs end there", spec.where)  # fmt: skip


def _adopt_older_record(out: Path, record: dict) -> None:
    """A trial directory recorded with its whole spec (before :meth:`TrialSpec.runs_record`): keep only what
    defines its runs, so it resumes and re-analyses (nothing is rewritten when the runs differ)."""
    import json

    from neuroagents.batch.store import first_difference
    from neuroagents.recording import write_json

    meta = out / "sweep.json"
    if not meta.is_file():
        return
    data = json.loads(meta.read_text(encoding="utf-8"))
    old = data.get("sweep") or {}
    if old.get("kind") != "trial" or "endpoints" not in (old.get("spec") or {}):
        return
    adopted = {**old, "spec": runs_part(old["spec"])}
    if first_difference(adopted, json.loads(json.dumps(record))) is None:
        write_json(meta, {**data, "sweep": adopted})


def trial_outputs(out_dir, spec: TrialSpec) -> tuple[object, object, object, dict]:
    """Analyse the finished subjects in ``out_dir`` and write the trial's tables and figures there.

    Returns
    -------
    subjects, arms, comparisons : pandas.DataFrame
    files : dict
    """
    out = Path(out_dir)
    store = SweepStore(out)
    people, results = store.design(), store.results()
    if results.empty:
        raise ConfigError("trial", str(out), "a trial directory with at least one finished subject (none finished: "
                          "see the errors in its runs/ directory)")  # fmt: skip
    subjects = people[people["run_id"].isin(set(results["run_id"]))].reset_index(drop=True)
    for e in spec.endpoints:  # over endpoints
        subjects = subjects.merge(endpoint_values(results, e, spec.thresholds), on="run_id", how="left")
    arms = arm_summary(subjects, spec)
    comparisons = compare_arms(subjects, spec, results)
    files = {"subjects": out / "subjects.parquet", "arms": out / "arms.csv", "comparisons": out / "comparisons.csv",
             "forest": out / "forest.png", "time_courses": out / "time_courses.png"}  # fmt: skip
    with atomic_write(files["subjects"]) as tmp:
        subjects.to_parquet(tmp, index=False)
    for what, table in (("arms", arms), ("comparisons", comparisons)):  # over the two tables
        with atomic_write(files[what]) as tmp:
            table.to_csv(tmp, index=False, float_format="%.6g")
    with atomic_write(files["forest"]) as tmp:
        draw_forest(comparisons, spec, tmp)
    with atomic_write(files["time_courses"]) as tmp:
        draw_time_courses(results, subjects, spec, tmp)
    return subjects, arms, comparisons, files


def run_trial(source, out_dir=None, *, executor=None, force: bool = False, retries: int = 1, progress=True,
              batch: int | None = None) -> TrialResult:  # fmt: skip
    """Run the trial file ``source`` into ``out_dir`` (default ``runs/trials/<name>``), analyse it, write it all.

    Parameters are those of :func:`neuroagents.batch.sweep.run_sweep`. Each subject gives the table its own
    scenario gives run alone, whatever the batch size and the executor; the same file gives the same tables.
    """
    t0 = time.perf_counter()
    spec = source if isinstance(source, TrialSpec) else load_trial(source)
    batch = default_batch_size(spec.cohort.backend) if batch is None else check_batch_size(batch)
    if out_dir is None:
        check_name(spec.name)
    out = Path(out_dir) if out_dir is not None else Path("runs") / "trials" / spec.name
    people, tasks, record = plan_trial(spec)
    _adopt_older_record(out, record)
    text = sweep_text(spec.where) if not isinstance(source, TrialSpec) else None
    runs = run_tasks(out, tasks, record, people, text, label=f"trial {spec.name}",
                     command=["neuroagents", "trial", str(spec.where)], executor=executor, force=force,
                     retries=retries, progress=progress, batch=batch, t0=t0)  # fmt: skip
    subjects, arms, comparisons, files = trial_outputs(out, spec)
    return TrialResult(runs, subjects, arms, comparisons, files)
