"""Cells <-> voxels: what cells secrete arrives in the fields, what they take up leaves them."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.mediators import Mediator
from neuroagents.tissue import Grid, Microenvironment
from neuroagents.tissue.exchange import add_export, add_saturating_secretion, add_uptake, gather, scatter_add
from neuroagents.units import MOLECULES_PER_NM_UM3

STABLE = Mediator("X", 100.0, 0.0, 10.0)  # no decay: every molecule is accounted for


def _env(kernel="reference", **kw):
    return Microenvironment(Grid((12, 10), spacing_um=10.0), [STABLE], backend="numpy", kernel=kernel, **kw)


def test_gather_reads_each_cells_voxel():
    env = _env()
    env.fields[0] = np.arange(120.0).reshape(12, 10)
    idx = np.array([0, 5, 119, 5])
    np.testing.assert_array_equal(gather(env.fields, idx), [[0.0, 5.0, 119.0, 5.0]])


def test_export_mass_balance_with_duplicates():
    """n cells each exporting E molecules/min for t min add exactly n E t molecules."""
    env = _env()
    rng = np.random.default_rng(1)
    idx = rng.integers(0, env.grid.n_voxels, size=500)  # many cells share voxels
    rate = rng.uniform(0, 50, size=500)
    add_export(env, "X", idx, rate)
    for _ in range(20):
        env.step(0.5)
    expected = rate.sum() * 10.0
    np.testing.assert_allclose(env.total_molecules()[0], expected, rtol=1e-12)


def test_export_lands_in_the_right_voxel():
    env = _env()
    add_export(env, "X", np.array([37]), 6.0)
    q = env.production_nM_per_min[0].reshape(-1)
    assert q[37] == pytest.approx(6.0 / (MOLECULES_PER_NM_UM3 * env.grid.voxel_volume_um3))
    assert np.count_nonzero(q) == 1


def test_saturating_secretion_stops_at_saturation():
    """A cell filling its whole voxel drives it to rho* and no further (closed box, no decay)."""
    env = Microenvironment(Grid((1,), spacing_um=10.0), [STABLE], backend="numpy", kernel="reference")
    add_saturating_secretion(env, "X", np.array([0]), 0.5, 3.0, env.grid.voxel_volume_um3)
    for _ in range(200):
        env.step(1.0)
    assert env.fields[0, 0] == pytest.approx(3.0, rel=1e-9)


def test_uptake_removes_at_the_first_order_rate_and_never_goes_negative():
    env = Microenvironment(Grid((1,), spacing_um=10.0), [STABLE], backend="numpy", kernel="reference")
    env.fields[0, 0] = 2.0
    add_uptake(env, "X", np.array([0, 0]), 1e6, env.grid.voxel_volume_um3)  # absurdly strong
    env.step(1.0)
    assert 0.0 <= env.fields[0, 0] < 1e-6


@pytest.mark.parametrize("bad", [np.nan, -1.0, np.inf])
def test_bad_secretion_rate_is_a_clear_error(bad):
    env = _env()
    with pytest.raises(ConfigError, match=r"secretion\.X\.molecules_per_min = .*finite and >= 0"):
        add_export(env, "X", np.array([1, 2]), np.array([1.0, bad]))
    assert not env.production_nM_per_min.any()  # nothing half-written


def _reference_scatter(target, idx, values, scale):
    """The plain NumPy scatter-add the compiled one must equal: broadcast, scale, ``np.add.at``."""
    np.add.at(target, idx, np.broadcast_to(np.asarray(values, dtype=np.float64) * scale, idx.shape))


@pytest.mark.parametrize("scale", [1.0, 1.0 / (MOLECULES_PER_NM_UM3 * 1000.0), 3.7])
@pytest.mark.parametrize("per_cell", [True, False])
def test_compiled_scatter_add_gives_numpys_sums_bit_for_bit(scale, per_cell):
    rng = np.random.default_rng(7)
    idx = rng.integers(0, 40, size=2000)  # ~50 cells per voxel: the order of the additions matters
    values = rng.lognormal(0.0, 3.0, size=2000) if per_cell else 0.1 + 1e-17
    start = rng.uniform(0, 1e-3, size=40)
    fast, ref = start.copy(), start.copy()
    scatter_add(np, fast, idx, values, scale=scale)
    _reference_scatter(ref, idx, values, scale)
    assert fast.tobytes() == ref.tobytes()


def test_compiled_scatter_add_checks_before_it_adds():
    target = np.zeros(5)
    with pytest.raises(ConfigError, match=r"v = -6.0: .*finite and >= 0"):
        scatter_add(np, target, np.array([0, 1, 2]), np.array([1.0, -2.0, np.nan]), name="v", scale=3.0)
    assert not target.any()  # nothing half-added
    with pytest.raises(ConfigError, match="v = nan"):
        scatter_add(np, target, np.array([0, 1]), np.nan, name="v")
    scatter_add(np, target, np.array([], dtype=np.int64), np.array([], dtype=np.float64))  # no cells: nothing
    assert not target.any()


def test_a_float32_field_takes_numpys_scatter():
    target, ref = np.zeros(4, dtype=np.float32), np.zeros(4, dtype=np.float32)
    idx, values = np.array([0, 0, 3]), np.array([0.1, 0.2, 0.3])
    scatter_add(np, target, idx, values)
    _reference_scatter(ref, idx, values, 1.0)
    assert target.tobytes() == ref.tobytes()
