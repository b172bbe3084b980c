"""``neuroagents run SCENARIO``: field snapshots on a schedule, the manifest, seeds, and options that are refused."""

from __future__ import annotations

import io
import json
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from neuroagents.progress import Progress
from neuroagents.recording import SnapshotSchedule, atomic_write, field_environments
from neuroagents.registry import MEDIATORS
from neuroagents.scenario import load_scenario
from neuroagents.testing import error_line, run_cli

TINY = ["--backend", "numpy", "--set", "tissue.width_um=200", "--set", "tissue.height_um=160",
        "--set", "cells.initial.mast_cell=5", "--set", "cells.initial.macrophage=8", "--set", "cells.initial.neuron=6",
        "--set", "time.record_every_min=5"]  # fmt: skip
SETS = [a for a in TINY[2:] if a != "--set"]


@pytest.fixture(scope="module")
def snap_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("snap") / "out"
    rc, _, err = run_cli(["run", "nerve_injury", "--hours", "0.45", "--seed", "4", *TINY,
                               "--snapshot-every", "10", "--out", str(out)])  # fmt: skip
    assert rc == 0, err
    return out


def test_cells_parquet_holds_every_cell_at_each_snapshot(snap_run):
    cells = pd.read_parquet(snap_run / "cells.parquet")
    ts = pd.read_parquet(snap_run / "timeseries.parquet").set_index("time_min")
    assert sorted(set(cells["time_min"])) == [0.0, 10.0, 20.0, 27.0]  # the snapshot schedule, as the fields
    assert list(cells.columns) == ["time_min", "compartment", "type", "id", "x_um", "y_um", "state",
                                   "STAT1", "STAT3", "STAT5", "STAT6", "NFKB", "P38"]  # fmt: skip
    assert cells["id"].dtype == np.int64 and set(cells["compartment"]) == {"tissue"}
    census = cells.groupby(["time_min", "type", "state"]).size()
    for t in (0.0, 10.0, 20.0):  # the snapshot times that are also records (every 5 min): the same census
        for col in (c for c in ts.columns if c.startswith("n_")):  # over n_<type>_<state> columns
            kind, state = next((k, col[len(f"n_{k}_"):]) for k in ("mast_cell", "macrophage", "t_cell",
                               "microglia", "neuron") if col.startswith(f"n_{k}_"))  # fmt: skip
            assert census.get((t, kind, state), 0) == ts.loc[t, col], (t, col)
    assert not cells.duplicated(["time_min", "type", "id"]).any()
    assert cells["x_um"].between(0, 200).all() and cells["y_um"].between(0, 160).all()  # inside the tissue
    pathways = cells[["STAT1", "STAT3", "STAT5", "STAT6", "NFKB", "P38"]].to_numpy()
    assert ((pathways >= 0) & (pathways <= 1)).all() and pathways.max() > 0


def test_snapshots_follow_the_schedule_plus_the_end(snap_run):
    ds = xr.open_zarr(snap_run / "fields.zarr", group="tissue")
    assert ds["time"].values.tolist() == [0.0, 10.0, 20.0, 27.0]  # every 10 min, and the last state at 27 min
    assert ds["TNF"].dims == ("time", "x", "y") and ds["TNF"].shape == (4, 10, 8)
    assert ds["x"].values.tolist() == [10.0 + 20.0 * i for i in range(10)] and ds["TNF"].attrs["units"] == "nM"
    assert sorted(ds.data_vars) == sorted(MEDIATORS)  # every mediator on the grid, one field each


def test_the_last_snapshot_is_the_model_state_at_the_end(snap_run):
    """The stored field equals, bit for bit, the field of the same scenario stepped here to the same time."""
    s = load_scenario("nerve_injury", [*SETS, "scenario.seed=4", "scenario.duration_min=27.0"])
    m = s.build_model(backend="numpy")
    for _ in range(27):
        m.step()
    ds = xr.open_zarr(snap_run / "fields.zarr", group="tissue").load()
    for name in ("TNF", "CCL2", "ATP"):
        stored = ds[name].isel(time=-1).values
        np.testing.assert_array_equal(stored, m.env.to_host()[m.env.index(name)])
    assert ds["CCL2"].isel(time=-1).values.max() > 0  # injured neurons released CCL2: not an empty field


def test_manifest_names_snapshots_seed_backend_and_versions(snap_run):
    m = json.loads((snap_run / "manifest.json").read_text())
    assert m["status"] == "completed" and m["seed"] == 4 and m["backend"] == "numpy"
    assert m["fields"]["every_min"] == 10.0 and m["fields"]["snapshots"] == 4 and m["fields"]["last_min"] == 27.0
    assert m["fields"]["groups"]["tissue"][0] == "TNF"
    assert m["versions"]["xarray"] and m["versions"]["zarr"] and m["versions"]["neuroagents"]
    assert m["checkpoint"]["last"] is None and "checkpoint.pkl" not in m["outputs"]
    assert len(m["segments"]) == 1 and m["segments"][0]["to_step"] == 27
    table = pd.read_parquet(snap_run / "timeseries.parquet")
    assert table["time_min"].tolist() == [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 27.0]


def test_snapshot_mediators_and_no_snapshots(tmp_path):
    rc, _, err = run_cli(["run", "healthy", "--hours", "0.1", *TINY, "--snapshot-mediators", "TNF, IL6",
                          "--out", str(tmp_path / "a")])  # fmt: skip
    assert rc == 0, err
    ds = xr.open_zarr(tmp_path / "a" / "fields.zarr", group="tissue")
    assert sorted(ds.data_vars) == ["IL6", "TNF"] and ds["time"].values.tolist() == [0.0, 6.0]
    rc, _, err = run_cli(["run", "healthy", "--hours", "0.1", *TINY, "--snapshot-every", "0", "--out",
                          str(tmp_path / "b")])  # fmt: skip
    assert rc == 0, err
    assert not (tmp_path / "b" / "fields.zarr").exists()
    assert json.loads((tmp_path / "b" / "manifest.json").read_text())["fields"] is None


def test_the_seed_changes_the_run_and_the_same_seed_repeats_it(tmp_path):
    tables = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        rc, _, err = run_cli(["run", "nerve_injury", "--hours", "0.2", "--seed", str(seed), *TINY,
                              "--snapshot-every", "0", "--out", str(tmp_path / name)])  # fmt: skip
        assert rc == 0, err
        tables[name] = pd.read_parquet(tmp_path / name / "timeseries.parquet")
    pd.testing.assert_frame_equal(tables["a"], tables["b"], check_exact=True)
    assert not tables["a"].equals(tables["c"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--snapshot-mediators", "TNFF"], "--snapshot-mediators = 'TNFF': must be mediators on the grid"),
        (["--snapshot-every", "-5"], "--snapshot-every = -5.0: must be a time > 0 (min), or left out"),
        (["--checkpoint-every", "0"], "--checkpoint-every = 0.0: must be a time > 0 (min)"),
        (["--snapshot-every", "0", "--snapshot-mediators", "TNF"], "given with field snapshots on"),
    ],
)
def test_bad_options_are_one_line_and_write_nothing(tmp_path, argv, expected):
    rc, _, err = run_cli(["run", "healthy", "--hours", "0.1", *TINY, *argv, "--out", str(tmp_path / "x")])
    assert rc == 2
    assert expected in error_line(err)
    assert not (tmp_path / "x").exists()


def test_scenario_options_apply_to_the_first_run(tmp_path):
    rc, _, err = run_cli(["run", "--checkpoint-every", "0", "--out", str(tmp_path / "x")])
    assert rc == 2 and "--checkpoint-every = 0.0: must be a time > 0 (min)" in error_line(err)


def test_field_environments_of_a_model_with_compartments():
    env_a, env_b = SimpleNamespace(names=("TNF",)), SimpleNamespace(names=("IL6",))
    model = SimpleNamespace(env=env_a, compartments={"paw": SimpleNamespace(env=env_a, grid=None),
                                                     "drg": SimpleNamespace(env=env_b, grid=None)})  # fmt: skip
    assert field_environments(model) == {"paw": env_a, "drg": env_b}
    labels = SimpleNamespace(env=env_a, compartments=np.zeros((3, 3)))  # the single-tissue model's label array
    assert field_environments(labels) == {"tissue": env_a}


def test_snapshot_schedule_never_repeats_a_time():
    s = SnapshotSchedule(every_min=10.0)
    taken = []
    for t in np.arange(0.0, 31.0, 2.5):
        if s.due(float(t)):
            s.taken(float(t))
            taken.append(float(t))
    assert taken == [0.0, 10.0, 20.0, 30.0] and s.count == 4 and not s.due(30.0)


def test_atomic_write_leaves_the_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "x.json"
    target.write_text("old")
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("disk full")
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.json"]


def test_progress_rate_counts_only_this_process_after_a_resume():
    stream = io.StringIO()
    bar = Progress(stream, 2000.0, "x", every_s=0.0, start_min=1000.0)
    bar.t0 -= 10.0  # 10 s of wall time for 500 simulated minutes
    bar.update(1500.0)
    assert "(75%), 50 simulated min per s, ETA 0m10s" in stream.getvalue()
