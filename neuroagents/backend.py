"""Array backends: NumPy on the CPU, CuPy on an NVIDIA GPU.

``resolve_backend("auto")`` picks CuPy only when a GPU is really usable — an
``import cupy`` succeeds on machines without a GPU, so the check queries the
device and runs a tiny allocation — and otherwise NumPy. It says which one
was chosen, once, through the ``neuroagents`` logger. Nothing here imports
CuPy at module level.

A third backend, ``"strict"`` (:func:`strict_backend`), is for tests only: NumPy wrapped so that every host
synchronization a GPU step would make raises or is recorded (:mod:`neuroagents.strict_xp`). It is not among
:data:`BACKEND_CHOICES`, so no scenario or command line offers it.

Examples
--------
>>> be = resolve_backend("numpy")
>>> be.name
'numpy'
>>> be.to_host(be.xp.arange(3)).tolist()
[0, 1, 2]
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from neuroagents.errors import BackendUnavailableError, ConfigError

__all__ = ["BACKEND_CHOICES", "Backend", "fixed_bincount", "gpu_status", "resolve_backend", "strict_backend"]

BACKEND_CHOICES = ("auto", "numpy", "cupy")

log = logging.getLogger("neuroagents")


@dataclass(frozen=True)
class Backend:
    """The array module a model computes with, and how to reach the host.

    Attributes
    ----------
    name : {"numpy", "cupy", "strict"}
        The backend that actually runs.
    xp : module
        ``numpy`` or ``cupy`` (or a :class:`~neuroagents.strict_xp.StrictXP`).
    device : str
        A human-readable description (CPU, or the GPU's name).
    """

    name: str
    xp: ModuleType
    device: str

    @property
    def is_gpu(self) -> bool:
        return self.name == "cupy"

    def to_host(self, array) -> np.ndarray:
        """Return ``array`` as a NumPy array (a copy when it lives on a GPU)."""
        if self.name in ("cupy", "strict"):
            return self.xp.asnumpy(array)
        return np.asarray(array)

    def asarray(self, array, dtype=None):
        """Put ``array`` on this backend's device."""
        return self.xp.asarray(array, dtype=dtype)

    def rng(self, seed):
        """A random generator on this backend seeded with ``seed``.

        NumPy's PCG64 on the CPU; CuPy's default generator on the GPU.
        Results agree between backends only in distribution, not bit for bit.
        """
        if self.name in ("cupy", "strict"):
            return self.xp.random.default_rng(seed)
        return np.random.default_rng(seed)

    def synchronize(self) -> None:
        """Wait for queued device work (a no-op on NumPy); used for timing."""
        if self.name == "cupy":
            self.xp.cuda.Device().synchronize()
        elif self.name == "strict":
            self.xp.sync("synchronize")


def fixed_bincount(xp, x, length: int, weights=None):
    """``bincount(x, weights, minlength=length)`` for ``x`` known to lie in ``[0, length)``, without a host sync.

    CuPy's ``bincount`` sizes its output from ``int(x.max())`` and checks ``(x < 0).any()``: two copies to the
    host. Off NumPy this is a scatter-add into ``length`` zeros instead; on NumPy it is NumPy's ``bincount``
    (the same numbers as always).

    Parameters
    ----------
    xp : module
    x : ndarray of shape (n,), int
        Values in ``[0, length)``.
    length : int
    weights : ndarray of shape (n,), optional

    Returns
    -------
    ndarray of shape (length,)
        int64 counts, or float64 sums of ``weights``.

    Examples
    --------
    >>> fixed_bincount(np, np.array([0, 2, 2]), 4).tolist()
    [1, 0, 2, 0]
    """
    if xp is np:
        return np.bincount(x, weights=weights, minlength=length)
    out = xp.zeros(length, dtype=xp.int64 if weights is None else xp.float64)
    xp.add.at(out, x, 1 if weights is None else weights)
    return out


def gpu_status() -> tuple[bool, str]:
    """Whether CuPy can really use a GPU here, and why not if it cannot.

    Returns
    -------
    usable : bool
    reason : str
        The GPU's name when usable, otherwise what failed.
    """
    try:
        import cupy
    except Exception as exc:  # ImportError, or a broken CUDA install
        return False, f"cupy is not importable ({type(exc).__name__}: {exc})"
    try:
        if not cupy.cuda.is_available():
            return False, "cupy is installed but reports no usable CUDA device"
        n = cupy.cuda.runtime.getDeviceCount()
        if n < 1:
            return False, "no CUDA device found"
        props = cupy.cuda.runtime.getDeviceProperties(0)
        cupy.zeros(1, dtype=cupy.float32).sum().item()  # a real allocation + kernel
        name = props["name"]
        return True, name.decode() if isinstance(name, bytes) else str(name)
    except Exception as exc:  # CUDARuntimeError: cudaErrorInsufficientDriver, ...
        return False, f"CUDA device query failed ({type(exc).__name__}: {exc})"


def resolve_backend(choice: str | Backend = "auto") -> Backend:
    """Turn a backend name into a :class:`Backend`.

    Parameters
    ----------
    choice : {"auto", "numpy", "cupy"} or Backend
        ``"auto"`` takes CuPy when a GPU is usable, else NumPy, and logs
        which. ``"cupy"`` without a usable GPU raises
        :class:`~neuroagents.errors.BackendUnavailableError`.

    Returns
    -------
    Backend
    """
    if isinstance(choice, Backend):
        return choice
    if choice == "strict":
        return strict_backend()
    if choice not in BACKEND_CHOICES:
        raise ConfigError("backend", choice, "one of " + ", ".join(map(repr, BACKEND_CHOICES)))
    if choice == "numpy":
        return Backend("numpy", np, "CPU")
    usable, info = gpu_status()
    if choice == "cupy":
        if not usable:
            raise BackendUnavailableError(
                f"backend = 'cupy' was asked for, but no GPU is usable: {info}. "
                "Use backend 'numpy' or 'auto', or install the 'gpu' extra on a machine with "
                "an NVIDIA GPU."
            )
        import cupy

        return Backend("cupy", cupy, info)
    if usable:
        import cupy

        log.info("backend auto: using cupy on %s", info)
        return Backend("cupy", cupy, info)
    log.info("backend auto: using numpy (no GPU: %s)", info)
    return Backend("numpy", np, "CPU")


def strict_backend(*, mode: str = "raise", allow=()) -> Backend:
    """The ``"strict"`` backend, for tests: NumPy's results, every host synchronization reported.

    Parameters
    ----------
    mode : {"raise", "record"}
    allow : iterable of str
        Functions allowed to synchronize (``"neuroagents/model.py:NeuroImmuneModel._record"``); see
        :class:`~neuroagents.strict_xp.StrictXP`.

    Returns
    -------
    Backend
        Pass it as ``backend=`` to a model: every part of the model then reports to the same
        :class:`~neuroagents.strict_xp.StrictXP` (its ``syncs``).
    """
    from neuroagents.strict_xp import StrictXP

    return Backend("strict", StrictXP(mode=mode, allow=allow), "CPU (strict: host synchronizations reported)")
