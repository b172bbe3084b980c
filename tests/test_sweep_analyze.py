"""``neuroagents analyze``: Sobol and Morris indices that recover known sensitivities, and clear refusals."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
import pytest

from neuroagents.batch.analyze import analyze_sweep
from neuroagents.batch.spec import parse_sweep
from neuroagents.batch.store import SweepStore
from neuroagents.batch.sweep import plan_sweep
from neuroagents.cli import main

KEYS = ("injury.injured_fraction", "cells.macrophage.speed_um_per_min", "stimulus.mast_cell")


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


def synthetic_sweep(path, method, **design):
    """A sweep directory whose 'results' follow y = 4 a + 2 b² (c has no effect), written without simulating."""
    spec = parse_sweep({"sweep": {"scenario": "healthy", "name": f"syn_{method}"},
                        "design": {"method": method, **design},
                        "parameters": [{"key": k, "min": 0.0, "max": 1.0} for k in KEYS],
                        "analysis": {"readouts": ["y"]}}, where="synthetic.toml")  # fmt: skip
    design_, tasks, record = plan_sweep(spec)
    store = SweepStore(path)
    store.prepare(record, None, design_.table())
    for t in tasks:
        a, b = t.params[KEYS[0]], t.params[KEYS[1]]
        y = 4 * a + 2 * b**2
        table = pd.DataFrame({"run_id": [t.run_id] * 2, "point": t.point, "replicate": t.replicate,
                              "time_min": [0.0, 10.0], "y": [0.0, y]})  # fmt: skip
        store.write_result(t.run_id, table, {})
    return path


def test_sobol_indices_recover_an_additive_function(tmp_path):
    """Var(4a) = 16/12, Var(2b²) = 4 (1/5 - 1/9): S1 = 0.79 and 0.21, c none; additive so ST = S1."""
    a = analyze_sweep(synthetic_sweep(tmp_path / "s", "sobol", samples=128))
    idx = a.indices.set_index(["parameter", "index"])["value"]
    assert a.method == "sobol" and set(a.indices["readout"]) == {"y"}
    assert idx[(KEYS[0], "S1")] == pytest.approx(0.79, abs=0.08)
    assert idx[(KEYS[1], "S1")] == pytest.approx(0.21, abs=0.08)
    assert abs(idx[(KEYS[2], "S1")]) < 0.03 and abs(idx[(KEYS[2], "ST")]) < 0.03
    assert idx[(KEYS[0], "ST")] == pytest.approx(idx[(KEYS[0], "S1")], abs=0.08)
    assert a.csv.is_file() and a.png.read_bytes()[:4] == b"\x89PNG"


def test_morris_ranks_parameters_by_their_effect(tmp_path):
    a = analyze_sweep(synthetic_sweep(tmp_path / "m", "morris", samples=20, levels=4))
    mu = a.indices[a.indices["index"] == "mu_star"].set_index("parameter")["value"]
    assert mu[KEYS[0]] == pytest.approx(4.0, rel=1e-9)  # a linear effect: every elementary effect is 4
    assert 0 < mu[KEYS[1]] < mu[KEYS[0]] and mu[KEYS[2]] == 0.0


def test_a_real_morris_sweep_runs_and_is_analyzed_from_the_command_line(tmp_path):
    path = tmp_path / "m.toml"
    path.write_text("""
[sweep]
scenario = "nerve_injury"
set = ["scenario.duration_min=5", "tissue.width_um=160", "tissue.height_um=120", "cells.initial.mast_cell=4",
       "cells.initial.macrophage=6", "cells.initial.neuron=8"]
backend = "numpy"
[design]
method = "morris"
samples = 2
[[parameters]]
key = "injury.injured_fraction"
min = 0.0
max = 1.0
[[parameters]]
key = "cells.macrophage.speed_um_per_min"
min = 0.5
max = 4.0
[analysis]
readouts = ["pain_ongoing_hz"]
""", encoding="utf-8")
    rc, stdout, err = run_cli(["sweep", str(path), "--out", str(tmp_path / "o")])
    assert rc == 0, err
    assert f"next     neuroagents analyze {tmp_path / 'o'}" in stdout
    rc, stdout, err = run_cli(["analyze", str(tmp_path / "o"), "--at", "mean", "--readout", "pain_ongoing_hz",
                               "--readout", "n_neuron_injured"])  # fmt: skip
    assert rc == 0, err
    table = pd.read_csv(tmp_path / "o" / "analysis" / "indices.csv")
    assert set(table["readout"]) == {"pain_ongoing_hz", "n_neuron_injured"}
    inj = table[(table["readout"] == "n_neuron_injured") & (table["index"] == "mu_star")].set_index("parameter")
    assert inj.loc["injury.injured_fraction", "value"] > inj.loc["cells.macrophage.speed_um_per_min", "value"]
    assert "mu_star" in stdout and "sensitivity.png" in stdout


def test_analyze_refuses_what_it_cannot_analyze(tmp_path):
    path = synthetic_sweep(tmp_path / "s", "sobol", samples=4)
    rc, _, err = run_cli(["analyze", str(path), "--readout", "withdrawal_treshold_g"])
    assert rc == 2 and "readout = 'withdrawal_treshold_g': must be a time-series column" in err
    (path / "results" / "p0000-r00.parquet").unlink()
    rc, _, err = run_cli(["analyze", str(path)])
    assert rc == 2 and "1 of 20 points have no finished run (points 0); run the sweep again" in err
    grid = tmp_path / "g.toml"
    grid.write_text('[sweep]\nscenario = "healthy"\nset = ["scenario.duration_min=1", "tissue.width_um=100", '
                    '"tissue.height_um=100"]\n[design]\nmethod = "grid"\n[[parameters]]\nkey = "stimulus.mast_cell"\n'
                    "values = [0.0]\n", encoding="utf-8")  # fmt: skip
    assert run_cli(["sweep", str(grid), "--out", str(tmp_path / "g")])[0] == 0
    rc, _, err = run_cli(["analyze", str(tmp_path / "g")])
    assert rc == 2 and "design method 'sobol' or 'morris' (this one is 'grid'); read its results with pandas" in err
    rc, _, err = run_cli(["analyze", str(tmp_path / "nowhere")])
    assert rc == 2 and "a sweep directory (with sweep.json)" in err
