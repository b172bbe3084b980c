"""Fused cell kernels (numba, ``neuroagents.cells.kernels``) against the NumPy phases they are checked against.

Each test steps two models built alike, one with ``cell_kernels="reference"`` and one with ``"numba"``, phase by
phase, and requires the **same bits** in every cell column, in the sources written into the fields, and in the
random generator's state afterwards (tolerance: none; the kernels repeat the reference's float operations in its
order and take NumPy's ``exp`` where it does, see the package docstring). The cells start from random states with
every rule switched on: a TLR4 agonist on the grid, per-cell tolerance, a kinase, a pathway and two receptors
inhibited, an antibody (free fraction < 1), crowding, recruitment.
"""

from __future__ import annotations

import numpy as np
import pytest

from neuroagents.backend import strict_backend
from neuroagents.cells.kernels import Fused, crowding, fused_for, resolve_cell_kernels
from neuroagents.cells.macrophage import Macrophage
from neuroagents.cells.signaling import PATHWAYS
from neuroagents.errors import ConfigError
from neuroagents.model import DEFAULT_MEDIATORS, NeuroImmuneModel

PHASES = ("sense", "decide", "secrete", "move")
INHIBITION = {"JAK1": 0.3, "P38": 0.1, "IL6R": 0.5, "TNFR1": 0.2, "TLR4": 0.25}


def build(kernels: str, seed: int, *, n: int = 400, depth_um: float = 0.0, **kw) -> NeuroImmuneModel:
    """A small tissue, all five kinds, fields painted near the receptors' Kd, cells in random states."""
    args = dict(width_um=400.0, height_um=400.0, depth_um=depth_um, n_mast_cells=n // 4, n_macrophages=n,
                n_t_cells=n // 4, n_microglia=n // 4, n_neurons=n // 8, injured_fraction=0.5, crowding_limit=2,
                mediators=[*DEFAULT_MEDIATORS, "PAMP"], inhibition=INHIBITION)  # fmt: skip
    m = NeuroImmuneModel(seed=seed, cell_kernels=kernels, **(args | kw))
    rng = np.random.default_rng(seed + 100)
    env = m.env
    for i, _ in enumerate(env.names):  # over mediators: levels from 0 to ~1 nM, a few voxels at 0
        env.fields[i] = rng.uniform(0, 1, env.grid.shape) ** 3 * (rng.random(env.grid.shape) > 0.05)
    env.fields[env.index("PAMP")] *= 4.0  # around the TLR4 Kd (2 nM)
    env.fields[env.index("miR21")] *= 1e-2
    for ct in m.cell_types.values():
        if ct.n:
            ct.pop["state"] = rng.integers(0, len(ct.states), ct.n).astype(np.int8)
            for p in PATHWAYS:
                ct.pop[p] = rng.uniform(0, 1, ct.n)
    mac = m.cell_types["macrophage"].pop
    if mac.n:
        mac["tolerance"] = rng.uniform(0, 0.9, mac.n)
        mac["mir21_vesicles"] = rng.uniform(0, 500, mac.n)
        mac["recruited"] = (rng.random(mac.n) < 0.5).astype(np.int8)
    return m


def assert_same(a: NeuroImmuneModel, b: NeuroImmuneModel, where: str) -> None:
    """Same cells (every column), same sources, same generator state: bit for bit."""
    for kind, ct in a.cell_types.items():
        pa, pb = ct.pop, b.cell_types[kind].pop
        assert pa.n == pb.n, f"{where}: {kind} n {pa.n} != {pb.n}"
        for c in pa.columns:
            assert np.array_equal(pa[c], pb[c]), f"{where}: {kind}.{c} differs"
    assert np.array_equal(a.env.production_nM_per_min, b.env.production_nM_per_min), f"{where}: production"
    assert np.array_equal(a.env.consumption_per_min, b.env.consumption_per_min), f"{where}: consumption"
    assert a.rng.bit_generator.state == b.rng.bit_generator.state, f"{where}: random draws"
    assert a.cell_types["macrophage"].event_counts == b.cell_types["macrophage"].event_counts, where


def step_both(a, b, phases=PHASES, steps=1, where=""):
    for s in range(steps):
        for phase in phases:
            getattr(a, f"_phase_{phase}")(a.cell_dt_min)
            getattr(b, f"_phase_{phase}")(b.cell_dt_min)
            assert_same(a, b, f"{where} step {s} {phase}")


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_each_fused_phase_gives_the_reference_bits(seed):
    fast = {"macrophage": {"polarization_per_min": 0.2, "repolarization_per_min": 0.1, "reversion_per_min": 0.05}}
    ref, fused = build("reference", seed, cell_params=fast), build("numba", seed, cell_params=fast)  # rules act
    assert fused.cell_types["macrophage"].fused.sense is not None and ref.cell_types["macrophage"].fused is None
    assert_same(ref, fused, "start")
    step_both(ref, fused, steps=3, where=f"seed {seed}")
    mac = ref.cell_types["macrophage"]
    assert sum(mac.event_counts[e] for e in ("to_M1", "to_M2", "to_M0")) > 0  # the rules had something to do
    assert (mac.pop["tlr4"] > 0).any() and (ref.env.production_nM_per_min > 0).any()


def test_a_whole_run_with_recruitment_is_the_same():
    runs = []
    often = {"macrophage": {"recruitment_per_min": 0.05}}  # recruits every few steps, whatever the painted CCL2
    for kernels in ("reference", "numba"):
        m = build(kernels, 7, n=300, cell_params=often)
        for _ in range(15):
            m.step()
        runs.append(m)
    assert_same(*runs, "after 15 steps")
    assert runs[0].cell_types["macrophage"].event_counts["recruited"] > 0


def test_the_walk_and_crowding_in_3d():
    ref, fused = build("reference", 3, n=300, depth_um=60.0), build("numba", 3, n=300, depth_um=60.0)
    assert ref.grid.ndim == 3
    step_both(ref, fused, steps=4, where="3D")


def _crowded(seed: int, n: int, n_vox: int, hot: int):
    """Cells on ``n_vox`` voxels, about half of them moving into the first ``hot`` voxels, some other types."""
    rng = np.random.default_rng(seed)
    old = rng.integers(0, n_vox, n)
    new = np.where(rng.random(n) < 0.5, rng.integers(0, hot, n), old)  # movers crowd into the hot voxels
    moved = (new != old) & (rng.random(n) < 0.9)
    background = rng.integers(0, 3, n_vox) if seed % 2 else None
    return old, new, moved, background


@pytest.mark.parametrize(("seed", "n", "n_vox", "hot"), [(0, 1200, 400, 100), (1, 1200, 400, 100),
                                                         (2, 1200, 400, 100), (3, 1200, 400, 100),
                                                         (4, 20000, 5000, 2000), (5, 20000, 3000, 3000)])  # fmt: skip
def test_crowding_kernel_matches_the_reference(seed, n, n_vox, hot):
    from neuroagents.cells.motility import enforce_crowding

    old, new, moved, background = _crowded(seed, n, n_vox, hot)
    for cap, rounds in ((4, 8), (1, 8), (2, 3)):
        g1, g2 = np.random.default_rng(seed + 9), np.random.default_rng(seed + 9)
        a = enforce_crowding(old, new, moved, cap, n_vox, g1, np, background=background, max_rounds=rounds)
        b = crowding.enforce_crowding(old, new, moved, cap, n_vox, g2, background, max_rounds=rounds)
        assert np.array_equal(a, b) and g1.bit_generator.state == g2.bit_generator.state, (cap, rounds)
        assert ((~b & moved).any() and (b & moved).any()) or cap < 4  # some movers were sent back, some kept their move


def test_crowding_rounds_go_on_from_the_voxels_that_took_cells_back():
    """The kernel's later rounds look only where sent-back cells went: a chain of full voxels needs them all."""
    from neuroagents.cells.motility import enforce_crowding

    # Every voxel holds one stayer and one mover to the next; the last voxel is full, so the mover into it goes back,
    # which overfills the voxel it came from, and so on down the chain, one voxel a round.
    k = 6
    old = np.concatenate([np.arange(k), np.arange(k)])
    new = np.concatenate([np.arange(k), np.arange(1, k + 1)])
    moved = new != old
    background = np.zeros(k + 1, dtype=np.int64)
    background[k] = 2
    for rounds in (2, 4, 8):
        g1, g2 = np.random.default_rng(0), np.random.default_rng(0)
        a = enforce_crowding(old, new, moved, 2, k + 1, g1, np, background=background, max_rounds=rounds)
        b = crowding.enforce_crowding(old, new, moved, 2, k + 1, g2, background, max_rounds=rounds)
        assert np.array_equal(a, b) and g1.bit_generator.state == g2.bit_generator.state
        assert (~b[k:]).sum() == min(rounds, k)  # one more mover sent back each round


def test_a_tie_between_two_keys_is_ranked_by_the_reference_sort(monkeypatch):
    from neuroagents.cells.motility import enforce_crowding

    calls, rank = [], crowding._rank

    def tie(cand, u, new_voxel, stay, capacity, group_head, back):
        calls.append(cand.size)
        rank(cand, u, new_voxel, stay, capacity, group_head, np.empty_like(back))  # leaves group_head as it found it
        back[:] = ~back  # garbage: the reference's sort must replace it
        return True

    monkeypatch.setattr(crowding, "_rank", tie)
    old, new, moved, background = _crowded(1, 1200, 400, 100)
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    a = enforce_crowding(old, new, moved, 4, 400, g1, np, background=background)
    b = crowding.enforce_crowding(old, new, moved, 4, 400, g2, background)
    assert calls and np.array_equal(a, b) and g1.bit_generator.state == g2.bit_generator.state


def test_an_empty_population():
    ref, fused = build("reference", 4, n=0), build("numba", 4, n=0)
    assert fused.cell_types["macrophage"].n == 0
    step_both(ref, fused, steps=2, where="no macrophages")


def test_inhibition_that_differs_per_cell_leaves_it_to_the_reference(monkeypatch):
    from neuroagents.cells.kernels import macrophage, signaling
    from neuroagents.compartment import Compartment

    ref, fused = build("reference", 5, n=200), build("numba", 5, n=200)
    n = ref.cell_types["macrophage"].n
    per_cell = {**INHIBITION, "JAK1": np.linspace(0, 1, n), "TNFR1": np.linspace(1, 0, n)}
    monkeypatch.setattr(Compartment, "inhibition", property(lambda self: per_cell))
    assert signaling.pack(fused.cell_types["macrophage"], 1.0) is None
    assert macrophage.sense(fused.cell_types["macrophage"], 1.0) is False  # declined, nothing done
    assert_same(ref, fused, "declined")
    for m in (ref, fused):
        m.cell_types["macrophage"].sense(1.0)
    assert_same(ref, fused, "per-cell inhibition")


def test_kernel_choice():
    assert resolve_cell_kernels("auto", "numpy") == "numba"
    assert resolve_cell_kernels("auto", "strict") == "reference" == resolve_cell_kernels("auto", "cupy")
    with pytest.raises(ConfigError, match="cell_kernels"):
        resolve_cell_kernels("fast", "numpy")
    with pytest.raises(ConfigError, match="cell_kernels"):
        NeuroImmuneModel(seed=1, width_um=200, height_um=200, cell_kernels="numba", backend=strict_backend())
    strict = NeuroImmuneModel(seed=1, width_um=200, height_um=200, backend=strict_backend(mode="record"))
    assert all(ct.fused is None for ct in strict.cell_types.values())
    m = NeuroImmuneModel(seed=1, width_um=200, height_um=200)
    assert m.cell_kernels == "numba"
    mac = m.cell_types["macrophage"]

    class Tweaked(Macrophage):  # a subclass that may change a rule keeps the reference for the macrophage phases
        def decide(self, dt_min):
            super().decide(dt_min)

    tweaked = fused_for(Tweaked(mac.model), "numba")
    assert isinstance(tweaked, Fused) and tweaked.decide is None and tweaked.sense is None and tweaked.walk
    f32 = NeuroImmuneModel(seed=1, width_um=200, height_um=200, dtype="float32")
    assert all(ct.fused is None for ct in f32.cell_types.values())


def test_a_bad_release_raises_as_the_reference_does():
    for kernels in ("reference", "numba"):
        m = build(kernels, 6, n=50)
        mac = m.cell_types["macrophage"].pop
        mac["state"] = 1
        mac["tolerance"][3] = np.nan  # M1 release scaled by a NaN tolerance
        m.env.clear_sources()
        with pytest.raises(ConfigError, match=r"secretion\.TNF\.molecules_per_min"):
            m.cell_types["macrophage"].secrete()
