"""Sweep files and designs: every mistake is one actionable line; designs have the properties they claim."""

from __future__ import annotations

import contextlib
import io
import math

import numpy as np
import pytest
from pydantic import ValidationError

from neuroagents.batch.design import build_design, run_scenarios
from neuroagents.batch.schema import SweepFile
from neuroagents.batch.spec import load_sweep, parse_sweep
from neuroagents.batch.sweep import plan_sweep
from neuroagents.cli import main
from neuroagents.errors import ConfigError
from neuroagents.scenario import Scenario, load_scenario

GOOD = """
[sweep]
scenario = "nerve_injury"
set = ["scenario.duration_min=5", "tissue.width_um=200", "tissue.height_um=160"]
replicates = 2

[design]
method = "sobol"
samples = 4

[[parameters]]
key = "cells.macrophage.speed_um_per_min"
min = 0.5
max = 4.0
scale = "log"

[[parameters]]
key = "injury.injured_fraction"
min = 0.1
max = 0.9
"""


def run_cli(argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(argv)
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("replicates = 2", "replicats = 2",
         "sweep.replicats = 2: must be a key of [sweep] (did you mean 'replicates'?)"),
        ('method = "sobol"', 'method = "sobel"', "design.method = 'sobel': must be one of 'grid', 'random', 'lhs', "
         "'sobol', 'morris' (did you mean 'sobol'?)"),
        ("samples = 4", "samples = 6", "design.samples = 6: must be a power of 2 for a Sobol design"),
        ("min = 0.5", "min = -0.5", "parameters[0].min = -0.5: must be a number > 0 for scale = 'log'"),
        ("max = 0.9", "max = 0.05", "parameters[1].max = 0.05: must be a number > min (0.1)"),
        ('key = "injury.injured_fraction"', 'key = "injury.injured_fractoin"',
         "parameters[1] (in scenario nerve_injury): injury.injured_fractoin = 0.1: must be a known key (did you mean "
         "'injured_fraction'?)"),
        ("max = 0.9", "max = 1.5", "parameters[1] (in scenario nerve_injury): injury.injured_fraction = 1.5: must "
         "be a fraction in [0, 1]"),
        ('"tissue.height_um=160"', '"tissue.heigth_um=160"', "sweep.set (in scenario nerve_injury): "
         "tissue.heigth_um = 160: must be a known key (did you mean 'height_um'?)"),
        ('scenario = "nerve_injury"', 'scenario = "nerve_injry"', "sweep.scenario = 'nerve_injry': must be a "
         "built-in scenario (did you mean 'nerve_injury'?)"),
        ("[design]", "[desing]", "desing = {'method': 'sobol', 'samples': 4}: must be a table among [sweep], "
         "[design], [[parameters]], [analysis] (did you mean 'design'?)"),
        ("min = 0.5\nmax = 4.0", "values = [0.5, 4.0]", "parameters[0].values = [0.5, 4.0]: must be left out: a "
         "sobol design samples between min and max"),
        ("replicates = 2", "replicates = 2\nseeds = [1, 1]", "sweep.seeds = [1, 1]: must be distinct seeds"),
        ("replicates = 2", "replicates = 2\nbackend = 'gpu'", "sweep.backend = 'gpu': must be one of 'auto', "
         "'numpy', 'cupy'"),
        ("samples = 4", "samples = 4\nlevels = 4", "design.levels = 4: must be left out: levels are for a morris"),
        ("replicates = 2", "replicates = = 2", ":5:14: not valid TOML"),
    ],
)
def test_a_bad_sweep_file_is_one_line_naming_file_key_value_and_what_is_allowed(tmp_path, old, new, expected):
    assert old in GOOD
    path = tmp_path / "bad.toml"
    path.write_text(GOOD.replace(old, new, 1), encoding="utf-8")
    rc, _, err = run_cli(["sweep", str(path), "--out", str(tmp_path / "out")])
    assert rc == 2
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith(f"neuroagents sweep: error: {path}") and expected in lines[0], lines[0]
    assert not (tmp_path / "out").exists()


def test_dry_run_lists_the_runs(tmp_path):
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    rc, stdout, err = run_cli(["sweep", str(path), "--dry-run"])
    assert rc == 0, err
    assert "16 points x 2 replicates = 32 runs" in stdout
    assert "p0015-r01" in stdout


def _spec(method, params, **design):
    return parse_sweep({"sweep": {"scenario": "healthy", "set": ["scenario.duration_min=5"]},
                        "design": {"method": method, **design}, "parameters": params}, where="t.toml")  # fmt: skip


def test_grid_is_every_combination_and_n_points_follow_the_scale():
    spec = _spec("grid", [{"key": "injury.injured_fraction", "values": [0.0, 0.5]},
                          {"key": "cells.macrophage.speed_um_per_min", "min": 1.0, "max": 100.0, "n": 3,
                           "scale": "log"}])  # fmt: skip
    d = build_design(spec)
    got = sorted((p["injury.injured_fraction"], round(p["cells.macrophage.speed_um_per_min"], 9)) for p in d.points)
    assert got == [(0.0, 1.0), (0.0, 10.0), (0.0, 100.0), (0.5, 1.0), (0.5, 10.0), (0.5, 100.0)]


def test_latin_hypercube_puts_one_point_in_each_stratum_of_each_parameter():
    spec = _spec("lhs", [{"key": "injury.injured_fraction", "min": 0.0, "max": 1.0},
                         {"key": "cells.macrophage.speed_um_per_min", "min": 1.0, "max": 11.0}], samples=20, seed=3)
    x = build_design(spec).X
    assert x.shape == (20, 2)
    for j, lo, hi in ((0, 0.0, 1.0), (1, 1.0, 11.0)):
        strata = np.floor((x[:, j] - lo) / (hi - lo) * 20).astype(int)
        assert sorted(strata) == list(range(20))
    assert np.array_equal(build_design(spec).X, x)  # seeded


@pytest.mark.parametrize(("method", "design", "n_points"), [("sobol", {"samples": 8}, 8 * (3 + 2)),
                                                             ("morris", {"samples": 5, "levels": 4}, 5 * (3 + 1)),
                                                             ("random", {"samples": 7}, 7)])  # fmt: skip
def test_sampled_designs_have_their_size_and_stay_in_bounds(method, design, n_points):
    params = [{"key": "injury.injured_fraction", "min": 0.1, "max": 0.9},
              {"key": "cells.macrophage.speed_um_per_min", "min": 0.5, "max": 8.0, "scale": "log"},
              {"key": "cells.initial.macrophage", "min": 2, "max": 9, "integer": True}]  # fmt: skip
    d = build_design(_spec(method, params, **design))
    assert len(d.points) == n_points and d.X.shape == (n_points, 3)
    f = np.array([p["injury.injured_fraction"] for p in d.points])
    s = np.array([p["cells.macrophage.speed_um_per_min"] for p in d.points])
    n = [p["cells.initial.macrophage"] for p in d.points]
    assert (0.1 <= f).all() and (f <= 0.9).all() and (0.5 <= s).all() and (s <= 8.0 + 1e-12).all()
    assert all(isinstance(v, int) and 2 <= v <= 9 for v in n)
    np.testing.assert_allclose(np.log10(s), d.X[:, 1])  # log scale: SALib sees log10 of the value


def test_seeds_are_common_across_points_unless_independent():
    params = [{"key": "injury.injured_fraction", "values": [0.0, 0.5, 1.0]}]
    common = parse_sweep({"sweep": {"scenario": "healthy", "replicates": 2, "base_seed": 10},
                          "design": {"method": "grid"}, "parameters": params}, where="t.toml")  # fmt: skip
    assert [r.seed for r in build_design(common).runs] == [10, 11] * 3
    indep = parse_sweep({"sweep": {"scenario": "healthy", "replicates": 2, "base_seed": 10, "independent_seeds": True},
                         "design": {"method": "grid"}, "parameters": params}, where="t.toml")  # fmt: skip
    seeds = [r.seed for r in build_design(indep).runs]
    assert len(set(seeds)) == 6 and all(0 <= s < 2**63 for s in seeds)
    assert seeds == [r.seed for r in build_design(indep).runs]


def test_each_run_scenario_is_the_one_the_loader_gives(tmp_path):
    """The fast path (values set in the resolved document) equals load_scenario with --set, seed included."""
    path = tmp_path / "s.toml"
    path.write_text(GOOD, encoding="utf-8")
    spec = load_sweep(path)
    _, tasks, record = plan_sweep(spec)
    assert record["n_runs"] == len(tasks) == 32 and record["base_seed"] == 1
    for task in tasks[::7]:
        sets = [f"{k}={v!r}" for k, v in task.params.items()]
        expected = load_scenario("nerve_injury", [*spec.set, *sets, f"scenario.seed={task.seed}"])
        assert Scenario.model_validate(task.scenario) == Scenario.model_validate(expected.resolved())


def test_a_key_with_an_exclusive_partner_goes_through_the_loader():
    """duration_min replaces an inherited duration_days (the loader's rule), also in a sweep."""
    spec = parse_sweep({"sweep": {"scenario": "healthy"}, "design": {"method": "grid"},
                        "parameters": [{"key": "scenario.duration_min", "values": [5.0, 10.0]}]}, where="t.toml")
    base = load_scenario("healthy")
    scenarios = run_scenarios(spec, build_design(spec), base)
    assert [Scenario.model_validate(s).duration_min for s in scenarios.values()] == [5.0, 10.0]
    assert all("duration_days" not in s["scenario"] for s in scenarios.values())
    assert not math.isnan(base.duration_min)


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("parameters", 1, "integer"), "yes", "parameters[1].integer = 'yes': must be true or false"),
        (("parameters", 0, "min"), "0.5", "parameters[0].min = '0.5': must be a finite number"),
        (("parameters", 1, "scale"), "ln", "parameters[1].scale = 'ln': must be one of 'linear', 'log'"),
        (("parameters", 1, "mn"), 0.1, "parameters[1].mn = 0.1: must be a key of [parameters] (did you mean 'min'?)"),
        (("sweep", "seeds"), [1, "2"], "sweep.seeds[1] = '2': must be an integer"),
        (("design", "seed"), 1.5, "design.seed = 1.5: must be an integer in [0, 2**32 - 1]"),
        (("analysis", "readouts"), ["y", 3], "analysis.readouts[1] = 3: must be a string"),
        (("analysis", "at"), True, "analysis.at = True: must be 'end', 'mean' or a time >= 0 (min)"),
    ],
)
def test_a_wrong_type_in_a_nested_table_names_its_dotted_key(path, value, expected):
    """The sweep file is validated by pydantic models: the error's location is the key, at any depth."""
    doc = {"sweep": {"scenario": "healthy"}, "design": {"method": "lhs", "samples": 4},
           "parameters": [{"key": "injury.injured_fraction", "min": 0.1, "max": 0.9},
                          {"key": "stimulus.mast_cell", "min": 0.0, "max": 1.0}], "analysis": {}}  # fmt: skip
    table = doc
    for part in path[:-1]:
        table = table[part]
    table[path[-1]] = value
    with pytest.raises(ValidationError) as raw:
        SweepFile.model_validate(doc)
    assert tuple(raw.value.errors()[0]["loc"])[: len(path)] == path
    with pytest.raises(ConfigError) as err:
        parse_sweep(doc, where="t.toml")
    assert str(err.value).startswith("t.toml: ") and expected in str(err.value), str(err.value)
    assert err.value.key == expected.split(" = ")[0] and err.value.where == "t.toml"
