"""Motility: chemotaxis drifts up gradients, a flat field gives none; moves respect walls and crowding."""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.cells import motility
from neuroagents.tissue import Grid

GRID = Grid((100, 100), spacing_um=10.0)  # 1 mm x 1 mm


def _walk(field, bias, n=4000, steps=60, seed=3):
    """Mean displacement (µm) of n cells walking 60 min from the centre."""
    rng = np.random.default_rng(seed)
    pos = np.full((n, 2), 500.0) + rng.uniform(-5, 5, size=(n, 2))
    start = pos.copy()
    direction = motility.random_unit_vectors(rng, n, 2)
    for _ in range(steps):
        vox = GRID.voxel_of(pos)
        g = motility.gradient_at(field, GRID, vox)
        direction = motility.turn(direction, rng, 1.0, persistence_min=5.0, bias=bias, gradient=g)
        pos, _ = motility.step_positions(pos, direction, 4.0, 1.0, GRID)
    return (pos - start).mean(axis=0)


def test_chemotaxis_gives_net_drift_up_the_gradient():
    x = GRID.centers_um(0)
    field = np.repeat((x / 1000.0)[:, None], 100, axis=1)  # rises along x
    drift = _walk(field, bias=0.7)
    # speed 4 µm/min for 60 min = 240 µm path; a biased walk keeps a good share of it along +x
    assert drift[0] > 60.0
    assert abs(drift[1]) < 10.0


def test_no_drift_in_a_flat_field_or_without_bias():
    flat = np.ones(GRID.shape)
    x = GRID.centers_um(0)
    ramp = np.repeat((x / 1000.0)[:, None], 100, axis=1)
    for field, bias in ((flat, 0.7), (ramp, 0.0)):
        drift = _walk(field, bias)
        # unbiased: the mean of 4000 walks of rms ~100 µm is ~N(0, 1.6 µm)
        assert np.all(np.abs(drift) < 8.0), drift


def test_gradient_at_matches_the_analytic_slope():
    x = GRID.centers_um(0)[:, None]
    y = GRID.centers_um(1)[None, :]
    field = 0.3 * x - 0.1 * y
    vox = np.array([0, 5 * 100 + 7, 99 * 100 + 99])  # corner, interior, corner
    np.testing.assert_allclose(motility.gradient_at(field, GRID, vox), [[0.3, -0.1]] * 3, rtol=1e-12)


def test_moves_into_forbidden_voxels_or_off_grid_are_refused():
    allowed = np.ones(GRID.shape, dtype=bool)
    allowed[60:, :] = False  # a wall at x = 600 µm
    pos = np.array([[595.0, 500.0], [5.0, 500.0], [300.0, 300.0]])
    direction = np.array([[1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    new, moved = motility.step_positions(pos, direction, 4.0, 5.0, GRID, allowed)
    assert moved.tolist() == [False, False, True]
    np.testing.assert_allclose(new[2], [300.0, 320.0])
    np.testing.assert_array_equal(new[:2], pos[:2])


def test_crowding_limit_is_never_exceeded():
    rng = np.random.default_rng(5)
    n_vox = 50
    old = np.repeat(np.arange(n_vox), 6)  # a legal start: 6 cells per voxel, limit 10
    new = np.where(rng.random(old.size) < 0.5, 7, old)  # half try to pile into voxel 7
    moved = new != old
    stand = motility.enforce_crowding(old, new, moved, 10, n_vox, rng)
    final = np.where(stand, new, old)
    assert np.bincount(final, minlength=n_vox).max() <= 10
    assert stand.sum() >= 1  # some moves into voxel 7 stood (room existed)
    assert (stand <= moved).all()


@pytest.mark.parametrize("rate", [0.0, 0.5])
def test_recruitment_matches_its_rate(rate):
    rng = np.random.default_rng(11)
    weights = np.array([0.0, 0.25, 1.0])
    total = np.zeros(3)
    for _ in range(2000):
        total += np.bincount(motility.recruit_at(weights, rng, rate, 1.0), minlength=3)
    np.testing.assert_allclose(total / 2000, weights * rate, atol=0.05)


def test_event_mask_fraction_is_exponential():
    rng = np.random.default_rng(2)
    removed = motility.event_mask(rng, 200_000, 0.01, 10.0)
    assert removed.mean() == pytest.approx(1 - np.exp(-0.1), abs=0.003)


def _crowded(seed: int, n: int = 900, n_vox: int = 300):
    """Movers crowding into a tenth of the voxels, some already occupied by other types."""
    rng = np.random.default_rng(seed)
    old = rng.integers(0, n_vox, n)
    new = np.where(rng.random(n) < 0.6, rng.integers(0, n_vox // 10, n), old)
    moved = (new != old) & (rng.random(n) < 0.9)
    ids = np.sort(rng.choice(5 * n, n, replace=False))
    return old, new, moved, ids, rng.integers(0, 2, n_vox)


def _keyed_reference(old, new, moved, capacity, n_voxels, key, ids, background):
    """The crowding rule with the device's priorities, written as NumPy's path is (only the movers into overfull
    voxels ranked, a stop when there are none): what the device's fixed-size rounds must give."""
    from neuroagents.cells.keyed_random import keyed_uniform

    moved = moved.copy()
    for _ in range(8):
        voxel = np.where(moved, new, old)
        counts = np.bincount(voxel, minlength=n_voxels) + background
        cand = np.flatnonzero(moved & (counts > capacity)[voxel])
        if cand.size == 0:
            break
        room = np.maximum(capacity - np.bincount(voxel[~moved], minlength=n_voxels) - background, 0)
        order = motility.group_by_voxel(np, voxel[cand], keyed_uniform(np, key, ids[cand]))
        target = voxel[cand][order]
        rank = np.arange(cand.size) - np.searchsorted(target, target, side="left")
        moved[cand[order][rank >= room[target]]] = False
    return moved


def _on_device(old, new, moved, capacity, n_voxels, key, ids, background=None):
    """:func:`motility.enforce_crowding` on the strict module (the device path), with the host syncs it made."""
    from neuroagents.backend import strict_backend

    b = strict_backend(mode="record")  # records every host sync
    xp = b.xp
    bg = None if background is None else xp.asarray(background)
    got = motility.enforce_crowding(xp.asarray(old), xp.asarray(new), xp.asarray(moved), capacity, n_voxels, None,
                                    xp, background=bg, key=key, ids=xp.asarray(ids))  # fmt: skip
    syncs = list(xp.syncs)
    return b.to_host(got), syncs


@pytest.mark.parametrize("seed", range(3))
def test_crowding_on_a_device_ranks_every_cell_without_asking_the_device(seed):
    """The device path (fixed-size rounds over every cell, counter-based priorities) makes no host sync and keeps
    the moves that the same rule, ranking only the movers into overfull voxels, keeps; no voxel ends over the limit
    unless it started so."""
    old, new, moved, ids, background = _crowded(seed)
    got, syncs = _on_device(old, new, moved, 4, 300, 11 + seed, ids, background)
    assert not syncs, syncs
    assert np.array_equal(got, _keyed_reference(old, new, moved, 4, 300, 11 + seed, ids, background))
    start = np.bincount(old, minlength=300) + background
    end = np.bincount(np.where(got, new, old), minlength=300) + background
    assert (end <= np.maximum(4, start)).all()
    assert (moved & ~got).sum() > 20 and (moved & got).sum() > 20  # both kinds happened


def test_crowding_on_a_device_picks_the_movers_that_stay_uniformly():
    """Ten movers into a voxel with room for three: over many keys each keeps its place 3/10 of the time, whatever
    its id (the counter-based priorities are uniform and independent of the id)."""
    from neuroagents.cells.keyed_random import keyed_uniform

    old = np.arange(10) + 1  # ten cells in voxels 1..10, each moving into voxel 0 (empty, capacity 3)
    new = np.zeros(10, dtype=np.int64)
    ids = np.array([0, 1, 2, 3, 4, 1000, 1001, 7**12, 2**40, 2**40 + 1])
    trials = 3000
    kept = np.zeros(10)
    for key in range(trials):  # over keys (a statistical check of the priorities)
        kept += _keyed_reference(old, new, np.ones(10, bool), 3, 11, key, ids, np.zeros(11, dtype=np.int64))
    share = kept / trials
    assert np.all(np.abs(share - 0.3) < 4 * np.sqrt(0.3 * 0.7 / trials)), share
    got, _ = _on_device(old, new, np.ones(10, bool), 3, 11, 5, ids)
    assert got.sum() == 3 and np.array_equal(got, _keyed_reference(old, new, np.ones(10, bool), 3, 11, 5, ids,
                                                                     np.zeros(11, dtype=np.int64)))  # fmt: skip
    u = keyed_uniform(np, 12345, np.arange(20000))
    assert abs(u.mean() - 0.5) < 0.01 and abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < 0.03  # uniform, no serial link
