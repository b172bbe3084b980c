"""Bayesian calibration: a tiny ABC-SMC recovers a known parameter from synthetic data; resumable; clear errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from neuroagents.batch.executors import RunTask, run_task
from neuroagents.calibration.outputs import posterior_toml, weighted_quantile
from neuroagents.calibration.run import distance
from neuroagents.calibration.spec import load_calibration, parse_calibration
from neuroagents.errors import ConfigError
from neuroagents.scenario import load_scenario
from neuroagents.testing import error_line, run_cli

pytest.importorskip("pyabc")

TINY_SET = ["scenario.duration_min=30", "tissue.width_um=160", "tissue.height_um=120", "cells.initial.mast_cell=4",
            "cells.initial.macrophage=6", "cells.initial.neuron=6", "time.record_every_min=6"]  # fmt: skip
KEY, TRUE = "cells.mast_cell.il6_molecules_per_s", 1.0
COLUMN = "mean_IL6_nM_interstitium"


def _synthetic(path) -> pd.DataFrame:
    """Data made by the model at the true value (seed 99): the mean IL-6 at 6..30 min, SD 10 % of it, n = 8."""
    s = load_scenario("nerve_injury", [*TINY_SET, f"{KEY}={TRUE}", "scenario.seed=99"]).resolved()
    t = run_task(RunTask("truth", 0, 0, 99, {}, s, "numpy", "float64")).table
    t = t[t["time_min"] > 0]
    rows = pd.DataFrame({"time_h": t["time_min"] / 60.0, "readout": "il6", "unit": "nM", "mean": t[COLUMN],
                         "spread": 0.1 * t[COLUMN], "spread_kind": "SD", "n": 8, "where": "synthetic",
                         "paper": "none: made by the model"})  # fmt: skip
    rows.to_csv(path, index=False)
    return rows


CALIB = f"""
[calibration]
name = "tiny"
scenario = "nerve_injury"
set = {TINY_SET!r}
seed = 3
backend = "numpy"

[[data]]
file = "il6.csv"
readout = "il6"
column = "{COLUMN}"

[[priors]]
key = "{KEY}"
distribution = "loguniform"
min = 0.1
max = 10.0
unit = "molecules/cell/s"
source = "assumption: two decades around the default"

[abc]
population_size = 24
generations = 2
predictive_draws = 4
""".replace("'", '"')


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory):
    from neuroagents.calibration.run import run_calibration

    d = tmp_path_factory.mktemp("calib")
    _synthetic(d / "il6.csv")
    (d / "tiny.toml").write_text(CALIB, encoding="utf-8")
    return d, run_calibration(d / "tiny.toml", d / "out", progress=False)


def test_a_tiny_calibration_recovers_the_true_value_within_its_credible_interval(calibrated):
    _d, r = calibrated
    assert r.generations == 2 and r.simulations >= 48
    summary = json.loads(r.files["summary"].read_text(encoding="utf-8"))["keys"][KEY]
    lo, hi = summary["ci90"]
    assert lo <= TRUE <= hi, summary
    assert np.log10(hi / lo) < 0.5 * np.log10(10.0 / 0.1)  # the data narrowed the prior's two decades by half at least
    post = pd.read_parquet(r.files["posterior"])
    assert len(post) == 24 and post["weight"].sum() == pytest.approx(1.0)
    gens = pd.read_parquet(r.files["generations"])
    assert gens["t"].tolist() == [0, 1] and gens["epsilon"].iloc[1] < gens["epsilon"].iloc[0]
    for what in ("corner", "predictive"):  # over the figures
        assert r.files[what].stat().st_size > 0
    # the posterior scenario runs, with the key at its median
    s = load_scenario(str(r.files["scenario"]))
    assert s.cells.mast_cell["il6_molecules_per_s"] == pytest.approx(summary["median"])
    assert s.scenario.duration_min == 30.0


def test_the_same_command_continues_the_calibration_from_its_last_generation(calibrated):
    from neuroagents.calibration.run import run_calibration

    d, first = calibrated
    text = (d / "tiny.toml").read_text(encoding="utf-8")
    longer = d / "tiny3.toml"
    longer.write_text(text.replace("generations = 2", "generations = 3"), encoding="utf-8")
    with pytest.raises(ConfigError, match="holds a different calibration"):
        run_calibration(longer, d / "out", progress=False)  # a changed file is a different calibration
    again = run_calibration(d / "tiny.toml", d / "out", progress=False)  # the same file: nothing left to do
    assert again.generations == 2 and again.simulations == first.simulations


def test_distance_and_weighted_quantiles():
    assert distance({"y": np.array([2.0])}, {"y": np.array([1.0]), "sd": np.array([0.5])}) == 4.0
    assert distance({"y": np.array([np.nan])}, {"y": np.array([1.0]), "sd": np.array([1.0])}) == np.inf
    x = np.arange(1.0, 101.0)
    assert weighted_quantile(x, np.ones(100), [0.5])[0] == pytest.approx(50.5)
    w = np.where(x > 50, 1.0, 0.0)  # only the upper half counts
    assert 50 < weighted_quantile(x, w, [0.05])[0] < 56


def test_the_posterior_scenario_keeps_the_fixed_overrides():
    spec = parse_calibration({"calibration": {"scenario": "healthy", "seed": 1, "set": ["scenario.duration_min=60",
                              "pain.gain_na_weight=2.0"]}, "data": [{"file": "x.csv", "column": "c"}],
                              "priors": [{"key": "pain.mech_na_weight", "min": 1, "max": 3, "unit": "1",
                                          "source": "a"}]})  # fmt: skip
    text = posterior_toml(spec, {"pain.mech_na_weight": 2.5})
    assert 'base = "healthy"' in text and "mech_na_weight = 2.5" in text and "gain_na_weight = 2.0" in text


BAD = [
    ({"priors": [{"key": KEY, "min": 2.0, "max": 1.0, "unit": "1", "source": "a"}]}, "priors[0].max", "a number > min"),
    ({"priors": [{"key": KEY, "min": 0.0, "max": 1.0, "unit": "1", "source": "a", "distribution": "loguniform"}]},
     "priors[0].min", "> 0 for distribution = 'loguniform'"),
    ({"priors": [{"key": KEY, "min": 0.1, "max": 1.0, "unit": "1"}]}, "priors[0].source", "where the range comes"),
    ({"data": []}, "data", "one or more tables [[data]]"),
    ({"abc": {"population_size": 5}}, "abc.population_size", "an integer in [10, 100000]"),
    ({"calibraton": {}}, "calibraton", "(did you mean 'calibration'?)"),
]


@pytest.mark.parametrize(("change", "key", "allowed"), BAD)
def test_a_bad_calibration_file_is_one_error(change, key, allowed):
    doc = {"calibration": {"scenario": "healthy", "seed": 1}, "data": [{"file": "x.csv", "column": "c"}],
           "priors": [{"key": KEY, "min": 0.1, "max": 1.0, "unit": "1", "source": "a"}], **change}
    with pytest.raises(ConfigError) as exc:
        parse_calibration(doc, where="c.toml")
    msg = str(exc.value)
    assert msg.startswith("c.toml") and key in msg and allowed in msg, msg


def test_a_missing_data_file_or_readout_is_named(tmp_path):
    from neuroagents.calibration.data import observed

    (tmp_path / "c.toml").write_text(CALIB, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"data\[0\].file = .*il6.csv.*: must be an existing CSV file"):
        observed(load_calibration(tmp_path / "c.toml"))
    _synthetic(tmp_path / "il6.csv")
    (tmp_path / "c.toml").write_text(CALIB.replace('readout = "il6"', 'readout = "il-6"'), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"data\[0\].readout = 'il-6': must be a readout of il6.csv: one of il6"):
        observed(load_calibration(tmp_path / "c.toml"))
    rc, _out, err = run_cli(["calibrate", str(tmp_path / "none.toml")])
    assert rc != 0 and "must be an existing calibration file" in error_line(err)


def test_the_example_calibrations_parse_and_read_their_data():
    from pathlib import Path

    from neuroagents.calibration.data import observed

    files = sorted((Path(__file__).resolve().parents[1] / "examples" / "calibrations").glob("*.toml"))
    assert files
    for path in files:  # over the examples
        obs = observed(load_calibration(path))
        assert len(obs) > 0 and (obs["sd"] > 0).all()


def test_replicates_drawn_from_the_posterior_each_equal_their_run_alone(calibrated, tmp_path):
    from neuroagents.batch.replicates import run_replicates, write_replicates
    from neuroagents.calibration.posterior import posterior_draws

    _d, r = calibrated
    post = pd.read_parquet(r.files["posterior"])
    table = run_replicates("nerve_injury", 3, seed=5, overrides=TINY_SET, posterior=r.files["posterior"], batch=3)
    draws = posterior_draws(post[[KEY, "weight"]], 3, seed=5)
    assert posterior_draws(post[[KEY, "weight"]], 2, seed=5) == draws[:2]  # replicate k whatever the count
    for k in range(3):  # over replicates
        mine = table[table["replicate"] == k]
        assert (mine[KEY] == draws[k][KEY]).all() and (mine["seed"] == 5 + k).all()
        s = load_scenario("nerve_injury", [*TINY_SET, f"{KEY}={draws[k][KEY]!r}", f"scenario.seed={5 + k}"])
        alone = run_task(RunTask("a", 0, 0, 5 + k, {}, s.resolved(), "auto", "float64")).table
        pd.testing.assert_frame_equal(mine.drop(columns=["replicate", "seed", KEY]).reset_index(drop=True),
                                      alone.drop(columns=["run_id", "point", "replicate", "seed"]), check_exact=True)
    res = write_replicates(load_scenario("nerve_injury", TINY_SET), 2, tmp_path / "post", progress=False,
                           posterior=r.files["posterior"])  # fmt: skip
    manifest = json.loads((tmp_path / "post" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["posterior"] == str(r.files["posterior"]) and KEY in manifest["runs"][1]["values"]
    assert (tmp_path / "post" / "summary.png").stat().st_size > 0 and len(res.table) > 0


def test_a_bad_posterior_is_one_error(tmp_path):
    from neuroagents.calibration.posterior import load_posterior

    with pytest.raises(ConfigError, match=r"--posterior = .*: must be an existing posterior file"):
        load_posterior(tmp_path / "none.parquet")
    pd.DataFrame({KEY: [1.0], "weight": [-1.0]}).to_parquet(tmp_path / "neg.parquet")
    with pytest.raises(ConfigError, match="weights that are finite, >= 0 and not all 0"):
        load_posterior(tmp_path / "neg.parquet")
    pd.DataFrame({KEY: [1.0]}).to_parquet(tmp_path / "now.parquet")
    with pytest.raises(ConfigError, match="a table of particles"):
        load_posterior(tmp_path / "now.parquet")
    rc, _out, err = run_cli(["run", "healthy", "--posterior", str(tmp_path / "now.parquet")])
    assert rc != 0 and "given with --replicates N > 1" in error_line(err)
