"""Reaction–diffusion solvers for the mediator fields.

One step advances every field of shape ``(M, *grid.shape)`` by ``dt`` minutes
under

    dc/dt = D ∇²c − λ c − k(x) c + q(x)

where ``D`` (µm²/min) and ``λ`` (1/min) come from the mediator catalogue and
the per-voxel terms filled by cells are ``q`` (production, nM/min, >= 0) and
``k`` (first-order consumption: uptake and saturating secretion, 1/min, >= 0).

Two solvers, each with a plain NumPy reference (``reference.py``, also the
fallback kernel ``"reference"``) and fast versions checked against it
(``numba_kernels.py`` and its ``numba_*.py`` parts on the CPU,
``cupy_kernels.py`` with ``cupy_launch.py`` on the GPU):

``"lod"`` (default)
    Locally one-dimensional backward Euler, one tridiagonal solve per grid
    line and axis (as BioFVM does). Unconditionally stable and positive.
``"explicit"``
    Forward Euler diffusion with the reaction treated implicitly, fused in one
    pass per sub-step. The step sub-cycles itself below its stability limit,
    so it is never silently unstable.

The exact order of operations is defined in :mod:`.plans` and is the same
for every implementation.
"""

from neuroagents.tissue.diffusion.plans import (
    DIRICHLET,
    NO_FLUX,
    PERIODIC,
    ExplicitPlan,
    FieldSpec,
    LODPlan,
    Vessels,
)

__all__ = ["DIRICHLET", "NO_FLUX", "PERIODIC", "ExplicitPlan", "FieldSpec", "LODPlan", "Vessels"]
