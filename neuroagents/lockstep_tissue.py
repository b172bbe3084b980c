"""The tissue's own per-voxel rules for the runs of a lockstep batch at once: stromal COX-2 and swelling, and the
sources' reset before the cells secrete.

:meth:`Stroma.secrete <neuroagents.stroma.Stroma.secrete>` and :meth:`Swelling.update
<neuroagents.swelling.Swelling.update>` are the reference: one run, readable, as fast as a run alone can be. The
functions here compute the same rules for the same compartment of ``B`` runs with arrays of shape ``(B, V)`` (``V``
interstitial voxels), reading the batch's fields ``(B, M, *grid)`` and writing its production term, so a batch makes
each array operation once instead of ``B`` times (on a GPU, one launch). Each run's result is its reference's, bit
for bit (``tests/test_lockstep.py``): the same operations in the same order, elementwise; a per-run number (a drug's
blockade, a free fraction) is a ``(B, 1)`` column (:func:`~neuroagents.run_axis.column`); a mediator whose field is
zero in one run and not in another is computed for both, its term exactly neutral where it is zero, as the
reference's skip. Runs whose parameters differ are not taken together here (:class:`~neuroagents.lockstep.Lockstep`
runs them one by one).
"""

from __future__ import annotations

import math

import numpy as np

from neuroagents.kinins import b2_left
from neuroagents.run_axis import column, stacked, unstack
from neuroagents.swelling import _DILATORS, _OPENERS
from neuroagents.tissue.exchange import add_tissue_source, add_tissue_sources

__all__ = ["clear_sources", "secrete_stroma", "update_swelling"]


def _flat(objs, fields):
    """The batch's fields ``(B, M, *grid)`` as ``(B, M, n_voxels)``."""
    env = objs[0].comp.env
    return fields.reshape(len(objs), len(env.names), -1)


# --- stromal COX-2 (reference: neuroagents/stroma.py) ---------------------------------------------------------------
def _stroma_drive(stromas, flat):
    """:meth:`Stroma.drive` of each run, ``(B, V)``."""
    first = stromas[0]
    comp, p = first.comp, first.params
    xp, env = comp.model.xp, comp.env
    off = xp.ones((len(stromas), int(first.voxels.size)), dtype=xp.float64)  # 1 − h, built up per cytokine
    for name, receptor, half in (("IL1B", "IL1R1", p.il1b_half_nM), ("TNF", "TNFR1", p.tnf_half_nM)):
        if name not in env.names or all(s.comp.env.is_zero(name) for s in stromas):  # over two cytokines
            continue
        free = column(xp, [s.comp.free_fraction(name) for s in stromas])
        c = xp.maximum(flat[:, env.index(name)][:, first.voxels], 0.0) * free
        cn = c**p.hill
        block = column(xp, [s.comp.inhibition.get(receptor, 0.0) for s in stromas])
        occ = cn / (cn + half**p.hill) * (1.0 - block)
        off = off * (1.0 - occ)
    return 1.0 - off


def secrete_stroma(stromas, dt_min: float, fields, production) -> None:
    """:meth:`Stroma.secrete` of ``B`` runs with equal :class:`~neuroagents.stroma.StromaParams`.

    Parameters
    ----------
    stromas : sequence of Stroma
        The same compartment's, one per run, in batch order.
    dt_min : float
    fields, production : ndarray of shape (B, M, *grid)
        The batch's fields and production term (each run's are views of them).
    """
    first = stromas[0]
    comp, xp = first.comp, first.comp.model.xp
    target = _stroma_drive(stromas, _flat(stromas, fields))
    induction = stacked(stromas, "induction", xp)
    unstack(stromas, "induction", target + (induction - target) * xp.exp(-dt_min / first.params.induction_min))
    if "PGE2" not in comp.env.names:
        return
    adding = [s for s in stromas if "PGE2" not in s.comp.knockouts.mediators]
    if len(adding) < len(stromas):  # a knockout in some runs only (rare): the others add one by one
        for s in adding:  # over runs
            s.produced_molecules = s.produced_molecules + add_tissue_source(
                s.comp.env, "PGE2", s.voxels, s.rate_nM_per_min(), dt_min)  # fmt: skip
        return
    cox = 1.0 - column(xp, [s.comp.enzyme_inhibition.get("COX2", 0.0) for s in stromas])
    rate = first.params.pge2_max_nM_per_min * stacked(stromas, "induction", xp) * cox
    added = add_tissue_sources([s.comp.env for s in stromas], "PGE2", first.voxels, rate, dt_min, production)
    for k, s in enumerate(stromas):  # over runs
        s.produced_molecules = s.produced_molecules + added[k]


# --- swelling (reference: neuroagents/swelling.py) --------------------------------------------------------------------
def _hill(swellings, flat, name: str, k_nM: float):
    """:meth:`Swelling.hill` of each run, ``(B, V)``."""
    first = swellings[0]
    env, xp = first.comp.env, first.comp.model.xp
    c = xp.maximum(flat[:, env.index(name)][:, first.voxels], 0.0)
    c = c * column(xp, [s.comp.free_fraction(name) for s in swellings])
    return c / (c + k_nM)


def _b2_occupancy(swellings, flat):
    """:meth:`Swelling._b2_occupancy` of each run, ``(B, V)``; None without bradykinin on the grid."""
    first = swellings[0]
    if "bradykinin" not in first.comp.env.names:
        return None
    blocked = column(first.comp.model.xp, [s.comp.inhibition.get("B2", 0.0) for s in swellings])
    return _hill(swellings, flat, "bradykinin", first.params.bradykinin_ec50_nM) * (1.0 - blocked)


def _swelling_drive(swellings, flat, occ):
    """:meth:`Swelling.drive` of each run, ``(B, V)`` (the compiled pass of each run where its reference takes it)."""
    first = swellings[0]
    comp, p = first.comp, first.params
    xp, names = comp.model.xp, comp.env.names
    if all(s._fused() for s in swellings):  # one compiled pass for all runs (neuroagents/swelling_kernel.py)
        return _swelling_drive_fused(swellings, flat, occ)
    closed = xp.ones((len(swellings), int(first.voxels.size)), dtype=xp.float64)  # 1 − P, built up per mediator
    for name, receptor, k_attr, e_attr in _OPENERS:  # over six mediators
        if name not in names:
            continue
        if name == "bradykinin":  # times the receptors left after tachyphylaxis
            h = occ * stacked(swellings, "b2", xp)
        elif all(s.comp.env.is_zero(name) for s in swellings):  # its term is exactly 1 − e·0 = 1: skipped
            continue
        else:
            block = column(xp, [s.comp.inhibition.get(receptor, 0.0) for s in swellings])
            h = _hill(swellings, flat, name, getattr(p, k_attr)) * (1.0 - block)
        closed = closed * (1.0 - getattr(p, e_attr) * h)
    flow = 1.0
    for name, k_attr, g_attr in _DILATORS:  # over two vasodilators
        if name in names and not all(s.comp.env.is_zero(name) for s in swellings):  # a zero field adds exactly 0
            flow = flow + getattr(p, g_attr) * _hill(swellings, flat, name, getattr(p, k_attr))
    return (1.0 - closed) * flow


def _swelling_drive_fused(swellings, flat, occ):
    """:meth:`Swelling._drive_fused` of each run, ``(B, V)``, in one call of
    :func:`~neuroagents.swelling_kernel.drive_kernel_runs` (each run's free fractions and blockades its own)."""
    from neuroagents.swelling_kernel import drive_kernel_runs

    first = swellings[0]
    rows, k, eff, brady_eff, d_rows, d_k, d_gain = first._kernel_shared_tables()
    free, block, d_free = (np.array(x, dtype=np.float64).reshape(len(swellings), -1)
                           for x in zip(*(s._kernel_run_numbers() for s in swellings), strict=True))  # fmt: skip
    brady_h = np.zeros((1, 1))
    if brady_eff >= 0.0:  # the occupancy times each run's B2 receptors left, as the reference
        brady_h = occ * stacked(swellings, "b2", np)
    out = np.empty((len(swellings), int(first.voxels.size)))
    drive_kernel_runs(flat, first.voxels, rows, free, k, block, eff, brady_eff, brady_h, d_rows, d_free, d_k, d_gain,
                      out)  # fmt: skip
    return out


def update_swelling(swellings, dt_min: float, fields):
    """:meth:`Swelling.update` of ``B`` runs with equal :class:`~neuroagents.swelling.SwellingParams`.

    Parameters
    ----------
    swellings : sequence of Swelling
        The same compartment's, one per run, in batch order.
    dt_min : float
    fields : ndarray of shape (B, M, *grid)
        The batch's fields.

    Returns
    -------
    ndarray of shape (B, V) or None
        Each run's drive (its kinins read it), None without interstitium.
    """
    first = swellings[0]
    p, xp = first.params, first.comp.model.xp
    if first.voxels.size == 0:
        return None
    for s in swellings:  # over runs: the receptors of a state saved before they existed
        s.endothelial_b2()
    flat = _flat(swellings, fields)
    occ = _b2_occupancy(swellings, flat)
    drive = _swelling_drive(swellings, flat, occ)
    if occ is not None:  # the endothelial B2 receptors over the step (exact for the occupancy held over it)
        left = b2_left(stacked(swellings, "b2", xp), occ, p.b2_tachyphylaxis_min, p.b2_recovery_min, dt_min, xp)
        unstack(swellings, "b2", left)
    leak = p.leak_per_min * (p.spinal_barrier if first.comp.kind == "dorsal_horn" else 1.0)
    target = leak * p.drainage_min * xp.mean(drive, axis=-1)
    tau_v, tau_m = p.drainage_min, p.matrix_turnover_days * 1440.0
    k = p.matrix_per_fluid_day / 1440.0
    a, b = math.exp(-dt_min / tau_v), math.exp(-dt_min / tau_m)
    if abs(tau_v - tau_m) > 1e-12:
        gap = tau_v * tau_m / (tau_m - tau_v) * (b - a)
    else:
        gap = dt_min * a
    fluid, matrix = stacked(swellings, "fluid", xp), stacked(swellings, "matrix", xp)
    unstack(swellings, "matrix", matrix * b + k * (target * tau_m * (1.0 - b) + (fluid - target) * gap))
    unstack(swellings, "fluid", target + (fluid - target) * a)
    return drive


# --- the sources' reset (reference: Microenvironment.clear_sources) ---------------------------------------------------
def clear_sources(envs, production, consumption) -> None:
    """:meth:`Microenvironment.clear_sources <neuroagents.tissue.Microenvironment.clear_sources>` of the same
    compartment of ``B`` runs, ``production`` and ``consumption`` their ``(B, M, *grid)`` stacks.

    The rows any run wrote are reset in every run: a row a run did not write since its last reset holds exactly what
    the reset leaves (zeros, and the vessels' exchange where there is one), so resetting it again changes nothing.
    Each run's vessels' exchange is then put back where it has one (one write per run).
    """
    n = len(envs[0].names)
    if all(env._sources_known for env in envs):
        rows = np.flatnonzero(np.logical_or.reduce([env._touched for env in envs]))
        k_rows = np.flatnonzero(np.logical_or.reduce([env._touched_k for env in envs]))
    else:
        rows = k_rows = np.arange(n)
    for stack, which, reset in ((production, 1, rows), (consumption, 2, k_rows)):  # the two source terms
        if reset.size == n:
            stack.fill(0)
        elif reset.size:
            stack[:, reset] = 0
        if reset.size:
            for k, env in enumerate(envs):  # over runs: each its vessels' exchange
                if env._base is not None:
                    at, values = env._base_at[0], env._base_at[which]
                    stack[k].reshape(n, -1)[reset[:, None], at[None, :]] = values[reset]
    for env in envs:  # over runs
        env._touched[:] = False
        env._touched_k[:] = False
        env._sources_known = True
