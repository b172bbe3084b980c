"""Virtual cohorts: individual k is its own run alone, draws keyed by individual, spreads as declared, clear errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from neuroagents.batch.executors import RunTask, run_task
from neuroagents.batch.store import SweepStore
from neuroagents.cohort.run import cohort_table, plan_cohort, run_cohort
from neuroagents.cohort.sample import individuals, typical_value
from neuroagents.cohort.spec import load_cohort, parse_cohort
from neuroagents.errors import ConfigError
from neuroagents.scenario import Scenario, load_scenario
from neuroagents.sex import SEX_VALUES
from neuroagents.testing import error_line, run_cli

TINY_SET = ["scenario.duration_min=30", "tissue.width_um=160", "tissue.height_um=120", "cells.initial.mast_cell=4",
            "cells.initial.macrophage=6", "cells.initial.neuron=6", "cells.initial.t_cell=4",
            "time.record_every_min=6"]  # fmt: skip
COHORT = f"""
[cohort]
name = "tiny"
scenario = "nerve_injury"
set = {TINY_SET!r}
size = 5
seed = 11
female_fraction = 0.5
backend = "numpy"

[[variability]]
key = "cells.macrophage.speed_um_per_min"
cv = 0.3
source = "assumption"

[[variability]]
key = "injury.injured_fraction"
distribution = "logitnormal"
sd = 0.5
source = "assumption"

[[variability]]
key = "pain.mouse_force_scale_g"
cv = 0.2
source = "assumption"

[readouts]
names = ["withdrawal_threshold_g", "pain_ongoing_hz"]
at = [12, "end"]
""".replace("'", '"')
KEYS = ["cells.macrophage.speed_um_per_min", "injury.injured_fraction", "pain.mouse_force_scale_g"]


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("cohort") / "tiny.toml"
    path.write_text(COHORT, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ran(cohort_file, tmp_path_factory):
    """The cohort run once, its five individuals in one lockstep batch."""
    out = tmp_path_factory.mktemp("ran") / "out"
    return run_cohort(cohort_file, out, progress=False, batch=5)


def _alone(spec, row) -> pd.DataFrame:
    """Individual ``row`` run alone: its scenario built with --set strings, not from the cohort's documents."""
    sets = [*spec.set, f"scenario.sex=\"{row['sex']}\"", f"scenario.seed={row['seed']}",
            *(f"{k}={row[k]!r}" for k in spec.keys)]  # fmt: skip
    scenario = load_scenario(spec.scenario_path, sets).resolved()
    outcome = run_task(RunTask(row["run_id"], 0, 0, int(row["seed"]), {}, scenario, "numpy", "float64"))
    assert outcome.ok, outcome.error
    return outcome.table


def test_individual_k_of_a_batched_cohort_equals_its_run_alone(ran, cohort_file):
    spec = load_cohort(cohort_file)
    results = SweepStore(ran.runs.out_dir).results()
    people = ran.table
    assert sorted(people["sex"]) == ["female", "female", "male", "male", "male"]  # both sexes in the one batch
    for row in people.to_dict("records"):  # over the five individuals
        mine = results[results["run_id"] == row["run_id"]].drop(columns=["run_id", "point", "replicate", "seed",
                                                                         "sex", *KEYS]).reset_index(drop=True)
        alone = _alone(spec, row).drop(columns=["run_id", "point", "replicate", "seed"])
        pd.testing.assert_frame_equal(mine, alone, check_exact=True)


def test_the_table_has_one_row_per_individual_with_draws_and_readouts(ran):
    t = ran.table
    assert list(t.columns) == ["individual", "run_id", "seed", "sex", *KEYS, "withdrawal_threshold_g@12min",
                               "pain_ongoing_hz@12min", "withdrawal_threshold_g@end", "pain_ongoing_hz@end"]
    assert t["individual"].tolist() == list(range(5))
    assert t["withdrawal_threshold_g@end"].gt(0).all() and t["pain_ongoing_hz@end"].ge(0).all()
    back = pd.read_parquet(ran.path)
    pd.testing.assert_frame_equal(back, t)
    # the readout at 12 min is the series' value at 12 min
    results = SweepStore(ran.runs.out_dir).results()
    first = results[(results["run_id"] == "i00000") & (results["time_min"] == 12.0)]
    assert t.loc[0, "pain_ongoing_hz@12min"] == first["pain_ongoing_hz"].item()


def test_the_same_command_again_runs_nothing_and_gives_the_same_table(ran, cohort_file):
    again = run_cohort(cohort_file, ran.runs.out_dir, progress=False, batch=2)
    assert again.runs.done_before == 5 and not again.runs.done
    pd.testing.assert_frame_equal(again.table, ran.table)
    pd.testing.assert_frame_equal(cohort_table(ran.runs.out_dir), ran.table)  # the spec read back from the record


def test_individual_k_does_not_depend_on_the_cohort_size_or_the_other_parameters(cohort_file):
    spec = load_cohort(cohort_file)
    doc = load_scenario(spec.scenario_path, spec.set).resolved()
    small = individuals(spec, doc)
    large = individuals(parse_cohort(_with(COHORT, "size = 5", "size = 40")), doc)
    pd.testing.assert_frame_equal(large.iloc[:5].reset_index(drop=True), small)
    fewer = _with(COHORT, 'key = "injury.injured_fraction"\ndistribution = "logitnormal"\nsd = 0.5\n'
                  'source = "assumption"\n\n[[variability]]\n', "")  # fmt: skip
    one_less = individuals(parse_cohort(fewer), doc)
    assert "injury.injured_fraction" not in one_less
    pd.testing.assert_frame_equal(one_less, small.drop(columns=["injury.injured_fraction"]))
    assert individuals(parse_cohort(_with(COHORT, "seed = 11", "seed = 12")), doc)["seed"].tolist() != \
        small["seed"].tolist()  # fmt: skip


def _with(text: str, old: str, new: str) -> dict:
    import tomllib

    assert old in text
    return tomllib.loads(text.replace(old, new))


def test_spreads_sexes_and_typical_values_are_as_declared():
    spec = parse_cohort({"cohort": {"scenario": "nerve_injury", "size": 4000, "seed": 5, "female_fraction": 0.3},
                         "variability": [
                             {"key": "cells.macrophage.speed_um_per_min", "cv": 0.4, "source": "assumption"},
                             {"key": "injury.injured_fraction", "distribution": "logitnormal", "sd": 0.8,
                              "source": "assumption"}]})
    doc = load_scenario("nerve_injury").resolved()
    people = individuals(spec, doc)
    n = len(people)
    female = people["sex"] == "female"
    assert abs(female.mean() - 0.3) < 4 * math.sqrt(0.3 * 0.7 / n)  # binomial, 4 standard errors
    speed = people["cells.macrophage.speed_um_per_min"].to_numpy()
    typical = typical_value(doc, "cells.macrophage.speed_um_per_min", "male")
    logs = np.log(speed / typical)
    sd = math.sqrt(math.log1p(0.4**2))
    assert abs(logs.mean()) < 4 * sd / math.sqrt(n)  # the median is the scenario's value
    assert abs(logs.std() / sd - 1) < 4 / math.sqrt(2 * n)
    assert abs(speed.std() / speed.mean() - 0.4) < 0.03  # the CV is the declared one
    frac = people["injury.injured_fraction"].to_numpy()
    assert ((frac > 0) & (frac < 1)).all()
    f0 = doc["injury"]["injured_fraction"]
    logit = np.log(frac / (1 - frac)) - math.log(f0 / (1 - f0))
    assert abs(logit.mean()) < 4 * 0.8 / math.sqrt(n) and abs(logit.std() / 0.8 - 1) < 4 / math.sqrt(2 * n)
    # a value set by sex is the typical value of that sex: female microglia centre on the female value
    female_value = SEX_VALUES["female"]["microglia"]["treg_restraint"]
    assert typical_value(doc, "cells.microglia.treg_restraint", "female") == female_value
    assert typical_value(doc, "cells.microglia.treg_restraint", "male") == 0.0  # the default: no restraint
    treg = {"key": "cells.microglia.treg_restraint", "distribution": "logitnormal", "sd": 0.3, "source": "a"}
    females = individuals(parse_cohort({"cohort": {"scenario": "nerve_injury", "size": 1000, "seed": 5,
                                                   "female_fraction": 1.0}, "variability": [treg]}), doc)
    assert abs(np.median(females["cells.microglia.treg_restraint"]) / female_value - 1) < 0.01
    males = parse_cohort({"cohort": {"scenario": "nerve_injury", "size": 10, "seed": 5, "female_fraction": 0.0},
                          "variability": [treg]}, where="m.toml")  # fmt: skip
    with pytest.raises(ConfigError, match=r"m.toml: cells.microglia.treg_restraint = 0.0: must be a parameter whose "
                       r"typical value is in \(0, 1\)"):  # fmt: skip
        individuals(males, doc)


def test_without_a_female_fraction_every_individual_has_the_scenarios_sex():
    spec = parse_cohort({"cohort": {"scenario": "nerve_injury", "size": 6, "seed": 5,
                                    "set": ['scenario.sex="female"']}})
    people, tasks, _ = plan_cohort(spec)
    assert (people["sex"] == "female").all()
    assert all(t.scenario["scenario"]["sex"] == "female" for t in tasks)


BAD = [
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 1, "sizee": 2}}, "cohort.sizee",
     "(did you mean 'size'?)"),
    ({"cohort": {"scenario": "healthy", "size": 0, "seed": 1}}, "cohort.size", "an integer in [1, 1,000,000]"),
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 1, "female_fraction": 1.5}}, "cohort.female_fraction",
     "a fraction in [0, 1]"),
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 1},
      "variability": [{"key": "cells.macrophage.speed_um_per_min", "source": "assumption"}]},
     "variability[0].cv", "a coefficient of variation in (0, 10] (lognormal) for distribution = 'lognormal'"),
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 1},
      "variability": [{"key": "cells.macrophage.speed_um_per_min", "cv": 0.2, "sd": 0.3, "source": "assumption"}]},
     "variability[0].sd", "left out: a lognormal spread is given by cv"),
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 1},
      "variability": [{"key": "cells.macrophage.speed_um_per_min", "cv": 0.2}]},
     "variability[0].source", "the variability's source"),
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 1},
      "variability": [{"key": "scenario.sex", "cv": 0.2, "source": "assumption"}]},
     "variability[0].key", "sex comes from cohort.female_fraction"),
]


@pytest.mark.parametrize(("doc", "key", "allowed"), BAD)
def test_a_bad_cohort_file_is_one_error_naming_the_key_and_what_is_allowed(doc, key, allowed):
    with pytest.raises(ConfigError) as exc:
        parse_cohort(doc, where="my.toml")
    msg = str(exc.value)
    assert msg.startswith("my.toml") and key in msg and allowed in msg, msg


def test_a_key_without_a_value_or_a_value_the_scenario_refuses_names_the_individual():
    no_value = parse_cohort({"cohort": {"scenario": "healthy", "size": 3, "seed": 1},
                             "variability": [{"key": "cells.macrophage.speedd", "cv": 0.2, "source": "a"}]},
                            where="c.toml")  # fmt: skip
    with pytest.raises(ConfigError, match=r"c.toml: cells.macrophage.speedd = 'not set and no parameter default': "
                       r"must be a numeric scenario key"):
        plan_cohort(no_value)
    too_wide = parse_cohort({"cohort": {"scenario": "nerve_injury", "size": 50, "seed": 1},
                             "variability": [{"key": "injury.injured_fraction", "cv": 1.0, "source": "a"}]},
                            where="c.toml")  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        plan_cohort(too_wide)
    msg = str(exc.value)
    assert "c.toml, individual " in msg and "injury.injured_fraction" in msg and "narrower spread" in msg, msg


def test_the_cli_draws_and_validates_the_cohort_without_running_it(cohort_file):
    rc, out, err = run_cli(["cohort", str(cohort_file), "--dry-run"])
    assert rc == 0, err
    assert "cohort tiny: 5 individuals (50% female, 3 varied parameters)" in out and "1 structure" in out
    rc, out, err = run_cli(["cohort", "nowhere.toml"])
    assert rc != 0 and "cohort = 'nowhere.toml': must be an existing cohort file" in error_line(err), err


def test_the_example_cohorts_draw_and_validate():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[1] / "examples" / "cohorts").glob("*.toml"))
    assert files
    for path in files:  # over the examples
        people, tasks, _ = plan_cohort(load_cohort(path))
        assert len(people) == len(tasks) > 0


def test_body_weight_is_a_scenario_key_that_sets_the_doses_and_the_pk():
    sets = ["scenario.duration_min=30"]
    light = load_scenario("nerve_injury_tofacitinib", sets).build_model()
    heavy = load_scenario("nerve_injury_tofacitinib", [*sets, "scenario.body_weight_kg=0.05"]).build_model()
    assert light.pharmacology.body_weight_kg == 0.025 and heavy.pharmacology.body_weight_kg == 0.05  # mouse: 25 g
    drug = light.pharmacology.drugs[0]
    d_light, d_heavy = light.pharmacology.doses(drug)[0], heavy.pharmacology.doses(drug)[0]
    assert d_heavy.amount_mg == pytest.approx(2 * d_light.amount_mg)  # a mg/kg dose
    # allometry: volumes scale with the weight, clearances slower (W**0.75): a heavier animal keeps the drug longer
    c_light = light.pharmacology.concentrations(12 * 60.0)[drug]
    c_heavy = heavy.pharmacology.concentrations(12 * 60.0)[drug]
    key = next(iter(c_light))
    assert c_heavy[key] > c_light[key] > 0


def test_a_cohort_varies_body_weight_around_the_species_weight():
    spec = parse_cohort({"cohort": {"scenario": "nerve_injury_tofacitinib", "size": 400, "seed": 2},
                         "variability": [{"key": "scenario.body_weight_kg", "cv": 0.15, "source": "assumption"}]})
    doc = load_scenario("nerve_injury_tofacitinib").resolved()
    people = individuals(spec, doc)
    w = people["scenario.body_weight_kg"].to_numpy()
    assert abs(np.median(w) / 0.025 - 1) < 0.04 and abs(w.std() / w.mean() - 0.15) < 0.03
    small = parse_cohort({"cohort": {"scenario": "nerve_injury_tofacitinib", "size": 2, "seed": 2,
                                     "set": ["scenario.duration_min=30"]},
                          "variability": [{"key": "scenario.body_weight_kg", "cv": 0.15, "source": "assumption"}]})
    people, tasks, _ = plan_cohort(small)
    for row, task in zip(people.to_dict("records"), tasks, strict=True):  # over individuals
        assert task.scenario["scenario"]["body_weight_kg"] == row["scenario.body_weight_kg"]
        model = Scenario.model_validate(task.scenario).build_model()
        assert model.pharmacology.body_weight_kg == row["scenario.body_weight_kg"]


def _posterior_file(path, values, weights, key="cells.macrophage.speed_um_per_min"):
    pd.DataFrame({key: values, "pain.mouse_force_scale_g": [0.4 + 0.1 * i for i in range(len(values))],
                  "weight": weights}).to_parquet(path)  # fmt: skip
    return path


def test_a_cohort_draws_each_individuals_particle_from_a_posterior_by_weight(tmp_path):
    _posterior_file(tmp_path / "posterior.parquet", [1.0, 2.0, 3.0], [0.0, 1.0, 3.0])

    def cohort(size):
        return parse_cohort({"cohort": {"scenario": "healthy", "size": size, "seed": 4,
                                        "posterior": "posterior.parquet"},
                             "variability": [{"key": "cells.t_cell.speed_um_per_min", "cv": 0.2, "source": "a"}]},
                            base_dir=tmp_path)  # fmt: skip

    spec = cohort(400)
    assert spec.to_dict()["posterior_crc32"] is not None  # a rerun with another posterior is another cohort
    plain = parse_cohort({"cohort": {"scenario": "healthy", "size": 3, "seed": 4}})
    assert not {"posterior", "posterior_keys", "posterior_crc32"} & set(plain.to_dict())  # older directories match
    assert spec.keys == ["cells.t_cell.speed_um_per_min", "cells.macrophage.speed_um_per_min",
                         "pain.mouse_force_scale_g"]  # fmt: skip
    doc = load_scenario(spec.scenario_path, spec.set).resolved()
    people = individuals(spec, doc)
    speed = people["cells.macrophage.speed_um_per_min"]
    assert set(speed) <= {2.0, 3.0}  # the zero-weight particle is never drawn
    assert abs((speed == 3.0).mean() - 0.75) < 0.07  # by weight: 3/4 of the population (400 draws, ~3 SE)
    # a particle is drawn whole: its keys travel together
    assert np.allclose(people["pain.mouse_force_scale_g"], 0.4 + 0.1 * (speed - 1.0))
    # individual k is the same in a smaller cohort, and its scenario carries its particle
    pd.testing.assert_frame_equal(individuals(cohort(7), doc), people.iloc[:7])
    from neuroagents.cohort.run import subject_scenario

    row = people.iloc[3].to_dict()
    scenario = subject_scenario(spec, doc, row)
    assert scenario["cells"]["macrophage"]["speed_um_per_min"] == row["cells.macrophage.speed_um_per_min"]
    assert scenario["pain"]["mouse_force_scale_g"] == row["pain.mouse_force_scale_g"]


@pytest.mark.parametrize(("posterior", "key", "allowed"), [
    ("none.parquet", "cohort.posterior", "an existing posterior file"),
    ("posterior.parquet", "variability[0].key", "a key the posterior does not set"),
])  # fmt: skip
def test_a_missing_posterior_or_a_key_drawn_twice_is_one_error(tmp_path, posterior, key, allowed):
    _posterior_file(tmp_path / "posterior.parquet", [1.0, 2.0], [1.0, 1.0])
    doc = {"cohort": {"scenario": "healthy", "size": 3, "seed": 1, "posterior": posterior},
           "variability": [{"key": "cells.macrophage.speed_um_per_min", "cv": 0.2, "source": "a"}]}
    with pytest.raises(ConfigError) as exc:
        parse_cohort(doc, where="my.toml", base_dir=tmp_path)
    msg = str(exc.value)
    assert msg.startswith("my.toml") and key in msg and allowed in msg, msg
