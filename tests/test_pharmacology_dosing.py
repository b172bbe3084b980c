"""Dosing schedules: dose times, amounts, and clear errors for every kind of mistake."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.pharmacology import MAX_DOSES, DosingSchedule, Pharmacology

BASE = {"drug": "tofacitinib", "route": "oral", "dose_mg": 5.0}


def _err(**changes) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        DosingSchedule.from_mapping({**BASE, **changes}, where="scenario.drugs[0]")
    return info.value


def test_dose_times_follow_interval_count_and_stop():
    s = DosingSchedule("tofacitinib", "oral", dose_mg=5, interval_h=12, start_min=60, n_doses=4)
    np.testing.assert_allclose(s.dose_times_min(), [60, 780, 1500, 2220])
    s = DosingSchedule("tofacitinib", "oral", dose_mg=5, interval_h=12, start_min=0, stop_min=1440)
    np.testing.assert_allclose(s.dose_times_min(), [0, 720, 1440])  # stop is inclusive
    s = DosingSchedule("tofacitinib", "oral", dose_mg=5, interval_h=12, stop_min=1000, n_doses=10)
    assert len(s.dose_times_min()) == 2  # whichever ends first
    assert DosingSchedule("tofacitinib", "oral", dose_mg=5).dose_times_min().tolist() == [0.0]


def test_mg_per_kg_uses_the_species_body_weight():
    s = DosingSchedule("minocycline", "oral", dose_mg_per_kg=40)
    assert s.amount_mg(0.025) == pytest.approx(1.0)
    assert Pharmacology([s], species="rat").body_weight_kg == 0.25
    doses = Pharmacology([s], species="rat").doses("minocycline")
    assert doses[0].amount_mg == pytest.approx(10.0)


@pytest.mark.parametrize(
    ("changes", "key", "fragment"),
    [
        ({"dose_mg": -1.0}, "dose_mg", "a dose > 0 (mg)"),
        ({"dose_mg": float("nan")}, "dose_mg", "a dose > 0"),
        ({"dose_mg": None, "dose_mg_per_kg": 0.0}, "dose_mg_per_kg", "a dose > 0 (mg/kg)"),
        ({"dose_mg_per_kg": 3.0}, "dose_mg", "exactly one of the two"),
        ({"dose_mg": None}, "dose_mg", "exactly one of the two"),
        ({"route": "intravenous"}, "route", "one of ['oral', 'sc', 'iv', 'intrathecal']"),
        ({"route": "orale"}, "route", "did you mean 'oral'?"),
        ({"drug": "tofacitnib"}, "drug", "did you mean 'tofacitinib'?"),
        ({"drug": "aspirin"}, "drug", "a drug in the catalogue"),
        ({"interval_h": 0.0, "n_doses": 2}, "interval_h", "an interval > 0 (h)"),
        ({"n_doses": 3}, "interval_h", "when n_doses = 3 > 1"),
        ({"interval_h": 12.0}, "n_doses", "or a stop_min, when interval_h is given"),
        ({"n_doses": 2.5, "interval_h": 12.0}, "n_doses", "an integer >= 1"),
        ({"n_doses": 0, "interval_h": 12.0}, "n_doses", "an integer >= 1"),
        ({"start_min": -5.0}, "start_min", "a time >= 0 (min)"),
        ({"start_min": 100.0, "stop_min": 50.0}, "stop_min", "a time > start_min = 100 (min)"),
        ({"infusion_min": 30.0}, "infusion_min", "0 for route 'oral'"),
        ({"infusion_min": -1.0, "route": "iv"}, "infusion_min", "a duration >= 0 (min)"),
        ({"interval_h": 0.01, "stop_min": 1e6}, "interval_h", f"at most {MAX_DOSES} doses"),
        ({"intervall_h": 12.0}, "intervall_h", "did you mean 'interval_h'?"),
    ],
)
def test_bad_schedules_name_key_value_and_what_is_allowed(changes, key, fragment):
    e = _err(**changes)
    assert e.key == f"scenario.drugs[0].{key}"
    assert fragment in str(e)
    assert str(e).startswith(f"scenario.drugs[0].{key} = ")


def test_route_the_drug_cannot_take_is_refused_with_its_routes():
    with pytest.raises(ConfigError, match=r"a route of adalimumab: one of \['sc', 'iv', 'intrathecal'\]"):
        DosingSchedule("adalimumab", "oral", dose_mg=40)
    with pytest.raises(ConfigError, match="a route of infliximab"):
        DosingSchedule("infliximab", "sc", dose_mg=40)


def test_missing_drug_or_route_and_non_mapping_are_clear():
    with pytest.raises(ConfigError, match=r"dosing\.route = None: must be given"):
        DosingSchedule.from_mapping({"drug": "tofacitinib", "dose_mg": 5})
    with pytest.raises(ConfigError, match="a table of dosing keys"):
        DosingSchedule.from_mapping(["tofacitinib"])


def test_mapping_schedules_in_pharmacology_are_indexed_in_errors():
    with pytest.raises(ConfigError, match=r"drugs\[1\]\.dose_mg = -2"):
        Pharmacology([BASE, {**BASE, "dose_mg": -2}])
    with pytest.raises(ConfigError, match="species = 'hamster'"):
        Pharmacology([BASE], species="hamster")
