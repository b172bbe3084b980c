"""The examples in examples/ still run: the diffusion demo (fixed sources on a patch, no cells) and its outputs."""

from __future__ import annotations

import importlib.util
import json
import math
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from neuroagents.backend import gpu_status
from neuroagents.tissue.diffusion.registry import default_kernel
from neuroagents.units import MOLECULES_PER_NM_UM3

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
HOURS = 0.5  # 300 steps of 0.1 min, recorded at 0, 10, 20, 30 min


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"examples_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


demo = _load("diffusion_demo")


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo run once through its command line with its default backend and kernel, for a short time."""
    out = tmp_path_factory.mktemp("demo") / "out"
    assert demo.main(["--out", str(out), "--hours", str(HOURS)]) == 0
    return out


@pytest.fixture(scope="module")
def totals(demo_run):
    return pd.read_parquet(demo_run / "totals.parquet")


def test_png_is_a_real_image_of_sensible_size(demo_run):
    data = (demo_run / "fields.png").read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 800 <= width <= 4000 and 500 <= height <= 4000
    assert len(data) > 50_000  # six panels of colour, not a blank canvas


def test_totals_are_tidy_with_the_recorded_times(totals):
    assert list(totals.columns) == list(demo.TABLE_COLUMNS)
    assert sorted(set(totals["mediator"])) == sorted(demo.MEDIATORS)
    for _, rows in totals.groupby("mediator"):
        assert rows["time_min"].tolist() == [0.0, 10.0, 20.0, 30.0]
    values = totals[["total_molecules", "mean_nM", "max_nM", "produced_molecules"]].to_numpy()
    assert np.isfinite(values).all() and (values >= 0).all()
    assert (totals["max_nM"] >= totals["mean_nM"]).all()
    # mean and total are the same amount in two units
    volume_um3 = math.prod(demo.GRID_SHAPE) * demo.VOXEL_UM**3
    np.testing.assert_allclose(totals["total_molecules"], totals["mean_nM"] * volume_um3 * MOLECULES_PER_NM_UM3)


def test_mast_cell_tnf_rises_while_the_source_is_on(totals):
    tnf = totals[totals["mediator"] == "TNF"].sort_values("time_min")["total_molecules"].to_numpy()
    assert tnf[0] < 1e3  # only the venule's plasma TNF at t = 0
    assert (np.diff(tnf) > 0).all(), tnf


def test_mass_balance_and_sinks_keep_levels_bounded(totals):
    """No more than was released, plus what the venule can lend at plasma level, is ever in the tissue."""
    plasma = demo.plasma_nM()
    volume_um3 = math.prod(demo.GRID_SHAPE) * demo.VOXEL_UM**3
    for name, rows in totals.groupby("mediator"):
        bound = rows["produced_molecules"] + plasma[name] * volume_um3 * MOLECULES_PER_NM_UM3
        assert (rows["total_molecules"] <= bound * (1 + 1e-9)).all(), name
    end = totals[totals["time_min"] == 30.0].set_index("mediator")
    for name in ("histamine", "TNF", "IL6", "CCL2"):  # decay and the venule remove part of the release
        assert end.loc[name, "total_molecules"] < end.loc[name, "produced_molecules"], name
    # histamine (t1/2 30 s) is at steady state: release goes on, the amount in tissue does not grow
    hist = totals[totals["mediator"] == "histamine"].set_index("time_min")["total_molecules"]
    assert hist[30.0] == pytest.approx(hist[20.0], rel=1e-3)
    assert hist[30.0] < 0.1 * end.loc["histamine", "produced_molecules"]


def test_manifest_names_the_backend_that_ran(demo_run):
    manifest = json.loads((demo_run / "manifest.json").read_text(encoding="utf-8"))
    expected = "cupy" if gpu_status()[0] else "numpy"
    assert manifest["backend"] == expected
    assert manifest["kernel"] == default_kernel(expected)  # the default is the fast kernel
    assert manifest["solver"] == "lod" and manifest["dtype"] == "float64"
    assert manifest["steps"] == 300 and manifest["parameters"]["hours"] == HOURS
    assert manifest["wall_s"] >= manifest["step_wall_s"] > 0
    assert manifest["versions"]["numpy"] == np.__version__


def test_refuses_to_overwrite_and_bad_hours_are_one_line(demo_run, capsys):
    before = (demo_run / "manifest.json").read_bytes()
    assert demo.main(["--out", str(demo_run), "--hours", "0.1"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and str(demo_run) in err and "--force" in err
    assert (demo_run / "manifest.json").read_bytes() == before
    assert demo.main(["--out", str(demo_run / "x"), "--hours", "-1"]) == 2
    assert "hours = -1.0" in capsys.readouterr().err


def test_the_demo_runs_as_a_script_from_anywhere(tmp_path):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / "diffusion_demo.py"), "--hours", "0.05", "--backend", "numpy",
         "--kernel", "reference", "--out", "o"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "steps    30 to t = 3 min" in done.stdout
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(demo.OUTPUT_FILES)
