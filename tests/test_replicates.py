"""Replicates and batches: ``neuroagents run --replicates N`` equals N solo runs with seeds seed + k, and a sweep
run in batches of runs of one structure gives the same table as one run at a time, losing no finished run when
a batch is stopped part-way."""

from __future__ import annotations

import json
import os
import signal
import time

import pandas as pd
import pytest

from neuroagents.batch import executors
from neuroagents.batch.batches import default_batch_size, group_batches, structure_key
from neuroagents.batch.replicates import ReplicateRunError, run_replicates
from neuroagents.batch.spec import load_sweep
from neuroagents.batch.store import SweepStore
from neuroagents.batch.sweep import plan_sweep, run_sweep
from neuroagents.cli import main
from neuroagents.testing import run_cli

TINY = ["nerve_injury", "--hours", "0.25", "--backend", "numpy", "--set", "tissue.width_um=160", "--set",
        "tissue.height_um=120", "--set", "cells.initial.mast_cell=4", "--set", "cells.initial.macrophage=6", "--set",
        "cells.initial.neuron=6", "--set", "time.record_every_min=5"]  # fmt: skip
"""A few steps of a small nerve-injury patch: 3 cell steps of 5 min, records at 0, 5, 10 and 15 min."""
OVERRIDES = [s for i, s in enumerate(TINY) if i and TINY[i - 1] == "--set"] + ["scenario.duration_min=15.0"]

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
key = "tissue.width_um"
values = [160.0, 200.0]
"""
RUN_IDS = [f"p000{p}-r0{r}" for p in range(4) for r in range(2)]


@pytest.fixture(scope="module")
def replicates(tmp_path_factory):
    """Three replicates from seed 5, through the command line."""
    out = tmp_path_factory.mktemp("reps") / "out"
    rc, stdout, err = run_cli(["run", *TINY, "--seed", "5", "--replicates", "3", "--out", str(out)])
    assert rc == 0, err
    return out, stdout


def test_replicate_k_equals_a_solo_run_with_seed_plus_k(replicates, tmp_path):
    out, stdout = replicates
    table = pd.read_parquet(out / "timeseries.parquet")
    assert list(table.columns[:2]) == ["replicate", "seed"]
    assert table["replicate"].dtype.kind == "i" and table.groupby("replicate")["seed"].first().tolist() == [5, 6, 7]
    assert table.groupby("replicate").size().tolist() == [4, 4, 4]
    rc, _, err = run_cli(["run", *TINY, "--seed", "6", "--out", str(tmp_path / "solo")])
    assert rc == 0, err
    solo = pd.read_parquet(tmp_path / "solo" / "timeseries.parquet")
    one = table[table["replicate"] == 1].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(one, solo, check_exact=True)
    zero = table[table["replicate"] == 0].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    assert not zero.equals(one)  # the seeds matter: the replicates are not copies
    trace = pd.read_parquet(out / "pain_trace.parquet")  # the pain traces, stacked the same way
    solo_trace = pd.read_parquet(tmp_path / "solo" / "pain_trace.parquet")
    assert list(trace.columns[:2]) == ["replicate", "seed"] and len(solo_trace) > len(solo)
    assert trace.groupby("replicate")["seed"].first().tolist() == [5, 6, 7]
    assert trace.groupby("replicate").size().tolist() == [len(solo_trace)] * 3
    one_trace = trace[trace["replicate"] == 1].drop(columns=["replicate", "seed"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(one_trace, solo_trace, check_exact=True)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["seeds"] == [5, 6, 7] and manifest["replicates"] == 3
    assert manifest["backend"] == "numpy" and manifest["scenario"]["scenario"]["seed"] == 5
    assert (out / "summary.png").read_bytes()[:4] == b"\x89PNG"
    assert "3 replicates, seeds 5 to 7" in stdout


def test_one_replicate_is_the_plain_run_byte_for_byte(tmp_path):
    rc, _, err = run_cli(["run", *TINY, "--out", str(tmp_path / "a")])
    assert rc == 0, err
    rc, _, err = run_cli(["run", *TINY, "--replicates", "1", "--out", str(tmp_path / "b")])
    assert rc == 0, err
    assert (tmp_path / "a" / "timeseries.parquet").read_bytes() == (tmp_path / "b" / "timeseries.parquet").read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == sorted(p.name for p in (tmp_path / "b").iterdir())


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--replicates", "0"], "--replicates = 0: must be an integer >= 1"),
        (["--replicates", "-2"], "--replicates = -2: must be an integer >= 1"),
        (["--replicates", "3", "--checkpoint-every", "60"], "--checkpoint-every = 60.0: must be left out with "
                                                            "--replicates N > 1"),
        (["--replicates", "2", "--snapshot-every", "5"], "--snapshot-every = 5.0: must be left out with --replicates"),
        (["--replicates", "2", "--snapshot-mediators", "TNF"], "--snapshot-mediators = 'TNF': must be left out"),
        (["--replicates", "2", "--batch", "0"], "--batch = 0: must be an integer >= 1"),
        (["--batch", "4"], "--batch = 4: must be given with --replicates N > 1 only"),
    ],
)
def test_bad_replicates_and_options_replicates_do_not_take_are_one_line(tmp_path, extra, message):
    rc, _, err = run_cli(["run", *TINY, *extra, "--out", str(tmp_path / "o")])
    assert rc == 2
    assert err.count("\n") == 1 and err.startswith("neuroagents run: error: ") and message in err, err
    assert not (tmp_path / "o").exists()


def test_a_word_for_replicates_is_a_usage_error(tmp_path, capsys):
    assert main(["run", *TINY, "--replicates", "many", "--out", str(tmp_path / "o")]) == 2
    assert "argument --replicates: invalid int value: 'many'" in capsys.readouterr().err


@pytest.mark.parametrize("stop", [MemoryError, KeyboardInterrupt, "SIGTERM"])
def test_a_stopped_run_of_replicates_keeps_those_that_finished(tmp_path, monkeypatch, stop):
    real, calls = executors.run_task, []

    def second_fails(task):
        calls.append(task.replicate)
        if task.replicate == 1:
            if stop == "SIGTERM":  # what a batch scheduler sends before it kills a job
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # the handler raises before this ends
            if stop is KeyboardInterrupt:
                raise KeyboardInterrupt
            return executors.RunOutcome(task.run_id, None, {"type": "MemoryError", "message": "no memory",
                                                            "traceback": ""}, {"wall_s": 0.0})  # fmt: skip
        return real(task)

    monkeypatch.setattr(executors, "run_task", second_fails)
    out = tmp_path / "o"
    rc, _, err = run_cli(["run", *TINY, "--replicates", "3", "--batch", "1", "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text())
    table = pd.read_parquet(out / "timeseries.parquet")
    solo = run_replicates("nerve_injury", 1, seed=1, overrides=OVERRIDES, backend="numpy")  # calls: one more
    pd.testing.assert_frame_equal(table[table["replicate"] == 0], solo, check_exact=True)
    if stop is not MemoryError:  # Ctrl-C or SIGTERM stops the run; what completed is written
        assert rc == 130 and manifest["status"] == "interrupted" and calls[:2] == [0, 1]
        assert table["replicate"].unique().tolist() == [0]
        assert [r["status"] for r in manifest["runs"]] == ["completed", "pending", "pending"]
    else:  # a failed replicate does not stop the others
        assert rc == 2 and manifest["status"] == "failed" and calls[:3] == [0, 1, 2]
        assert table["replicate"].unique().tolist() == [0, 2]
        assert [r["status"] for r in manifest["runs"]] == ["completed", "failed", "completed"]
        assert manifest["runs"][1]["error"]["type"] == "MemoryError"
        assert "replicate 1 (seed 2) failed: MemoryError: no memory; the 2 replicates that completed are in" in err
    rc, _, err = run_cli(["run", *TINY, "--replicates", "3", "--out", str(out)])
    assert rc == 2 and "pass --force" in err  # not resumed: run again with --force


def test_run_replicates_returns_the_table_and_names_a_failed_replicate(monkeypatch):
    overrides = [*OVERRIDES, "scenario.duration_min=10"]
    table = run_replicates("nerve_injury", 2, seed=11, overrides=overrides, backend="numpy")
    assert table.groupby("replicate")["seed"].first().to_dict() == {0: 11, 1: 12}
    assert table["time_min"].max() == 10.0

    def broken(task):
        return executors.RunOutcome(task.run_id, None, {"type": "ValueError", "message": "bad", "traceback": ""}, {})

    monkeypatch.setattr(executors, "run_task", broken)
    with pytest.raises(ReplicateRunError, match=r"replicate 0 \(seed 11\) failed: ValueError: bad"):
        run_replicates("nerve_injury", 2, seed=11, overrides=overrides, backend="numpy", batch=1)
    monkeypatch.undo()
    fail_in_a_step([1], ValueError("bad step"), monkeypatch)  # in lockstep: the second replicate's second step
    with pytest.raises(ReplicateRunError, match=r"replicate 1 \(seed 12\) failed: ValueError: bad step"):
        run_replicates("nerve_injury", 2, seed=11, overrides=overrides, backend="numpy")


def fail_in_a_step(which, exc, monkeypatch) -> list:
    """Make the models built ``which``-th (0-based, in this test) raise ``exc`` in the sense phase of their second
    step, wherever they run (alone or in a lockstep batch); returns the models built."""
    from neuroagents.model import NeuroImmuneModel
    from neuroagents.scenario.schema import Scenario

    built, real_build, real_sense = [], Scenario.build_model, NeuroImmuneModel._phase_sense

    def build(self, **kwargs):
        model = real_build(self, **kwargs)
        model.fails = len(built) in which
        built.append(model)
        return model

    def sense(self, dt):
        if getattr(self, "fails", False) and self.steps >= 2:
            raise exc
        return real_sense(self, dt)

    monkeypatch.setattr(Scenario, "build_model", build)
    monkeypatch.setattr(NeuroImmuneModel, "_phase_sense", sense)
    return built


@pytest.mark.parametrize("stop", [MemoryError, KeyboardInterrupt])
def test_a_lockstep_batch_of_replicates_loses_at_most_its_own_runs(tmp_path, monkeypatch, stop):
    """Batches of 2: replicates 0-1, then 2-3. The fourth replicate fails in a step: with an error, only it fails
    (the third, its batch partner, goes on and equals its solo run); with Ctrl-C, the batch in progress is lost and
    the first batch is written."""
    solo = run_replicates("nerve_injury", 4, seed=1, overrides=OVERRIDES, backend="numpy", batch=1)
    fail_in_a_step([3], stop(), monkeypatch)
    out = tmp_path / "o"
    rc, _, err = run_cli(["run", *TINY, "--replicates", "4", "--batch", "2", "--out", str(out)])
    manifest = json.loads((out / "manifest.json").read_text())
    table = pd.read_parquet(out / "timeseries.parquet")
    kept = [0, 1] if stop is KeyboardInterrupt else [0, 1, 2]
    assert table["replicate"].unique().tolist() == kept
    pd.testing.assert_frame_equal(table.reset_index(drop=True),
                                  solo[solo["replicate"].isin(kept)].reset_index(drop=True), check_exact=True)
    if stop is KeyboardInterrupt:
        assert rc == 130 and manifest["status"] == "interrupted"
        assert [r["status"] for r in manifest["runs"]] == ["completed", "completed", "pending", "pending"]
    else:
        assert rc == 2 and manifest["status"] == "failed"
        assert [r["status"] for r in manifest["runs"]] == ["completed", "completed", "completed", "failed"]
        assert "replicate 3 (seed 4) failed: MemoryError" in err


# --- batches in sweeps ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sweep_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("sweep") / "tiny.toml"
    path.write_text(SWEEP, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def clean(sweep_file, tmp_path_factory):
    """The sweep run one run at a time (batches of 1, the default), uninterrupted."""
    out = tmp_path_factory.mktemp("clean") / "out"
    r = run_sweep(sweep_file, out, progress=False)
    assert r.batch == 1 and len(r.done) == 8 and not r.failed
    return SweepStore(out).results()


def test_runs_are_grouped_by_structure_never_by_a_rate_or_a_seed(sweep_file):
    _, tasks, _ = plan_sweep(load_sweep(sweep_file))
    keys = {t.run_id: structure_key(t.scenario, t.backend, t.dtype) for t in tasks}
    # points 0, 1 (width 160, 200) at speed 1; points 2, 3 at speed 4; replicates differ by their seed
    assert keys["p0000-r00"] == keys["p0000-r01"] == keys["p0002-r00"] == keys["p0002-r01"]
    assert keys["p0001-r00"] == keys["p0003-r01"] != keys["p0000-r00"]
    batches = [[t.run_id for t in b] for b in group_batches(tasks, 3)]
    assert batches == [["p0000-r00", "p0000-r01", "p0002-r00"], ["p0002-r01"],
                       ["p0001-r00", "p0001-r01", "p0003-r00"], ["p0003-r01"]]  # fmt: skip
    assert [[t.run_id for t in b] for b in group_batches(tasks, 1)] == [[i] for i in RUN_IDS]
    assert default_batch_size("numpy") == default_batch_size("cupy") == 1


def test_batches_give_the_same_table_as_one_run_at_a_time(sweep_file, clean, tmp_path):
    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(tmp_path / "o"), "--batch", "4"])
    assert rc == 0, err
    assert "batches of up to 4 runs" in stdout and "ran      8 now in this process" in stdout
    store = SweepStore(tmp_path / "o")
    pd.testing.assert_frame_equal(store.results(), clean, check_exact=True)
    assert {store.attempts(i)["batch_size"] for i in RUN_IDS} == {4}


def test_a_batch_stopped_part_way_loses_only_its_unfinished_runs(sweep_file, clean, tmp_path, monkeypatch):
    out = tmp_path / "out"
    built = fail_in_a_step([5], KeyboardInterrupt(), monkeypatch)  # the second run of the second batch
    with pytest.raises(KeyboardInterrupt):
        run_sweep(sweep_file, out, progress=False, batch=4)
    # batch 1: p0000-r00 .. p0002-r01 (one structure), stepped together and written; batch 2 stopped in a step
    assert len(built) == 8
    assert SweepStore(out).finished() == {"p0000-r00", "p0000-r01", "p0002-r00", "p0002-r01"}
    monkeypatch.undo()

    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--out", str(out), "--batch", "2"])
    assert rc == 0, err
    assert "ran      4 now in this process, 4 done before" in stdout
    pd.testing.assert_frame_equal(SweepStore(out).results(), clean, check_exact=True)


def test_a_failed_run_of_a_batch_is_retried_alone(sweep_file, clean, tmp_path, monkeypatch):
    built = fail_in_a_step([1], MemoryError("once"), monkeypatch)  # p0000-r01, in the first batch
    r = run_sweep(sweep_file, tmp_path / "o", progress=False, batch=4)
    assert not r.failed and r.retried == 1 and len(r.done) == 8
    assert len(built) == 9  # the retry built it again, alone
    store = SweepStore(tmp_path / "o")
    rec = store.attempts("p0000-r01")
    assert rec["attempts"] == 2 and rec["batch_size"] == 1
    assert store.attempts("p0000-r00")["batch_size"] == 4
    pd.testing.assert_frame_equal(store.results(), clean, check_exact=True)


def test_a_dry_run_counts_structures_and_batches(sweep_file):
    rc, stdout, err = run_cli(["sweep", str(sweep_file), "--dry-run", "--batch", "3"])
    assert rc == 0, err
    assert "2 structures, 4 batches of up to 3 runs" in stdout


def test_a_refused_run_of_replicates_leaves_no_directory(tmp_path, monkeypatch):
    from neuroagents import outputs

    def no_disk(estimate, out_dir, *, gpu=False):
        raise outputs.OutputError(f"{out_dir}: the run needs up to 1 TB on disk")

    monkeypatch.setattr(outputs, "check_resources", no_disk)
    rc, _, err = run_cli(["run", *TINY, "--replicates", "2", "--out", str(tmp_path / "o")])
    assert rc == 2 and "the run needs up to 1 TB on disk" in err and not (tmp_path / "o").exists()


def test_bad_batch_sizes_are_one_line(sweep_file, tmp_path):
    for value in ("0", "-3"):
        rc, _, err = run_cli(["sweep", str(sweep_file), "--batch", value, "--out", str(tmp_path / "o")])
        assert rc == 2 and f"--batch = {value}: must be an integer >= 1 (runs per worker task)" in err, err
    with pytest.raises(Exception, match="--batch"):
        run_sweep(sweep_file, tmp_path / "o", progress=False, batch=0)


@pytest.mark.slow
def test_batches_on_a_two_worker_dask_cluster_give_the_same_table(sweep_file, clean, tmp_path):
    from neuroagents.batch.executors import DaskExecutor

    r = run_sweep(sweep_file, tmp_path / "d", executor=DaskExecutor(workers=2), progress=False, batch=2)
    assert len(r.done) == 8 and not r.failed
    pd.testing.assert_frame_equal(SweepStore(tmp_path / "d").results(), clean, check_exact=True)
