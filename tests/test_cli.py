"""The command line and the embedded demo: outputs that are really there, errors that are one line."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import struct
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from neuroagents import __version__, demo
from neuroagents.backend import gpu_status
from neuroagents.cli import main
from neuroagents.errors import ConfigError
from neuroagents.tissue.diffusion.registry import default_kernel
from neuroagents.units import MOLECULES_PER_NM_UM3

HOURS = 0.5  # 300 steps of 0.1 min, recorded at 0, 10, 20, 30 min


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    """The demo run once through the CLI with its default backend and kernel, for a short time."""
    out = tmp_path_factory.mktemp("demo") / "out"
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(["run", "--out", str(out), "--hours", str(HOURS)])
    assert rc == 0, stderr.getvalue()
    return out, stdout.getvalue()


@pytest.fixture(scope="module")
def totals(demo_run):
    return pd.read_parquet(demo_run[0] / "totals.parquet")


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def test_png_is_a_real_image_of_sensible_size(demo_run):
    data = (demo_run[0] / "fields.png").read_bytes()
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
    manifest = json.loads((demo_run[0] / "manifest.json").read_text(encoding="utf-8"))
    expected = "cupy" if gpu_status()[0] else "numpy"
    assert manifest["backend"] == expected
    assert manifest["kernel"] == default_kernel(expected)  # the CLI default is the fast kernel
    assert manifest["solver"] == "lod" and manifest["dtype"] == "float64"
    assert manifest["steps"] == 300 and manifest["parameters"]["hours"] == HOURS
    assert manifest["wall_s"] >= manifest["step_wall_s"] > 0
    assert {"python", "numpy", "numba"} <= set(manifest["versions"])
    assert manifest["versions"]["numpy"] == np.__version__


def test_summary_says_backend_kernel_steps_and_outputs(demo_run):
    out, text = demo_run
    assert "backend" in text and "kernel" in text and "steps    300" in text
    assert str(out / "fields.png") in text and str(out / "manifest.json") in text


def test_refuses_to_overwrite_without_force(demo_run, capsys):
    out = demo_run[0]
    before = (out / "manifest.json").read_bytes()
    assert main(["run", "--out", str(out), "--hours", "0.1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "--force" in line
    assert (out / "manifest.json").read_bytes() == before


def test_force_writes_over_an_earlier_run(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["run", "--out", str(tmp_path), "--hours", "0.05", "--force", "--backend", "numpy"]) == 0
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["steps"] == 30 and manifest["backend"] == "numpy"


def test_bad_backend_value_is_one_line_naming_value_and_choices(tmp_path, capsys):
    assert main(["run", "--backend", "tpu", "--out", str(tmp_path / "x")]) == 2
    captured = capsys.readouterr()
    line = _one_line(captured.err)
    assert "'tpu'" in line and all(c in line for c in ("auto", "numpy", "cupy"))
    assert "Traceback" not in captured.err and captured.out == ""


def test_cupy_without_a_gpu_is_a_clear_error(tmp_path, capsys):
    usable, _ = gpu_status()
    if usable:
        pytest.skip("a GPU is usable here")
    assert main(["run", "--backend", "cupy", "--out", str(tmp_path / "x")]) == 2
    line = _one_line(capsys.readouterr().err)
    assert "cupy" in line and "GPU" in line and "numpy" in line
    assert not (tmp_path / "x").exists()


def test_bad_hours_is_one_line_and_debug_shows_the_traceback(tmp_path, capsys):
    assert main(["run", "--hours", "-1", "--out", str(tmp_path / "x")]) == 2
    assert "hours = -1.0" in _one_line(capsys.readouterr().err)
    with pytest.raises(ConfigError, match="hours"):
        main(["--debug", "run", "--hours", "-1", "--out", str(tmp_path / "x")])
    with pytest.raises(ConfigError, match="hours"):
        main(["run", "--debug", "--hours", "nan", "--out", str(tmp_path / "x")])


def test_scenario_files_run(tmp_path):
    out = tmp_path / "o"
    assert main(["run", "scenarios/nerve_injury.toml", "--days", "0.005", "--backend", "numpy", "--out", str(out)]) == 0
    assert (out / "timeseries.parquet").exists() and (out / "manifest.json").exists()


def test_mediators_lists_the_catalogue(capsys):
    assert main(["mediators"]) == 0
    out = capsys.readouterr().out
    tnf = next(line for line in out.splitlines() if line.startswith("TNF "))
    assert "312" in tnf and "19 min" in tnf
    assert "GranSim" in out  # sources are shown
    assert main(["mediators", "--csv"]) == 0
    rows = {r["name"]: r for r in csv.DictReader(io.StringIO(capsys.readouterr().out))}
    assert float(rows["TNF"]["diffusion_um2_per_min"]) == 312.0
    assert float(rows["CCL2"]["diffusion_length_um"]) == pytest.approx(math.sqrt(1800.0 / (0.858 / 60.0)))


def test_version_and_no_command(capsys):
    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"neuroagents {__version__}"
    assert main([]) == 2
    assert "run" in capsys.readouterr().out


def test_python_dash_m_runs_the_cli():
    done = subprocess.run(
        [sys.executable, "-m", "neuroagents", "--version"], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0 and done.stdout.strip() == f"neuroagents {__version__}"
