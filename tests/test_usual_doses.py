"""Usual dose ranges: every drug carries one per species with a source; doses outside are warned about with the
range, doses heavier than the animal refused; the built-in scenarios and validation arms dose within the ranges."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from neuroagents.errors import ConfigError
from neuroagents.pharmacology import DRUGS, DosingSchedule, Pharmacology
from neuroagents.pharmacology.schema import SPECIES_NAMES
from neuroagents.scenario import load_scenario
from neuroagents.scenario.checks import implausible_doses
from neuroagents.scenario.loader import builtin_scenarios
from neuroagents.testing import error_line, run_cli
from neuroagents.validation import CASES


@pytest.mark.parametrize("name", sorted(DRUGS))
def test_every_drug_has_a_sourced_usual_range_for_every_species(name):
    d = DRUGS[name]
    assert set(d.usual_dose_mg_per_kg) == set(SPECIES_NAMES)
    for sp, (low, high) in d.usual_dose_mg_per_kg.items():
        assert 0 < low < high and d.sources[f"usual_dose_mg_per_kg.{sp}"]
    rodent_high = max(d.usual_dose_mg_per_kg["mouse"][1], d.usual_dose_mg_per_kg["rat"][1])
    assert d.usual_dose_mg_per_kg["human"][1] <= rodent_high  # rodents take larger mg/kg doses than people


def test_the_catalogue_refuses_a_range_without_a_source_or_upside_down():
    good = DRUGS["celecoxib"]
    with pytest.raises(ConfigError, match=r"usual_dose_mg_per_kg\.rat = \(50.0, 1.0\): must be a pair"):
        dataclasses.replace(good, usual_dose_mg_per_kg={"rat": (50.0, 1.0)})
    with pytest.raises(ConfigError, match="keys among"):
        dataclasses.replace(good, usual_dose_mg_per_kg={"hamster": (1.0, 2.0)})
    bare = {k: v for k, v in good.sources.items() if k != "usual_dose_mg_per_kg.rat"}
    with pytest.raises(ConfigError, match=r"sources\.usual_dose_mg_per_kg\.rat"):
        dataclasses.replace(good, sources=bare)


def test_docs_list_every_usual_range():
    text = (Path(__file__).resolve().parents[1] / "docs" / "drugs.md").read_text(encoding="utf-8")
    for name, d in DRUGS.items():
        row = " | ".join(f"{lo:g}-{hi:g}" for lo, hi in (d.usual_dose_mg_per_kg[s] for s in ("mouse", "rat", "human")))
        assert f"| {name} | {row} |" in text


def test_a_dose_outside_the_range_is_named_with_drug_dose_and_range():
    s = DosingSchedule("tofacitinib", "oral", dose_mg_per_kg=500.0, where="drugs[0]")
    w = s.unusual("mouse")
    assert w.startswith("drugs[0] (tofacitinib): dose_mg_per_kg = 500 is outside the usual 0.3-50 mg/kg")
    assert "Milici 2008" in w and "check the unit" in w
    assert DosingSchedule("tofacitinib", "oral", dose_mg_per_kg=0.001).unusual("mouse") is not None  # µg for mg
    assert DosingSchedule("tofacitinib", "oral", dose_mg_per_kg=10.0).unusual("mouse") is None
    assert DosingSchedule("tofacitinib", "oral", dose_mg_per_kg=10.0).unusual("human") is not None  # a rodent dose
    # dose_mg is converted with the body weight: 0.25 mg is 10 mg/kg in a 25 g mouse, 1 mg/kg in a 250 g rat
    assert DosingSchedule("tofacitinib", "oral", dose_mg=0.25).unusual("mouse") is None
    w = DosingSchedule("tofacitinib", "oral", dose_mg=250.0).unusual("rat")
    assert "dose_mg = 250 (1e+03 mg/kg for a 250 g rat)" in w
    # intrathecal and local doses are small: only the upper end applies
    assert DosingSchedule("antagomir-21", "intrathecal", dose_mg_per_kg=0.01).unusual("mouse") is None
    assert "(at most; intrathecal)" in DosingSchedule("antagomir-21", "intrathecal", dose_mg_per_kg=500).unusual("rat")


def test_a_dose_heavier_than_the_animal_is_refused():
    with pytest.raises(ConfigError, match=r"drugs\[0\]\.dose_mg_per_kg = 1000000000000\.0: must be a dose lighter "
                                          r"than the animal itself \(25 g"):  # fmt: skip
        Pharmacology([{"drug": "tofacitinib", "route": "oral", "dose_mg_per_kg": 1e12}], species="mouse")
    with pytest.raises(ConfigError, match=r"drugs\[0\]\.dose_mg = 300000\.0: must be a dose lighter than the animal "
                                          r"itself \(250 g"):  # fmt: skip
        Pharmacology([{"drug": "celecoxib", "route": "oral", "dose_mg": 3e5}], species="rat")  # 300 g into 250 g
    Pharmacology([{"drug": "celecoxib", "route": "oral", "dose_mg": 3e5}], species="human")  # absurd only as a dose


def _arms():
    yield from ((name, ()) for name in sorted(builtin_scenarios()))
    for case in CASES.values():
        yield from case.arms.values()


@pytest.mark.parametrize(("name", "overrides"), sorted(set(_arms())))
def test_built_in_scenarios_and_validation_arms_dose_within_the_usual_ranges(name, overrides):
    assert implausible_doses(load_scenario(name, overrides)) == []


def test_the_cli_warns_with_the_range_and_refuses_the_absurd(tmp_path):
    tiny = ["--hours", "0.05", "--backend", "numpy", "--set", "tissue.width_um=200", "--set", "tissue.height_um=160"]
    out = tmp_path / "dose"
    rc, _, err = run_cli(["run", "nerve_injury_tofacitinib", *tiny, "--set", "drugs[0].dose_mg_per_kg=500",
                          "--out", str(out)])  # fmt: skip
    assert rc == 0, err
    warning = "drugs[0] (tofacitinib): dose_mg_per_kg = 500 is outside the usual 0.3-50 mg/kg of one systemic dose"
    assert f"warning: {warning}" in err
    assert any(n.startswith(warning) for n in json.loads((out / "manifest.json").read_text())["notes"])
    rc, _, err = run_cli(["run", "nerve_injury_tofacitinib", *tiny, "--set", "drugs[0].dose_mg_per_kg=1e12",
                          "--out", str(tmp_path / "absurd")])  # fmt: skip
    assert rc == 2 and "dose_mg_per_kg = 1000000000000.0: must be a dose lighter than the animal" in error_line(err)
    assert not (tmp_path / "absurd").exists()
