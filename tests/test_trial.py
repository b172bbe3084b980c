"""Virtual trials: subjects equal their runs alone, balanced allocation, exact endpoints, honest intervals, errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from neuroagents.batch.executors import RunTask, run_task
from neuroagents.batch.store import SweepStore
from neuroagents.errors import ConfigError
from neuroagents.scenario import load_scenario
from neuroagents.testing import error_line, run_cli
from neuroagents.trial.analysis import compare_arms, endpoint_values, responder_column
from neuroagents.trial.run import allocate, plan_trial, run_trial
from neuroagents.trial.spec import Endpoint, load_trial, parse_trial

TINY_SET = ["scenario.duration_min=30", "tissue.width_um=160", "tissue.height_um=120", "cells.initial.mast_cell=4",
            "cells.initial.macrophage=6", "cells.initial.neuron=6", "cells.initial.t_cell=4",
            "time.record_every_min=6"]  # fmt: skip
TRIAL = f"""
[trial]
name = "tiny"
seed = 9
bootstrap = 400

[cohort]
scenario = "nerve_injury"
set = {TINY_SET!r}
size = 6
seed = 11
female_fraction = 0.5
backend = "numpy"

[[variability]]
key = "pain.mouse_force_scale_g"
cv = 0.2
source = "assumption"

[[arms]]
name = "placebo"

[[arms]]
name = "tofacitinib"
drugs = [{{drug = "tofacitinib", route = "oral", dose_mg_per_kg = 15.0, start_min = 6.0}}]

[[endpoints]]
name = "threshold"
readout = "withdrawal_threshold_g"
baseline_min = 6
visit_min = 30

[[endpoints]]
name = "firing"
readout = "pain_ongoing_hz"
baseline_min = 6
visit_min = 24
better = "lower"
""".replace("'", '"')


@pytest.fixture(scope="module")
def trial_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("trial") / "tiny.toml"
    path.write_text(TRIAL, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def ran(trial_file, tmp_path_factory):
    return run_trial(trial_file, tmp_path_factory.mktemp("ran") / "out", progress=False, batch=6)


def test_each_subject_equals_its_scenario_run_alone_with_its_arms_drugs(ran, trial_file):
    spec = load_trial(trial_file)
    results = SweepStore(ran.runs.out_dir).results()
    assert sorted(ran.subjects["arm"]) == ["placebo"] * 3 + ["tofacitinib"] * 3
    for row in ran.subjects.to_dict("records"):  # over the six subjects
        c = spec.cohort
        sets = [*c.set, f"scenario.sex=\"{row['sex']}\"", f"scenario.seed={row['seed']}",
                *(f"{k}={row[k]!r}" for k in c.keys)]  # fmt: skip
        scenario = load_scenario(c.scenario_path, sets).resolved()
        if row["arm"] == "tofacitinib":
            scenario["drugs"] = [*scenario.get("drugs", []), dict(spec.arms[1].drugs[0])]
        alone = run_task(RunTask(row["run_id"], 0, 0, int(row["seed"]), {}, scenario, "numpy", "float64"))
        assert alone.ok, alone.error
        mine = results[results["run_id"] == row["run_id"]].drop(
            columns=["run_id", "point", "replicate", "seed", "arm", "sex", *c.keys]).reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.table.drop(columns=["run_id", "point", "replicate", "seed"]),
                                      check_exact=True)  # fmt: skip


def test_the_outputs_are_written_and_the_same_file_gives_the_same_tables(ran, trial_file, tmp_path):
    for what, path in ran.files.items():  # over the five outputs
        assert path.is_file() and path.stat().st_size > 0, what
    again = run_trial(trial_file, tmp_path / "again", progress=False, batch=2)
    pd.testing.assert_frame_equal(again.subjects, ran.subjects)
    pd.testing.assert_frame_equal(again.comparisons, ran.comparisons)
    pd.testing.assert_frame_equal(pd.read_csv(ran.files["arms"]), pd.read_csv(again.files["arms"]))
    assert list(ran.comparisons["measure"]) == ["change", "change_mixed", "responders_30", "responders_50"] * 2


def test_allocation_is_balanced_within_each_sex_and_follows_the_seed():
    rng = np.random.default_rng(0)
    sexes = np.where(rng.random(301) < 0.4, "female", "male")
    a = allocate(sexes, 3, seed=5)
    assert np.bincount(a).max() - np.bincount(a).min() <= 1
    for s in ("female", "male"):  # over sexes
        counts = np.bincount(a[sexes == s], minlength=3)
        assert counts.max() - counts.min() <= 1
    assert np.array_equal(a, allocate(sexes, 3, seed=5))
    assert not np.array_equal(a, allocate(sexes, 3, seed=6))
    # no arm gets the first subjects: the order is random within each sex
    assert len(set(a[:30])) == 3


def test_endpoint_values_are_exact_on_a_known_series():
    t = np.arange(0.0, 70.0, 10.0)
    up = [10.0, 10.0, 12.0, 13.0, 16.0, 15.0, 9.0]  # baseline at 10 min: 10; visit at 55 min: the record at 50
    results = pd.DataFrame({"run_id": ["a"] * 7, "time_min": t, "y": up})
    e = Endpoint("e", "y", 10.0, 55.0, "higher")
    row = endpoint_values(results, e, (0.3, 0.5)).iloc[0]
    assert row["e.baseline"] == 10.0 and row["e.visit"] == 15.0 and row["e.change"] == 5.0
    assert row["e.improvement"] == pytest.approx(0.5)
    assert row[responder_column("e", 0.3)] and row[responder_column("e", 0.5)]
    assert row["e.time_to_response_min"] == 20.0  # 13 at 30 min is +30 %, 20 min after the baseline
    lower = endpoint_values(results, Endpoint("e", "y", 40.0, 60.0, "lower"), (0.3, 0.5)).iloc[0]
    assert lower["e.improvement"] == pytest.approx((16.0 - 9.0) / 16.0)  # from 16 at 40 min to 9 at 60: -44 %
    assert lower[responder_column("e", 0.3)] and not lower[responder_column("e", 0.5)]
    assert lower["e.time_to_response_min"] == 20.0  # 15 at 50 min is only -6 %


def test_the_bootstrap_interval_covers_the_true_difference_at_about_its_level():
    spec = parse_trial(_doc(bootstrap=400, confidence=0.9))
    rng = np.random.default_rng(3)
    covered, trials = 0, 200
    for _ in range(trials):  # over simulated trials with a true difference of 1.0
        x, y = rng.normal(1.0, 2.0, 40), rng.normal(0.0, 2.0, 40)
        subjects = _subjects(x, y)
        row = compare_arms(subjects, spec).iloc[0]
        covered += row["ci_low"] <= 1.0 <= row["ci_high"]
    # nominal 90 %; a percentile bootstrap at n = 40 runs a little narrow: binomial 4 SE around 0.87
    assert abs(covered / trials - 0.87) < 4 * math.sqrt(0.9 * 0.1 / trials)
    x, y = rng.normal(3.0, 1.0, 50), rng.normal(0.0, 1.0, 50)
    row = compare_arms(_subjects(x, y), spec).iloc[0]
    assert row["ci_low"] > 0 and row["p_value"] == pytest.approx(stats.ttest_ind(x, y, equal_var=False).pvalue)
    again = compare_arms(_subjects(x, y), spec)
    assert again.iloc[0]["ci_low"] == row["ci_low"]  # the trial's seed fixes the resamples


def _doc(**trial) -> dict:
    return {"trial": {"seed": 1, **trial}, "cohort": {"scenario": "healthy", "size": 4, "seed": 2},
            "arms": [{"name": "placebo"}, {"name": "drug"}],
            "endpoints": [{"name": "e", "readout": "withdrawal_threshold_g", "baseline_min": 0, "visit_min": 60}]}


def _subjects(x, y) -> pd.DataFrame:
    n = len(x) + len(y)
    changes = np.concatenate([x, y])
    return pd.DataFrame({"run_id": [f"i{i}" for i in range(n)], "arm": ["drug"] * len(x) + ["placebo"] * len(y),
                         "sex": "male", "e.change": changes, responder_column("e", 0.3): changes > 1,
                         responder_column("e", 0.5): changes > 2})  # fmt: skip


BAD = [
    ({"arms": [{"name": "placebo"}]}, "arms", "two or more tables [[arms]]"),
    ({"arms": [{"name": "placebo"}, {"name": "placebo"}]}, "arms[1].name", "a name not used twice"),
    ({"arms": [{"name": "placebo"}, {"name": "x", "drugs": [{"drug": "tofacitnib", "route": "oral",
                                                             "dose_mg_per_kg": 1.0}]}]},
     "arms[1].drugs[0]", "tofacitinib"),
    ({"trial": {"seed": 1, "control": "placebp"}}, "trial.control", "(did you mean 'placebo'?)"),
    ({"cohort": {"scenario": "healthy", "size": 3, "seed": 2}}, "cohort.size", "at least 2 subjects per arm"),
    ({"endpoints": [{"name": "e", "readout": "y", "baseline_min": 60, "visit_min": 30}]}, "endpoints[0].visit_min",
     "a time > baseline_min (60 min)"),
    ({"endpoints": [{"name": "e", "readout": "y", "baseline_min": 0, "visit_min": 30, "better": "up"}]},
     "endpoints[0].better", "one of 'higher', 'lower'"),
    ({"responders": {"thresholds": [0.5, 0.3]}}, "responders.thresholds", "increasing fractions"),
    ({"trail": {}}, "trail", "(did you mean 'trial'?)"),
]


@pytest.mark.parametrize(("change", "key", "allowed"), BAD)
def test_a_bad_trial_file_is_one_error_naming_the_key_and_what_is_allowed(change, key, allowed):
    with pytest.raises(ConfigError) as exc:
        parse_trial({**_doc(), **change}, where="t.toml")
    msg = str(exc.value)
    assert msg.startswith("t.toml") and key in msg and allowed in msg, msg


def test_a_subject_the_scenario_refuses_is_named_with_its_arm():
    doc = _doc()
    doc["cohort"] = {"scenario": "healthy", "size": 4, "seed": 2}
    # 100 g of drug: more than a mouse weighs
    doc["arms"][1]["drugs"] = [{"drug": "tofacitinib", "route": "oral", "dose_mg": 1e5}]
    with pytest.raises(ConfigError) as exc:
        plan_trial(parse_trial(doc, where="t.toml"))
    assert "in arm drug" in str(exc.value) and "drugs[0]" in str(exc.value), str(exc.value)


def test_the_cli_allocates_and_validates_without_running(trial_file):
    rc, out, err = run_cli(["trial", str(trial_file), "--dry-run"])
    assert rc == 0, err
    assert "6 subjects in 2 arms (placebo, tofacitinib; control placebo)" in out and "arm sizes [3, 3]" in out
    rc, out, err = run_cli(["trial", str(trial_file.with_name("none.toml"))])
    assert rc != 0 and "must be an existing trial file" in error_line(err)


def test_the_example_trials_allocate_and_validate():
    from pathlib import Path

    files = sorted((Path(__file__).resolve().parents[1] / "examples" / "trials").glob("*.toml"))
    assert files
    for path in files:  # over the examples
        spec = load_trial(path)
        assert "posterior" not in spec.to_dict()["cohort"]  # unused: absent, so older trial directories resume
        people, tasks, _ = plan_trial(spec)
        sizes = people["arm"].value_counts()
        assert len(tasks) == len(people) and sizes.max() - sizes.min() <= 1


def test_a_trial_in_people_reads_the_pinprick_threshold_and_the_0_10_rating(tmp_path):
    """``scenario.species = "human"``: human PK, the QST pinprick series and ``pain_rating_nrs`` as an endpoint."""
    from neuroagents.pain.params import SPECIES

    text = (TRIAL.replace('"time.record_every_min=6"]', '"time.record_every_min=6", "scenario.species=\\"human\\""]')
            .replace('key = "pain.mouse_force_scale_g"', 'key = "pain.human_force_scale_g"')
            .replace("dose_mg_per_kg = 15.0", "dose_mg_per_kg = 0.15")  # 10 mg in 70 kg (Xeljanz label range)
            .replace('name = "firing"\nreadout = "pain_ongoing_hz"', 'name = "nrs"\nreadout = "pain_rating_nrs"'))
    path = tmp_path / "people.toml"
    path.write_text(text, encoding="utf-8")
    result = run_trial(path, tmp_path / "out", progress=False, batch=6)
    s = result.subjects
    pins = set(SPECIES["human"].filaments_g)
    assert set(s["threshold.baseline"]) <= pins and set(s["threshold.visit"]) <= pins
    for col in ("nrs.baseline", "nrs.visit"):  # over the two reads
        assert s[col].between(0.0, 10.0).all()
    assert (s["nrs.baseline"] > 0.0).all()  # nerve injury: ectopic discharge is ongoing pain from the start
    assert "nrs" in set(result.comparisons["endpoint"])


def test_the_mixed_model_recovers_a_known_effect_at_the_visit_and_covers_it():
    """Synthetic repeated measures with a subject effect, a baseline effect and a drug effect growing to 0.3 at the
    visit: the mixed model's interval covers 0.3 in about 95 % of 60 simulated trials, and 0 is rarely covered."""
    from neuroagents.trial.mixed import arm_effects_at_visit

    times = np.arange(0.0, 121.0, 10.0)
    covered = excluded = 0
    for rep in range(60):  # over simulated trials
        rng = np.random.default_rng(rep)
        rows = []
        for i in range(40):  # over subjects: 20 per arm
            arm = ("placebo", "drug")[i % 2]
            base, subject = rng.normal(1.0, 0.2), rng.normal(0.0, 0.1)
            for t in times:  # over records
                effect = 0.3 * (arm == "drug") * max(t - 60.0, 0.0) / 60.0  # from the baseline at 60 to the visit
                rows.append({"run_id": f"s{i}", "arm": arm, "time_min": t,
                             "y": base + (subject + 0.5 * (base - 1.0)) * (t > 60) + effect + rng.normal(0, 0.05)})
        results = pd.DataFrame(rows)
        fit = arm_effects_at_visit(results, results.groupby("run_id")["arm"].first(), "y", 60.0, 120.0, "placebo")
        d = fit["drug"]
        covered += d["ci_low"] <= 0.3 <= d["ci_high"]
        excluded += not d["ci_low"] <= 0.0 <= d["ci_high"]
    assert 51 <= covered <= 60  # 95 % of 60 is 57; a binomial 99 % range
    assert excluded >= 57


def test_the_mixed_model_says_why_it_has_no_estimate_for_a_readout_that_does_not_vary():
    from neuroagents.trial.mixed import arm_effects_at_visit

    results = pd.DataFrame({"run_id": np.repeat(["a", "b", "c", "d"], 3), "time_min": np.tile([0.0, 5.0, 10.0], 4),
                            "y": 0.0})  # fmt: skip
    fit = arm_effects_at_visit(results, {"a": "p", "b": "p", "c": "d", "d": "d"}, "y", 0.0, 10.0, "p")
    assert np.isnan(fit["d"]["difference"]) and fit["d"]["note"] == "no variation to model"


def test_new_endpoints_reanalyse_the_same_runs_and_older_directories_resume(ran, trial_file, tmp_path):
    """Endpoints, control, bootstrap and confidence define no run: changing them re-analyses the finished runs.
    A directory recorded with the whole spec (before this) is adopted when its runs are the same."""
    import json
    import shutil

    out = tmp_path / "copy"
    shutil.copytree(ran.files["subjects"].parent, out)
    meta = out / "sweep.json"
    data = json.loads(meta.read_text(encoding="utf-8"))
    data["sweep"]["spec"] = load_trial(trial_file).to_dict()  # the older record: the whole spec
    meta.write_text(json.dumps(data), encoding="utf-8")
    changed = trial_file.with_name("later_visit.toml")
    changed.write_text(TRIAL.replace("visit_min = 24", "visit_min = 18").replace("bootstrap = 400", "bootstrap = 300"),
                       encoding="utf-8")  # fmt: skip
    again = run_trial(changed, out, progress=False, batch=6)
    assert again.runs.done == [] and again.runs.done_before == again.runs.n_runs  # nothing simulated again
    assert "endpoints" not in json.loads(meta.read_text(encoding="utf-8"))["sweep"]["spec"]
    pd.testing.assert_series_equal(again.subjects["threshold.change"], ran.subjects["threshold.change"])
    assert not again.subjects["firing.visit"].equals(ran.subjects["firing.visit"])  # read at 18 min, not 24


def test_a_visit_after_the_runs_end_is_refused(trial_file):
    late = parse_trial(__import__("tomllib").loads(TRIAL.replace("visit_min = 30", "visit_min = 45")), where="t.toml")
    with pytest.raises(ConfigError, match=r"t.toml: endpoints\[0\].visit_min = 45.0: must be a time within the "
                                          r"runs' 30 min"):  # fmt: skip
        plan_trial(late)
