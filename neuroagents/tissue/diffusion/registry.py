"""Kernel registry: which implementation advances the fields.

Each implementation is a module with two functions that follow
:mod:`neuroagents.tissue.diffusion.plans` exactly::

    lod_step(c4, plan: LODPlan, q4, k4, vessels, work4) -> None      # in place
    explicit_step(c4, plan: ExplicitPlan, q4, k4, vessels, work4) -> None

``work4`` is a scratch array shaped like ``c4`` (or None). Modules are
imported lazily, by name, so that CuPy is only imported when asked for.
"""

from __future__ import annotations

import importlib

from neuroagents.errors import ConfigError

__all__ = ["KERNELS", "SOLVERS", "default_kernel", "load_kernels"]

SOLVERS = ("lod", "explicit")
KERNELS = {
    "reference": ("neuroagents.tissue.diffusion.reference", "numpy"),
    "numba": ("neuroagents.tissue.diffusion.numba_kernels", "numpy"),
    "cupy": ("neuroagents.tissue.diffusion.cupy_kernels", "cupy"),
}


def default_kernel(backend_name: str) -> str:
    """The fast kernel for a backend: numba on NumPy, fused CUDA on CuPy."""
    return "cupy" if backend_name == "cupy" else "numba"


def load_kernels(kernel: str, backend_name: str):
    """Import the kernel module named ``kernel`` after checking it fits the backend."""
    if kernel not in KERNELS:
        raise ConfigError("kernel", kernel, "one of 'auto', " + ", ".join(map(repr, KERNELS)))
    module, needs = KERNELS[kernel]
    if needs != backend_name:
        raise ConfigError(
            "kernel",
            kernel,
            f"a kernel for the {backend_name!r} backend "
            f"({', '.join(repr(k) for k, (_, b) in KERNELS.items() if b == backend_name)})",
        )
    return importlib.import_module(module)
