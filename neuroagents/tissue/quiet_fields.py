"""Skip the fields that cannot change: a mediator that is zero everywhere and has no input stays zero.

Most of a compartment's mediators are nowhere at a given time: in spared nerve injury, two days in, 54 of the 78
fields of the paw, DRG and dorsal horn are exactly zero (no interferon in the paw, no histamine in the cord, ...).
Diffusing, decaying and taking up zero gives zero. :class:`QuietFields` finds, before each step, the *live*
mediators — a field not zero somewhere, a source written this step, a Dirichlet bath, a held vessel or a plasma
level above zero — and the LOD kernel solves only those lines (``active``), leaving the others as they are. Each
line of the LOD solve depends only on its own mediator's coefficients, so the live fields get the numbers the full
solve gives them; ``tests/test_quiet_fields.py`` checks every built-in scenario against the full solve.

Only the host path does this (NumPy arrays, numba kernels, cell sources in the step): finding the live rows reads
the fields, which on a GPU would be a copy to the host each step; the CuPy step solves every field as before.

Examples
--------
>>> from neuroagents.tissue import Grid, Microenvironment
>>> env = Microenvironment(Grid((20, 20), spacing_um=20.0), ["TNF", "IL6", "CCL2"], backend="numpy")
>>> env.fields[1, 10, 10] = 1.0
>>> env.quiet.live(env, has_sources=False).tolist()  # only IL-6 is anywhere
[False, True, False]
"""

from __future__ import annotations

import numpy as np

from neuroagents.tissue.diffusion.plans import DIRICHLET

__all__ = ["QuietFields"]


class QuietFields:
    """Which mediators of a :class:`~neuroagents.tissue.Microenvironment` a step must solve (module docstring)."""

    def __init__(self):
        self._static_key = None
        self._static = None

    def _fed(self, env) -> np.ndarray:
        """Mediators fed whatever the fields: a Dirichlet bath above zero or a held vessel value above zero."""
        vessels = env._vessels  # held voxels (host copy)
        key = (id(vessels), id(env.spec))
        if key != self._static_key:
            spec = env.spec
            fed = np.any((spec.values != 0) & (spec.kinds[None] == DIRICHLET), axis=(1, 2))
            if not vessels.empty:
                held = np.asarray(vessels.values) != 0
                fed[np.unique(np.asarray(vessels.flat_index)[held] // env.grid.n_voxels)] = True
            self._static_key, self._static = key, fed
        return self._static

    def live(self, env, has_sources: bool) -> np.ndarray:
        """Boolean ``(M,)``: the mediators of ``env`` whose fields a step may change."""
        from neuroagents.tissue.diffusion.numba_kernels import nonzero_rows

        m = len(env.names)
        live = nonzero_rows(env.fields.reshape(m, -1)) | self._fed(env)
        if has_sources:
            if env._base is not None:  # plasma: a source k c_plasma wherever the wall lets it through
                live |= env._base_fed
            # a production above zero somewhere (the cells' exports; a sink alone on a zero field leaves it zero)
            live |= nonzero_rows(env._production.reshape(m, -1))
        return live
