"""The command line and the first run (the real model without a scenario): outputs that are really there,
errors that are one line."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import struct
import subprocess
import sys

import pandas as pd
import pytest

from neuroagents import __version__
from neuroagents.backend import gpu_status
from neuroagents.cli import FIRST_RUN_DAYS, FIRST_RUN_SCENARIO, build_parser, main
from neuroagents.errors import ConfigError
from neuroagents.scenario import BUILTIN_DIR

HOURS = 2.0  # a short first run: the scenario's set-up, 24 steps of 5 min


def _main(argv):
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        rc = main(argv)
    return rc, stdout.getvalue(), stderr.getvalue()


@pytest.fixture(scope="module")
def first_run(tmp_path_factory):
    """``neuroagents run`` without a scenario, once, for a short time."""
    out = tmp_path_factory.mktemp("first") / "out"
    rc, text, err = _main(["run", "--out", str(out), "--hours", str(HOURS)])
    assert rc == 0, err
    return out, text


def _one_line(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    return lines[0]


def _png_size(path):
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24]), len(data)


def test_without_a_scenario_the_first_run_is_the_real_model(first_run):
    out, text = first_run
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["scenario"]["scenario"]["name"] == FIRST_RUN_SCENARIO == "sni"
    assert set(manifest["scenario"]["compartments"]) == {"paw", "drg", "dorsal_horn"}
    assert manifest["simulated_min"] == HOURS * 60.0  # --hours replaces the first run's days
    table = pd.read_parquet(out / "timeseries.parquet")
    assert {"withdrawal_threshold_g", "pain_evoked_hz", "n_neuron_injured_drg", "n_macrophage_M0_drg"} <= set(table)
    assert table["n_neuron_injured_drg"].iloc[-1] > 0  # cells, and injured neurons among them
    assert text.startswith("neuroagents run: no scenario given, so the first run: ") and "'sni'" in text


def test_the_first_run_writes_a_summary_figure(first_run):
    (width, height), size = _png_size(first_run[0] / "summary.png")
    assert 800 <= width <= 4000 and 500 <= height <= 4000
    assert size > 30_000  # panels of curves, not a blank canvas


def test_the_first_run_is_a_few_days_unless_told_otherwise():
    args = build_parser().parse_args(["run"])
    assert args.scenario is None and args.out is None and args.set == []
    from neuroagents.cli import _first_run_overrides

    assert _first_run_overrides(args) == [f"scenario.duration_days={FIRST_RUN_DAYS!r}"]
    assert 1 <= FIRST_RUN_DAYS <= 7
    for own in (["--days", "1"], ["--hours", "3"], ["--set", "scenario.duration_min=30"]):
        assert _first_run_overrides(build_parser().parse_args(["run", *own])) == [], own


@pytest.mark.slow
def test_the_whole_first_run_shows_pain_after_nerve_injury(tmp_path):
    """The default run, as a newcomer gets it: the withdrawal threshold falls and evoked pain rises."""
    rc, _, err = _main(["run", "--out", str(tmp_path / "o"), "--backend", "numpy"])
    assert rc == 0, err
    table = pd.read_parquet(tmp_path / "o" / "timeseries.parquet")
    assert table["time_min"].iloc[-1] == FIRST_RUN_DAYS * 1440.0
    first, last = table.iloc[0], table.iloc[-1]
    assert last["withdrawal_threshold_g"] < 0.5 * first["withdrawal_threshold_g"]
    assert last["pain_evoked_hz"] > 1.5 * first["pain_evoked_hz"]  # the area under the von Frey response curve


def test_manifest_names_the_backend_that_ran(first_run):
    manifest = json.loads((first_run[0] / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["backend"] == ("cupy" if gpu_status()[0] else "numpy")
    assert manifest["versions"]["neuroagents"] == __version__


def test_summary_says_backend_steps_and_outputs(first_run):
    out, text = first_run
    assert "backend" in text and "steps    24 to t = 2 h" in text
    assert str(out / "summary.png") in text and str(out / "manifest.json") in text


def test_refuses_to_overwrite_without_force(first_run, capsys):
    out = first_run[0]
    before = (out / "manifest.json").read_bytes()
    assert main(["run", "--out", str(out), "--hours", "0.1"]) == 2
    line = _one_line(capsys.readouterr().err)
    assert str(out) in line and "--force" in line
    assert (out / "manifest.json").read_bytes() == before


def test_force_writes_over_an_earlier_run(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("keep me")
    assert main(["run", "--out", str(tmp_path), "--hours", "0.25", "--force", "--backend", "numpy"]) == 0
    assert (tmp_path / "notes.txt").read_text() == "keep me"
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["steps"] == 3 and manifest["backend"] == "numpy"


def test_info_says_versions_gpu_numba_and_scenarios(capsys):
    assert main(["info"]) == 0
    text = capsys.readouterr().out
    assert text.startswith(f"neuroagents {__version__} (")
    assert "GPU " in text and "numba " in text and "threads" in text and str(BUILTIN_DIR) in text
    assert main(["info", "--json"]) == 0
    facts = json.loads(capsys.readouterr().out)
    assert facts["gpu"]["usable"] == gpu_status()[0]
    assert facts["scenarios"]["count"] == len(list(BUILTIN_DIR.glob("*.toml"))) > 0
    assert facts["numba"]["threads"] >= 1 and facts["packages"]["numpy"]


def test_the_demo_option_is_gone(tmp_path, capsys):
    """The diffusion demo is an example now (examples/diffusion_demo.py, tests/test_examples.py)."""
    assert main(["run", "--demo", "--out", str(tmp_path / "x")]) == 2
    assert "unrecognized arguments: --demo" in _one_line(capsys.readouterr().err)


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
    assert "scenario.duration_min = -60.0" in _one_line(capsys.readouterr().err)
    with pytest.raises(ConfigError, match="duration_min"):
        main(["--debug", "run", "--hours", "-1", "--out", str(tmp_path / "x")])
    with pytest.raises(ConfigError, match="duration_min"):
        main(["run", "--debug", "--hours", "nan", "--out", str(tmp_path / "x")])
    assert not (tmp_path / "x").exists()


def test_scenario_files_run(tmp_path):
    out = tmp_path / "o"
    path = BUILTIN_DIR / "nerve_injury.toml"  # by path, not by name
    assert main(["run", str(path), "--days", "0.005", "--backend", "numpy", "--out", str(out)]) == 0
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
