"""The numba kernels (``numba_kernels``) against the NumPy reference.

Every case runs a few steps of both solvers from the same random state on
small grids with odd sizes, in float64 (agreement to ~1e-12 of the field's
size) and float32 (~1e-5), over every boundary kind mixed across sides,
with and without the cell terms ``q``/``k`` and vessels. The kernels' own
choices (fused or separate sweeps along axes 2 and 3; how the explicit pass
splits planes between tasks and rows into bands) are forced both ways so
that every code path is compared whatever the machine's thread count.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from neuroagents.mediators import Mediator
from neuroagents.tissue import Grid, Microenvironment
from neuroagents.tissue.diffusion import numba_kernels as nk
from neuroagents.tissue.diffusion import reference
from neuroagents.tissue.diffusion.plans import KIND_CODES, ExplicitPlan, FieldSpec, LODPlan, Vessels

NF, DI, PE = "no_flux", "dirichlet", "periodic"

CASES = {
    # name: (grid shape, (lo, hi) kind per grid axis)
    "1d-mixed": ((17,), [(DI, NF)]),
    "1d-periodic": ((19,), [(PE, PE)]),
    "1d-periodic-n2": ((2,), [(PE, PE)]),
    "1d-single-voxel-baths": ((1,), [(DI, DI)]),
    "2d-mixed": ((13, 11), [(DI, NF), (NF, DI)]),
    "2d-periodic-x": ((19, 13), [(PE, PE), (DI, NF)]),
    "2d-periodic-y": ((21, 9), [(NF, DI), (PE, PE)]),
    "2d-periodic-n2": ((2, 9), [(PE, PE), (NF, NF)]),
    "2d-single-row-baths": ((1, 12), [(DI, DI), (NF, NF)]),
    "2d-single-column-baths": ((15, 1), [(NF, NF), (DI, DI)]),
    "3d-mixed": ((7, 6, 5), [(DI, NF), (PE, PE), (NF, DI)]),
    "3d-periodic": ((5, 6, 7), [(PE, PE), (PE, PE), (PE, PE)]),
    "3d-many-rows": ((5, 17, 9), [(NF, DI), (NF, NF), (PE, PE)]),
    "3d-thin-baths": ((5, 1, 6), [(NF, NF), (DI, DI), (PE, PE)]),
}
TERMS = ["none", "vessels", "q", "k+vessels", "q+k+vessels"]
DTYPES = ["float64", "float32"]
TOL = {"float64": 1e-12, "float32": 1e-5}


def make_spec(shape, kinds, *, m=3, seed=0) -> FieldSpec:
    """A FieldSpec with ``m`` mediators of distinct D (one of them 0) and decay, random bath values."""
    rng = np.random.default_rng(seed)
    pad = 3 - len(shape)
    codes = np.zeros((3, 2), dtype=np.int64)
    values = np.zeros((m, 3, 2))
    spacing = np.ones(3)
    for a, pair in enumerate(kinds):
        ia = pad + a
        spacing[ia] = (10.0, 12.5, 8.0)[a]
        for s, kind in enumerate(pair):
            codes[ia, s] = KIND_CODES[kind]
            if kind == DI:
                values[:, ia, s] = rng.uniform(0.0, 2.0, m)
    return FieldSpec(
        shape4=(m,) + (1,) * pad + tuple(shape),
        diffusion=np.array([60.0, 400.0, 0.0, 1500.0][:m]),  # µm²/min
        decay=np.array([0.0, 0.05, 0.3, 0.01][:m]),  # 1/min
        spacing=spacing,
        kinds=codes,
        values=values,
    )


def make_state(spec, terms, dtype, seed=1):
    """Random non-negative field, cell terms and vessels for ``spec``."""
    rng = np.random.default_rng(seed)
    c4 = rng.uniform(0.0, 3.0, spec.shape4).astype(dtype)
    q4 = rng.uniform(0.0, 0.5, spec.shape4).astype(dtype) if "q" in terms else None
    k4 = rng.uniform(0.0, 0.8, spec.shape4).astype(dtype) if "k" in terms else None
    vessels = Vessels.none()
    if "vessels" in terms:
        idx = np.flatnonzero(rng.random(c4.size) < 0.15)
        vessels = Vessels(idx.astype(np.int64), rng.uniform(0.0, 4.0, idx.size).astype(dtype))
    return c4, q4, k4, vessels


def assert_close(got, want, dtype):
    scale = max(float(np.abs(want).max()), 1.0)
    np.testing.assert_allclose(got, want, rtol=0, atol=TOL[dtype] * scale)


def run_both(step_ref, step_fast, spec, plan, terms, dtype, steps=3):
    """Advance the same state with both implementations; return both fields."""
    c4, q4, k4, vessels = make_state(spec, terms, dtype)
    ref = c4.copy()
    fast = c4.copy()
    for _ in range(steps):  # over time steps
        step_ref(ref, plan, q4, k4, vessels, None)
        step_fast(fast, plan, q4, k4, vessels, np.empty_like(fast))
    return fast, ref


@pytest.fixture(autouse=True)
def one_thread():
    """Run on one thread: waking a thread pool costs more than these small grids (thread counts are tested below)."""
    before = numba.get_num_threads()
    numba.set_num_threads(1)
    yield
    numba.set_num_threads(before)


@pytest.fixture
def threads():
    """Up to two threads (numba's thread count is restored after the test)."""
    return min(2, numba.config.NUMBA_NUM_THREADS)


# --- LOD ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("terms", TERMS)
@pytest.mark.parametrize("case", CASES)
def test_lod_matches_reference(case, terms, dtype):
    shape, kinds = CASES[case]
    spec = make_spec(shape, kinds)
    plan = LODPlan.build(spec, 0.7)
    # all three axes in two passes (3D), axes 2 and 3 in one slab pass, or one sweep per axis
    for fuse, fuse3 in ((True, True), (True, False), (False, False)):
        fast, ref = run_both(
            reference.lod_step,
            lambda c, p, q, k, v, w, f=fuse, f3=fuse3: nk._lod(c, p, q, k, v, fuse=f, fuse3=f3),
            spec,
            plan,
            terms,
            dtype,
        )
        assert fast.dtype == np.dtype(dtype)
        assert_close(fast, ref, dtype)


def test_lod_without_any_active_axis_is_the_reaction_alone():
    spec = make_spec((1,), [(NF, NF)])
    plan = LODPlan.build(spec, 0.5)
    assert plan.axes == ()
    fast, ref = run_both(reference.lod_step, nk.lod_step, spec, plan, "q+k+vessels", "float64")
    assert_close(fast, ref, "float64")


def test_lod_large_dt_and_long_lines():
    """Lines longer than a SIMD block (and not a multiple of it) and a step far beyond the explicit limit."""
    spec = make_spec((37, 45), [(DI, NF), (PE, PE)])
    plan = LODPlan.build(spec, 25.0)
    for fuse in (True, False):
        fast, ref = run_both(
            reference.lod_step,
            lambda c, p, q, k, v, w, f=fuse: nk._lod(c, p, q, k, v, fuse=f),
            spec,
            plan,
            "q+k",
            "float64",
        )
        assert_close(fast, ref, "float64")


# --- explicit ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("terms", TERMS)
@pytest.mark.parametrize("case", CASES)
def test_explicit_matches_reference(case, terms, dtype):
    shape, kinds = CASES[case]
    spec = make_spec(shape, kinds)
    plan = ExplicitPlan.build(spec, 2.5 * ExplicitPlan.max_stable_dt(spec))
    assert plan.n_sub > 1  # several sub-steps per step, an odd number of them
    for nsplit, band in ((1, None), (3, 2)):  # one task per mediator, or plane ranges and bands of rows
        fast, ref = run_both(
            reference.explicit_step,
            lambda c, p, q, k, v, w, s=nsplit, b=band: nk._explicit(c, p, q, k, v, w, nsplit=s, band=b),
            spec,
            plan,
            terms,
            dtype,
        )
        assert fast.dtype == np.dtype(dtype)
        assert_close(fast, ref, dtype)


def test_explicit_without_scratch_space():
    """``work4=None``: the planes saved at task boundaries get their own buffer."""
    spec = make_spec((6, 7, 5), [(PE, PE), (DI, NF), (NF, NF)])
    plan = ExplicitPlan.build(spec, 2.0 * ExplicitPlan.max_stable_dt(spec))
    c4, q4, k4, vessels = make_state(spec, "q+k+vessels", "float64")
    ref, fast = c4.copy(), c4.copy()
    reference.explicit_step(ref, plan, q4, k4, vessels)
    nk._explicit(fast, plan, q4, k4, vessels, None, nsplit=3, band=2)
    assert_close(fast, ref, "float64")


# --- layout, threads and the user-facing class ----------------------------------------------------------


@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_non_contiguous_field(solver):
    """A strided view is advanced through a contiguous copy and written back."""
    spec = make_spec((9, 8), [(DI, NF), (NF, PE)])
    plan = LODPlan.build(spec, 0.5) if solver == "lod" else ExplicitPlan.build(spec, 0.5)
    step_ref = reference.lod_step if solver == "lod" else reference.explicit_step
    step_fast = nk.lod_step if solver == "lod" else nk.explicit_step
    big = np.random.default_rng(3).uniform(0.0, 2.0, (spec.shape4[0], 1, 9, 16))
    before = big.copy()
    view = big[:, :, :, ::2]
    ref = np.ascontiguousarray(view)
    step_ref(ref, plan)
    step_fast(view, plan)
    assert_close(view, ref, "float64")
    np.testing.assert_array_equal(big[:, :, :, 1::2], before[:, :, :, 1::2])  # the rest is untouched


@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_thread_counts_agree(solver, threads):
    """One thread and several give the same answer (to rounding) and each is deterministic."""
    spec = make_spec((6, 19, 11), [(DI, NF), (PE, PE), (NF, DI)])
    plan = LODPlan.build(spec, 0.9) if solver == "lod" else ExplicitPlan.build(spec, 0.9)
    step = nk.lod_step if solver == "lod" else nk.explicit_step
    c4, q4, k4, vessels = make_state(spec, "q+k+vessels", "float64")
    out = []
    for n in (1, threads, threads):
        numba.set_num_threads(n)
        c = c4.copy()
        step(c, plan, q4, k4, vessels, np.empty_like(c))
        out.append(c)
    assert_close(out[0], out[1], "float64")
    np.testing.assert_array_equal(out[1], out[2])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("solver", ["lod", "explicit"])
def test_microenvironment_numba_matches_reference(solver, dtype):
    """End to end through the user-facing class: sources, vessels for one mediator, mixed boundaries."""
    meds = [Mediator("A", 200.0, 0.02, 17.0), Mediator("B", 900.0, 0.2, 25.0), Mediator("C", 50.0, 0.0, 10.0)]
    out = []
    for kernel in ("reference", "numba"):
        env = Microenvironment(
            Grid((15, 12), spacing_um=10.0),
            meds,
            boundaries={"xmin": {"kind": "dirichlet", "value_nM": {"A": 1.0, "*": 0.0}}, "y": "periodic"},
            backend="numpy",
            solver=solver,
            kernel=kernel,
            dtype=dtype,
        )
        rng = np.random.default_rng(7)
        env.fields[...] = rng.uniform(0.0, 2.0, env.fields.shape)
        env.production_nM_per_min[...] = rng.uniform(0.0, 0.3, env.fields.shape)
        env.consumption_per_min[...] = rng.uniform(0.0, 0.5, env.fields.shape)
        mask = np.zeros(env.grid.shape, dtype=bool)
        mask[7, 3:6] = True
        env.set_vessels(mask, {"B": 3.0})
        for _ in range(4):  # over time steps
            env.step(0.4 if solver == "lod" else 0.1)
        out.append(env.to_host())
    assert_close(out[1], out[0], dtype)
