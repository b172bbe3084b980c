"""The published time courses in validation/data/ are complete, numeric and say where each number is printed."""

from pathlib import Path

import pandas as pd
import pytest

DATA = Path(__file__).resolve().parents[1] / "validation" / "data"
COLUMNS = ["time_h", "readout", "unit", "mean", "spread", "spread_kind", "n", "where", "paper"]
READOUTS = {"withdrawal_threshold", "heat_latency", "paw_volume", "paw_thickness", "oedema_pct"}


@pytest.mark.parametrize("path", sorted(DATA.glob("*.csv")), ids=lambda p: p.name)
def test_each_curve_has_its_columns_numbers_and_source(path):
    t = pd.read_csv(path)
    assert list(t.columns) == COLUMNS
    assert len(t) >= 4 and t["time_h"].is_monotonic_increasing
    for col in ("time_h", "mean", "spread", "n"):
        assert pd.api.types.is_numeric_dtype(t[col]), col
    assert (t["spread"] >= 0).all() and (t["n"] > 0).all()
    assert set(t["readout"]) <= READOUTS and set(t["spread_kind"]) <= {"SD", "SEM"}
    assert t["where"].str.len().min() > 5 and t["paper"].str.len().min() > 20
    assert path.name in (DATA / "README.md").read_text(encoding="utf-8")  # described there


def test_there_is_at_least_one_curve():
    assert list(DATA.glob("*.csv"))
