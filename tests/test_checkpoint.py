"""Checkpoints and ``neuroagents resume``: a resumed NumPy run equals the uninterrupted one, bit for bit."""

from __future__ import annotations

import json
import os
import signal

import numpy as np
import pandas as pd
import pytest
import xarray as xr

import neuroagents
from neuroagents.checkpoint import CheckpointError, load_checkpoint, read_header, save_checkpoint
from neuroagents.scenario import load_scenario
from neuroagents.testing import error_line, on_step, run_cli

TINY = ["--backend", "numpy", "--set", "tissue.width_um=200", "--set", "tissue.height_um=160",
        "--set", "cells.initial.mast_cell=5", "--set", "cells.initial.macrophage=8", "--set", "cells.initial.neuron=6",
        "--set", "time.record_every_min=5", "--snapshot-every", "10"]  # fmt: skip
RUN = ["run", "nerve_injury", "--hours", "0.6", "--seed", "2", *TINY]  # 36 steps of 1 min


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The uninterrupted run."""
    out = tmp_path_factory.mktemp("ref") / "out"
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    assert rc == 0, err
    return out


def assert_same_run(a, b):
    pd.testing.assert_frame_equal(pd.read_parquet(a / "timeseries.parquet"), pd.read_parquet(b / "timeseries.parquet"),
                                  check_exact=True)  # fmt: skip
    trace = pd.read_parquet(a / "pain_trace.parquet")
    assert trace["step"].tolist() == list(range(1, 37))  # the checkpoint kept the steps before it
    pd.testing.assert_frame_equal(trace, pd.read_parquet(b / "pain_trace.parquet"), check_exact=True)
    fa = xr.open_zarr(a / "fields.zarr", group="tissue").load()
    fb = xr.open_zarr(b / "fields.zarr", group="tissue").load()
    assert fa["time"].values.tolist() == [0.0, 10.0, 20.0, 30.0, 36.0]
    xr.testing.assert_identical(fa, fb)
    ca, cb = pd.read_parquet(a / "cells.parquet"), pd.read_parquet(b / "cells.parquet")
    assert sorted(set(ca["time_min"])) == [0.0, 10.0, 20.0, 30.0, 36.0]
    pd.testing.assert_frame_equal(ca, cb, check_exact=True)


def test_a_run_stopped_by_sigint_resumes_to_the_same_result(reference, tmp_path, monkeypatch):
    out = tmp_path / "stopped"
    on_step(monkeypatch, 23, lambda m: os.kill(os.getpid(), signal.SIGINT))
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    assert rc == 130, err
    assert f"continue with 'neuroagents resume {out}'" in err and "SIGINT: stopping after this step" in err
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "interrupted" and m["steps"] == 23 and m["checkpoint"]["last"]["time_min"] == 23.0
    assert read_header(out / "checkpoint.pkl")["time_min"] == 23.0
    monkeypatch.undo()
    rc, stdout, err = run_cli(["resume", str(out)])
    assert rc == 0, err
    assert "neuroagents resume nerve_injury" in stdout
    assert_same_run(reference, out)
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "completed" and m["steps"] == 36
    assert [(s["from_step"], s["to_step"], s["status"]) for s in m["segments"]] == [(0, 23, "checkpointed"),
                                                                                    (23, 36, "completed")]
    assert m["segments"][1]["resumed_from_checkpoint"]["time_min"] == 23.0


def test_a_run_killed_mid_step_resumes_from_its_last_periodic_checkpoint(reference, tmp_path, monkeypatch):
    """The snapshot at 30 min and the records after the checkpoint at 24 min are dropped and made again."""
    out = tmp_path / "killed"

    def die(model):
        raise KeyboardInterrupt  # as if killed: the model is half-way through nothing we can save

    on_step(monkeypatch, 33, die)
    rc, _, err = run_cli([*RUN, "--checkpoint-every", "12", "--out", str(out)])
    assert rc == 130
    assert "the last checkpoint is at t = 24 min" in err
    assert xr.open_zarr(out / "fields.zarr", group="tissue")["time"].values.tolist() == [0.0, 10.0, 20.0, 30.0]
    monkeypatch.undo()
    rc, _, err = run_cli(["resume", str(out)])
    assert rc == 0, err
    assert_same_run(reference, out)


def test_checkpoint_every_rewrites_the_time_series_so_far(tmp_path, monkeypatch):
    out = tmp_path / "partial"
    seen = {}

    def look(model):
        seen["table"] = pd.read_parquet(out / "timeseries.parquet")
        seen["status"] = json.loads((out / "manifest.json").read_text())["status"]

    on_step(monkeypatch, 21, look)
    rc, _, err = run_cli([*RUN, "--checkpoint-every", "10", "--out", str(out)])
    assert rc == 0, err
    assert seen["status"] == "running" and seen["table"]["time_min"].tolist() == [0.0, 5.0, 10.0, 15.0, 20.0]


def test_a_nan_field_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    out = tmp_path / "nan"

    def poison(model):
        model.env.fields[model.env.index("IL6"), 3, 4] = np.nan

    on_step(monkeypatch, 27, poison)
    rc, _, err = run_cli([*RUN, "--checkpoint-every", "10", "--out", str(out)])
    assert rc == 2
    line = error_line(err)
    assert "failed in step 27 of 36 (from t = 26 min): NumericalError: field 'IL6' has NaN" in line
    assert f"the last good checkpoint is {out / 'checkpoint.pkl'} (t = 20 min)" in line
    m = json.loads((out / "manifest.json").read_text())
    assert m["status"] == "failed" and m["error"]["type"] == "NumericalError" and m["error"]["step"] == 27
    model, _, header = load_checkpoint(out / "checkpoint.pkl")
    assert header["time_min"] == 20.0 and np.isfinite(model.env.fields).all() and (model.env.fields >= 0).all()


def test_resume_refuses_what_it_cannot_resume(reference, tmp_path):
    rc, _, err = run_cli(["resume", str(reference)])
    assert rc == 2 and "this run completed" in error_line(err)
    rc, _, err = run_cli(["resume", str(tmp_path / "nothing")])
    assert rc == 2 and "no run was found there" in error_line(err)
    (tmp_path / "ck").mkdir()
    (tmp_path / "ck" / "checkpoint.pkl").write_bytes(b"not a checkpoint at all")
    rc, _, err = run_cli(["resume", str(tmp_path / "ck")])
    assert rc == 2 and "is not a neuroagents checkpoint" in error_line(err)


def test_run_into_an_unfinished_run_points_to_resume(tmp_path, monkeypatch):
    out = tmp_path / "unfinished"
    on_step(monkeypatch, 3, lambda m: os.kill(os.getpid(), signal.SIGTERM))
    rc, _, _ = run_cli([*RUN, "--out", str(out)])
    assert rc == 130
    monkeypatch.undo()
    rc, _, err = run_cli([*RUN, "--out", str(out)])
    assert rc == 2 and f"continue it with 'neuroagents resume {out}'" in error_line(err)


def _tiny_model(**kw):
    s = load_scenario("nerve_injury_tofacitinib", ["tissue.width_um=200", "tissue.height_um=160",
                                                   "cells.initial.macrophage=8", "cells.initial.neuron=6"])  # fmt: skip
    return s.build_model(backend="numpy", **kw)


def test_a_model_with_drugs_checkpoints_and_steps_identically(tmp_path):
    m = _tiny_model()
    assert m.pharmacology is not None  # holds catalogue tables (mapping proxies) the plain pickler refuses
    for _ in range(5):
        m.step()
    path = save_checkpoint(tmp_path / "c.pkl", m, {"k": 1})
    m2, run, header = load_checkpoint(path)
    assert run == {"k": 1} and header["backend"] == "numpy" and header["neuroagents"] == neuroagents.__version__
    for _ in range(12):
        m.step()
        m2.step()
    pd.testing.assert_frame_equal(m.timeseries(), m2.timeseries(), check_exact=True)
    np.testing.assert_array_equal(m.env.fields, m2.env.fields)


def test_a_checkpoint_from_another_version_is_refused(tmp_path, monkeypatch):
    m = _tiny_model()
    monkeypatch.setattr(neuroagents, "__version__", "0.0.1")
    save_checkpoint(tmp_path / "old.pkl", m)
    monkeypatch.undo()
    with pytest.raises(CheckpointError, match=r"written by neuroagents 0\.0\.1, this is .*Resume it with neuroagents "
                       r"0\.0\.1"):  # fmt: skip
        load_checkpoint(tmp_path / "old.pkl")


def test_a_truncated_checkpoint_is_reported_as_damaged(tmp_path):
    path = save_checkpoint(tmp_path / "c.pkl", _tiny_model())
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="damaged or incomplete"):
        load_checkpoint(path)


@pytest.mark.gpu
def test_a_cupy_model_checkpoints_to_host_and_resumes_on_the_device(tmp_path):
    import cupy

    s = load_scenario("nerve_injury", ["tissue.width_um=200", "tissue.height_um=160", "cells.initial.macrophage=8",
                                       "cells.initial.neuron=6"])  # fmt: skip
    m = s.build_model(backend="cupy")
    for _ in range(3):
        m.step()
    path = save_checkpoint(tmp_path / "g.pkl", m)
    assert b"cupy._core" not in path.read_bytes()  # only NumPy data in the file
    m2, _, header = load_checkpoint(path)
    assert header["backend"] == "cupy" and isinstance(m2.env.fields, cupy.ndarray)
    assert bool((m2.env.fields == m.env.fields).all())
    m.step()
    m2.step()
    np.testing.assert_allclose(cupy.asnumpy(m2.env.fields), cupy.asnumpy(m.env.fields), rtol=1e-6, atol=1e-12)
