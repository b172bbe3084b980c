"""Units: µm, min and nM inside; pg/mL and ng/mL at the edges, through molecular mass."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from neuroagents import units
from neuroagents.units import (
    MOLECULES_PER_NM_UM3,
    half_life_to_rate,
    molecules_to_nM,
    ng_per_ml_to_nM,
    nM_to_molecules,
    nM_to_pg_per_ml,
    per_second_to_per_min,
    pg_per_ml_to_nM,
)


def test_one_nM_in_a_cubic_micron_is_0_6022_molecules():
    """1 µm³ = 1e-15 L; 1 nM = 1e-9 mol/L; times Avogadro."""
    assert MOLECULES_PER_NM_UM3 == pytest.approx(6.02214076e23 * 1e-9 * 1e-15, rel=1e-15)
    assert MOLECULES_PER_NM_UM3 == pytest.approx(0.6022, abs=5e-5)


def test_one_pg_per_ml_of_a_17_kda_protein():
    """docs/references.md: 1 pg/mL of 17 kDa = 58.8 fM = about 35 molecules per 10^6 µm³."""
    c = pg_per_ml_to_nM(1.0, 17.0)
    assert c * 1e6 == pytest.approx(58.8, abs=0.05)  # fM
    assert nM_to_molecules(c, 1e6) == pytest.approx(35.4, abs=0.05)


def test_ng_per_ml_is_a_thousand_pg_per_ml():
    assert ng_per_ml_to_nM(1.0, 17.3) == pytest.approx(pg_per_ml_to_nM(1000.0, 17.3), rel=1e-15)
    # 1 ng/mL of a 1 kDa molecule is 1 nM: g/L / (g/mol) * 1e9
    assert ng_per_ml_to_nM(1.0, 1.0) == pytest.approx(1.0, rel=1e-15)


@given(
    st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False),
)
def test_pg_per_ml_round_trip(value, mass_kda):
    back = nM_to_pg_per_ml(pg_per_ml_to_nM(value, mass_kda), mass_kda)
    assert back == pytest.approx(value, rel=1e-12, abs=1e-300)


@given(
    st.floats(min_value=0.0, max_value=1e9, allow_nan=False),
    st.floats(min_value=1e-3, max_value=1e12, allow_nan=False),
)
def test_molecules_round_trip_and_consistency(n_molecules, volume_um3):
    c = molecules_to_nM(n_molecules, volume_um3)
    assert c == pytest.approx(n_molecules / (MOLECULES_PER_NM_UM3 * volume_um3), rel=1e-15)
    assert nM_to_molecules(c, volume_um3) == pytest.approx(n_molecules, rel=1e-12, abs=1e-300)


def test_conversions_work_on_arrays():
    v = np.array([0.0, 1.0, 58.8])
    np.testing.assert_allclose(nM_to_pg_per_ml(pg_per_ml_to_nM(v, 17.0), 17.0), v, rtol=1e-15)


def test_rates():
    assert per_second_to_per_min(1.0) == 60.0
    assert half_life_to_rate(math.log(2.0)) == pytest.approx(1.0, rel=1e-15)
    assert half_life_to_rate(19.0) == pytest.approx(0.03648, rel=1e-3)  # TNF, mouse plasma t½ 19 min
    assert units.MIN_PER_DAY == 24 * units.MIN_PER_HOUR
