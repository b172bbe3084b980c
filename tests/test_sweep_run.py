"""Running sweeps: resumable without duplicates or gaps, failures recorded and retried, the same on Dask."""

from __future__ import annotations

import json
import time

import pandas as pd
import pytest

from neuroagents.batch import executors
from neuroagents.batch.executors import DaskExecutor, InProcessExecutor
from neuroagents.batch.store import SweepStore
from neuroagents.batch.sweep import run_sweep
from neuroagents.testing import run_cli

SWEEP = """
[sweep]
name = "tiny"
scenario = "nerve_injury"
set = ["scenario.duration_min=6", "tissue.width_um=160", "tissue.height_um=120", "cells.initial.mast_cell=4",
       "cells.initial.macrophage=6", "cells.initial.neuron=6", "time.record_every_min=3"]
replicates = 2
base_seed = 3
backend = "numpy"

[design]
method = "grid"

[[parameters]]
key = "cells.macrophage.speed_um_per_min"
values = [1.0, 4.0]

[[parameters]]
key = "injury.injured_fraction"
values = [0.2, 0.8]
"""
RUN_IDS = [f"p000{p}-r0{r}" for p in range(4) for r in range(2)]


@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "tiny.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def clean(sweep_file, tmp_path_factory):
    """The sweep run once, uninterrupted, in this process."""
    out = tmp_path_factory.mktemp("clean") / "out"
    r = run_sweep(sweep_file, out, progress=False)
    assert len(r.done) == 8 and not r.failed
    return SweepStore(out).results()


def test_results_read_back_as_one_table_with_run_and_parameter_columns(clean, sweep_file, tmp_path):
    assert list(clean.columns[:6]) == ["run_id", "point", "replicate", "seed", "cells.macrophage.speed_um_per_min",
                                       "injury.injured_fraction"]  # fmt: skip
    assert sorted(clean["run_id"].unique()) == RUN_IDS
    assert (clean.groupby("run_id")["time_min"].apply(list) == pd.Series([[0.0, 3.0, 6.0]] * 8, index=RUN_IDS)).all()
    last = clean.groupby("run_id").tail(1).set_index("run_id")
    assert last.loc["p0001-r00", "injury.injured_fraction"] == 0.8 and last.loc["p0001-r01", "seed"] == 4
    assert last.loc["p0001-r00", "n_neuron_injured"] > last.loc["p0000-r00", "n_neuron_injured"]
    # replicates differ by their seed, points by their parameters
    assert not last.loc["p0000-r00"].equals(last.loc["p0000-r01"])


def test_an_interrupted_sweep_resumes_with_no_duplicate_and_no_missing_run(sweep_file, clean, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = executors.run_task
    calls = []

    def stop_at_the_fourth(task):
        calls.append(task.run_id)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(task)

    monkeypatch.setattr(executors, "run_task", stop_at_the_fourth)
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep_file, out, progress=False)
    assert SweepStore(out).finished() == set(RUN_IDS[:3])
    (out / "results" / ".p0003-r00.parquet.x1y2.tmp").write_bytes(b"half a file from a killed write")
    monkeypatch.undo()

    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(out)])
    assert rc == 0, err
    assert "ran      5 now in this process, 3 done before" in stdout
    table = pd.read_parquet(out / "results")  # the directory as one table; the hidden temp file is not read
    assert table.groupby("run_id").size().to_dict() == dict.fromkeys(RUN_IDS, 3)
    pd.testing.assert_frame_equal(SweepStore(out).results(), clean, check_exact=True)

    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(out)])  # a third time: nothing left
    assert rc == 0 and "ran      0 now (nothing to run), 8 done before" in stdout


def test_a_failed_run_is_recorded_retried_once_and_never_dropped(sweep_file, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real = executors.run_task
    seen: dict = {}

    def flaky(task):
        seen[task.run_id] = seen.get(task.run_id, 0) + 1
        if task.run_id == "p0002-r01" or (task.run_id == "p0001-r00" and seen[task.run_id] == 1):
            raise MemoryError(f"out of memory in {task.run_id}")
        return real(task)

    monkeypatch.setattr(executors, "run_task", lambda task: _as_outcome(flaky, task))
    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(out)])
    assert rc == 2
    line = [ln for ln in err.splitlines() if ": error: " in ln]
    assert line == ["neuroagents sweep: error: 1 of 8 runs failed every attempt (e.g. p0002-r01: MemoryError: out of "
                    f"memory in p0002-r01); their errors are in {out / 'runs'}; the other runs are written; run the "
                    "same command again to retry them"]  # fmt: skip
    assert "1 succeeded on a retry" in stdout
    store = SweepStore(out)
    assert store.finished() == set(RUN_IDS) - {"p0002-r01"}
    failed = store.attempts("p0002-r01")
    assert failed["status"] == "failed" and failed["attempts"] == 2 and len(failed["errors"]) == 2
    assert failed["errors"][0]["type"] == "MemoryError" and "flaky" in failed["errors"][0]["traceback"]
    retried = store.attempts("p0001-r00")
    assert retried["status"] == "done" and retried["attempts"] == 2 and len(retried["errors"]) == 1
    runs = store.runs().set_index("run_id")
    assert runs.loc["p0002-r01", "status"] == "failed" and runs.loc["p0000-r00", "status"] == "done"

    monkeypatch.undo()  # the cause is gone: a rerun runs only the failed run
    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(out)])
    assert rc == 0, err
    assert "ran      1 now" in stdout and store.attempts("p0002-r01")["attempts"] == 3
    assert store.finished() == set(RUN_IDS)


def _as_outcome(fn, task):
    """Run ``fn(task)`` as run_task does: an exception becomes the run's recorded error."""
    import traceback

    try:
        return fn(task)
    except Exception as exc:
        err = {"type": type(exc).__name__, "message": str(exc), "traceback": traceback.format_exc()}
        return executors.RunOutcome(task.run_id, None, err, {"wall_s": 0.0})


def test_a_different_sweep_is_not_mixed_into_a_sweep_directory(sweep_file, clean, tmp_path):
    out = tmp_path / "out"
    rc, _, err = run_cli(["sweep", str(sweep_file), "--out", str(out)])
    assert rc == 0, err
    other = tmp_path / "other.toml"
    other.write_text(SWEEP.replace("base_seed = 3", "base_seed = 4"), encoding="utf-8")
    rc, _, err = run_cli(["sweep", str(other), "--out", str(out)])
    assert rc == 2 and "it holds a different sweep (base_seed differs)" in err and "--force" in err
    rc, stdout, err = run_cli(["sweep", str(other), "--out", str(out), "--force"])
    assert rc == 0 and "ran      8 now" in stdout
    assert json.loads((out / "sweep.json").read_text())["sweep"]["base_seed"] == 4


@pytest.mark.slow
def test_the_same_seeds_give_the_same_results_on_a_two_worker_dask_cluster(sweep_file, clean, tmp_path):
    out = tmp_path / "dask"
    r = run_sweep(sweep_file, out, executor=DaskExecutor(workers=2), progress=False)
    assert r.executor == "on a local Dask cluster of 2 worker processes" and len(r.done) == 8
    pd.testing.assert_frame_equal(SweepStore(out).results(), clean, check_exact=True)
    hosts = {SweepStore(out).attempts(i)["pid"] for i in RUN_IDS}
    assert len(hosts) == 2  # both workers ran some


@pytest.mark.slow
def test_a_sweep_reaches_an_existing_cluster_by_its_scheduler_address(sweep_file, clean, tmp_path):
    from distributed import LocalCluster

    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(tmp_path / "o"), "--scheduler",
                                   cluster.scheduler_address])  # fmt: skip
    assert rc == 0, err
    assert f"on the Dask cluster at {cluster.scheduler_address}" in stdout
    pd.testing.assert_frame_equal(SweepStore(tmp_path / "o").results(), clean, check_exact=True)


def test_executor_options_are_checked(sweep_file, tmp_path):
    rc, _, err = run_cli(["sweep", str(sweep_file), "--workers", "0", "--out", str(tmp_path / "o")])
    assert rc == 2 and "--workers = 0: must be an integer >= 1" in err
    rc, _, err = run_cli(["sweep", str(sweep_file), "--retries", "-1", "--out", str(tmp_path / "o")])
    assert rc == 2 and "--retries = -1: must be an integer >= 0" in err
    assert isinstance(executors.make_executor(), InProcessExecutor)


def test_sigterm_stops_a_sweep_like_ctrl_c():
    """Batch schedulers send SIGTERM before killing a job: the sweep command turns it into a clean stop."""
    import os
    import signal

    from neuroagents.batch.commands import sigterm_as_interrupt

    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(KeyboardInterrupt), sigterm_as_interrupt():
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)  # the handler raises before this ends
    assert signal.getsignal(signal.SIGTERM) == before
