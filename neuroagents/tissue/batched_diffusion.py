"""One diffusion step for the same compartment of several runs: one kernel call over all their fields.

A lockstep batch (:mod:`neuroagents.lockstep`) keeps the fields of its ``B`` runs' copies of a compartment in one
array of shape ``(B, M, *grid)`` (each run's :class:`~neuroagents.tissue.Microenvironment` holds a view of its
slice), and so its production and consumption terms. The LOD kernels solve each line of a field with its own
mediator's coefficients only, so the ``B M`` fields are ``B M`` independent "mediators" of one call: the plan of
the batch is the runs' plans laid end to end (their coefficient arrays concatenated, not recomputed), the held
voxels are the runs' held voxels moved by ``k M N`` (``N`` voxels), and the solved lines (the quiet fields'
``active`` mask) are the runs' masks one after another. Each run's fields get the numbers its own step gives
them, bit for bit (``tests/test_lockstep.py``); the point is ``B`` times fewer calls (on a GPU, launches).

:func:`step_together` takes this path when every run would take the kernels' per-line path (cell terms or
vessels: every built-in scenario) with the LOD solver; otherwise each run steps alone, as before.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from neuroagents.tissue.diffusion.plans import AxisCoeffs, LODPlan, Vessels

__all__ = ["concatenated_plan", "concatenated_vessels", "step_together"]

_PER_ROW = ("r", "diag", "inv_den", "cp", "rhs_lo", "rhs_hi", "sm_z", "sm_w", "sm_fac")
_PLAN_ROWS = ("decay_factor", "source_weight", "sweep_decay_factor", "sweep_source_weight")


def concatenated_plan(plans) -> LODPlan:
    """The LOD plan of the runs' fields laid end to end: each coefficient array of ``plans`` concatenated.

    Parameters
    ----------
    plans : sequence of LODPlan
        One per run, of the same ``dt`` and axes (the same grid), each with ``M`` rows.

    Returns
    -------
    LODPlan
        With ``B M`` rows; row ``k M + m`` holds plan ``k``'s row ``m`` (the same numbers, not recomputed).
    """
    first = plans[0]
    for p in plans[1:]:  # over runs
        if p.dt != first.dt or p.tau != first.tau or [a.axis for a in p.axes] != [a.axis for a in first.axes]:
            raise ValueError("concatenated_plan: the plans differ in time step or axes")
    axes = []
    for i, ax in enumerate(first.axes):  # over the (at most three) axes
        per_row = {name: np.concatenate([getattr(p.axes[i], name) for p in plans]) for name in _PER_ROW}
        axes.append(AxisCoeffs(axis=ax.axis, n=ax.n, periodic=ax.periodic, **per_row))
    rows = {name: np.concatenate([getattr(p, name) for p in plans]) for name in _PLAN_ROWS}
    return dataclasses.replace(first, axes=tuple(axes), **rows)


def concatenated_vessels(vessels, size: int, xp) -> Vessels:
    """The runs' held voxels in the batch's flat index: run ``k``'s moved by ``k * size``.

    Parameters
    ----------
    vessels : sequence of Vessels
        One per run (device arrays where the runs keep them there).
    size : int
        Values in one run's fields, ``M N``.
    xp : module
        The runs' array module.
    """
    idx = [xp.asarray(v.flat_index) + k * size for k, v in enumerate(vessels)]
    return Vessels(xp.concatenate(idx), xp.concatenate([xp.asarray(v.values) for v in vessels]))


class _Cache:
    """The batch's plan and vessels, rebuilt only when a run's own plan or vessels object changes."""

    def __init__(self):
        self._plan_key = self._vessel_key = None
        self._plan = self._vessels = None
        self._keep_plans = self._keep_vessels = ()  # the ids of the keys stay theirs while cached

    def plan(self, plans) -> LODPlan:
        key = tuple(map(id, plans))
        if key != self._plan_key:
            self._plan_key, self._plan = key, concatenated_plan(plans)
            self._keep_plans = tuple(plans)
        return self._plan

    def vessels(self, vessels, size: int, xp) -> Vessels:
        key = tuple(map(id, vessels))
        if key != self._vessel_key:
            self._vessel_key = key
            self._vessels = concatenated_vessels(vessels, size, xp)
            self._keep_vessels = tuple(vessels)
        return self._vessels


def step_together(envs, stacks, dt_min: float, cache: _Cache | None = None) -> _Cache:
    """Advance the fields of ``envs`` by ``dt_min``, in one kernel call where they allow it.

    Parameters
    ----------
    envs : sequence of Microenvironment
        The same compartment of each run of a batch, in batch order; ``envs[k].fields`` (and its production and
        consumption) are ``stacks[...][k]``.
    stacks : tuple of 3 arrays of shape (B, M, *grid)
        The batch's fields, production and consumption.
    dt_min : float
    cache : optional
        What the previous call returned (the batch's plan and vessels, kept while the runs' own are unchanged).

    Returns
    -------
    cache
        To pass to the next call.
    """
    cache = cache or _Cache()
    first = envs[0]
    together = first.solver == "lod" and first.kernel != "reference" and all(
        env.solver == "lod" and env.kernel == first.kernel and env._any_sources() for env in envs
    )  # fmt: skip
    if not together:  # the kernels' other paths (no cell terms and no vessels): each run alone
        for env in envs:  # over runs
            env.step(dt_min)
        return cache
    plans = [env.plan(dt_min) for env in envs]
    actives = None
    if first.quiet is not None:
        actives = [env.quiet.live(env, True) for env in envs]
    fields, production, consumption = stacks
    b = len(envs)
    shape4 = (b * first.spec.shape4[0], *first.spec.shape4[1:])
    size = first.fields.size
    vessels = cache.vessels([env._vessels_dev for env in envs], size, first.xp)
    options = {} if actives is None else {"active": np.concatenate(actives)}
    if actives is None or np.any(options["active"]):
        first._kernels.lod_step(
            fields.reshape(shape4), cache.plan(plans), production.reshape(shape4), consumption.reshape(shape4),
            vessels, None, **options,
        )  # fmt: skip
    for env in envs:  # over runs: their clocks and checks, as their own step does
        env._advanced(dt_min)
    return cache
