"""``neuroagents scenarios`` and ``neuroagents run SCENARIO``: the files are there, errors are one line."""

from __future__ import annotations

import contextlib
import io
import json
import struct

import pandas as pd
import pytest

from neuroagents.cli import build_parser, main
from neuroagents.errors import NumericalError
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import builtin_scenarios, load_scenario
from neuroagents.scenario.runner import OUTPUT_FILES, Progress

FAST = ["--backend", "numpy", "--set", "tissue.width_um=600", "--set", "tissue.height_um=600"]


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def one_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if not line.startswith("neuroagents: backend")]
    assert len(lines) == 1, text
    return lines[0]


@pytest.fixture(scope="module")
def scenario_run(tmp_path_factory):
    """``neuroagents run nerve_injury_tofacitinib --days 0.01`` once, at the scenario's full tissue size."""
    out = tmp_path_factory.mktemp("run") / "out"
    argv = ["run", "nerve_injury_tofacitinib", "--days", "0.01", "--seed", "3", "--backend", "numpy",
            "--set", "time.record_every_min=5", "--out", str(out)]  # fmt: skip
    rc, stdout, stderr = run_cli(argv)
    assert rc == 0, stderr
    return out, stdout, stderr


def test_scenarios_lists_every_builtin_with_one_line(capsys):
    assert main(["scenarios"]) == 0
    lines = capsys.readouterr().out.splitlines()
    for name in builtin_scenarios():  # over built-in scenarios
        row = next(line for line in lines if line.split()[0] == name)
        assert load_scenario(name).scenario.description in row


def test_scenarios_shows_one_resolved(capsys):
    assert main(["scenarios", "nerve_injury_tofacitinib", "--set", "scenario.seed=9"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["scenario"]["seed"] == 9 and data["injury"]["injured_fraction"] == 0.5
    assert data["drugs"][0]["drug"] == "tofacitinib" and data["files"][-1] == "--set"
    assert main(["scenarios", "--set", "scenario.seed=9"]) == 2
    assert "needs a scenario" in one_line(capsys.readouterr().err)


def test_run_writes_the_three_files(scenario_run):
    out, stdout, _ = scenario_run
    assert sorted(p.name for p in out.iterdir()) == sorted(OUTPUT_FILES)
    table = pd.read_parquet(out / "timeseries.parquet")
    assert table["time_min"].tolist() == [0.0, 5.0, 10.0, 15.0]
    assert {"withdrawal_threshold_g", "pain_ongoing_hz", "n_macrophage_M0", "n_neuron_injured"} <= set(table.columns)
    injured = table["n_neuron_injured"]
    assert injured.iloc[0] == 0 and (injured.iloc[1:] == injured.iloc[1]).all() and 15 <= injured.iloc[1] <= 45
    png = (out / "summary.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    assert width >= 800 and height >= 500
    assert "nerve_injury_tofacitinib" in stdout and "seed 3" in stdout and "timeseries.parquet" in stdout


def test_manifest_records_the_resolved_scenario_seed_backend_and_versions(scenario_run):
    manifest = json.loads((scenario_run[0] / "manifest.json").read_text())
    assert manifest["status"] == "completed" and manifest["error"] is None
    assert manifest["seed"] == 3 and manifest["scenario"]["scenario"]["seed"] == 3
    assert manifest["backend"] == "numpy" and manifest["device"]
    assert manifest["scenario"]["scenario"]["duration_days"] == 0.01
    assert manifest["scenario"]["drugs"][0]["drug"] == "tofacitinib"
    assert manifest["overrides"] == ["time.record_every_min=5", "scenario.seed=3", "scenario.duration_days=0.01"]
    assert manifest["files"][-1] == "--set" and manifest["files"][0].endswith("base.toml")
    assert manifest["steps"] == 15 and manifest["simulated_min"] == 15.0
    assert manifest["versions"]["pydantic"] and manifest["versions"]["neuroagents"]
    assert manifest["wall_s"] > 0
    assert manifest["scenario"]["scenario"]["sex"] in ("female", "male")


def test_progress_goes_to_stderr(scenario_run):
    stderr = scenario_run[2]
    assert "nerve_injury_tofacitinib: t = 15 min of 15 min (100%)" in stderr and "ETA" in stderr


def test_progress_line_shows_rate_and_eta():
    stream = io.StringIO()
    bar = Progress(stream, 10080.0, "x", every_s=0.0)
    bar.update(1440.0)
    line = stream.getvalue().strip()
    assert line.startswith("x: t = 24 h of 7 d (14%), ") and "simulated min per s, ETA " in line


def test_run_refuses_to_overwrite_without_force(scenario_run):
    out = scenario_run[0]
    rc, _, err = run_cli(["run", "healthy", "--days", "0.001", *FAST, "--out", str(out)])
    assert rc == 2 and "--force" in one_line(err)
    rc, _, err = run_cli(["run", "healthy", "--days", "0.001", *FAST, "--out", str(out), "--force"])
    assert rc == 0, err
    assert json.loads((out / "manifest.json").read_text())["scenario"]["scenario"]["name"] == "healthy"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--set", "cells.macrophage.sped_um_per_min=3"], "did you mean 'speed_um_per_min'?"),
        (["--set", "scenario.species=rta"], "scenario.species = 'rta': must be one of 'mouse', 'rat', 'human'"),
        (["--set", "nonsense"], "KEY=VALUE"),
        (["--days", "-1"], "scenario.duration_days = -1.0: must be a duration in (0, 36500] (days)"),
        (["--seed", "-2"], "scenario.seed = -2"),
    ],
)
def test_run_errors_are_one_line_with_exit_2(tmp_path, argv, expected):
    rc, _, err = run_cli(["run", "nerve_injury", *argv, "--out", str(tmp_path / "x")])
    assert rc == 2
    line = one_line(err)
    assert line.startswith("neuroagents run: error: ") and expected in line, line
    assert not (tmp_path / "x").exists()


def test_unknown_scenario_and_a_bad_key_of_the_first_run(tmp_path):
    rc, _, err = run_cli(["run", "nerve_injry", "--out", str(tmp_path / "x")])
    assert rc == 2 and "did you mean 'nerve_injury'?" in one_line(err)
    rc, _, err = run_cli(["run", "--seed", "-2", "--out", str(tmp_path / "x")])  # no scenario: the first run (sni)
    assert rc == 2 and "sni.toml (--set): scenario.seed = -2" in one_line(err)
    args = build_parser().parse_args(["run"])
    assert args.scenario is None and args.out is None and args.set == []


def test_a_scenario_file_by_path_runs(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text('base = "inflamed_skin"\n[scenario]\ndescription = "tiny"\n[tissue]\nwidth_um = 400.0\n'
                    "height_um = 400.0\n", encoding="utf-8")  # fmt: skip
    rc, stdout, err = run_cli(["run", str(path), "--hours", "0.05", "--backend", "numpy", "--out", str(tmp_path / "o")])
    assert rc == 0, err
    assert "neuroagents run tiny" in stdout
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    assert manifest["scenario"]["stimulus"]["mast_cell"] == 0.8 and manifest["steps"] == 3


def _fail_at(monkeypatch, step: int, exc: BaseException):
    """Make the ``step``-th call of ``NeuroImmuneModel.step`` raise ``exc``."""
    real = NeuroImmuneModel.step
    calls = []

    def step_or_fail(self):
        calls.append(1)
        if len(calls) == step:
            raise exc
        real(self)

    monkeypatch.setattr(NeuroImmuneModel, "step", step_or_fail)


def test_a_run_that_fails_midway_writes_what_it_computed(tmp_path, monkeypatch):
    _fail_at(monkeypatch, 5, NumericalError("TNF became negative"))
    out = tmp_path / "failed"
    rc, _, err = run_cli(["run", "healthy", "--days", "0.01", *FAST, "--set", "time.record_every_min=1",
                          "--out", str(out)])  # fmt: skip
    assert rc == 2
    errors = [line for line in err.splitlines() if line.startswith("neuroagents run: error: ")]
    assert len(errors) == 1, err  # one line, after the progress line
    line = errors[0]
    assert "failed in step 5 of 15 (from t = 4 min): NumericalError: TNF became negative" in line
    assert str(out) in line
    table = pd.read_parquet(out / "timeseries.parquet")
    assert table["time_min"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "failed"
    assert manifest["error"] == {"type": "NumericalError", "message": "TNF became negative", "step": 5, "time_min": 4.0}
    assert manifest["steps"] == 4
    assert (out / "summary.png").exists()


def test_an_interrupted_run_writes_what_it_computed_and_exits_130(tmp_path, monkeypatch):
    _fail_at(monkeypatch, 3, KeyboardInterrupt())
    out = tmp_path / "interrupted"
    rc, _, err = run_cli(["run", "healthy", "--days", "0.01", *FAST, "--out", str(out)])
    assert rc == 130 and "interrupted" in err
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["status"] == "interrupted" and manifest["steps"] == 2
    assert pd.read_parquet(out / "timeseries.parquet")["time_min"].tolist() == [0.0]
