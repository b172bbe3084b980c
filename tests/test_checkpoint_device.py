"""Checkpoints of GPU models: device arrays are written as host (NumPy) arrays and put back on the device when
loaded. Without a GPU this is checked with a fake device array type standing in for ``cupy.ndarray``; with one
(marker ``gpu``), on a real CuPy model, where a NumPy model's checkpoint and a CuPy model's checkpoint of the same
scenario also agree in what they hold."""

from __future__ import annotations

import pickle
import sys
import types

import numpy as np
import pytest

from neuroagents import state_pickle
from neuroagents.backend import gpu_status
from neuroagents.checkpoint import CheckpointError, load_checkpoint, read_header, save_checkpoint
from neuroagents.model import NeuroImmuneModel
from neuroagents.scenario import load_scenario
from neuroagents.testing import forge_checkpoint


class DeviceArray(np.ndarray):
    """Stands in for ``cupy.ndarray``: an array the pickler must not write as it is."""

    def __reduce__(self):  # if the pickler ever wrote one as itself, loading would need this test module
        raise AssertionError("a device array was pickled as a device array")


@pytest.fixture
def fake_cupy(monkeypatch):
    """A ``cupy`` module in ``sys.modules`` whose arrays are :class:`DeviceArray`; counts the host copies."""
    fake = types.ModuleType("cupy")
    fake.ndarray = DeviceArray
    fake.copies = []

    def asnumpy(a):
        fake.copies.append(a.shape)
        return np.array(a.view(np.ndarray), copy=True)

    fake.asnumpy = asnumpy
    fake.asarray = lambda a: np.asarray(a).view(DeviceArray)
    monkeypatch.setitem(sys.modules, "cupy", fake)
    return fake


def _tiny(seed=3):
    m = NeuroImmuneModel(seed=seed, width_um=200, height_um=160, n_mast_cells=3, n_macrophages=4, n_neurons=2)
    m.step()
    return m


def test_device_arrays_are_written_as_host_arrays_and_put_back_on_the_device(fake_cupy, tmp_path):
    m = _tiny()
    host_fields = m.env.fields.copy()
    m.env.fields = host_fields.view(DeviceArray)  # the model's largest array on the "device"
    path = save_checkpoint(tmp_path / "c.pkl", m)
    assert fake_cupy.copies == [host_fields.shape]  # copied to the host once, when written
    data = path.read_bytes()
    assert b"DeviceArray" not in data and __name__.encode() not in data
    assert b"_to_device" in data  # named in the payload: the loader's helper that puts it back
    m2, _, _ = load_checkpoint(path)
    assert type(m2.env.fields) is DeviceArray  # on the device again
    assert np.array_equal(m2.env.fields.view(np.ndarray), host_fields)
    assert type(m2.env._production) is np.ndarray  # host arrays stay host arrays


class Reduce:
    """Pickles as ``func(*args)``."""

    def __init__(self, func, *args):
        self.func, self.args = func, args

    def __reduce__(self):
        return self.func, self.args


def _payload(path) -> bytes:
    data = path.read_bytes()
    return data[len(data) - read_header(path)["payload_bytes"]:]


def test_a_device_array_must_hold_a_numpy_array(fake_cupy, tmp_path):
    path = save_checkpoint(tmp_path / "c.pkl", _tiny())
    for arg in ("rm -rf /", [1, 2, 3], {"a": 1}):  # over what a forger might hand the device helper
        payload = pickle.dumps({"model": Reduce(state_pickle._to_device, arg), "run": {}})
        with pytest.raises(CheckpointError, match="UnpicklingError: a device array must be saved as a NumPy array"):
            load_checkpoint(forge_checkpoint(path, payload))
    assert fake_cupy.copies == []  # nothing reached the device


@pytest.mark.skipif(gpu_status()[0], reason="checks the refusal on a machine without a GPU")
def test_a_gpu_checkpoint_on_a_machine_without_a_gpu_is_one_line(tmp_path):
    path = save_checkpoint(tmp_path / "c.pkl", _tiny())
    gpu = forge_checkpoint(path, _payload(path), backend="cupy", device="NVIDIA H200")
    with pytest.raises(CheckpointError, match=r"written on a GPU \(cupy on NVIDIA H200\); resuming it needs a usable "
                                              r"GPU, and here "):  # fmt: skip
        load_checkpoint(gpu)


SCENARIO = ["tissue.width_um=200", "tissue.height_um=160", "cells.initial.macrophage=8", "cells.initial.neuron=6"]


@pytest.mark.gpu
def test_a_cupy_checkpoint_holds_host_arrays_and_resumes_as_the_numpy_one_does(tmp_path):
    import cupy

    s = load_scenario("nerve_injury", SCENARIO)
    models = {b: s.build_model(backend=b) for b in ("numpy", "cupy")}
    loaded = {}
    for b, m in models.items():  # over the two backends
        for _ in range(3):
            m.step()
        path = save_checkpoint(tmp_path / f"{b}.pkl", m)
        data = path.read_bytes()
        assert b"cupy._core" not in data and b"cupy.cuda" not in data  # no device object is written
        loaded[b], _, header = load_checkpoint(path)
        assert header["backend"] == b
    assert isinstance(loaded["cupy"].env.fields, cupy.ndarray) and isinstance(loaded["numpy"].env.fields, np.ndarray)
    host = {b: models[b].backend.to_host(loaded[b].env.fields) for b in loaded}
    assert host["cupy"].shape == host["numpy"].shape and host["cupy"].dtype == host["numpy"].dtype
    for b, m in loaded.items():  # both resume: one more step, every field finite and non-negative
        m.step()
        f = models[b].backend.to_host(m.env.fields)
        assert np.isfinite(f).all() and (f >= 0).all()
