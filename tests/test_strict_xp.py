"""The strict array module (neuroagents.strict_xp): every host synchronization raises, everything else is NumPy."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from neuroagents.backend import resolve_backend, strict_backend
from neuroagents.strict_xp import HostSyncError, StrictArray, StrictXP


@pytest.fixture
def sx():
    return StrictXP()


def _host(a):
    return np.asarray(a._a) if isinstance(a, StrictArray) else np.asarray(a)


FORBIDDEN = {
    "bool": lambda sx, a, m: bool(a.any()),
    "if": lambda sx, a, m: 1 if a.sum() > 0 else 0,
    "int": lambda sx, a, m: int(a.sum()),
    "float": lambda sx, a, m: float(a.max()),
    "index": lambda sx, a, m: list(range(10))[a.argmax()],
    "range": lambda sx, a, m: range(m.sum()),
    "item": lambda sx, a, m: a.max().item(),
    "tolist": lambda sx, a, m: a.tolist(),
    "get": lambda sx, a, m: a.get(),
    "format": lambda sx, a, m: f"{a.sum():.3f}",
    "iteration": lambda sx, a, m: [x for x in a],
    "np.asarray": lambda sx, a, m: np.asarray(a),
    "np.array": lambda sx, a, m: np.array(a, dtype=float),
    "asnumpy": lambda sx, a, m: sx.asnumpy(a),
    "mask getitem": lambda sx, a, m: a[m],
    "mask setitem": lambda sx, a, m: a.__setitem__(m, 0.0),
    "mask in tuple": lambda sx, a, m: a.reshape(1, -1)[0, m],
    "nonzero": lambda sx, a, m: sx.nonzero(m),
    "nonzero method": lambda sx, a, m: m.nonzero(),
    "flatnonzero": lambda sx, a, m: sx.flatnonzero(m),
    "argwhere": lambda sx, a, m: sx.argwhere(m),
    "where with one argument": lambda sx, a, m: sx.where(m),
    "np.nonzero on it": lambda sx, a, m: np.nonzero(m),
    "unique": lambda sx, a, m: sx.unique(a),
    "compress": lambda sx, a, m: sx.compress(m, a),
    "extract": lambda sx, a, m: sx.extract(m, a),
    "bincount": lambda sx, a, m: sx.bincount(m.astype(int), minlength=10),
    "repeat by counts": lambda sx, a, m: sx.repeat(a, m.astype(int)),
    "allclose": lambda sx, a, m: bool(sx.allclose(a, a)),
}


@pytest.mark.parametrize("op", list(FORBIDDEN))
def test_each_host_sync_raises_and_names_itself(sx, op):
    a = sx.asarray(np.linspace(0.0, 1.0, 10))
    m = a > 0.5
    with pytest.raises(HostSyncError, match=r"copies it to the host.*test_strict_xp\.py"):
        FORBIDDEN[op](sx, a, m)


@pytest.mark.parametrize("op", list(FORBIDDEN))
def test_record_mode_counts_each_sync_and_goes_on(op):
    sx = StrictXP(mode="record")
    a = sx.asarray(np.linspace(0.0, 1.0, 10))
    m = a > 0.5
    with sx.label("phase"):
        FORBIDDEN[op](sx, a, m)
    assert len(sx.syncs) >= 1
    assert {s.label for s in sx.syncs} == {"phase"}
    assert all(s.where.startswith("tests/test_strict_xp.py:") for s in sx.syncs), sx.syncs
    assert all(s.allowed is None for s in sx.syncs)


ALLOWED = {
    "elementwise": lambda xp, a, i: xp.exp(-a) * 2 + a**2 - 1 / (1 + a),
    "comparison and where": lambda xp, a, i: xp.where(a > 0.5, a, -a),
    "reductions": lambda xp, a, i: xp.stack([a.sum(), a.max(), xp.mean(a), a.min(axis=0), xp.any(a > 2) * 1.0]),
    "cumsum and sort": lambda xp, a, i: xp.cumsum(xp.sort(a)[::-1]),
    "gather": lambda xp, a, i: a[i],
    "take": lambda xp, a, i: xp.take(a, i),
    "scatter-add": lambda xp, a, i: _scatter(xp, a, i),
    "integer assignment": lambda xp, a, i: _assign(xp, a, i),
    "put": lambda xp, a, i: _put(xp, a, i),
    "clip and minimum": lambda xp, a, i: xp.minimum(xp.clip(a, 0.2, 0.8), 0.5),
    "concatenate": lambda xp, a, i: xp.concatenate([a, a[:3]]),
    "searchsorted": lambda xp, a, i: xp.searchsorted(a, xp.asarray([0.1, 0.7])),
    "count_nonzero": lambda xp, a, i: xp.count_nonzero(a > 0.3) + 0,
    "in-place": lambda xp, a, i: _inplace(xp, a),
    "matmul": lambda xp, a, i: a.reshape(2, 5) @ a.reshape(5, 2),
    "np function on it": lambda xp, a, i: np.sum(a * 3, axis=0),
}


def _scatter(xp, a, i):
    out = xp.zeros(4)
    xp.add.at(out, i % 4, a[: i.size])
    return out


def _assign(xp, a, i):
    b = a.copy()
    b[i] = 7.0
    return b


def _put(xp, a, i):
    b = a.copy()
    xp.put(b, i, -1.0, mode="wrap")
    return b


def _inplace(xp, a):
    b = a.copy()
    b += 1
    b *= a
    return b


@pytest.mark.parametrize("op", list(ALLOWED))
def test_allowed_operations_give_numpy_results(sx, op):
    host = np.random.default_rng(3).random(10)
    idx = np.array([1, 3, 3, 7])
    want = ALLOWED[op](np, host.copy(), idx)
    got = ALLOWED[op](sx, sx.asarray(host.copy()), sx.asarray(idx))
    assert isinstance(got, StrictArray)
    np.testing.assert_array_equal(_host(got), want)


def test_reductions_stay_arrays_and_results_keep_numpy_dtypes(sx):
    a = sx.asarray(np.arange(6, dtype=np.float32))
    s = a.sum()
    assert isinstance(s, StrictArray) and s.shape == () and s.dtype == np.float32
    assert isinstance(a[2], StrictArray)  # an element is a 0-d array, as on CuPy
    assert len(a) == 6 and a.shape == (6,)  # shapes are host metadata


def _crossing(be, a):
    return be.to_host(a)


def test_allow_names_the_caller_never_the_backend():
    be = strict_backend(allow={"neuroagents/backend.py:Backend.to_host"})
    a = be.xp.asarray(np.arange(3))
    with pytest.raises(HostSyncError, match=r"at tests/test_strict_xp\.py:\d+ \(_crossing\)"):
        _crossing(be, a)  # backend.py is passed through to its caller
    be = strict_backend(allow={"tests/test_strict_xp.py:_crossing"})
    np.testing.assert_array_equal(_crossing(be, a), np.arange(3))
    assert [(s.op, s.allowed) for s in be.xp.syncs] == [("asnumpy", "tests/test_strict_xp.py:_crossing")]


def test_an_allowed_caller_in_the_package_may_sync():
    from neuroagents.cells.population import Population

    be = strict_backend(allow={"neuroagents/cells/population.py:Population.remove"})
    pop = Population("macrophage", ndim=2, xp=be.xp)
    pop.add(3, position_um=be.xp.zeros((3, 2)))
    assert pop.remove(be.xp.asarray(np.array([True, False, True]))) == 2
    assert be.xp.syncs and all(s.allowed == "neuroagents/cells/population.py:Population.remove" for s in be.xp.syncs)
    be.xp.syncs.clear()
    with pytest.raises(HostSyncError, match=r"population\.py:\d+ \(Population\.row_of\)"):
        pop.row_of(1)


def test_random_draws_are_numpy_draws(sx):
    got = sx.random.wrap(np.random.default_rng(5)).normal(0.0, sx.asarray(np.ones(4)))
    assert isinstance(got, StrictArray)
    np.testing.assert_array_equal(_host(got), np.random.default_rng(5).normal(0.0, np.ones(4)))


def test_strict_backend_is_for_tests_only():
    from neuroagents.backend import BACKEND_CHOICES

    assert "strict" not in BACKEND_CHOICES
    be = resolve_backend("strict")
    assert be.name == "strict" and not be.is_gpu and be.xp.mode == "raise"
    with pytest.raises(HostSyncError):
        be.synchronize()


def test_count_calls_counts_what_would_launch_work_on_a_device_and_not_views():
    sx = StrictXP()
    a, idx = sx.arange(10.0), sx.asarray(np.array([1, 3]))
    calls = sx.count_calls(sites=True)
    with sx.label("phase"):
        b = a * 2.0 + 1.0  # two elementwise kernels
        _ = a[2:5]  # a view
        _ = a.reshape(2, 5)  # a view
        _ = b[idx]  # a gather
        b[0:2] = 0.0  # an assignment
        sx.add.at(b, idx, 1.0)  # a scatter-add
        _ = b.sum()  # a reduction
        _ = sx.asarray(b)  # a device array as it is
        _ = sx.random.default_rng(0).random(3)  # a draw
    ops = Counter()
    for (label, op, site), n in calls.items():
        assert label == "phase" and site.startswith("tests/test_strict_xp.py:"), (label, site)
        ops[op] += n
    assert ops == Counter({"multiply": 1, "add": 1, "gather (indexing by an array)": 1, "assignment": 1,
                           "add.at": 1, ".sum()": 1, "random.random": 1}), ops  # fmt: skip
    plain = StrictXP()
    _ = plain.arange(3.0) * 2.0  # not counting: nothing kept
    assert plain.calls is None
