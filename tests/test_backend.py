"""Array backends: NumPy always; CuPy only with a usable GPU, and "auto" says which ran."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from neuroagents.backend import BACKEND_CHOICES, Backend, gpu_status, resolve_backend
from neuroagents.errors import BackendUnavailableError, ConfigError


def test_numpy_resolves():
    be = resolve_backend("numpy")
    assert be.name == "numpy" and be.xp is np and not be.is_gpu
    assert be.to_host(be.asarray([1, 2], dtype=np.float32)).dtype == np.float32
    be.synchronize()  # a no-op


def test_a_backend_passes_through():
    be = resolve_backend("numpy")
    assert resolve_backend(be) is be


# ids avoid the bare word "gpu": tests/conftest.py skips any test with a keyword "gpu",
# and a parametrize id is a keyword.
@pytest.mark.parametrize("bad", ["gpu", "CUDA", "", None, 1], ids=["lower", "upper", "empty", "none", "int"])
def test_invalid_backend_names_list_the_choices(bad):
    with pytest.raises(ConfigError) as exc:
        resolve_backend(bad)
    assert exc.value.key == "backend"
    assert "one of 'auto', 'numpy', 'cupy'" in str(exc.value)
    assert BACKEND_CHOICES == ("auto", "numpy", "cupy")


def test_device_status_returns_a_reason():
    usable, why = gpu_status()
    assert isinstance(usable, bool) and isinstance(why, str) and why


def test_auto_says_which_backend_ran(caplog):
    usable, why = gpu_status()
    with caplog.at_level(logging.INFO, logger="neuroagents"):
        be = resolve_backend("auto")
    if usable:
        assert be.name == "cupy"
        assert any("using cupy" in r.getMessage() for r in caplog.records)
    else:
        assert be.name == "numpy"
        msgs = [r.getMessage() for r in caplog.records if r.name == "neuroagents"]
        assert any("backend auto: using numpy" in m and why in m for m in msgs), msgs


def test_cupy_without_gpu_is_refused_with_the_reason():
    usable, why = gpu_status()
    if usable:
        pytest.skip(f"a GPU is usable here ({why})")
    with pytest.raises(BackendUnavailableError, match="no GPU is usable") as exc:
        resolve_backend("cupy")
    assert why in str(exc.value)


def test_seeded_rng_is_reproducible_on_numpy():
    be = resolve_backend("numpy")
    a = be.rng(42).uniform(size=5)
    b = be.rng(42).uniform(size=5)
    np.testing.assert_array_equal(a, b)
    assert isinstance(be, Backend)
