"""The numba kernels of the dorsal-horn circuit agree with the NumPy reference; dispatch and fallback.

Tolerance: the kernels do the reference's operations in the same order, but take ``tanh`` and ``exp`` from the C
library where NumPy uses its own SIMD versions (they differ in the last bit for ~20% of arguments). Relative
agreement is then ~1e-13, except where a rate is far below its ceiling: ``(X_max/2)(1 + tanh(u))`` cancels for
u << 0, so both implementations carry an absolute error of ~1e-16 ``X_max`` there (e.g. P = 5e-13 Hz computed
as 5.25e-13 and 5.22e-13). Hence ``rtol=1e-12`` plus an ``atol`` of 1e-12 of the rate's ceiling.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuroagents.errors import ConfigError
from neuroagents.pain import dorsal_horn
from neuroagents.pain.dorsal_horn import DorsalHorn
from neuroagents.pain.params import PainParams
from neuroagents.pain.readouts import windup_ratios

P = PainParams()
RTOL = 1e-12
ATOL_HZ = 1e-12 * max(P.p_max_hz, P.e_max_hz, P.i_max_hz + P.i_offset_hz)
KEYS = ("P", "E", "I", "g")


def _inputs(rng, t, k):
    """Random protocol: Aβ 0-45 Hz, nociceptor 0-25 Hz per step (spans the sigmoids' ranges), shape (T, K)."""
    return rng.uniform(0.0, 45.0, (t, k)), rng.uniform(0.0, 25.0, (t, k))


def _pair():
    return DorsalHorn(P, kernel="numba"), DorsalHorn(P, kernel="reference")


def _assert_state_close(a, b):
    assert set(a) == set(b)
    for key in KEYS:
        assert np.shape(a[key]) == np.shape(b[key]), key
        np.testing.assert_allclose(a[key], b[key], rtol=RTOL, atol=ATOL_HZ, err_msg=key)


@pytest.mark.parametrize("k", [1, 2, 59])
@pytest.mark.parametrize("dt_s", [0.001, 0.01, 0.1])
@pytest.mark.parametrize("per_stimulus", [False, True])
def test_simulate_numba_equals_reference(k, dt_s, per_stimulus):
    rng = np.random.default_rng([k, int(dt_s * 1000), per_stimulus])
    fast, ref = _pair()
    f_a, f_c = _inputs(rng, 300, k)
    if per_stimulus:  # (K,) arrays, as the wind-up readout passes (and a lockstep batch's trace, with the weights)
        g_max, w_ip = rng.uniform(0.0, 2.0, k), rng.uniform(0.0, P.w_i_p, k)
        weights = {"w_abeta_p": P.w_abeta_p * rng.uniform(1.0, 2.0, k), "w_c_p": P.w_c_p * rng.uniform(1.0, 2.0, k)}
    else:  # floats
        g_max, w_ip, weights = 1.7, 0.6 * P.w_i_p, {}
    state = ref.rest_reference(f_a[0], f_c[0], g_max=g_max, w_ip=w_ip, **weights)
    a = fast.simulate(f_a, f_c, dt_s, state=state, g_max=g_max, w_ip=w_ip, **weights)
    b = ref.simulate(f_a, f_c, dt_s, state=state, g_max=g_max, w_ip=w_ip, **weights)
    assert a.shape == b.shape == (300, k)
    assert np.all(np.isfinite(a)) and a.max() > 0.5 * P.p_max_hz  # the protocol drives P through its range
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL_HZ)


def test_simulate_broadcasts_inputs_state_and_slow_state_like_the_reference():
    rng = np.random.default_rng(7)
    fast, ref = _pair()
    f_a = rng.uniform(0.0, 45.0, (150, 1))  # one Aβ protocol for every stimulus
    f_c = np.broadcast_to(rng.uniform(0.0, 25.0, (150, 1)), (150, 4))  # read-only, stride 0, as von Frey passes it
    state = {"P": np.array([3.0]), "E": 2.0, "I": np.full(1, 5.0), "g": np.zeros(4)}
    g_max = np.array([0.0, 0.5, 1.0, 2.0])
    a = fast.simulate(f_a, f_c, 0.01, state=state, g_max=g_max, w_ip=P.w_i_p)
    b = ref.simulate_reference(f_a, f_c, 0.01, state=state, g_max=g_max, w_ip=P.w_i_p)
    assert a.shape == b.shape == (150, 4)
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL_HZ)
    assert np.all(np.diff(a.mean(axis=0)) > 0)  # more NMDA ceiling, more output: each column kept its own g_max


def test_simulate_shapes_follow_the_reference():
    rng = np.random.default_rng(9)
    fast, ref = _pair()
    f_a, f_c = rng.uniform(0.0, 45.0, (120, 2, 3)), rng.uniform(0.0, 25.0, (120, 1, 3))  # stimuli on two axes
    state = ref.rest(f_a[0], f_c[0], g_max=np.array([[0.5], [2.0]]))
    a = fast.simulate(f_a, f_c, 0.01, state=state, g_max=np.array([[0.5], [2.0]]))
    b = ref.simulate(f_a, f_c, 0.01, state=state, g_max=np.array([[0.5], [2.0]]))
    assert a.shape == b.shape == (120, 2, 3)
    np.testing.assert_allclose(a, b, rtol=RTOL, atol=ATOL_HZ)
    one = {key: np.asarray(v).reshape(()) for key, v in ref.rest(f_a[0, 0, 0], f_c[0, 0, 0]).items()}
    a1 = fast.simulate(f_a[:, 0, 0], f_c[:, 0, 0], 0.01, state=one)  # a protocol of shape (T,): one stimulus
    b1 = ref.simulate(f_a[:, 0, 0], f_c[:, 0, 0], 0.01, state=one)
    assert a1.shape == b1.shape == (120,)
    np.testing.assert_allclose(a1, b1, rtol=RTOL, atol=ATOL_HZ)


def test_simulate_default_slow_state_and_empty_protocol():
    rng = np.random.default_rng(3)
    fast, ref = _pair()
    for dh in (fast, ref):
        dh.update({"BDNF": 1.0, "TNF": 0.5}, {}, 120.0)
    f_a, f_c = _inputs(rng, 200, 5)
    state = ref.rest(f_a[0], f_c[0])
    np.testing.assert_allclose(fast.simulate(f_a, f_c, 0.01, state=state), ref.simulate(f_a, f_c, 0.01, state=state),
                               rtol=RTOL, atol=ATOL_HZ)  # fmt: skip
    assert fast.simulate(f_a[:0], f_c[:0], 0.01, state=state).shape == (0, 5)


@pytest.mark.parametrize("k", [1, 3, 40])
@pytest.mark.parametrize("per_stimulus", [False, True])
def test_rest_numba_equals_reference(k, per_stimulus):
    rng = np.random.default_rng([k, per_stimulus])
    fast, ref = _pair()
    f_a, f_c = rng.uniform(0.0, 45.0, k), rng.uniform(0.0, 25.0, k)
    if per_stimulus:
        g_max, w_ip = rng.uniform(0.0, 3.0, k), rng.uniform(0.0, P.w_i_p, k)
        weights = {"w_abeta_p": P.w_abeta_p * rng.uniform(1.0, 2.0, k), "w_c_p": P.w_c_p * rng.uniform(1.0, 2.0, k)}
    else:
        g_max, w_ip, weights = 2.5, 0.3 * P.w_i_p, {}
    a = fast.rest(f_a, f_c, g_max=g_max, w_ip=w_ip, **weights)
    b = ref.rest(f_a, f_c, g_max=g_max, w_ip=w_ip, **weights)
    _assert_state_close(a, b)
    assert np.all(a["g"] <= np.broadcast_to(g_max, (k,)))


@pytest.mark.parametrize("iterations", [0, 1, 2, 5, 200, 1000])
def test_rest_stops_only_at_an_exact_fixed_point(iterations):
    fast, ref = _pair()
    f_a, f_c, g_max = np.array([1.0, 8.0, 30.0]), np.array([0.2, 6.0, 14.0]), np.array([2.0, 2.0, 3.0])
    _assert_state_close(fast.rest(f_a, f_c, g_max=g_max, iterations=iterations),
                        ref.rest(f_a, f_c, g_max=g_max, iterations=iterations))  # fmt: skip


@pytest.mark.parametrize("iterations", [0, 1, 200])
def test_rest_shapes_follow_the_reference(iterations):
    fast, ref = _pair()
    grid = np.linspace(0.5, 30.0, 6).reshape(2, 3)
    for args, kw in [((1.0, 0.2), {}), ((np.ones(1), 0.2), {}), ((1.0, 0.2), {"g_max": np.array([0.0, 1.0, 2.0])}),
                     ((np.ones(3), np.full(3, 4.0)), {"w_ip": 0.5}), ((1.0, 0.2), {"w_ip": np.array([0.1, 2.0])}),
                     ((grid, grid.T[:, :1].T), {"g_max": np.array([[1.0], [3.0]])})]:  # fmt: skip
        _assert_state_close(fast.rest(*args, **kw, iterations=iterations), ref.rest(*args, **kw, iterations=iterations))


def test_windup_readout_is_the_same_with_either_kernel():
    fast, ref = _pair()
    for dh in (fast, ref):
        dh.update({"TNF": 1.0, "BDNF": 0.5}, {}, 600.0)
    np.testing.assert_allclose(windup_ratios(fast, 0.4, P), windup_ratios(ref, 0.4, P), rtol=1e-10)


def test_auto_uses_numba_and_falls_back_to_the_reference_without_it(monkeypatch):
    rng = np.random.default_rng(11)
    f_a, f_c = _inputs(rng, 100, 3)
    auto = DorsalHorn(P)
    assert auto.kernel == "auto" and auto.active_kernel == "numba"
    monkeypatch.setattr(dorsal_horn, "_numba_kernels", lambda: None)
    assert auto.active_kernel == "reference"
    state = auto.rest(f_a[0], f_c[0])
    expected = auto.rest_reference(f_a[0], f_c[0])
    for key in KEYS:
        np.testing.assert_array_equal(state[key], expected[key])
    np.testing.assert_array_equal(auto.simulate(f_a, f_c, 0.01, state=state),
                                  auto.simulate_reference(f_a, f_c, 0.01, state=state))  # fmt: skip
    with pytest.raises(ConfigError, match=r"kernel = 'numba'.*numba cannot be imported"):
        DorsalHorn(P, kernel="numba").rest(f_a[0], f_c[0])


class _DeviceLike:
    """Stands in for a device array (e.g. CuPy): not an ndarray, but convertible by ``np.asarray``."""

    def __init__(self, a):
        self.a = a

    def __array__(self, dtype=None, copy=None):
        return np.asarray(self.a, dtype=dtype)


def test_non_numpy_inputs_go_to_the_reference_or_are_refused():
    rng = np.random.default_rng(5)
    f_a, f_c = _inputs(rng, 50, 2)
    auto = DorsalHorn(P)
    state = auto.rest(f_a[0], f_c[0])
    np.testing.assert_array_equal(auto.simulate(_DeviceLike(f_a), f_c, 0.01, state=state),
                                  auto.simulate_reference(f_a, f_c, 0.01, state=state))  # fmt: skip
    with pytest.raises(ConfigError, match="not NumPy arrays"):
        DorsalHorn(P, kernel="numba").simulate(_DeviceLike(f_a), f_c, 0.01, state=state)


def test_unknown_kernel_is_refused():
    with pytest.raises(ConfigError, match=r"kernel = 'fast': must be one of 'auto', 'numba', 'reference'"):
        DorsalHorn(P, kernel="fast")
    dh = DorsalHorn(P)
    dh.kernel = "cuda"
    with pytest.raises(ConfigError, match="kernel = 'cuda'"):
        dh.rest(1.0, 0.2)


def test_without_nmda_the_kernels_agree_and_g_stays_zero():
    fast, ref = (DorsalHorn(dataclasses.replace(P, nmda_max=0.0), kernel=k) for k in ("numba", "reference"))
    rest = fast.rest(np.ones(2), np.full(2, 0.2))
    assert np.all(rest["g"] == 0.0)
    _assert_state_close(rest, ref.rest(np.ones(2), np.full(2, 0.2)))
