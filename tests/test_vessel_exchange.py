"""Vessels as permeability-limited exchange (neuroagents/tissue/vessels.py, Microenvironment.set_vessel_exchange).

Checked against what the equation ``dc/dt = D ∇²c − λ c − k (c − c_p) 1_vessel`` must do:

* a tissue with no decay relaxes to the plasma level everywhere (the only steady state), from above and below;
* with decay, the steady level of a uniform tissue whose every voxel is a vessel is ``k c_p / (k + λ)``;
* a single vessel row drains a uniform tissue at the tissue-average rate it was given, once diffusion has spread
  the loss (slow exchange: the field stays nearly flat and the total decays as ``exp(−k_tissue t)``);
* the cells' terms add to the vessels' and a clear restores the vessels' exchange, not zero;
* the rate falls with molecular size and bad input is a clear error.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.mediators import Mediator
from neuroagents.tissue import Grid, Microenvironment
from neuroagents.tissue.vessels import LARGE_PER_MIN, SMALL_PER_MIN, tissue_clearance_per_min

KERNELS = ["reference", "numba"]


def _env(shape, mediators, kernel, solver="lod"):
    return Microenvironment(Grid(shape, spacing_um=20.0), mediators, backend="numpy", solver=solver, kernel=kernel)


def _row_mask(shape, row):
    mask = np.zeros(shape, dtype=bool)
    mask[:, row] = True
    return mask


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("start", [0.0, 5.0])
def test_without_decay_the_tissue_relaxes_to_the_plasma_level(kernel, start):
    env = _env((12, 12), [Mediator("X", 600.0, 0.0, 10.0)], kernel)
    env.set_vessel_exchange(_row_mask((12, 12), 6), [0.5], [2.0])
    env.fields[...] = start
    for _ in range(1200):
        env.clear_sources()
        env.step(1.0)
    np.testing.assert_allclose(env.fields, 2.0, rtol=1e-6)


@pytest.mark.parametrize("kernel", KERNELS)
def test_steady_level_of_an_all_vessel_tissue_is_k_cp_over_k_plus_lambda(kernel):
    """The split step (decay exact, sink implicit, per sweep share) keeps a steady level within first order in dt:
    the error halves with dt (ratios 1.7-2.3) and is < 0.6 % at dt = 0.25 min."""
    k, lam, cp = 0.3, 0.1, 4.0
    errors = []
    for dt in (1.0, 0.5, 0.25):
        env = _env((6, 6), [Mediator("X", 100.0, lam, 10.0)], kernel)
        env.set_vessel_exchange(np.ones((6, 6), dtype=bool), [k], [cp])
        for _ in range(round(300 / dt)):
            env.clear_sources()
            env.step(dt)
        assert np.ptp(env.fields) < 1e-12  # uniform
        errors.append(abs(float(env.fields[0, 0, 0]) / (k * cp / (k + lam)) - 1.0))
    assert 1.7 < errors[0] / errors[1] < 2.3 and 1.7 < errors[1] / errors[2] < 2.3, errors
    assert errors[2] < 0.006, errors


@pytest.mark.parametrize("kernel", KERNELS)
def test_one_vessel_row_drains_the_tissue_at_the_tissue_average_rate(kernel):
    """Slow exchange, fast diffusion: 20 rows with one vessel row of k_v = 20 k_t; the total falls as exp(−k_t t).

    Fast diffusion keeps the field within a few % of flat (the diffusion time across 400 µm at 6000 µm²/min is
    ~27 min, the exchange time 1/k_t = 500 min), so the decay rate is k_t within 5 %.
    """
    shape, k_t = (8, 20), 0.002
    env = _env(shape, [Mediator("X", 6000.0, 0.0, 10.0)], kernel)
    env.set_vessel_exchange(_row_mask(shape, 10), [k_t * 20], None)
    env.fields[...] = 1.0
    totals = []
    for _ in range(600):
        env.clear_sources()
        env.step(1.0)
        totals.append(float(env.fields.sum()))
    rate = -math.log(totals[-1] / totals[99]) / 500.0  # after the first 100 min of settling
    assert rate == pytest.approx(k_t, rel=0.05)


def test_cells_add_to_the_vessels_and_a_clear_restores_them():
    env = _env((5, 5), [Mediator("X", 100.0, 0.0, 10.0), Mediator("Y", 100.0, 0.0, 0.3)], "reference")
    mask = _row_mask((5, 5), 2)
    env.set_vessel_exchange(mask, [0.1, 0.7], [1.0, 0.0])
    q, k = env.source_rows(0)
    k[0, 0] += 3.0
    q[0, 0] += 2.0
    assert env.consumption_per_min[0, 0, 0] == 3.0 and env.consumption_per_min[0, 0, 2] == pytest.approx(0.1)
    env.clear_sources()
    np.testing.assert_allclose(env.consumption_per_min[0], 0.1 * mask)
    np.testing.assert_allclose(env.production_nM_per_min[0], 0.1 * 1.0 * mask)
    np.testing.assert_allclose(env.consumption_per_min[1], 0.7 * mask)
    np.testing.assert_allclose(env.production_nM_per_min[1], 0.0)


def test_rate_falls_with_size_between_small_solutes_and_proteins():
    masses = [0.1, 0.35, 1.0, 3.0, 8.0, 17.3, 20.0, 150.0]
    rates = [tissue_clearance_per_min(m) for m in masses]
    assert rates[0] == rates[2] == SMALL_PER_MIN and rates[-1] == rates[-2] == LARGE_PER_MIN
    assert all(a > b for a, b in itertools.pairwise(rates[2:7]))


@pytest.mark.parametrize(
    ("rate", "plasma", "key"),
    [([-1.0], None, "vessels.rate_per_min"), ([math.nan], None, "vessels.rate_per_min"),
     ([1.0, 2.0], None, "vessels.rate_per_min"), ([1.0], [math.inf], "vessels.plasma_nM")],
)  # fmt: skip
def test_bad_exchange_input_is_a_config_error(rate, plasma, key):
    env = _env((4, 4), [Mediator("X", 100.0, 0.0, 10.0)], "reference")
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        env.set_vessel_exchange(np.ones((4, 4), dtype=bool), rate, plasma)
