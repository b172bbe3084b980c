"""Output safety: one writer per directory, failures before the first step, full and read-only disks, memory,
permissions, names, double Ctrl-C, a lost ``fields.zarr``, damaged sweep results. Each fails on commit 4a5c6ce."""

from __future__ import annotations

import builtins
import contextlib
import errno
import json
import os
import platform
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
import xarray as xr

from neuroagents import outputs
from neuroagents.outputs import LOCK_FILE, DirectoryLock
from neuroagents.recording import FieldSnapshots
from neuroagents.testing import error_line, on_step, run_cli

TINY = ["--backend", "numpy", "--set", "tissue.width_um=200", "--set", "tissue.height_um=160",
        "--set", "cells.initial.mast_cell=5", "--set", "cells.initial.macrophage=8", "--set", "cells.initial.neuron=6",
        "--set", "time.record_every_min=5", "--snapshot-every", "10"]  # fmt: skip
RUN = ["run", "nerve_injury", "--hours", "0.4", "--seed", "2", *TINY]  # 24 steps of 1 min
ENOSPC = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def read_only_below(monkeypatch, out) -> None:
    """Make ``os.open`` refuse to create or write anything below ``out`` (EROFS), as a read-only mount does."""
    real_open = os.open

    def read_only(path, flags, *a, **k):
        if str(path).startswith(str(out)) and flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(path))
        return real_open(path, flags, *a, **k)

    monkeypatch.setattr(os, "open", read_only)


# --- one writer per directory ----------------------------------------------------------------------------
HOLDER = textwrap.dedent("""
    import sys, time
    from neuroagents.outputs import DirectoryLock
    DirectoryLock(sys.argv[1], command=["neuroagents", "run", "other"]).acquire()
    print("locked", flush=True)
    time.sleep(60)
""")


@contextlib.contextmanager
def another_process_holding(directory: Path):
    env = {**os.environ, "PYTHONPATH": str(Path(outputs.__file__).parents[1])}
    p = subprocess.Popen([sys.executable, "-c", HOLDER, str(directory)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        assert p.stdout.readline().strip() == "locked"
        yield p
    finally:
        p.kill()
        p.wait()
        p.stdout.close()


def test_a_second_run_into_a_directory_in_use_is_refused_and_writes_nothing(tmp_path):
    out = tmp_path / "busy"
    with another_process_holding(out) as holder:
        rc, _, err = run_cli([*RUN, "--out", str(out)])
        assert rc == 2
        line = error_line(err)
        assert f"{out} is in use by another neuroagents process (pid {holder.pid} on host {platform.node()}" in line
        assert "'neuroagents run other'" in line
        assert sorted(p.name for p in out.iterdir()) == [LOCK_FILE]
        rc, _, err = run_cli([*RUN, "--out", str(out), "--force"])  # --force does not break a live lock
        assert rc == 2 and "in use" in error_line(err)
    # the holder was killed (kill -9): its lock went with it, and the next run takes the directory over
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    assert rc == 0, err
    assert json.loads((out / "manifest.json").read_text())["status"] == "completed"
    assert not (out / LOCK_FILE).exists()  # released


def test_resume_and_sweep_are_refused_on_a_directory_in_use(tmp_path):
    out = tmp_path / "run"
    with another_process_holding(out):
        rc, _, err = run_cli(["resume", str(out)])
        assert rc == 2 and "is in use by another neuroagents process" in error_line(err)
        sweep = tmp_path / "s.toml"
        sweep.write_text('[sweep]\nscenario = "healthy"\nset = ["scenario.duration_min=2"]\n[design]\nmethod = "grid"'
                         '\n[[parameters]]\nkey = "cells.initial.macrophage"\nvalues = [1, 2]\n')  # fmt: skip
        rc, _, err = run_cli(["sweep", str(sweep), "--out", str(out)])
        assert rc == 2 and "is in use by another neuroagents process" in error_line(err)


def test_a_lock_of_another_host_is_trusted_and_a_stale_one_here_is_taken_over(tmp_path):
    d = tmp_path / "d"
    d.mkdir()
    (d / LOCK_FILE).write_text(json.dumps({"pid": 12345, "host": "node042", "started_utc": "x", "command": None}))
    with pytest.raises(outputs.DirectoryInUseError, match=f"node042.*delete {d / LOCK_FILE}"):
        DirectoryLock(d).acquire()
    (d / LOCK_FILE).write_text(json.dumps({"pid": 999999, "host": platform.node(), "started_utc": "x"}))
    lock = DirectoryLock(d).acquire()
    assert lock.took_over["pid"] == 999999
    assert json.loads((d / LOCK_FILE).read_text())["pid"] == os.getpid()
    lock.release()
    assert not (d / LOCK_FILE).exists()


def test_a_lock_released_while_another_process_waited_on_it_is_not_shared(tmp_path, monkeypatch):
    """B opens the lock file, then A releases (removing it) before B's flock: B must not lock the removed file."""
    import fcntl

    d = tmp_path / "d"
    a = DirectoryLock(d).acquire()
    real_flock, calls = fcntl.flock, []

    def flock_after_release(fd, op):
        if not calls:
            a.release()  # between B's open and B's flock
        calls.append(fd)
        return real_flock(fd, op)

    monkeypatch.setattr(fcntl, "flock", flock_after_release)
    b = DirectoryLock(d).acquire()
    monkeypatch.undo()
    assert len(calls) == 2  # the first flock was on the removed file; B tried again with a new one
    assert json.loads((d / LOCK_FILE).read_text())["pid"] == os.getpid()
    with pytest.raises(outputs.DirectoryInUseError):
        DirectoryLock(d).acquire()
    b.release()


# --- fail early ----------------------------------------------------------------------------------------
def test_an_out_path_below_a_file_is_one_line(tmp_path):
    (tmp_path / "afile").write_text("x")
    rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "afile" / "sub")])
    assert rc == 2 and "is a file, not a directory" in error_line(err)


def test_a_read_only_directory_is_refused_before_the_first_step(tmp_path, monkeypatch):
    out = tmp_path / "ro"
    out.mkdir()
    steps = []
    read_only_below(monkeypatch, out)  # a read-only file system: nothing new can be created in out
    on_step(monkeypatch, 1, lambda m: steps.append(1))
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    assert rc == 2 and f"cannot write into {out}: Read-only file system" in error_line(err)
    assert steps == []  # refused before the first step, not after the whole run


def test_too_little_disk_or_memory_is_refused_with_the_estimate(tmp_path, monkeypatch):
    monkeypatch.setattr(outputs.shutil, "disk_usage", lambda p: type("U", (), {"free": 10_000})())
    rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "a")])
    line = error_line(err)
    assert rc == 2 and "on disk and only 10 kB is free" in line and "voxels" in line and "snapshots" in line
    monkeypatch.undo()
    monkeypatch.setattr(outputs, "available_memory_bytes", lambda: 1e6)
    rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "b")])
    line = error_line(err)
    assert rc == 2 and "small enough to fit in memory" in line and "of memory" in line
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_the_estimate_is_printed_before_the_run(tmp_path):
    rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "e")])
    assert rc == 0
    assert "nerve_injury: 80 voxels (tissue 80) x 26 mediators" in err and "snapshots" in err


def test_the_memory_guard_covers_every_compartment_and_their_sum(tmp_path, monkeypatch):
    from neuroagents.scenario import schema

    small = ["--set", "tissue.width_um=200", "--set", "tissue.height_um=160"]  # [tissue] itself: 80 voxels
    argv = ["run", "sni", "--hours", "0.2", "--backend", "numpy", *small]
    monkeypatch.setattr(schema, "MAX_VOXELS", 200)  # the compartments now: paw 80, drg 300, dorsal_horn 250 voxels
    rc, _, err = run_cli([*argv, "--out", str(tmp_path / "x")])
    assert rc == 2 and "compartments.drg = '300 voxels': must be at most 200 voxels" in error_line(err)
    monkeypatch.setattr(schema, "MAX_VOXELS", 400)  # each fits, all three (630) do not
    rc, _, err = run_cli([*argv, "--out", str(tmp_path / "y")])
    assert rc == 2 and "compartments = '630 voxels in all': must be at most 400 voxels together" in error_line(err)
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_a_failure_before_the_first_step_names_its_cause(tmp_path, monkeypatch):
    def full(self, model):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))

    monkeypatch.setattr(FieldSnapshots, "write", full)
    out = tmp_path / "first"
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    line = error_line(err)
    assert rc == 2 and "TypeError" not in line
    assert f"failed before its first step (at t = 0 min): cannot write {out / 'fields.zarr'}: No space left" in line
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"]["type"] == "OSError" and m["error"]["step"] is None


def test_a_memory_error_is_one_line_with_the_estimate(tmp_path, monkeypatch):
    def oom(model):
        raise MemoryError

    on_step(monkeypatch, 3, oom)
    rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "m")])
    line = error_line(err)
    assert rc == 2 and "out of memory (MemoryError); the run needs 80 voxels" in line and "of memory" in line


# --- a disk that fills during the run ------------------------------------------------------------------
@pytest.fixture
def disk_full_after(monkeypatch):
    """``arm(k)``: from the k-th step on, every new file in the run directory fails with ENOSPC."""
    state = {"full": False}
    real_open, real_bopen = os.open, builtins.open

    def guarded(path, *a, **k):
        if state["full"] and str(path).startswith(state["dir"]):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))

    def os_open(path, flags, *a, **k):
        if flags & (os.O_CREAT | os.O_WRONLY | os.O_RDWR):
            guarded(path)
        return real_open(path, flags, *a, **k)

    def b_open(path, mode="r", *a, **k):
        if any(c in mode for c in "wax+"):
            guarded(path)
        return real_bopen(path, mode, *a, **k)

    def snapshot(self, model, _real=FieldSnapshots.write):
        if state["full"]:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.path))
        return _real(self, model)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", b_open)
    monkeypatch.setattr(FieldSnapshots, "write", snapshot)

    def arm(out: Path, k: int):
        state["dir"] = str(out)
        on_step(monkeypatch, k, lambda m: state.update(full=True))

    return arm


def test_a_full_disk_during_snapshots_keeps_the_time_series_and_names_the_file(tmp_path, disk_full_after,
                                                                               monkeypatch):  # fmt: skip
    out = tmp_path / "full"
    disk_full_after(out, 15)  # the snapshot at 20 min fails, and so does every write after it
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path / "spare"))
    (tmp_path / "spare").mkdir()
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    line = error_line(err)
    assert rc == 2
    assert f"failed after step 20 of 24 (t = 20 min): cannot write {out / 'fields.zarr'}: No space left" in line
    spare = next((tmp_path / "spare").glob("neuroagents-nerve_injury-*-timeseries.parquet"))
    manifest = spare.with_name(spare.name.replace("timeseries.parquet", "manifest.json"))
    assert f"the time series was written to {spare} instead, and the manifest to {manifest}" in line
    m = json.loads(manifest.read_text())
    assert m["status"] == "failed" and m["error"]["file"] == str(out / "fields.zarr")  # the first error
    assert m["write_error"]["file"] == str(out / "timeseries.parquet")
    table = pd.read_parquet(spare)
    assert table["time_min"].tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]  # nothing computed is lost
    assert xr.open_zarr(out / "fields.zarr", group="tissue")["time"].values.tolist() == [0.0, 10.0]


def test_a_write_failure_after_the_run_is_recorded_in_the_manifest(tmp_path, monkeypatch):
    from neuroagents.scenario import summary

    def no_png(table, png_path, **kw):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(png_path))

    monkeypatch.setattr(summary, "plot_summary", no_png)
    out = tmp_path / "png"
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    line = error_line(err)
    assert rc == 2 and f"ran to its end but {out / 'summary.png'} could not be written: No space left" in line
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["write_error"]["file"] == str(out / "summary.png")
    assert pd.read_parquet(out / "timeseries.parquet")["time_min"].iloc[-1] == 24.0
    assert not list(out.glob(".summary.png.*"))  # no half file left behind


def _demo_module():
    """The diffusion demo: ``neuroagents.demo`` here, ``examples/diffusion_demo.py`` where it has moved."""
    import importlib.util

    try:
        from neuroagents import demo
    except ImportError:
        path = Path(outputs.__file__).parents[1] / "examples" / "diffusion_demo.py"
        spec = importlib.util.spec_from_file_location("examples_diffusion_demo", path)
        demo = sys.modules.get(spec.name) or importlib.util.module_from_spec(spec)
        if spec.name not in sys.modules:
            sys.modules[spec.name] = demo  # dataclasses look their module up
            spec.loader.exec_module(demo)
    return demo


def test_the_demo_leaves_no_half_png(tmp_path, monkeypatch):
    demo = _demo_module()

    def half_then_full(env, table, png_path):
        Path(png_path).write_bytes(b"\x89PNG half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(png_path))

    monkeypatch.setattr(demo, "draw_fields", half_then_full)
    with pytest.raises(OSError, match="No space left on device"):
        demo.run_demo(tmp_path / "demo", hours=0.05, backend="numpy")
    assert not (tmp_path / "demo" / "fields.png").exists() and not list((tmp_path / "demo").glob(".*.tmp"))


# --- smaller items ---------------------------------------------------------------------------------------
def test_outputs_follow_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "u"), "--checkpoint-every", "10"])
    finally:
        os.umask(old)
    assert rc == 0, err
    for name in ("timeseries.parquet", "manifest.json", "summary.png", "checkpoint.pkl"):  # over outputs
        assert stat.S_IMODE((tmp_path / "u" / name).stat().st_mode) == 0o644, name


def test_a_scenario_name_that_is_not_a_file_name_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "runs").mkdir()
    for bad in ("..", "a/b", ".hidden", "-rf"):  # over unsafe names
        rc, _, err = run_cli([*RUN, "--set", f"scenario.name={json.dumps(bad)}"])
        assert rc == 2 and f"scenario.name = {bad!r}: must be a" in error_line(err)
    assert list((tmp_path / "runs").iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["runs"]


def test_a_second_ctrl_c_while_writing_leaves_no_running_manifest(tmp_path, monkeypatch):
    from neuroagents.scenario import summary

    real = summary.plot_summary

    def slow_draw(*a, **k):  # the user presses Ctrl-C again while the figure is drawn
        os.kill(os.getpid(), signal.SIGINT)
        return real(*a, **k)

    monkeypatch.setattr(summary, "plot_summary", slow_draw)
    on_step(monkeypatch, 12, lambda m: os.kill(os.getpid(), signal.SIGINT))
    out = tmp_path / "cc"
    rc, _, err = run_cli([*RUN, "--out", str(out), "--checkpoint-every", "5"])
    assert rc == 130, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["steps"] == 12


def test_resume_with_a_deleted_fields_store_restarts_it_at_the_checkpoint(tmp_path, monkeypatch):
    import shutil

    out = tmp_path / "nofields"
    on_step(monkeypatch, 13, lambda m: os.kill(os.getpid(), signal.SIGINT))
    rc, _, _ = run_cli([*RUN, "--out", str(out)])
    assert rc == 130
    monkeypatch.undo()
    shutil.rmtree(out / "fields.zarr")
    rc, _, err = run_cli(["resume", str(out)])
    assert rc == 0, err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "completed" and any("fields.zarr was missing" in n for n in m["notes"])
    assert xr.open_zarr(out / "fields.zarr", group="tissue")["time"].values.tolist() == [13.0, 20.0, 24.0]


def test_a_truncated_sweep_result_is_run_again(tmp_path):
    from neuroagents.batch.store import SweepStore

    sweep = tmp_path / "s.toml"
    sweep.write_text('[sweep]\nscenario = "healthy"\nset = ["scenario.duration_min=2", "tissue.width_um=200", '
                     '"tissue.height_um=160"]\nbackend = "numpy"\n[design]\nmethod = "grid"\n[[parameters]]\n'
                     'key = "cells.initial.macrophage"\nvalues = [1, 2]\n')  # fmt: skip
    out = tmp_path / "sw"
    rc, _, err = run_cli(["sweep", str(sweep), "--out", str(out)])
    assert rc == 0, err
    victim = out / "results" / "p0001-r00.parquet"
    whole = victim.read_bytes()
    victim.write_bytes(whole[: len(whole) // 2])  # a disk that filled while it was copied, say
    assert SweepStore(out).finished() == {"p0000-r00"}
    rc, stdout, err = run_cli(["sweep", str(sweep), "--out", str(out)])
    assert rc == 0, err and "ran      1 now" in stdout
    assert len(pd.read_parquet(out / "results")) == len(SweepStore(out).results()) > 0
    assert sorted(SweepStore(out).results()["run_id"].unique()) == ["p0000-r00", "p0001-r00"]


SWEEP = ('[sweep]\nscenario = "healthy"\nset = ["scenario.duration_min=2", "tissue.width_um=200", '
         '"tissue.height_um=160"]\nbackend = "numpy"\n[design]\nmethod = "grid"\n[[parameters]]\n'
         'key = "cells.initial.macrophage"\nvalues = [1, 2, 3]\n')  # fmt: skip


def test_a_sweep_on_a_full_disk_keeps_finished_runs_and_a_rerun_completes(tmp_path, monkeypatch):
    from neuroagents.batch.store import SweepStore

    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "sw"
    real, calls = SweepStore.write_result, []

    def fills_up(self, run_id, table, info):
        calls.append(run_id)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.results_dir / f"{run_id}.parquet"))
        return real(self, run_id, table, info)

    monkeypatch.setattr(SweepStore, "write_result", fills_up)
    rc, _, err = run_cli(["sweep", str(sweep), "--out", str(out)])
    assert rc == 2
    assert f"{out / 'results' / 'p0001-r00.parquet'}: No space left on device" in error_line(err)
    assert SweepStore(out).finished() == {"p0000-r00"}
    assert not (out / LOCK_FILE).exists()
    monkeypatch.undo()
    rc, _, err = run_cli(["sweep", str(sweep), "--out", str(out)])
    assert rc == 0, err
    assert SweepStore(out).finished() == {"p0000-r00", "p0001-r00", "p0002-r00"}


def test_a_sweep_into_a_read_only_directory_is_refused_before_any_run(tmp_path, monkeypatch):
    from neuroagents.batch import executors

    sweep = tmp_path / "s.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "ro"
    out.mkdir()
    ran = []
    read_only_below(monkeypatch, out)
    monkeypatch.setattr(executors, "run_task", lambda *a, **k: ran.append(1))
    rc, _, err = run_cli(["sweep", str(sweep), "--out", str(out)])
    assert rc == 2 and f"cannot write into {out}: Read-only file system" in error_line(err)
    assert ran == []


def test_the_demo_into_a_read_only_directory_names_the_file(tmp_path, monkeypatch):
    demo = _demo_module()
    out = tmp_path / "ro"
    out.mkdir()
    read_only_below(monkeypatch, out)
    with pytest.raises(OSError) as info:
        demo.run_demo(out, hours=0.05, backend="numpy")
    assert info.value.filename == str(out / "fields.png") and info.value.errno == errno.EROFS
    assert list(out.iterdir()) == []


def test_a_stray_os_error_in_a_command_is_one_line(tmp_path, monkeypatch):
    from neuroagents.scenario import runner

    def boom(*a, **k):
        raise OSError(errno.EIO, os.strerror(errno.EIO), str(tmp_path / "x"))

    monkeypatch.setattr(runner, "run_scenario", boom)
    rc, _, err = run_cli([*RUN, "--out", str(tmp_path / "o")])
    assert rc == 2 and f"{tmp_path / 'x'}: Input/output error" in error_line(err)


def test_two_runs_started_together_into_one_directory_give_one_whole_run_and_one_error_line(tmp_path):
    """The attack of the issue: ``for s in 1 2; do neuroagents run X --seed $s & done`` into one directory."""
    out = tmp_path / "together"
    env = {**os.environ, "PYTHONPATH": str(Path(outputs.__file__).parents[1])}
    argv = [sys.executable, "-m", "neuroagents", "run", "nerve_injury", "--hours", "0.4", *TINY, "--out", str(out)]
    procs = [subprocess.Popen([*argv, "--seed", str(s)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env=env) for s in (1, 2)]  # fmt: skip
    results = [(p.wait(timeout=600), *p.communicate()) for p in procs]
    codes = sorted(rc for rc, _, _ in results)
    assert codes == [0, 2], results
    loser = next(err for rc, _, err in results if rc == 2)
    assert "is in use by another neuroagents process" in error_line(loser) or "a new or empty directory" in loser
    winner = next(i for i, (rc, _, _) in enumerate(results) if rc == 0) + 1  # its seed
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "completed" and m["seed"] == winner and m["command"][-2:] == ["--seed", str(winner)]
    table = pd.read_parquet(out / "timeseries.parquet")
    assert table["time_min"].tolist() == [0.0, 5.0, 10.0, 15.0, 20.0, 24.0]  # one run's rows, written once
    assert xr.open_zarr(out / "fields.zarr", group="tissue")["time"].values.tolist() == [0.0, 10.0, 20.0, 24.0]
