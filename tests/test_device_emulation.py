"""A model's CuPy path on the CPU: where a device differs from NumPy, made to differ here too.

``tests/test_host_syncs.py`` checks that a step never waits for the device; this module checks that the device path
computes NumPy's numbers. A model runs on the strict backend (:mod:`neuroagents.strict_xp`: NumPy's random streams
and numbers, device arrays) with what a GPU does differently from NumPy put back in:

* the diffusion runs the **CUDA kernels** of :mod:`neuroagents.tissue.diffusion.cupy_kernels`, through the CPU
  emulation of ``tests/test_kernels_cupy.py`` (the same source, launch shapes, argument packing, guarded device
  memory), instead of NumPy's numba kernels;
* ``empty`` and ``empty_like`` return **garbage** (NaN, the lowest integer), as ``cupy.empty`` does where
  ``numpy.empty`` often happens to return zeros;
* ``repeat`` refuses an **array of repeat counts**, as CuPy before 14.1 does (``pyproject.toml`` admits CuPy 13).

Stepped with the same seed, such a model must give the NumPy model's cells and counts exactly and its fields to
round-off: a device path that reads memory it never wrote, or that takes another branch than NumPy's, shows here
without a GPU. (Crowding is the one rule that draws other numbers on a device by design: the runs here lift its
limit.) (A real GPU draws other random numbers: ``tests/test_model.py`` compares there a setup with no random
decision after the layout.)
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from neuroagents.backend import Backend
from neuroagents.cells import motility
from neuroagents.model import NeuroImmuneModel
from neuroagents.strict_xp import StrictArray, StrictXP
from neuroagents.tissue.diffusion import cupy_kernels as ck
from neuroagents.tissue.diffusion.plans import Vessels


def _kernel_tests():
    """``tests/test_kernels_cupy.py`` as a module (its emulator; test modules are not importable by name here)."""
    path = Path(__file__).with_name("test_kernels_cupy.py")
    spec = importlib.util.spec_from_file_location("kernel_emulation", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


KT = _kernel_tests()


class CupyLikeXP(StrictXP):
    """The strict array module where CuPy and NumPy differ: uninitialised memory, ``repeat``'s counts."""

    def empty(self, shape, dtype=float, **kwargs):
        out = np.empty(shape, dtype=dtype, **kwargs)
        out[...] = np.nan if out.dtype.kind in "fc" else (np.iinfo(out.dtype).min if out.dtype.kind in "iu" else 1)
        return self.wrap(out)

    def empty_like(self, a, dtype=None, **kwargs):
        return self.empty(np.shape(a) if not hasattr(a, "shape") else a.shape, dtype=dtype or a.dtype)

    def repeat(self, a, repeats, axis=None):
        if isinstance(repeats, StrictArray):  # any device array, 0-d too
            raise ValueError("cupy.ndaray cannot be specified as `repeats` argument.")  # CuPy < 14.1's message
        return self.__getattr__("repeat")(a, repeats, axis=axis)


class EmulatedCudaKernels:
    """``lod_step`` and ``explicit_step`` on NumPy arrays, run by the CUDA kernels in the CPU emulation.

    Each call copies the field, the cell terms and the vessels into guarded emulated device memory (poison on
    both sides, checked after every launch), runs the kernels' host code unchanged, and copies the field back.
    """

    def __init__(self, lib):
        self.runner = KT.EmulatedRunner(lib)
        self.calls = 0

    def _run(self, step, c4, plan, q4, k4, vessels, work4):
        r = self.runner
        dev = [r.device(c4), r.device(q4), r.device(k4)]
        ves = Vessels(r.device(vessels.flat_index), r.device(vessels.values))
        work = None if work4 is None else r.empty_like(c4)  # NaN, as a fresh device buffer holds garbage
        step(r, dev[0], plan, dev[1], dev[2], ves, work)
        c4[...] = dev[0]
        for a in (*dev, ves.flat_index, ves.values, work):  # free them (the coefficients stay cached)
            if a is not None:
                r.owned.pop(id(a), None)
        self.calls += 1

    def lod_step(self, c4, plan, q4, k4, vessels, work4):
        self._run(ck.run_lod_step, c4, plan, q4, k4, vessels, work4)

    def explicit_step(self, c4, plan, q4, k4, vessels, work4):
        self._run(ck.run_explicit_step, c4, plan, q4, k4, vessels, work4)


@pytest.fixture(scope="module")
def cuda_emulator(tmp_path_factory):
    """The CUDA source compiled as host C++ behind the launch-model shim of ``tests/test_kernels_cupy.py``."""
    return KT.compile_emulator(tmp_path_factory, "cuda_model_emulator")


def emulated_device_model(lib, **kwargs):
    """A model on the CuPy-like strict backend whose every compartment diffuses with the emulated CUDA kernels."""
    xp = CupyLikeXP(mode="record")  # syncs are tests/test_host_syncs.py's business
    model = NeuroImmuneModel(backend=Backend("strict", xp, "CPU (emulated device)"), **kwargs)
    kernels = []
    for comp in model.compartments.values():  # over compartments
        kernels.append(EmulatedCudaKernels(lib))
        comp.env._kernels = xp.device_kernels(kernels[-1])
    return model, kernels


def host_state(model) -> dict:
    """Fields and every cell column of every compartment, on the host."""
    to_host = (lambda a: model.backend.xp.asnumpy(a, allowed=True)) if model.backend.name == "strict" else np.array
    out = {}
    for cname, comp in model.compartments.items():
        out[f"{cname}.fields"] = to_host(comp.env.fields)
        for kind, ct in comp.cell_types.items():
            for col in ct.pop.columns:
                out[f"{cname}.{kind}.{col}"] = to_host(ct.pop[col])
    return out


# --- the fake device is a device ---------------------------------------------------------------------------------


def test_the_cupy_like_module_differs_from_numpy_where_cupy_does():
    xp = CupyLikeXP(mode="record")
    assert np.isnan(xp.asnumpy(xp.empty((3, 2)), allowed=True)).all()
    assert np.isnan(xp.asnumpy(xp.empty_like(xp.zeros(4)), allowed=True)).all()
    assert (xp.asnumpy(xp.empty(2, dtype=np.int64), allowed=True) == np.iinfo(np.int64).min).all()
    with pytest.raises(ValueError, match="repeats"):
        xp.repeat(xp.arange(3), xp.asarray(np.array([1, 0, 2])))
    assert xp.asnumpy(xp.repeat(xp.arange(2), 2), allowed=True).tolist() == [0, 0, 1, 1]


def test_recruitment_places_on_a_device_what_it_places_on_numpy():
    """``recruit_at`` without ``repeat`` off NumPy: the same entry voxels from the same draws (several per voxel
    too), and none at all from zero weights."""
    xp = CupyLikeXP(mode="record")
    weights = np.array([0.0, 1.0, 0.3, 1.0, 0.0, 0.8])
    for seed in range(5):  # over streams
        want = motility.recruit_at(weights, np.random.default_rng(seed), 0.9, 2.0)
        got = motility.recruit_at(xp.asarray(weights), xp.random.default_rng(seed), 0.9, 2.0, xp)
        np.testing.assert_array_equal(xp.asnumpy(got, allowed=True), want)
    assert max(np.bincount(motility.recruit_at(weights, np.random.default_rng(0), 0.9, 2.0))) > 1
    none = motility.recruit_at(xp.zeros(4), xp.random.default_rng(0), 0.9, 2.0, xp)
    assert none.shape == (0,)


# --- a model ---------------------------------------------------------------------------------------------------

SETUPS = {
    # sessile injured neurons and their chemokines: recruitment brings monocytes in within the run
    "neurons": {"n_mast_cells": 0, "n_macrophages": 0, "n_neurons": 20, "injured_fraction": 1.0},
    # every cell type moving, sensing, polarizing, degranulating, dividing and dying
    "all_types": {
        "n_mast_cells": 6, "n_macrophages": 30, "n_t_cells": 6, "n_microglia": 6, "n_neurons": 10,
        "injured_fraction": 1.0, "mast_cell_stimulus": 0.5,
    },
}  # fmt: skip


@pytest.mark.parametrize("setup", list(SETUPS))
def test_the_device_path_gives_the_numpy_run(cuda_emulator, setup):
    """Same seed: the NumPy run's counts and cells (ids, voxels, states exactly; positions and activities, which
    follow the fields, to round-off), its fields to float64 round-off of each field's peak; the emulated CUDA
    kernels did the diffusion, and monocytes were recruited (the draw whose sizes cross to the host)."""
    # crowding never sends a cell back here: on a device it ranks by counter-based priorities, not by NumPy's draws
    # (the same rule with other numbers; tests/test_motility.py checks that path against a keyed NumPy version)
    kwargs = {"seed": 21, "width_um": 300.0, "height_um": 300.0, "crowding_limit": 1000, **SETUPS[setup]}
    kwargs["cell_params"] = {"macrophage": {"recruitment_per_min": 0.2}}  # monocytes enter within the run
    ref = NeuroImmuneModel(backend="numpy", **kwargs)
    dev, kernels = emulated_device_model(cuda_emulator, **kwargs)
    for _ in range(25):  # over steps
        ref.step()
        dev.step()
    want, got = host_state(ref), host_state(dev)
    assert want.keys() == got.keys()
    for key, a in want.items():
        if key.endswith(".fields"):
            names = dev.compartments[key.split(".")[0]].env.names
            for i, name in enumerate(names):  # over mediators
                peak = float(np.abs(a[i]).max())
                np.testing.assert_allclose(got[key][i], a[i], rtol=0, atol=1e-9 * peak + 1e-30, err_msg=f"{key} {name}")
        elif a.dtype.kind == "f":  # positions, pathway activities: they follow the fields (chemotaxis, sensing)
            np.testing.assert_allclose(got[key], a, rtol=1e-9, atol=1e-12, err_msg=key)
        else:  # ids, voxels, states, events: exactly
            np.testing.assert_array_equal(got[key], a, err_msg=key)
    assert dev.counts() == ref.counts()
    assert all(k.calls == 25 for k in kernels) and kernels[0].runner.launches
    assert ref.cell_types["macrophage"].event_counts["recruited"] > 0
